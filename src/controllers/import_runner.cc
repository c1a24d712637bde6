#include "controllers/import_runner.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "common/clock.h"

namespace vdisk::controllers {

namespace {

// How much of a transfer is done, in percent; unset while its size is unknown.
std::optional<double> Percent(const io::Progress& progress) {
  uint64_t total = progress.total.load();
  if (total == 0) return std::nullopt;
  return std::min(100.0,
                  100.0 * static_cast<double>(progress.done.load()) / static_cast<double>(total));
}

}  // namespace

struct ImportRunner::Entry {
  ImportJob job;
  ImportState state;
  io::Progress progress;
  std::jthread thread;  // last: destroyed (stopped and joined) before what it uses
};

ImportRunner::ImportRunner(ImportRunnerOptions options,
                           std::function<void(const ObjectKey&)> changed)
    : options_(options), changed_(std::move(changed)) {}

ImportRunner::~ImportRunner() {
  std::map<ObjectKey, std::unique_ptr<Entry>> jobs;
  {
    std::lock_guard lock(mu_);
    jobs.swap(jobs_);
  }
  for (auto& [owner, entry] : jobs) entry->thread.request_stop();
  jobs.clear();  // joins every thread
}

void ImportRunner::Submit(ImportJob job) {
  std::unique_ptr<Entry> replaced;
  {
    std::lock_guard lock(mu_);
    auto it = jobs_.find(job.owner);
    if (it != jobs_.end()) {
      if (it->second->job.uid == job.uid) return;
      replaced = std::move(it->second);
      jobs_.erase(it);
    }
    auto entry = std::make_unique<Entry>();
    entry->job = std::move(job);
    entry->state.restarts = entry->job.restarts_before;
    Entry& ref = *entry;
    ObjectKey owner = ref.job.owner;
    jobs_.emplace(owner, std::move(entry));
    ref.thread = std::jthread([this, &ref](std::stop_token stop) { Run(ref, stop); });
  }
  replaced.reset();  // outside the lock: its thread may be reporting
}

std::optional<ImportState> ImportRunner::State(const ObjectKey& owner,
                                               const std::string& uid) const {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(owner);
  if (it == jobs_.end() || it->second->job.uid != uid) return std::nullopt;
  const Entry& entry = *it->second;
  ImportState state = entry.state;
  if (state.phase == ImportState::Phase::kRunning) state.percent = Percent(entry.progress);
  return state;
}

void ImportRunner::Cancel(const ObjectKey& owner) {
  std::unique_ptr<Entry> cancelled;
  {
    std::lock_guard lock(mu_);
    auto it = jobs_.find(owner);
    if (it == jobs_.end()) return;
    cancelled = std::move(it->second);
    jobs_.erase(it);
  }
  cancelled->thread.request_stop();
  slot_freed_.notify_all();  // a queued job waits on it
  cancelled.reset();         // joins
}

std::string ImportRunner::Metrics() const {
  std::string out =
      "# HELP kubevirt_cdi_import_progress_total The import progress in percentage\n"
      "# TYPE kubevirt_cdi_import_progress_total counter\n";
  unsigned queued = 0;
  std::lock_guard lock(mu_);
  for (const auto& [owner, entry] : jobs_) {
    if (entry->state.phase == ImportState::Phase::kQueued) ++queued;
    if (entry->state.phase != ImportState::Phase::kRunning) continue;
    char line[160];
    std::snprintf(line, sizeof line, "kubevirt_cdi_import_progress_total{ownerUID=\"%s\"} %.2f\n",
                  entry->job.uid.c_str(), Percent(entry->progress).value_or(0.0));
    out += line;
  }
  out += "# HELP vdisk_imports_in_flight Imports transferring data now\n";
  out += "# TYPE vdisk_imports_in_flight gauge\n";
  out += "vdisk_imports_in_flight " + std::to_string(in_flight_) + "\n";
  out += "# HELP vdisk_imports_queued Imports waiting for a free slot\n";
  out += "# TYPE vdisk_imports_queued gauge\n";
  out += "vdisk_imports_queued " + std::to_string(queued) + "\n";
  return out;
}

bool ImportRunner::AcquireSlot(std::stop_token stop) {
  std::unique_lock lock(mu_);
  if (!slot_freed_.wait(lock, stop, [this] { return in_flight_ < options_.max_in_flight; })) {
    return false;
  }
  ++in_flight_;
  return true;
}

void ImportRunner::ReleaseSlot() {
  {
    std::lock_guard lock(mu_);
    --in_flight_;
  }
  slot_freed_.notify_all();
}

void ImportRunner::Update(Entry& entry, const std::function<void(ImportState&)>& change) {
  {
    std::lock_guard lock(mu_);
    change(entry.state);
  }
  changed_(entry.job.owner);
}

void ImportRunner::Run(Entry& entry, std::stop_token stop) {
  RunAsDataPlaneWork();
  if (!AcquireSlot(stop)) return;
  for (int restart = 1; !stop.stop_requested(); ++restart) {
    Update(entry, [](ImportState& s) { s.phase = ImportState::Phase::kRunning; });
    auto result = RunOnce(entry, stop);
    if (stop.stop_requested()) break;
    if (result.ok()) {
      Update(entry, [&](ImportState& s) {
        s.phase = ImportState::Phase::kSucceeded;
        s.result = *result;
      });
      break;
    }
    const Status& error = result.status();
    if (error.code() != StatusCode::kUnavailable) {
      spdlog::warn("import {}/{} failed: {}", entry.job.owner.ns, entry.job.owner.name,
                   error.message());
      Update(entry, [&](ImportState& s) {
        s.phase = ImportState::Phase::kFailed;
        s.last_error = error.message();
      });
      break;
    }
    std::chrono::milliseconds backoff =
        BackoffDelay(restart, options_.initial_backoff, options_.max_backoff);
    spdlog::info("import {}/{} restarts in {} ms: {}", entry.job.owner.ns, entry.job.owner.name,
                 backoff.count(), error.message());
    Update(entry, [&](ImportState& s) {
      ++s.restarts;
      s.last_error = error.message();
    });
    // Back off without holding a slot, so other imports can use it meanwhile.
    ReleaseSlot();
    if (!SleepUnlessStopped(backoff, stop) || !AcquireSlot(stop)) return;
  }
  ReleaseSlot();
}

Result<dataplane::ImportResult> ImportRunner::RunOnce(Entry& entry, std::stop_token stop) {
  transport::HttpOptions http = entry.job.http;
  http.stall_timeout = options_.stall_timeout;
  http.stop = stop;
  http.on_retry = [this, &entry](const Status& cause) {
    Update(entry, [&](ImportState& s) {
      ++s.restarts;
      s.last_error = cause.message();
    });
  };
  entry.progress.done = 0;
  entry.progress.total = 0;
  VDISK_ASSIGN_OR_RETURN(std::unique_ptr<transport::HttpSource> http_source,
                         transport::HttpSource::Open(std::move(http)));
  transport::HttpSource* source = http_source.get();
  dataplane::ImportSource import_source;
  import_source.open_stream = [source] { return source->OpenStream(); };
  if (source->supports_ranges() && source->size()) {
    import_source.open_random_access = [source] { return source->OpenRandomAccess(); };
  }
  import_source.size = source->size();
  dataplane::ImportOptions options;
  options.checksum = entry.job.checksum;
  options.stop = stop;
  options.progress = &entry.progress;
  // Scratch space lives only as long as one attempt.
  const std::filesystem::path scratch = entry.job.target.scratch_dir;
  std::error_code ec;
  std::filesystem::create_directories(scratch, ec);
  if (ec) return Internal("cannot create scratch space " + scratch.string() + ": " + ec.message());
  auto result = dataplane::ImportImage(import_source, entry.job.target, options);
  std::filesystem::remove_all(scratch, ec);
  return result;
}

}  // namespace vdisk::controllers
