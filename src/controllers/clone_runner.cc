// CloneRunner: see clone_runner.h.
#include "controllers/clone_runner.h"

#include <atomic>
#include <thread>

namespace vdisk::controllers {

struct CloneRunner::Entry {
  std::string uid;
  std::atomic<bool> cancel = false;
  std::mutex mu;  // guards state
  CloneState state;
  std::thread thread;  // last: started once the rest is in place
};

CloneRunner::CloneRunner(std::function<void(const ObjectKey&)> changed)
    : changed_(std::move(changed)) {}

CloneRunner::~CloneRunner() {
  std::map<ObjectKey, std::unique_ptr<Entry>> jobs;
  {
    std::lock_guard lock(mu_);
    jobs.swap(jobs_);
  }
  for (auto& [owner, entry] : jobs) entry->cancel = true;
  for (auto& [owner, entry] : jobs) entry->thread.join();
}

void CloneRunner::Submit(CloneJob job) {
  {
    std::lock_guard lock(mu_);
    auto it = jobs_.find(job.owner);
    if (it != jobs_.end() && it->second->uid == job.uid) return;
  }
  Cancel(job.owner);
  auto entry = std::make_unique<Entry>();
  entry->uid = job.uid;
  Entry* raw = entry.get();
  std::lock_guard lock(mu_);
  jobs_[job.owner] = std::move(entry);
  raw->thread = std::thread([this, raw, job = std::move(job)]() mutable {
    RunAsDataPlaneWork();
    job.copy.cancel = &raw->cancel;
    job.copy.progress = [raw](int64_t done, int64_t total) {
      std::lock_guard state_lock(raw->mu);
      if (total > 0) raw->state.percent = 100.0 * static_cast<double>(done) / total;
    };
    auto copied = storage::CopyImage(job.source, job.target, job.copy);
    {
      std::lock_guard state_lock(raw->mu);
      if (copied.ok()) {
        raw->state.phase = CloneState::Phase::kSucceeded;
        raw->state.result = *copied;
      } else {
        raw->state.phase = CloneState::Phase::kFailed;
        raw->state.error = copied.status().message();
      }
    }
    if (!raw->cancel) changed_(job.owner);
  });
}

std::optional<CloneState> CloneRunner::State(const ObjectKey& owner, const std::string& uid) const {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(owner);
  if (it == jobs_.end() || it->second->uid != uid) return std::nullopt;
  std::lock_guard state_lock(it->second->mu);
  return it->second->state;
}

void CloneRunner::Cancel(const ObjectKey& owner) {
  std::unique_ptr<Entry> entry;
  {
    std::lock_guard lock(mu_);
    auto it = jobs_.find(owner);
    if (it == jobs_.end()) return;
    entry = std::move(it->second);
    jobs_.erase(it);
  }
  entry->cancel = true;
  entry->thread.join();
}

}  // namespace vdisk::controllers
