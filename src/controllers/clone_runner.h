// CloneRunner: host-assisted clone copies (storage::CopyImage) on background threads, one per
// DataVolume, so that a long copy never holds up a controller.
//
//   Submit ──> Running (percent of the source handled) ──> Succeeded | Failed (the reason)
//
// A job is one DataVolume (by uid); Cancel stops it promptly, waits for its thread and forgets
// it. `changed` is called from the job's thread when it ends, so the controller looks again.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "controllers/controller.h"
#include "storage/volume_copy.h"

namespace vdisk::controllers {

struct CloneJob {
  ObjectKey owner;  // the DataVolume
  std::string uid;  // its uid: a recreated DataVolume is a new job
  std::string source;
  std::string target;
  storage::CopyOptions copy;  // cancel and progress are the runner's
};

struct CloneState {
  enum class Phase { kRunning, kSucceeded, kFailed };
  Phase phase = Phase::kRunning;
  std::optional<double> percent;  // unset until the first bytes are through
  std::string error;              // kFailed
  storage::CopyResult result;     // kSucceeded
};

class CloneRunner {
 public:
  explicit CloneRunner(std::function<void(const ObjectKey&)> changed);
  ~CloneRunner();  // cancels every job and waits for its thread

  // Starts `job` unless one with its uid runs already; another job of the same owner (the
  // DataVolume was recreated) is cancelled first.
  void Submit(CloneJob job);
  std::optional<CloneState> State(const ObjectKey& owner, const std::string& uid) const;
  void Cancel(const ObjectKey& owner);

 private:
  struct Entry;
  const std::function<void(const ObjectKey&)> changed_;
  mutable std::mutex mu_;
  std::map<ObjectKey, std::unique_ptr<Entry>> jobs_;
};

}  // namespace vdisk::controllers
