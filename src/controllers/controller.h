// Controller: a level-triggered reconcile loop, the shape every vdisk controller takes.
//
//   watch primary kind ──┐                       ┌─> Reconcile(key) ok ──> done
//   watch related kinds ─┴─> work queue (dedup) ─┤                  error ──> retry with back-off
//        (mapped to primary keys)                └─> requeue after N ms when asked
//
// Watches start from a full list (every object is reconciled once at start) and re-list after
// a Gone. Reconcile must be idempotent: it reads the current state through ObjectService and
// moves the world one step towards the spec. One worker thread: Reconcile calls never overlap.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "server/object_service.h"

namespace vdisk::controllers {

using nlohmann::json;

struct ObjectKey {
  std::string ns;
  std::string name;
  auto operator<=>(const ObjectKey&) const = default;
};

// What Reconcile asks for: nothing more, or another look after a delay.
using Requeue = std::optional<std::chrono::milliseconds>;

// Lowers the calling thread's CPU priority (nice 10). Reconciling is background work: when the
// machine is busy, the API's answers and the data plane come first.
void RunAsBackgroundWork();
// Back to normal priority, for threads that move a volume's bytes but are started by a
// controller thread (whose priority they inherit).
void RunAsDataPlaneWork();

class Controller {
 public:
  Controller(std::string name, server::ObjectService& objects, const api::Kind& primary);
  virtual ~Controller();

  // Changes to `kind` objects enqueue the primary keys `map` returns.
  void Watches(const api::Kind& kind, std::function<std::vector<ObjectKey>(const json&)> map);
  void Start();
  void Stop();
  // Queues a key by hand (e.g. from another controller's event).
  void Enqueue(const ObjectKey& key);

 protected:
  virtual Result<Requeue> Reconcile(const ObjectKey& key) = 0;

  // The latest state of every object of a watched kind, as the watches delivered it: a read
  // that costs no store access. It may lag the store by a few events, so a write based on it
  // must carry the object's resourceVersion (and a Conflict means: look again).
  // Only kinds named by KeepCache are kept (memory grows with them); call before Start().
  void KeepCache(const api::Kind& kind) { cached_kinds_.insert(&kind); }
  // Returns copies of the objects `keep` accepts.
  std::vector<json> Cached(const api::Kind& kind, const std::function<bool(const json&)>& keep);
  // The keys of the stored `kind` objects `keep` accepts, read from the store (every object is
  // parsed: a watch mapping that needs all of a kind pays O(n)). Empty when the list fails.
  std::vector<ObjectKey> KeysWhere(const api::Kind& kind,
                                   const std::function<bool(const json&)>& keep);

  server::ObjectService& objects_;
  const api::Kind& primary_;
  const std::string name_;

 private:
  struct Source {
    const api::Kind* kind;
    std::function<std::vector<ObjectKey>(const json&)> map;
  };
  void WatchLoop(const Source& source);
  void WorkLoop();

  std::vector<Source> sources_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_ = false;

  std::set<const api::Kind*> cached_kinds_;
  std::mutex cache_mu_;
  std::map<const api::Kind*, std::map<ObjectKey, json>> cache_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::set<ObjectKey> ready_;
  std::multimap<std::chrono::steady_clock::time_point, ObjectKey> delayed_;
  std::map<ObjectKey, int> failures_;
};

// Helpers shared by controllers, which read objects of any shape without throwing.
const api::Kind& KindOf(const char* group, const char* kind);  // a kind vdisk serves
// Null-safe member access: a missing member or a non-object parent reads as null.
const json& Field(const json& object, const char* key);
std::string Str(const json& value);  // "" unless a string
std::string MetaString(const json& object, const char* field);
// The primary key of the object itself.
std::vector<ObjectKey> SelfKey(const json& object);
// The keys of the objects that own `object` and are of `owner_kind`.
std::vector<ObjectKey> OwnerKeys(const json& object, const std::string& owner_kind);
// Merges `annotations` into metadata.annotations of the `kind` object at `key`.
Status Annotate(server::ObjectService& objects, const api::Kind& kind, const ObjectKey& key,
                const json& annotations);
// Whether metadata.finalizers holds `finalizer`.
bool HasFinalizer(const json& object, const std::string& finalizer);
// Adds (`present`) or removes `finalizer` in metadata.finalizers of `object` (of `kind`); a
// no-op when it is already so. The write is pinned to the object's resourceVersion, so a
// concurrent change makes it a Conflict (retried by the controller) instead of a lost update.
Status SetFinalizer(server::ObjectService& objects, const api::Kind& kind, const json& object,
                    const std::string& finalizer, bool present);

}  // namespace vdisk::controllers
