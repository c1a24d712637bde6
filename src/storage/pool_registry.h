// PoolRegistry: the storage pools this node serves, by name; the one place where a
// StorageClass's `parameters.storagePool` becomes a directory.
//
//   "default"           built in, <data_dir>/pools/default (registered by the volume controller)
//   spec.storagePools[] of a HostPathProvisioner CR (registered by its controller once the
//                       directory exists, or, for a pvcTemplate pool, once it is mounted)
//   "" (no parameter)   the CR's legacy spec.pathConfig.path when one is registered under "",
//                       else "default"
//
// A pool may be registered while not usable yet (a pvcTemplate pool waiting for its claim):
// opening it then fails with Unavailable and the reason, which the provisioner shows in its
// ProvisioningFailed event. Each entry has an owner; only its owner may replace or remove it,
// so two CRs naming the same pool cannot take it from each other.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/hostpath_pool.h"

namespace vdisk::storage {

inline constexpr const char* kDefaultPoolName = "default";
// The name a HostPathProvisioner's legacy spec.pathConfig pool is registered under.
inline constexpr const char* kLegacyPoolName = "";

struct PoolEntry {
  std::string name;
  std::string path;
  std::string owner;        // who feeds the entry, e.g. "HostPathProvisioner/hostpath-provisioner"
  std::string unavailable;  // why the pool cannot take volumes yet; empty when it can
};

class PoolRegistry {
 public:
  // Adds or updates pool `name`. AlreadyExists when another owner has registered that name.
  Status Register(PoolEntry entry);
  // Removes pool `name` if `owner` registered it.
  void Unregister(const std::string& name, const std::string& owner);

  // The pool a class's storagePool parameter names (see the header comment for "").
  std::optional<PoolEntry> Find(const std::string& name) const;
  // Opens the named pool: NotFound when no one defines it, Unavailable (with the reason) when
  // it is not ready, Invalid when its path is not a directory.
  Result<HostPathPool> Open(const std::string& name) const;
  // The entries `owner` registered.
  std::vector<PoolEntry> OwnedBy(const std::string& owner) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, PoolEntry> pools_;
};

}  // namespace vdisk::storage
