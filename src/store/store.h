// Store: where API objects live, and the stream of changes to them.
//
// Objects are JSON documents under string keys ("/cdi.kubevirt.io/datavolumes/default/disk").
// Every successful mutation gets the next value of one global, monotonically increasing
// revision, which the store writes into the object's metadata.resourceVersion; that is what
// makes optimistic concurrency (Mutation::expected_revision) and resumable watches work.
//
// Implementations: SqliteStore (embedded, one machine). An etcd store is the planned second
// one; nothing above this interface may assume SQLite.
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace vdisk::store {

struct StoredObject {
  std::string key;
  int64_t revision = 0;  // the revision of the mutation that last wrote it
  std::string value;     // JSON text, with metadata.resourceVersion == revision
};

struct Mutation {
  enum class Op { kCreate, kUpdate, kDelete };
  Op op = Op::kCreate;
  std::string key;
  // kUpdate/kDelete: the revision the caller read; a different current revision fails the
  // mutation with Conflict. 0 means unconditional.
  int64_t expected_revision = 0;
  nlohmann::json object;  // kCreate/kUpdate: the new object
};

struct WatchEvent {
  enum class Type { kAdded, kModified, kDeleted };
  Type type = Type::kAdded;
  std::string key;
  int64_t revision = 0;
  // The object after the change; for kDeleted, its last state stamped with the deletion revision.
  std::shared_ptr<const std::string> value;
};

// A stream of changes under a key prefix, in revision order.
class Watch {
 public:
  virtual ~Watch() = default;
  // The next event, or nullopt after `timeout` with none. Returns Gone when the watcher fell so
  // far behind that events were dropped; the client must list again.
  virtual Result<std::optional<WatchEvent>> Next(std::chrono::milliseconds timeout) = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  virtual Result<StoredObject> Get(std::string_view key) = 0;

  struct ListResult {
    std::vector<StoredObject> items;  // in key order
    int64_t revision = 0;             // the store's revision at the time of the read
  };
  // All objects whose key starts with `prefix`, read from one consistent snapshot.
  virtual Result<ListResult> List(std::string_view prefix) = 0;

  // Applies one mutation durably: when it returns OK, the change survives a crash.
  // Create fails with AlreadyExists, Update/Delete with NotFound or Conflict.
  // Returns the object as stored (for kDelete: its last state).
  virtual Result<StoredObject> Apply(Mutation mutation) = 0;

  // Events with revision > from_revision under `prefix`. Gone when from_revision is older than
  // the history the store keeps.
  virtual Result<std::unique_ptr<Watch>> WatchPrefix(std::string prefix, int64_t from_revision) = 0;

  virtual int64_t CurrentRevision() = 0;
};

}  // namespace vdisk::store
