#include "controllers/garbage_collector.h"

#include <spdlog/spdlog.h>

#include "controllers/controller.h"

namespace vdisk::controllers {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// How often pending work is retried when no change arrives (e.g. after a failed write).
constexpr milliseconds kRetryInterval(1000);

// Re-reads `node`'s object and applies `change` to it; false when the object is gone or
// changed under us (the next pass looks again).
bool Rewrite(server::ObjectService& objects, const api::Kind& kind, const std::string& ns,
             const std::string& name, const std::function<bool(json&)>& change) {
  auto current = objects.Get(kind, ns, name);
  if (!current.ok()) return current.status().code() == StatusCode::kNotFound;
  json object = *current;
  if (!change(object)) return true;  // nothing to change
  auto written = objects.Update(kind, ns, name, std::move(object), /*status_only=*/false);
  if (!written.ok() && written.status().code() != StatusCode::kNotFound) {
    spdlog::warn("garbage collector: updating {} {}/{}: {}", kind.kind, ns, name,
                 written.status().message());
    return false;
  }
  return true;
}

}  // namespace

void GarbageCollector::Start() {
  thread_ = std::thread([this] {
    RunAsBackgroundWork();
    Run();
  });
}

void GarbageCollector::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void GarbageCollector::Run() {
  while (!stopping_) {
    int64_t revision = 0;
    Status synced = Resync(&revision);
    auto watch = synced.ok() ? objects_.WatchEverything(revision)
                             : Result<std::unique_ptr<store::Watch>>(synced);
    if (!watch.ok()) {
      spdlog::warn("garbage collector: {}", watch.status().message());
      std::this_thread::sleep_for(kRetryInterval);
      continue;
    }
    Collect();
    while (!stopping_) {
      auto event = (*watch)->Next(kRetryInterval);
      if (!event.ok()) break;  // fell behind: list again
      if (!event->has_value()) {
        Collect();  // retry what failed before
        continue;
      }
      json object = json::parse(*(*event)->value, nullptr, false);
      if (const api::Kind* kind = server::ObjectService::KindOf(object)) {
        Observe(kind, object, (*event)->type == store::WatchEvent::Type::kDeleted);
      }
      Collect();
      // A deleted owner's dependents were queued by the pass above: act on them now rather
      // than at the next retry tick.
      if (!dirty_.empty()) Collect();
    }
  }
}

Status GarbageCollector::Resync(int64_t* revision) {
  VDISK_ASSIGN_OR_RETURN(auto everything, objects_.ListEverything(revision));
  nodes_.clear();
  dependents_.clear();
  dirty_.clear();
  for (const auto& item : everything) Observe(item.kind, item.object, false);
  for (const auto& [uid, node] : nodes_) dirty_.insert(uid);
  return Status::Ok();
}

void GarbageCollector::Observe(const api::Kind* kind, const json& object, bool deleted) {
  std::string uid = MetaString(object, "uid");
  if (uid.empty()) return;
  if (auto old = nodes_.find(uid); old != nodes_.end()) {
    for (const auto& owner : old->second.owners) dependents_[owner].erase(uid);
    for (const auto& owner : old->second.owners) dirty_.insert(owner);
    nodes_.erase(old);
  }
  dirty_.insert(uid);
  if (deleted) {
    // A namespace waiting for its content to go may be done now.
    for (const auto& [other_uid, node] : nodes_) {
      if (node.deleting && node.kind->kind == "Namespace") dirty_.insert(other_uid);
    }
    return;
  }
  Node node;
  node.kind = kind;
  node.ns = MetaString(object, "namespace");
  node.name = MetaString(object, "name");
  const json& meta = object.value("metadata", json::object());
  node.deleting = meta.contains("deletionTimestamp");
  if (meta.contains("ownerReferences") && meta["ownerReferences"].is_array()) {
    for (const auto& ref : meta["ownerReferences"]) {
      if (ref.is_object() && ref.contains("uid") && ref["uid"].is_string()) {
        node.owners.insert(ref["uid"].get<std::string>());
      }
    }
  }
  if (meta.contains("finalizers") && meta["finalizers"].is_array()) {
    for (const auto& f : meta["finalizers"]) {
      if (f.is_string()) node.finalizers.insert(f.get<std::string>());
    }
  }
  for (const auto& owner : node.owners) dependents_[owner].insert(uid);
  nodes_[uid] = std::move(node);
}

void GarbageCollector::Collect() {
  std::set<std::string> work;
  work.swap(dirty_);
  std::set<std::string> retry;
  for (const auto& uid : work) {
    auto it = nodes_.find(uid);
    if (it == nodes_.end()) {
      // A deleted owner: its dependents may now be orphans.
      if (auto deps = dependents_.find(uid); deps != dependents_.end()) {
        for (const auto& dep : deps->second) retry.insert(dep);
        if (deps->second.empty()) dependents_.erase(deps);
      }
      continue;
    }
    const Node& node = it->second;
    if (node.deleting && node.finalizers.count("foregroundDeletion")) FinishForeground(uid, node);
    if (node.deleting && node.finalizers.count("orphan")) FinishOrphan(uid, node);
    if (node.deleting && node.kind->kind == "Namespace" && node.kind->group.empty()) {
      FinishNamespace(node);
    }
    if (!node.owners.empty()) {
      size_t live = 0;
      for (const auto& owner : node.owners) live += nodes_.count(owner);
      if (live == 0 && !node.deleting) {
        auto deleted = objects_.Delete(*node.kind, node.ns, node.name);
        if (!deleted.ok() && deleted.status().code() != StatusCode::kNotFound) retry.insert(uid);
      } else if (live < node.owners.size()) {
        for (const auto& owner : node.owners) {
          if (!nodes_.count(owner)) RemoveOwnerReference(node, owner);
        }
      }
    }
  }
  // Dependents of deleted owners are looked at in the next pass, once their owners are gone
  // from the index.
  dirty_.insert(retry.begin(), retry.end());
}

void GarbageCollector::FinishForeground(const std::string& uid, const Node& node) {
  bool waiting = false;
  for (const auto& dep_uid : dependents_[uid]) {
    auto dep = nodes_.find(dep_uid);
    if (dep == nodes_.end()) continue;
    waiting = true;
    if (!dep->second.deleting) {
      server::DeleteOptions foreground;
      foreground.propagation_policy = "Foreground";
      (void)objects_.Delete(*dep->second.kind, dep->second.ns, dep->second.name, foreground);
    }
  }
  if (!waiting) RemoveFinalizer(node, "foregroundDeletion");
}

void GarbageCollector::FinishOrphan(const std::string& uid, const Node& node) {
  for (const auto& dep_uid : dependents_[uid]) {
    if (auto dep = nodes_.find(dep_uid); dep != nodes_.end()) {
      RemoveOwnerReference(dep->second, uid);
    }
  }
  RemoveFinalizer(node, "orphan");
}

void GarbageCollector::FinishNamespace(const Node& node) {
  bool waiting = false;
  for (const auto& [uid, other] : nodes_) {
    if (!other.kind->namespaced || other.ns != node.name) continue;
    waiting = true;
    if (!other.deleting) (void)objects_.Delete(*other.kind, other.ns, other.name);
  }
  if (waiting) return;
  Rewrite(objects_, *node.kind, "", node.name, [](json& object) {
    if (!object.contains("spec") || !object["spec"].contains("finalizers")) return false;
    object["spec"].erase("finalizers");
    return true;
  });
}

void GarbageCollector::RemoveFinalizer(const Node& node, const std::string& finalizer) {
  Rewrite(objects_, *node.kind, node.ns, node.name, [&](json& object) {
    json& list = object["metadata"]["finalizers"];
    if (!list.is_array()) return false;
    json kept = json::array();
    for (const auto& f : list) {
      if (f != finalizer) kept.push_back(f);
    }
    if (kept.size() == list.size()) return false;
    list = std::move(kept);
    return true;
  });
}

void GarbageCollector::RemoveOwnerReference(const Node& dependent, const std::string& owner_uid) {
  Rewrite(objects_, *dependent.kind, dependent.ns, dependent.name, [&](json& object) {
    json& refs = object["metadata"]["ownerReferences"];
    if (!refs.is_array()) return false;
    json kept = json::array();
    for (const auto& ref : refs) {
      if (!(ref.is_object() && ref.value("uid", "") == owner_uid)) kept.push_back(ref);
    }
    if (kept.size() == refs.size()) return false;
    if (kept.empty())
      object["metadata"].erase("ownerReferences");
    else
      refs = std::move(kept);
    return true;
  });
}

}  // namespace vdisk::controllers
