#include "controllers/event_recorder.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>

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
  std::string name = MetaString(object, "name");
  std::string ns = MetaString(object, "namespace");
  std::string uid = MetaString(object, "uid");
  {
    std::lock_guard lock(mu_);
    if (!posted_.insert(uid + "\n" + reason + "\n" + message).second) return;
  }
  nlohmann::json event = {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", {{"name", EventName(name)}, {"namespace", ns.empty() ? "default" : ns}}},
      {"involvedObject",
       {{"apiVersion", object.value("apiVersion", "")},
        {"kind", object.value("kind", "")},
        {"name", name},
        {"uid", uid},
        {"resourceVersion", MetaString(object, "resourceVersion")}}},
      {"type", type},
      {"reason", reason},
      {"message", message},
      {"reportingComponent", component_},
      {"source", {{"component", component_}}}};
  if (!ns.empty()) event["involvedObject"]["namespace"] = ns;
  const api::Kind& kind = *api::KindRegistry::Get().ByKind("", "Event");
  auto created = objects_.Create(kind, ns.empty() ? "default" : ns, std::move(event));
  if (!created.ok()) {
    spdlog::warn("{}: recording event {} for {}: {}", component_, reason, name,
                 created.status().message());
  }
}

}  // namespace vdisk::controllers
