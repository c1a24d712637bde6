// StorageProfileController: one cluster-scoped StorageProfile per StorageClass, as CDI keeps them
// (spec 9.20.3.3).
//
//   StorageClass X ──> StorageProfile X   metadata.ownerReferences: StorageClass X (the garbage
//                                          collector removes the profile with its class)
//                                          spec:   the administrator's, never written here
//                                          status: provisioner, storageClass,
//                                                  claimPropertySets, cloneStrategy
//
// status.claimPropertySets is spec.claimPropertySets when the administrator set any, else the
// known-provisioner table's entry, else absent ("modes cannot be determined"). The same rule
// holds for cloneStrategy, with the class's `cdi.kubevirt.io/clone-strategy` annotation between
// the spec and the table, as upstream.
//
// Snapshots: a hostpath pool whose file system shares blocks (reflinks) snapshots and clones in
// constant time. For a hostpath class whose pool can, the controller also keeps
//
//   VolumeSnapshotClass X   driver kubevirt.io.hostpath-provisioner, deletionPolicy Delete,
//                           owned by StorageClass X (made unless one of that name exists)
//   profile status          snapshotClass: X (spec.snapshotClass wins), and cloneStrategy
//                           "snapshot" where the table would say "copy"
//
// A pool without reflinks gets neither (and loses the class this controller made), matching
// the spec's feature matrix for the hostpath provisioner. Pools change with the
// HostPathProvisioner CRs, which are watched.
//
// A profile the administrator made before its class exists is adopted when the class appears.
// Thread safety: as Controller; the free functions are pure.
#pragma once

#include <string>
#include <vector>

#include "controllers/controller.h"
#include "storage/pool_registry.h"

namespace vdisk::controllers {

// One entry of claimPropertySets: modes the storage class supports together.
struct ClaimPropertySet {
  std::vector<std::string> access_modes;  // ReadWriteOnce, ReadWriteMany, ...
  std::string volume_mode;                // Filesystem or Block
  bool operator==(const ClaimPropertySet&) const = default;
};

// The claim property sets CDI knows for `provisioner`; empty for an unrecognized one.
std::vector<ClaimPropertySet> KnownClaimPropertySets(const std::string& provisioner);
// The clone strategy advised for `provisioner` ("copy", "snapshot", "csi-clone"); empty for an
// unrecognized one.
std::string KnownCloneStrategy(const std::string& provisioner);

// The claim property sets a DataVolume on the storage API takes its modes from: the profile's
// spec.claimPropertySets when set, else its status.claimPropertySets. An empty result means the
// modes cannot be determined; a malformed set (no access modes or no volume mode) is Invalid.
Result<std::vector<ClaimPropertySet>> EffectiveClaimProperties(const json& storage_profile);
// The clone strategy in effect: spec.cloneStrategy, else status.cloneStrategy, else "".
std::string EffectiveCloneStrategy(const json& storage_profile);

// The status the controller writes for `profile` of `storage_class`: the managed fields are
// replaced, any other status field of `profile` is kept. `snapshots_supported`: the class's
// pool can take snapshots, and its VolumeSnapshotClass carries the class's name.
json DesiredStorageProfileStatus(const json& storage_class, const json& profile,
                                 bool snapshots_supported = false);

class StorageProfileController : public Controller {
 public:
  // `pools` resolves hostpath classes to their pools to learn whether they take snapshots;
  // without it no class does.
  explicit StorageProfileController(server::ObjectService& objects,
                                    const storage::PoolRegistry* pools = nullptr);
  // Stops the loop here, while Reconcile can still be called.
  ~StorageProfileController() override { Stop(); }

 protected:
  Result<Requeue> Reconcile(const ObjectKey& key) override;

 private:
  // The class's profile, created (or adopted) and owned by the class.
  Result<json> EnsureProfile(const json& storage_class);
  Status DeleteOrphanedProfile(const std::string& name);
  bool SnapshotsSupported(const json& storage_class) const;
  // Creates the class's VolumeSnapshotClass when `wanted`, else deletes the one made for it.
  Status EnsureSnapshotClass(const json& storage_class, bool wanted);

  const api::Kind& profile_kind_;
  const storage::PoolRegistry* pools_;
};

}  // namespace vdisk::controllers
