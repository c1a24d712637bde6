// GarbageCollector: deletes what deleted objects owned, as Kubernetes' garbage collector does.
//
//   Background  the owner is gone: each dependent whose owners are all gone is deleted; a
//               dependent that still has a live owner only loses the reference
//   Foreground  the owner waits (finalizer "foregroundDeletion") until its dependents are
//               deleted, then goes
//   Orphan      dependents lose their ownerReference (finalizer "orphan"), then the owner goes
//   Namespace   a terminating namespace's objects are deleted, then its "kubernetes"
//               finalizer is removed and the namespace goes
//
// It follows every change through ObjectService::WatchEverything and keeps an index of owners
// in memory; after a Gone (it fell behind) it lists everything again.
#pragma once

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "server/object_service.h"

namespace vdisk::controllers {

class GarbageCollector {
 public:
  explicit GarbageCollector(server::ObjectService& objects) : objects_(objects) {}
  ~GarbageCollector() { Stop(); }

  void Start();
  void Stop();

 private:
  struct Node {
    const api::Kind* kind = nullptr;
    std::string ns, name;
    std::set<std::string> owners;  // owner uids
    bool deleting = false;
    std::set<std::string> finalizers;
  };

  void Run();
  Status Resync(int64_t* revision);
  void Observe(const api::Kind* kind, const nlohmann::json& object, bool deleted);
  // Acts on everything the latest changes made actionable.
  void Collect();
  void CollectOrphans();
  void FinishForeground(const std::string& uid, const Node& node);
  void FinishOrphan(const std::string& uid, const Node& node);
  void FinishNamespace(const Node& node);
  void RemoveFinalizer(const Node& node, const std::string& finalizer);
  void RemoveOwnerReference(const Node& dependent, const std::string& owner_uid);

  server::ObjectService& objects_;
  std::atomic<bool> stopping_ = false;
  std::thread thread_;
  std::map<std::string, Node> nodes_;                        // by uid
  std::map<std::string, std::set<std::string>> dependents_;  // owner uid -> dependent uids
  std::set<std::string> dirty_;                              // uids to look at in Collect
};

}  // namespace vdisk::controllers
