// EventRecorder (see event_recorder.h).
#include "controllers/event_recorder.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <vector>

#include "common/clock.h"
#include "controllers/controller.h"

namespace vdisk::controllers {
namespace {

// client-go's event names: "<object>.<nanoseconds, hex>" (generateName would put a trailing
// dot in the prefix, which names may not end with).
std::string EventName(const std::string& object_name) {
  auto nanos = std::chrono::system_clock::now().time_since_epoch().count();
  static std::atomic<uint64_t> sequence{0};
  char suffix[40];
  std::snprintf(suffix, sizeof suffix, ".%llx",
                static_cast<unsigned long long>(nanos) + sequence++);
  return object_name + suffix;
}

}  // namespace

void EventRecorder::Record(const nlohmann::json& object, const std::string& type,
                           const std::string& reason, const std::string& message) {
  using Clock = std::chrono::steady_clock;
  constexpr auto kUpdateInterval = std::chrono::seconds(30);
  const api::Kind& kind = *api::KindRegistry::Get().ByKind("", "Event");
  std::string name = MetaString(object, "name");
  std::string ns = MetaString(object, "namespace");
  if (ns.empty()) ns = "default";
  std::string uid = MetaString(object, "uid");
  const std::string key = uid + "\n" + type + "\n" + reason;
  const std::string now = NowRfc3339();

  std::string event_name;
  int count = 0;
  {
    std::lock_guard lock(mu_);
    auto it = series_.find(key);
    if (it != series_.end()) {
      Series& series = it->second;
      ++series.count;
      if (Clock::now() - series.written_at < kUpdateInterval) {
        return;  // counted; written with the next update
      }
      series.written_at = Clock::now();
      event_name = series.event_name;
      count = series.count;
    } else {
      Forget();
      event_name = EventName(name);
      series_[key] = {event_name, 1, Clock::now()};
    }
  }
  if (count > 0) {
    auto patched =
        objects_.Patch(kind, ns, event_name, server::PatchType::kMerge,
                       {{"count", count}, {"message", message}, {"lastTimestamp", now}}, false);
    if (patched.ok()) return;
    // The Event is gone (deleted, or expired): start the series again.
    std::lock_guard lock(mu_);
    series_.erase(key);
  }
  nlohmann::json event = {{"apiVersion", "v1"},
                          {"kind", "Event"},
                          {"metadata", {{"name", event_name}, {"namespace", ns}}},
                          {"involvedObject",
                           {{"apiVersion", object.value("apiVersion", "")},
                            {"kind", object.value("kind", "")},
                            {"name", name},
                            {"uid", uid},
                            {"resourceVersion", MetaString(object, "resourceVersion")}}},
                          {"type", type},
                          {"reason", reason},
                          {"message", message},
                          {"count", std::max(count, 1)},
                          {"firstTimestamp", now},
                          {"lastTimestamp", now},
                          {"reportingComponent", component_},
                          {"source", {{"component", component_}}}};
  if (!MetaString(object, "namespace").empty()) event["involvedObject"]["namespace"] = ns;
  auto created = objects_.Create(kind, ns, std::move(event));
  if (!created.ok()) {
    spdlog::warn("{}: recording event {} for {}: {}", component_, reason, name,
                 created.status().message());
  }
}

void EventRecorder::Forget() {
  constexpr size_t kMaxSeries = 4096;
  if (series_.size() < kMaxSeries) return;
  // Drop the eighth written longest ago: one pass now and then, not one per event.
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::string>> by_age;
  by_age.reserve(series_.size());
  for (const auto& [key, series] : series_) by_age.emplace_back(series.written_at, key);
  std::nth_element(by_age.begin(), by_age.begin() + kMaxSeries / 8, by_age.end());
  for (size_t i = 0; i < kMaxSeries / 8; ++i) series_.erase(by_age[i].second);
}

}  // namespace vdisk::controllers
