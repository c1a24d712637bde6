#include "controllers/controller.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

#include "common/clock.h"

namespace vdisk::controllers {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

}  // namespace

const api::Kind& KindOf(const char* group, const char* kind) {
  return *api::KindRegistry::Get().ByKind(group, kind);
}

const json& Field(const json& object, const char* key) {
  static const json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

std::string Str(const json& value) { return value.is_string() ? value.get<std::string>() : ""; }

std::string MetaString(const json& object, const char* field) {
  if (!object.is_object() || !object.contains("metadata")) return "";
  const json& meta = object["metadata"];
  auto it = meta.find(field);
  return it != meta.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<ObjectKey> SelfKey(const json& object) {
  return {{MetaString(object, "namespace"), MetaString(object, "name")}};
}

std::vector<ObjectKey> OwnerKeys(const json& object, const std::string& owner_kind) {
  std::vector<ObjectKey> keys;
  const json& meta = object.value("metadata", json::object());
  if (!meta.contains("ownerReferences") || !meta["ownerReferences"].is_array()) return keys;
  for (const auto& ref : meta["ownerReferences"]) {
    if (ref.is_object() && ref.value("kind", "") == owner_kind) {
      keys.push_back({MetaString(object, "namespace"), ref.value("name", "")});
    }
  }
  return keys;
}

Status Annotate(server::ObjectService& objects, const api::Kind& kind, const ObjectKey& key,
                const json& annotations) {
  auto patched = objects.Patch(kind, key.ns, key.name, server::PatchType::kMerge,
                               {{"metadata", {{"annotations", annotations}}}},
                               /*status_only=*/false);
  return patched.ok() ? Status::Ok() : patched.status();
}

bool HasFinalizer(const json& object, const std::string& finalizer) {
  const json& list = Field(Field(object, "metadata"), "finalizers");
  return list.is_array() && std::find(list.begin(), list.end(), finalizer) != list.end();
}

Status SetFinalizer(server::ObjectService& objects, const api::Kind& kind, const json& object,
                    const std::string& finalizer, bool present) {
  if (HasFinalizer(object, finalizer) == present) return Status::Ok();
  json list = json::array();
  const json& old = Field(Field(object, "metadata"), "finalizers");
  if (old.is_array()) {
    for (const auto& f : old) {
      if (f != finalizer) list.push_back(f);
    }
  }
  if (present) list.push_back(finalizer);
  json patch = {{"metadata",
                 {{"finalizers", std::move(list)},
                  {"resourceVersion", MetaString(object, "resourceVersion")}}}};
  auto patched = objects.Patch(kind, MetaString(object, "namespace"), MetaString(object, "name"),
                               server::PatchType::kMerge, patch, /*status_only=*/false);
  if (!patched.ok() && patched.status().code() != StatusCode::kNotFound) return patched.status();
  return Status::Ok();
}

Controller::Controller(std::string name, server::ObjectService& objects, const api::Kind& primary)
    : objects_(objects), primary_(primary), name_(std::move(name)) {
  sources_.push_back({&primary, SelfKey});
}

Controller::~Controller() { Stop(); }

void Controller::Watches(const api::Kind& kind,
                         std::function<std::vector<ObjectKey>(const json&)> map) {
  sources_.push_back({&kind, std::move(map)});
}

void RunAsBackgroundWork() {
  // Linux applies a thread id's nice value to that thread alone.
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
}

void RunAsDataPlaneWork() {
  // May fail without CAP_SYS_NICE; the work then keeps its starter's priority.
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 0);
}

void Controller::Start() {
  for (const auto& source : sources_) {
    threads_.emplace_back([this, &source] {
      RunAsBackgroundWork();
      WatchLoop(source);
    });
  }
  threads_.emplace_back([this] {
    RunAsBackgroundWork();
    WorkLoop();
  });
}

void Controller::Stop() {
  stopping_ = true;
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void Controller::Enqueue(const ObjectKey& key) {
  {
    std::lock_guard lock(mu_);
    ready_.insert(key);
  }
  cv_.notify_one();
}

void Controller::WatchLoop(const Source& source) {
  while (!stopping_) {
    // Resource version "": the watch starts with every existing object, so a restart or a
    // Gone leads to a full resync.
    auto watch = objects_.Watch(*source.kind, "", {}, "");
    if (!watch.ok()) {
      spdlog::warn("{}: watching {}: {}", name_, source.kind->plural, watch.status().message());
      std::this_thread::sleep_for(milliseconds(500));
      continue;
    }
    {
      // The new watch starts by listing every object again.
      std::lock_guard lock(cache_mu_);
      cache_[source.kind].clear();
    }
    while (!stopping_) {
      auto event = (*watch)->Next(milliseconds(300));
      if (!event.ok()) break;
      if (!event->has_value()) continue;
      if (cached_kinds_.count(source.kind)) {
        std::lock_guard lock(cache_mu_);
        ObjectKey object_key = SelfKey((*event)->object)[0];
        if ((*event)->type == "DELETED")
          cache_[source.kind].erase(object_key);
        else
          cache_[source.kind][object_key] = (*event)->object;
      }
      for (const auto& key : source.map((*event)->object)) {
        if (!key.name.empty()) Enqueue(key);
      }
    }
  }
}

std::vector<json> Controller::Cached(const api::Kind& kind,
                                     const std::function<bool(const json&)>& keep) {
  std::lock_guard lock(cache_mu_);
  std::vector<json> objects;
  for (const auto& [key, object] : cache_[&kind]) {
    if (keep(object)) objects.push_back(object);
  }
  return objects;
}

std::vector<ObjectKey> Controller::KeysWhere(const api::Kind& kind,
                                             const std::function<bool(const json&)>& keep) {
  std::vector<ObjectKey> keys;
  auto list = objects_.List(kind, "", {});
  if (!list.ok()) return keys;
  for (const auto& object : list->items) {
    if (keep(object)) keys.push_back(SelfKey(object)[0]);
  }
  return keys;
}

void Controller::WorkLoop() {
  while (!stopping_) {
    ObjectKey key;
    {
      std::unique_lock lock(mu_);
      auto now = Clock::now();
      while (!delayed_.empty() && delayed_.begin()->first <= now) {
        ready_.insert(delayed_.begin()->second);
        delayed_.erase(delayed_.begin());
      }
      if (ready_.empty()) {
        auto wake = delayed_.empty() ? now + milliseconds(200) : delayed_.begin()->first;
        cv_.wait_until(lock, std::min(wake, now + milliseconds(200)));
        continue;
      }
      key = *ready_.begin();
      ready_.erase(ready_.begin());
    }
    auto result = Reconcile(key);
    std::lock_guard lock(mu_);
    if (!result.ok()) {
      int failures = ++failures_[key];
      spdlog::warn("{}: {}/{}: {} (retry {})", name_, key.ns, key.name, result.status().message(),
                   failures);
      // Retry back-off after a failed reconcile: 100 ms doubling up to 30 s.
      delayed_.emplace(
          Clock::now() + BackoffDelay(failures, milliseconds(100), milliseconds(30'000)), key);
    } else {
      failures_.erase(key);
      if (*result) delayed_.emplace(Clock::now() + **result, key);
    }
  }
}

}  // namespace vdisk::controllers
