// VolumeController: PV/PVC binding, hostpath provisioning, expansion and reclaim, as the
// Kubernetes PV controller and the hostpath CSI provisioner do them together on one node.
//
// It runs two reconcile loops: ClaimBinder (primary kind PVC) and VolumeReclaimer (primary
// kind PV).
//
//  PVC   Pending ──(static PV fits | hostpath class provisions pvc-<uid>)──> Bound
//          │  WaitForFirstConsumer without cdi.kubevirt.io/storage.bind.immediate.requested
//          └─ (and not owned by a DataVolume): stays Pending, event WaitForFirstConsumer
//          │  pool too small: stays Pending, Warning event ProvisioningFailed, retried
//          │  spec.dataSourceRef (else dataSource) a ready VolumeSnapshot or a Bound claim of
//          │  this provisioner: no static PV; the new volume starts as its copy (a reflink
//          │  where the file system can, else its data copied, holes kept). A dataSourceRef
//          │  may name another namespace (DataVolume clones do); vdisk has one administrator
//          │  and no ReferenceGrants to check.
//        Bound ──(request grew, class allows expansion)──> Bound, capacity and disk.img grown
//
//  PV    Available ──(claimRef set by binder)──> Bound ──(claim deleted)──> Released
//        Released ──reclaim Delete──> volume directory and PV deleted
//                 ──reclaim Retain──> kept; removing spec.claimRef ──> Available
//                 ──Delete on a PV vdisk did not provision──> Failed
//
// Static PV choice: same storageClassName, access modes a superset of the claim's, equal
// volumeMode, capacity >= request, labels matching spec.selector; the smallest such PV wins.
// A claim with a selector is never provisioned for (no new volume has the labels); when it
// names no class it gets no default class and takes a matching PV of any class, so that the
// spec's clone to a labelled local PV (examples 18 and 19) binds as written.
// Binding writes the PV first (spec.claimRef with the claim's uid, then phase Bound), then the
// claim (spec.volumeName, then status), so a crash in between is finished by the next pass.
//
// Static local PVs are checked on this node: a PV whose spec.local.path is missing (or is not
// what its volumeMode needs: a directory for Filesystem, a block device or a regular file
// standing in for one for Block) is never bound. When a claim would bind to it, or while a
// claim uses it, it goes to Failed with reason LocalPathMissing, a message and Warning events
// (on the PV and the claim) naming the path; once the path is there again it starts over
// (Available, or Bound). A Bound claim whose PV object is deleted becomes Lost.
//
// Pools: every storagePool parameter is resolved by one storage::PoolRegistry, which this
// controller owns and seeds with the built-in pool "default" at <data_dir>/pools/default; the
// HostPathProvisioner controller adds the CRs' pools to it.
//
// Expansion is also checked at the API (validation of a PVC update): the binder records on each
// bound claim whether its class allows expansion (kAnnAllowVolumeExpansion) and keeps that
// record current when the class changes, so that a resize the class forbids is refused with
// Kubernetes' message instead of being accepted and left undone.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "api/annotations.h"
#include "controllers/controller.h"
#include "controllers/event_recorder.h"
#include "storage/hostpath_pool.h"
#include "storage/pool_registry.h"

namespace vdisk::controllers {

inline constexpr const char* kHostPathProvisioner = "kubevirt.io.hostpath-provisioner";
inline constexpr const char* kNoProvisioner = "kubernetes.io/no-provisioner";
using api::kAnnBindImmediate;
inline constexpr const char* kAnnDefaultClass = "storageclass.kubernetes.io/is-default-class";
inline constexpr const char* kAnnProvisionedBy = "pv.kubernetes.io/provisioned-by";
// The pool directory a provisioned PV lives in, so reclaim needs neither the class nor the CR.
inline constexpr const char* kAnnPoolPath = "hostpathprovisioner.kubevirt.io/pool-path";
// Set on the PVC once its disk.img was preallocated (CDI's AnnPreallocationApplied).
inline constexpr const char* kAnnPreallocationApplied = "cdi.kubevirt.io/storage.preallocation";
// The node the scheduler picked for a WaitForFirstConsumer claim: its consumer exists.
inline constexpr const char* kAnnSelectedNode = "volume.kubernetes.io/selected-node";
// Whether the bound claim's class allows expansion ("true"/"false"). PVC update validation
// (api/validation_core.cc) reads it under the same name.
inline constexpr const char* kAnnAllowVolumeExpansion = "volume.vdisk.io/allow-volume-expansion";
// PV status.reason of a local PV whose path is not on this node.
inline constexpr const char* kReasonLocalPathMissing = "LocalPathMissing";

struct VolumeControllerOptions {
  std::string data_dir;              // the built-in pool "default" is <data_dir>/pools/default
  std::string node_name = "node01";  // node affinity of provisioned PVs
};

// Opens the pool a storage class's parameters.storagePool names.
Result<storage::HostPathPool> PoolForClass(const storage::PoolRegistry& pools,
                                           const nlohmann::json& storage_class);
// Why a static PV's spec.local.path cannot back a volume on this node ("" when it can): it is
// missing, or not a directory (Filesystem) / a block device or regular file (Block).
std::string LocalPathProblem(const nlohmann::json& pv);
// The pool a PV provisioned by vdisk lives in (annotation kAnnPoolPath).
Result<storage::HostPathPool> PoolOfVolume(const nlohmann::json& pv);
// The file or device holding a PV's disk: a Block PV's spec.local.path, a Filesystem PV's
// disk.img (in its pool, or in a static PV's local or hostPath directory).
Result<std::string> VolumeImagePath(const nlohmann::json& pv);
// A quantity ("2Gi", or a bare JSON number) in bytes; 0 when missing or malformed.
int64_t QuantityBytes(const nlohmann::json& value);
// The storage request of a claim spec in bytes, 0 when missing or malformed.
int64_t ClaimRequest(const nlohmann::json& pvc);

class ClaimBinder : public Controller {
 public:
  ClaimBinder(server::ObjectService& objects, VolumeControllerOptions options,
              const storage::PoolRegistry& pools);

 protected:
  Result<Requeue> Reconcile(const ObjectKey& key) override;

 private:
  Result<Requeue> ReconcilePending(nlohmann::json pvc);
  Result<Requeue> ReconcileBound(const nlohmann::json& pvc);
  Result<Requeue> Provision(const nlohmann::json& pvc, const nlohmann::json& storage_class);
  // What a claim's data source (a ready VolumeSnapshot, or a Bound claim vdisk provisioned:
  // a CSI clone) asks the new volume to start from; empty without one. Unavailable while the
  // source is not ready.
  struct PopulationSource {
    std::string path;      // the image to copy (by reflink where the file system can)
    int64_t min_size = 0;  // the smallest request that may hold it
    std::string what;      // "VolumeSnapshot ns/name", for messages
  };
  Result<std::optional<PopulationSource>> PopulationSourceOf(const nlohmann::json& pvc);
  Status Populate(const nlohmann::json& pvc, const PopulationSource& source,
                  const storage::HostPathPool& pool, const std::string& pv_name);
  Result<std::optional<nlohmann::json>> FindStaticVolume(const nlohmann::json& pvc);
  Status Bind(const nlohmann::json& pvc, nlohmann::json pv);
  Result<Requeue> Expand(const nlohmann::json& pvc, int64_t request);
  Result<std::optional<nlohmann::json>> StorageClassOf(const nlohmann::json& pvc);
  // Records kAnnAllowVolumeExpansion on a bound claim when it differs from its class.
  Status RecordExpansionAllowed(const nlohmann::json& pvc,
                                const std::optional<nlohmann::json>& storage_class);
  Status MarkLost(const nlohmann::json& pvc);
  std::vector<ObjectKey> PendingClaims();
  std::vector<ObjectKey> ClaimsOfClass(const std::string& class_name);
  // The wait before provisioning `claim` again after one more failure in a row.
  std::chrono::milliseconds RetryDelay(const ObjectKey& claim);

  VolumeControllerOptions options_;
  const storage::PoolRegistry& pools_;
  EventRecorder events_;
  std::mutex failures_mu_;
  std::map<ObjectKey, int> provision_failures_;  // cleared when the claim binds
};

class VolumeReclaimer : public Controller {
 public:
  VolumeReclaimer(server::ObjectService& objects, std::string node_name);

 protected:
  Result<Requeue> Reconcile(const ObjectKey& key) override;

 private:
  Status SetPhase(const nlohmann::json& pv, const std::string& phase,
                  const std::string& message = "");
  Result<Requeue> Reclaim(const nlohmann::json& pv);
  // Fails a local PV whose path is gone, or restores one whose path came back; true when the
  // PV is (still) failed for that reason.
  Result<bool> CheckLocalPath(const nlohmann::json& pv);
  Result<Requeue> ReconcileVolume(const nlohmann::json& pv);

  const std::string node_name_;
  EventRecorder events_;
};

// Both loops, started and stopped together, and the pool registry they resolve pools with.
class VolumeController {
 public:
  VolumeController(server::ObjectService& objects, VolumeControllerOptions options);
  // The registry other pool sources (the HostPathProvisioner controller) feed; it lives as long
  // as this controller.
  storage::PoolRegistry& pools() { return pools_; }
  void Start() {
    binder_.Start();
    reclaimer_.Start();
  }
  void Stop() {
    binder_.Stop();
    reclaimer_.Stop();
  }

 private:
  storage::PoolRegistry pools_;  // before the loops, which use it
  ClaimBinder binder_;
  VolumeReclaimer reclaimer_;
};

}  // namespace vdisk::controllers
