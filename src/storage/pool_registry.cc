// PoolRegistry: see pool_registry.h.
#include "storage/pool_registry.h"

namespace vdisk::storage {

Status PoolRegistry::Register(PoolEntry entry) {
  std::lock_guard lock(mu_);
  auto it = pools_.find(entry.name);
  if (it != pools_.end() && it->second.owner != entry.owner) {
    return AlreadyExists("storage pool \"" + entry.name + "\" is already defined by " +
                         it->second.owner);
  }
  pools_[entry.name] = std::move(entry);
  return Status::Ok();
}

void PoolRegistry::Unregister(const std::string& name, const std::string& owner) {
  std::lock_guard lock(mu_);
  auto it = pools_.find(name);
  if (it != pools_.end() && it->second.owner == owner) pools_.erase(it);
}

std::optional<PoolEntry> PoolRegistry::Find(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = pools_.find(name);
  if (it == pools_.end() && name == kLegacyPoolName) it = pools_.find(kDefaultPoolName);
  if (it == pools_.end()) return std::nullopt;
  return it->second;
}

Result<HostPathPool> PoolRegistry::Open(const std::string& name) const {
  std::optional<PoolEntry> entry = Find(name);
  if (!entry) {
    return NotFound("storage pool \"" + name +
                    "\" is not defined by any HostPathProvisioner's spec.storagePools");
  }
  if (!entry->unavailable.empty()) {
    return Unavailable("storage pool \"" + entry->name + "\" is not ready: " + entry->unavailable);
  }
  return HostPathPool::Open(entry->path);
}

std::vector<PoolEntry> PoolRegistry::OwnedBy(const std::string& owner) const {
  std::lock_guard lock(mu_);
  std::vector<PoolEntry> owned;
  for (const auto& [name, entry] : pools_) {
    if (entry.owner == owner) owned.push_back(entry);
  }
  return owned;
}

}  // namespace vdisk::storage
