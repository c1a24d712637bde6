// ImportRunner: runs DataVolume imports on background threads, a bounded number at a time.
//
// The DataVolume controller decides what to import and reports it; the runner does the work:
//
//   Submit ──> Queued ──(a slot frees up)──> Running ──> Succeeded
//                                              │  └────> Failed (permanent: 404, 401, checksum
//                                              │                 mismatch, corrupt image, ...)
//                                              └─ transient failure (reset, 5xx, stall) that the
//                                                 transport's own retries did not cure: the whole
//                                                 import restarts after an exponential back-off
//
// Every retry, the transport's resumed requests and the runner's restarts alike, counts in
// `restarts`, which becomes the DataVolume's restartCount. A job is one DataVolume (by uid);
// Cancel stops it promptly and forgets it. `changed` is called (from the job's thread) whenever
// a job's state changes, so the controller looks again.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/io.h"
#include "controllers/controller.h"
#include "dataplane/import.h"
#include "transport/http_source.h"

namespace vdisk::controllers {

struct ImportJob {
  ObjectKey owner;              // the DataVolume
  std::string uid;              // its uid: a recreated DataVolume is a new job
  transport::HttpOptions http;  // stop and on_retry are the runner's
  dataplane::ImportTarget target;
  std::optional<dataplane::Checksum> checksum;
  int restarts_before = 0;  // restarts already counted (e.g. before a server restart)
};

struct ImportState {
  enum class Phase { kQueued, kRunning, kSucceeded, kFailed };
  Phase phase = Phase::kQueued;
  std::optional<double> percent;   // of the source consumed; unset while unknown
  int restarts = 0;                // retries since Submit
  std::string last_error;          // the failure (kFailed) or the last transient error
  dataplane::ImportResult result;  // valid when kSucceeded
};

struct ImportRunnerOptions {
  unsigned max_in_flight = 4;
  std::chrono::seconds stall_timeout{60};
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{300'000};
};

class ImportRunner {
 public:
  ImportRunner(ImportRunnerOptions options, std::function<void(const ObjectKey&)> changed);
  ~ImportRunner();  // cancels every job and waits for its thread

  // Starts `job` unless a job with its uid is known already. A different job for the same
  // owner (the DataVolume was recreated) is cancelled first.
  void Submit(ImportJob job);
  std::optional<ImportState> State(const ObjectKey& owner, const std::string& uid) const;
  // Stops the owner's job, if any, waits until its thread has let go of the target, and
  // forgets it.
  void Cancel(const ObjectKey& owner);
  // Prometheus text: kubevirt_cdi_import_progress_total{ownerUID} per running import, and the
  // number of imports in flight and queued.
  std::string Metrics() const;

 private:
  struct Entry;
  void Run(Entry& entry, std::stop_token stop);
  Result<dataplane::ImportResult> RunOnce(Entry& entry, std::stop_token stop);
  bool AcquireSlot(std::stop_token stop);
  void ReleaseSlot();
  void Update(Entry& entry, const std::function<void(ImportState&)>& change);

  const ImportRunnerOptions options_;
  const std::function<void(const ObjectKey&)> changed_;

  mutable std::mutex mu_;
  std::condition_variable_any slot_freed_;
  unsigned in_flight_ = 0;
  std::map<ObjectKey, std::unique_ptr<Entry>> jobs_;
};

}  // namespace vdisk::controllers
