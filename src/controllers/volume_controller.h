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
//        Bound ──(request grew, class allows expansion)──> Bound, capacity and disk.img grown
//
//  PV    Available ──(claimRef set by binder)──> Bound ──(claim deleted)──> Released
//        Released ──reclaim Delete──> volume directory and PV deleted
//                 ──reclaim Retain──> kept; removing spec.claimRef ──> Available
//                 ──Delete on a PV vdisk did not provision──> Failed
//
// Static PV choice: same storageClassName, access modes a superset of the claim's, equal
// volumeMode, capacity >= request, labels matching spec.selector; the smallest such PV wins.
// Binding writes the PV first (spec.claimRef with the claim's uid, then phase Bound), then the
// claim (spec.volumeName, then status), so a crash in between is finished by the next pass.
//
// Pools: "default" is built in at <data_dir>/pools/default; other names come from the
// HostPathProvisioner CRs' spec.storagePools[].{name,path}. A class without a storagePool
// parameter uses the CR's legacy spec.pathConfig.path, else the default pool.
#pragma once

#include <memory>
#include <string>

#include "controllers/controller.h"
#include "controllers/event_recorder.h"
#include "storage/hostpath_pool.h"

namespace vdisk::controllers {

inline constexpr const char* kHostPathProvisioner = "kubevirt.io.hostpath-provisioner";
inline constexpr const char* kNoProvisioner = "kubernetes.io/no-provisioner";
inline constexpr const char* kAnnBindImmediate = "cdi.kubevirt.io/storage.bind.immediate.requested";
inline constexpr const char* kAnnDefaultClass = "storageclass.kubernetes.io/is-default-class";
inline constexpr const char* kAnnProvisionedBy = "pv.kubernetes.io/provisioned-by";
// The pool directory a provisioned PV lives in, so reclaim needs neither the class nor the CR.
inline constexpr const char* kAnnPoolPath = "hostpathprovisioner.kubevirt.io/pool-path";
// Set on the PVC once its disk.img was preallocated (CDI's AnnPreallocationApplied).
inline constexpr const char* kAnnPreallocationApplied = "cdi.kubevirt.io/storage.preallocation";

struct VolumeControllerOptions {
  std::string data_dir;              // the built-in pool "default" is <data_dir>/pools/default
  std::string node_name = "node01";  // node affinity of provisioned PVs
};

// Resolves a storage class's pool to a directory and opens it.
Result<storage::HostPathPool> PoolForClass(server::ObjectService& objects,
                                           const VolumeControllerOptions& options,
                                           const nlohmann::json& storage_class);
// The pool a PV provisioned by vdisk lives in (annotation kAnnPoolPath).
Result<storage::HostPathPool> PoolOfVolume(const nlohmann::json& pv);
// The storage request of a claim spec in bytes, 0 when missing or malformed.
int64_t ClaimRequest(const nlohmann::json& pvc);

class ClaimBinder : public Controller {
 public:
  ClaimBinder(server::ObjectService& objects, VolumeControllerOptions options);

 protected:
  Result<Requeue> Reconcile(const ObjectKey& key) override;

 private:
  Result<Requeue> ReconcilePending(nlohmann::json pvc);
  Result<Requeue> ReconcileBound(const nlohmann::json& pvc);
  Result<Requeue> Provision(const nlohmann::json& pvc, const nlohmann::json& storage_class);
  Result<std::optional<nlohmann::json>> FindStaticVolume(const nlohmann::json& pvc);
  Status Bind(const nlohmann::json& pvc, nlohmann::json pv);
  Result<Requeue> Expand(const nlohmann::json& pvc, int64_t request);
  Result<std::optional<nlohmann::json>> StorageClassOf(const nlohmann::json& pvc);
  std::vector<ObjectKey> PendingClaims();

  VolumeControllerOptions options_;
  EventRecorder events_;
};

class VolumeReclaimer : public Controller {
 public:
  explicit VolumeReclaimer(server::ObjectService& objects);

 protected:
  Result<Requeue> Reconcile(const ObjectKey& key) override;

 private:
  Status SetPhase(const nlohmann::json& pv, const std::string& phase,
                  const std::string& message = "");
  Result<Requeue> Reclaim(const nlohmann::json& pv);

  EventRecorder events_;
};

// Both loops, started and stopped together.
class VolumeController {
 public:
  VolumeController(server::ObjectService& objects, VolumeControllerOptions options)
      : binder_(objects, std::move(options)), reclaimer_(objects) {}
  void Start() {
    binder_.Start();
    reclaimer_.Start();
  }
  void Stop() {
    binder_.Stop();
    reclaimer_.Stop();
  }

 private:
  ClaimBinder binder_;
  VolumeReclaimer reclaimer_;
};

}  // namespace vdisk::controllers
