// ObjectService: the semantics of the Kubernetes object API, independent of HTTP.
//
// The REST layer (server/rest_handler.h) and in-process controllers both call it, so a
// controller's writes get exactly the validation, defaulting, metadata handling and optimistic
// concurrency a kubectl user's writes get.
//
//   create:  name/generateName -> strict field check -> schema -> defaults -> rules -> store
//   update:  keeps system metadata and the other half of spec/status, bumps generation when
//            the spec changes, checks resourceVersion (409 on a stale one)
//   patch:   read -> apply patch -> update, retried on conflicts the client did not ask for
//   delete:  finalizers and deletionTimestamp; propagation (Background, Foreground, Orphan)
//            is carried out by controllers/garbage_collector.h
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/kinds.h"
#include "common/status.h"
#include "store/store.h"

namespace vdisk::server {

using Json = nlohmann::json;
using api::Kind;

enum class FieldValidation { kStrict, kWarn, kIgnore };
enum class PatchType { kJson, kMerge, kStrategic };

struct WriteOptions {
  FieldValidation field_validation = FieldValidation::kWarn;
  bool dry_run = false;
};

// What a write returns: the stored object and any warnings for the client (Warning headers).
struct WriteResult {
  Json object;
  std::vector<std::string> warnings;
};

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
};

struct ListResult {
  std::vector<Json> items;
  int64_t revision = 0;
};

struct DeleteOptions {
  std::string propagation_policy;  // "", Background, Foreground, Orphan
  std::string precondition_uid;
  std::string precondition_resource_version;
  bool dry_run = false;
};

// A watch over one kind: events carry parsed objects, already filtered by the selectors.
struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED
  Json object;
};

class ObjectWatch {
 public:
  virtual ~ObjectWatch() = default;
  // nullopt on timeout; Gone when events were lost and the client must list again.
  virtual Result<std::optional<WatchEvent>> Next(std::chrono::milliseconds timeout) = 0;
};

class ObjectService {
 public:
  explicit ObjectService(store::Store& store);

  // `ns` is the request's namespace: empty for cluster-scoped kinds, and for lists/watches
  // across all namespaces.
  Result<WriteResult> Create(const Kind& kind, const std::string& ns, Json object,
                             const WriteOptions& options = {});
  Result<Json> Get(const Kind& kind, const std::string& ns, const std::string& name);
  Result<ListResult> List(const Kind& kind, const std::string& ns, const ListOptions& options);
  // The stored text of a kind's objects in `ns` (all when empty), unparsed: for callers that
  // keep what they make of each object by its revision.
  Result<store::Store::ListResult> ListStored(const Kind& kind, const std::string& ns);
  // `status_only`: the /status subresource, which changes status and nothing else.
  Result<WriteResult> Update(const Kind& kind, const std::string& ns, const std::string& name,
                             Json object, bool status_only, const WriteOptions& options = {});
  Result<WriteResult> Patch(const Kind& kind, const std::string& ns, const std::string& name,
                            PatchType type, const Json& patch, bool status_only,
                            const WriteOptions& options = {});
  // Returns the object as it was deleted, or with deletionTimestamp set when finalizers or
  // Foreground/Orphan propagation keep it for now.
  Result<Json> Delete(const Kind& kind, const std::string& ns, const std::string& name,
                      const DeleteOptions& options = {});
  // resource_version "" or "0": first an ADDED event for each existing object.
  Result<std::unique_ptr<ObjectWatch>> Watch(const Kind& kind, const std::string& ns,
                                             const ListOptions& options,
                                             const std::string& resource_version);

  // Every object of every kind from one snapshot, and the changes after it: for controllers
  // that follow all objects, such as the garbage collector.
  struct AnyObject {
    const Kind* kind;
    Json object;
  };
  Result<std::vector<AnyObject>> ListEverything(int64_t* revision);
  Result<std::unique_ptr<store::Watch>> WatchEverything(int64_t from_revision);
  // The kind of a stored object, from its apiVersion and kind; nullptr if unknown.
  static const Kind* KindOf(const Json& object);

  // The store key of an object, and the prefix of a kind's objects in `ns` (all when empty).
  static std::string Key(const Kind& kind, const std::string& ns, const std::string& name);
  static std::string Prefix(const Kind& kind, const std::string& ns);

  // The canonical Status messages: `datavolumes.cdi.kubevirt.io "x" not found`.
  static Status NotFoundError(const Kind& kind, const std::string& name);

 private:
  Result<Json> Read(const Kind& kind, const std::string& ns, const std::string& name,
                    int64_t* revision);
  Status CheckNamespaceAcceptsWrites(const Kind& kind, const std::string& ns);
  Status Prepare(const Kind& kind, Json& object, const Json* old, const WriteOptions& options,
                 std::vector<std::string>& warnings);
  Result<WriteResult> Store(const Kind& kind, const std::string& ns, const std::string& name,
                            Json object, int64_t expected_revision,
                            std::vector<std::string> warnings, bool dry_run);

  store::Store& store_;
};

}  // namespace vdisk::server
