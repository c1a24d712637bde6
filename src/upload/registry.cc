// The claims accepting uploads and the uploads running into them.
#include "upload/registry.h"

#include <algorithm>
#include <thread>

namespace vdisk::upload {

UploadRegistry::UploadRegistry(std::function<void(const ClaimKey&)> changed)
    : changed_(std::move(changed)) {}

void UploadRegistry::Offer(const ClaimKey& key, const std::string& uid,
                           dataplane::ImportTarget target, const std::string& offered_by) {
  {
    std::lock_guard lock(mu_);
    auto it = slots_.find(key);
    if (it != slots_.end() && it->second.uid == uid) return;
    if (it != slots_.end()) it->second.stop.request_stop();
    Slot& slot = slots_[key];
    slot = Slot();
    slot.uid = uid;
    slot.offered_by = offered_by;
    slot.target = std::move(target);
    slot.serial = next_serial_++;
  }
  Notify(key);
}

void UploadRegistry::MarkDone(const ClaimKey& key, const std::string& uid,
                              const std::string& offered_by) {
  std::lock_guard lock(mu_);
  Slot& slot = slots_[key];
  if (slot.uid == uid && slot.populated && slot.offered_by == offered_by) return;
  slot.stop.request_stop();  // an upload into a replaced offer must not go on writing
  slot = Slot();
  slot.uid = uid;
  slot.offered_by = offered_by;
  slot.serial = next_serial_++;
  slot.populated = true;
  slot.state.phase = UploadState::Phase::kSucceeded;
}

void UploadRegistry::Withdraw(const ClaimKey& key, const std::string& offered_by) {
  std::unique_lock lock(mu_);
  auto it = slots_.find(key);
  if (it == slots_.end() || it->second.offered_by != offered_by) return;
  uint64_t serial = it->second.serial;
  it->second.stop.request_stop();
  released_.wait(lock, [&] {
    auto found = slots_.find(key);
    return found == slots_.end() || found->second.serial != serial ||
           found->second.state.phase != UploadState::Phase::kUploading;
  });
  auto found = slots_.find(key);
  if (found != slots_.end() && found->second.serial == serial) slots_.erase(found);
}

void UploadRegistry::CancelAll() {
  std::lock_guard lock(mu_);
  for (auto& [key, slot] : slots_) slot.stop.request_stop();
}

std::optional<UploadState> UploadRegistry::State(const ClaimKey& key,
                                                 const std::string& uid) const {
  std::lock_guard lock(mu_);
  auto it = slots_.find(key);
  if (it == slots_.end() || it->second.uid != uid) return std::nullopt;
  UploadState state = it->second.state;
  if (state.phase == UploadState::Phase::kUploading && it->second.progress) {
    uint64_t total = it->second.progress->total.load();
    if (total > 0) {
      state.percent = std::min(100.0, 100.0 * static_cast<double>(it->second.progress->done) /
                                          static_cast<double>(total));
    }
  }
  return state;
}

Result<std::unique_ptr<UploadRegistry::Lease>> UploadRegistry::Begin(const ClaimKey& key) {
  std::unique_ptr<Lease> lease;
  {
    std::lock_guard lock(mu_);
    auto it = slots_.find(key);
    if (it == slots_.end()) {
      return Unavailable("claim " + key.ns + "/" + key.name + " is not ready for an upload");
    }
    Slot& slot = it->second;
    if (slot.populated || slot.state.phase == UploadState::Phase::kSucceeded) {
      return Conflict("claim " + key.ns + "/" + key.name + " already holds an uploaded image");
    }
    if (slot.state.phase == UploadState::Phase::kUploading) {
      return Unavailable("an upload into claim " + key.ns + "/" + key.name + " is running");
    }
    slot.state.phase = UploadState::Phase::kUploading;
    slot.progress = std::make_shared<io::Progress>();
    slot.stop = std::stop_source();
    lease.reset(
        new Lease(*this, key, slot.serial, slot.target, slot.progress, slot.stop.get_token()));
  }
  Notify(key);
  return lease;
}

Result<std::unique_ptr<UploadRegistry::Lease>> UploadRegistry::BeginWithin(
    const ClaimKey& key, std::chrono::milliseconds wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    auto lease = Begin(key);
    if (lease.ok() || lease.status().code() != StatusCode::kUnavailable ||
        std::chrono::steady_clock::now() >= deadline) {
      return lease;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

void UploadRegistry::End(const ClaimKey& key, uint64_t serial,
                         const Result<dataplane::ImportResult>& result) {
  {
    std::lock_guard lock(mu_);
    auto it = slots_.find(key);
    if (it == slots_.end() || it->second.serial != serial) return;
    UploadState& state = it->second.state;
    if (result.ok()) {
      state.phase = UploadState::Phase::kSucceeded;
      state.result = *result;
    } else {
      state.phase = UploadState::Phase::kReady;
      state.last_error = result.status().message();
      ++state.failures;
    }
    it->second.progress.reset();
  }
  released_.notify_all();
  Notify(key);
}

UploadRegistry::Lease::~Lease() {
  if (!finished_) Finish(Unavailable("the upload ended before its image was complete"));
}

void UploadRegistry::Lease::Finish(const Result<dataplane::ImportResult>& result) {
  if (finished_) return;
  finished_ = true;
  registry_.End(key_, serial_, result);
}

}  // namespace vdisk::upload
