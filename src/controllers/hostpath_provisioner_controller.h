// HostPathProvisionerController: the node side of the hostpath provisioner (spec 9.20.2). For
// each cluster-scoped HostPathProvisioner CR it makes the CR's storage pools real on this node
// and feeds them to the storage::PoolRegistry the volume controller provisions from.
//
//   spec.storagePools[i] {name, path}        the directory is created if missing, then the
//                                            pool is registered. A path that exists and is not
//                                            a directory fails the pool (nothing is touched).
//   spec.storagePools[i] {.., pvcTemplate}   (9.20.2.2) claim <ns>/hpp-pool-<pool>-<node> made
//        from the template ─> Bound ─> its PV's local path (a block device, or a regular file
//        standing in for one) gets an XFS file system if blkid finds none ─> mounted at path
//        ─> registered. Phases Preparing (claim not bound), Mounting, Ready.
//   spec.pathConfig.path (legacy)            a path pool registered under storage::kLegacyPool
//
// Removing a pool from the spec unregisters it; a pvcTemplate pool is then unmounted and its
// claim deleted, but only once the pool holds no volumes (until then: Warning PoolInUse). The CR
// carries a finalizer so that deleting it does the same for all its pools first.
//
// Status (the upstream CRD's fields): storagePoolStatuses[] {name, phase, desiredReady,
// currentReady, claimStatuses[] {name, status}} and the conditions Available (every pool Ready;
// its message names each pool's path and statfs capacity), Progressing (some pool not ready
// yet) and Degraded (a pool failed, or sits on the operating system's file system, which the
// spec warns against). Each problem is also a Warning event on the CR.
//
// Thread safety: as Controller.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "controllers/controller.h"
#include "controllers/event_recorder.h"
#include "storage/pool_registry.h"

namespace vdisk::controllers {

inline constexpr const char* kHostPathProvisionerFinalizer =
    "finalizer.delete.hostpath-provisioner";
// Marks the claims this controller made for pvcTemplate pools; annotations name the CR, the pool
// and its mount point (kAnnPoolPath).
inline constexpr const char* kLabelPoolClaim = "hostpathprovisioner.kubevirt.io/pool-claim";
inline constexpr const char* kAnnPoolProvisioner = "hostpathprovisioner.kubevirt.io/provisioner";
inline constexpr const char* kAnnPoolName = "hostpathprovisioner.kubevirt.io/storage-pool";

struct HostPathProvisionerOptions {
  std::string node_name = "node01";
  // Where pool claims are made; upstream uses the provisioner's namespace.
  std::string claim_namespace = "openshift-cnv";
  // The operating system's root, for the "pool on the OS partition" warning.
  std::string root = "/";
};

// The claim name of pool `pool` on `node`: "hpp-pool-<pool>-<node>", made a valid object name
// (lower case; characters other than [a-z0-9.-] become '-').
std::string PoolClaimName(const std::string& pool, const std::string& node);

class HostPathProvisionerController : public Controller {
 public:
  HostPathProvisionerController(server::ObjectService& objects, storage::PoolRegistry& pools,
                                HostPathProvisionerOptions options);
  // Stops the loop here, while Reconcile can still be called.
  ~HostPathProvisionerController() override { Stop(); }

 protected:
  Result<Requeue> Reconcile(const ObjectKey& key) override;

 private:
  // What one pool looks like after a pass; `problem` makes it failed.
  struct PoolState {
    PoolState(std::string pool_name, std::string pool_path)
        : name(std::move(pool_name)), path(std::move(pool_path)) {}
    std::string name;
    std::string path;
    std::string phase = "Preparing";  // then Mounting, Ready
    std::string problem;
    std::string warning;
    std::string capacity;  // statfs, e.g. "12.0Gi free of 20.0Gi", once Ready
    nlohmann::json claim_statuses = nlohmann::json::array();
  };

  PoolState ReconcilePathPool(const std::string& owner, const std::string& name,
                              const std::string& path);
  PoolState ReconcileTemplatePool(const nlohmann::json& cr, const nlohmann::json& pool);
  // Finishes a ready pool: registers it, measures it and looks for the OS-partition warning.
  void Serve(const std::string& owner, PoolState& state);
  // Unregisters and (for pvcTemplate pools) unmounts and releases every pool of `cr_name` not in
  // `keep`; false when a pool could not be removed yet.
  Result<bool> RemovePools(const std::string& cr_name, const std::set<std::string>& keep,
                           const nlohmann::json* cr);
  Result<std::vector<nlohmann::json>> PoolClaims(const std::string& cr_name);
  Status WriteStatus(const nlohmann::json& cr, const std::vector<PoolState>& pools);

  storage::PoolRegistry& pools_;
  const HostPathProvisionerOptions options_;
  EventRecorder events_;
};

}  // namespace vdisk::controllers
