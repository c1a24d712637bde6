// UploadRegistry: the claims that accept an upload now, and the uploads running into them.
//
// The controllers decide when a claim is ready (bound, not yet populated) and Offer it with
// its target; the upload endpoints Begin an upload on it, which streams into the target, and
// Finish it. The controllers read State to report phase and progress:
//
//   Offer ──> kReady ──Begin──> kUploading ──Finish(ok)──> kSucceeded ──(controller records it)
//               ^                   │
//               └──Finish(error)────┘  the error is kept for the status; the claim takes a
//                                      second upload (the import removed its partial file)
//
// One upload per claim at a time. `changed` is called whenever a claim's state changes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>

#include "common/io.h"
#include "common/status.h"
#include "dataplane/import.h"

namespace vdisk::upload {

struct ClaimKey {
  std::string ns;
  std::string name;
  auto operator<=>(const ClaimKey&) const = default;
};

struct UploadState {
  enum class Phase { kReady, kUploading, kSucceeded };
  Phase phase = Phase::kReady;
  std::optional<double> percent;   // while uploading, when the body's length is known
  std::string last_error;          // why the last upload failed, if it did
  int failures = 0;                // uploads that failed since Offer
  dataplane::ImportResult result;  // valid when kSucceeded
};

class UploadRegistry {
 public:
  explicit UploadRegistry(std::function<void(const ClaimKey&)> changed = {});

  // Makes `key` accept uploads into `target` (idempotent for the same uid; a new uid replaces
  // the old offer, cancelling its upload). `offered_by` names the controller that owns it.
  void Offer(const ClaimKey& key, const std::string& uid, dataplane::ImportTarget target,
             const std::string& offered_by);
  // Records that the claim is populated, so uploads get 409 (e.g. after a restart); like an
  // offer, it belongs to `offered_by` and goes with Withdraw.
  void MarkDone(const ClaimKey& key, const std::string& uid, const std::string& offered_by);
  // Stops accepting uploads for `key` if `offered_by` offered it, cancelling one that runs;
  // returns once it let go.
  void Withdraw(const ClaimKey& key, const std::string& offered_by);
  // Stops every running upload (at shutdown).
  void CancelAll();
  std::optional<UploadState> State(const ClaimKey& key, const std::string& uid) const;

  // A running upload: the target to write, the progress to update and the stop to honour.
  class Lease {
   public:
    ~Lease();  // an unfinished lease counts as a failed upload
    const dataplane::ImportTarget& target() const { return target_; }
    io::Progress& progress() { return *progress_; }
    std::stop_token stop() const { return stop_; }
    void Finish(const Result<dataplane::ImportResult>& result);

   private:
    friend class UploadRegistry;
    Lease(UploadRegistry& registry, ClaimKey key, uint64_t serial, dataplane::ImportTarget target,
          std::shared_ptr<io::Progress> progress, std::stop_token stop)
        : registry_(registry),
          key_(std::move(key)),
          serial_(serial),
          target_(std::move(target)),
          progress_(std::move(progress)),
          stop_(std::move(stop)) {}
    UploadRegistry& registry_;
    ClaimKey key_;
    uint64_t serial_;
    dataplane::ImportTarget target_;
    std::shared_ptr<io::Progress> progress_;
    std::stop_token stop_;
    bool finished_ = false;
  };
  // Starts an upload: NotFound/Unavailable when the claim is not ready or busy (HTTP 503),
  // Conflict when it is already populated (HTTP 409).
  Result<std::unique_ptr<Lease>> Begin(const ClaimKey& key);
  // Begin, waiting up to `wait` for the claim to become ready (as upstream's proxy does).
  Result<std::unique_ptr<Lease>> BeginWithin(const ClaimKey& key, std::chrono::milliseconds wait);

 private:
  struct Slot {
    std::string uid;
    std::string offered_by;
    dataplane::ImportTarget target;
    UploadState state;
    uint64_t serial = 0;  // which offer a lease belongs to
    std::shared_ptr<io::Progress> progress;
    std::stop_source stop;
    bool populated = false;
  };
  void End(const ClaimKey& key, uint64_t serial, const Result<dataplane::ImportResult>& result);
  void Notify(const ClaimKey& key) {
    if (changed_) changed_(key);
  }

  const std::function<void(const ClaimKey&)> changed_;
  mutable std::mutex mu_;
  std::condition_variable released_;
  uint64_t next_serial_ = 1;
  std::map<ClaimKey, Slot> slots_;
};

}  // namespace vdisk::upload
