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
// A profile the administrator made before its class exists is adopted when the class appears.
// Thread safety: as Controller; the free functions are pure.
#pragma once

#include <string>
#include <vector>

#include "controllers/controller.h"

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
// replaced, any other status field of `profile` is kept.
json DesiredStorageProfileStatus(const json& storage_class, const json& profile);

class StorageProfileController : public Controller {
 public:
  explicit StorageProfileController(server::ObjectService& objects);
  // Stops the loop here, while Reconcile can still be called.
  ~StorageProfileController() override { Stop(); }

 protected:
  Result<Requeue> Reconcile(const ObjectKey& key) override;

 private:
  // The class's profile, created (or adopted) and owned by the class.
  Result<json> EnsureProfile(const json& storage_class);
  Status DeleteOrphanedProfile(const std::string& name);

  const api::Kind& profile_kind_;
};

}  // namespace vdisk::controllers
