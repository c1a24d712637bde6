// DataVolumeController: the rules every DataVolume shares, and the `blank` source.
//
//  (created) ──PVC rendered + created──> Pending ──PVC Bound──> PVCBound ──blank written──>
//  Succeeded
//      │                                   progress "N/A"                         progress "100.0%"
//      └─ storage API and no access modes in the StorageProfile: no PVC; Ready=False
//         reason ErrClaimNotValid says why (spec 9.20.3.3's warning)
//
// Rendering the claim (one place, for every source):
//   spec.pvc      taken exactly as written
//   spec.storage  accessModes/volumeMode fill in from StorageProfile `<class>`
//                 (spec.claimPropertySets[0] over status.claimPropertySets[0]); a Filesystem
//                 request is inflated for overhead: storage::RequiredSpace (CDI's formula)
// The PVC is named after the DataVolume, owned by it (controller, blockOwnerDeletion; the
// GarbageCollector deletes it with the DataVolume) and carries
// cdi.kubevirt.io/storage.bind.immediate.requested so WaitForFirstConsumer classes bind at once.
//
// Blank Filesystem volumes get disk.img, sparse raw, of storage::UsableSpace(request,
// overhead) (CDI rounds down to 1 MiB), preallocated when spec.preallocation or CDIConfig's
// preallocation says so; the PVC is then annotated cdi.kubevirt.io/storage.preallocation=true
// (CDI's AnnPreallocationApplied) and a PreallocationApplied event is posted. Blank Block
// volumes need nothing written.
//
// The `http` source (an import):
//
//  PVCBound ──job submitted──> ImportScheduled ──a slot is free──> ImportInProgress ──> Succeeded
//                                                   progress "NN.NN%", restartCount  └─> Failed
//
// The ImportRunner transfers the bytes on its own threads; this controller turns its state
// into the DataVolume's status every second while it runs. The source's secretRef (a Secret
// with accessKeyId and secretKey), certConfigMap (every value is PEM CA certificates),
// extraHeaders, secretExtraHeaders and checksum are resolved when the job is submitted. A
// server that stopped mid-import (phase ImportScheduled or ImportInProgress, no job) imports
// again from the start, and that counts as a restart. Deleting the DataVolume cancels its job.
//
// The `upload` source (spec 9.20.9; the upload endpoints are upload/endpoints.h):
//
//  PVCBound ──offered to the UploadRegistry──> UploadScheduled ──> UploadReady ──> Succeeded
//                                                    (accepts an upload;  │ progress "NN.NN%"
//                                                     PVC annotated       │ while one runs)
//                                                     pod.phase=Running,  └─ a failed or
//                                                     pod.ready=true)        interrupted upload:
//                                                                            UploadReady again,
//                                                                            restartCount + 1
// The claim then carries pod.phase=Succeeded, and a later upload gets 409.
//
// Clones: `pvc` {namespace, name} (another claim) and `snapshot` {namespace, name} (a
// VolumeSnapshot) sources; datavolume_clone.cc. The strategy is ChooseCloneStrategy's
// (clone_strategy.h) and is written on the target claim (cdi.kubevirt.io/cloneType):
//
//  snapshot   SnapshotForSmartCloneInProgress (temporary VolumeSnapshot cdi-tmp-<dv uid> of the
//             source, in its namespace) ──> SmartClonePVCInProgress (the claim's dataSourceRef
//             names the snapshot; the provisioner reflinks it) ──> snapshot deleted
//  csi-clone  CSICloneInProgress (the claim's dataSourceRef names the source claim)
//  copy       CloneScheduled ──> CloneInProgress "NN.NN%" (a CloneRunner copies the bytes,
//             sparse, between any mix of Filesystem and Block volumes)
//  then       ExpansionInProgress (a Filesystem image grows to the usable space) ──> Succeeded
//
// A `snapshot` source always restores through the provisioner (phase SmartClonePVCInProgress).
// A target smaller than its source fails the DataVolume with CDI's message.
//
// DataVolumes with other sources are left alone.
#pragma once

#include <memory>

#include "api/annotations.h"
#include "controllers/clone_runner.h"
#include "controllers/controller.h"
#include "controllers/event_recorder.h"
#include "controllers/import_runner.h"
#include "upload/registry.h"

namespace vdisk::controllers {

inline constexpr const char* kAnnPreallocationRequested =
    "cdi.kubevirt.io/storage.preallocation.requested";

// Renders the PVC spec of a DataVolume (see above). `storage_class` is the resolved class
// (null when none), `profile` its StorageProfile (null when none), `overhead` its filesystem
// overhead. Errors are Invalid, with the message the DataVolume's condition shows.
Result<nlohmann::json> RenderClaimSpec(const nlohmann::json& dv, const nlohmann::json& profile,
                                       double overhead);

using api::kAnnPodPhase;
using api::kAnnPodReady;

// Where a bound claim's data goes: its PV's disk.img (Filesystem, sized to the usable space)
// or its local block device, with scratch space at `scratch_dir`.
Result<dataplane::ImportTarget> VolumeTargetOf(server::ObjectService& objects,
                                               const nlohmann::json& pvc, double overhead,
                                               bool preallocate, std::string scratch_dir);

struct DataVolumeOptions {
  std::string scratch_dir;  // each import that needs scratch space gets <scratch_dir>/<uid>
  ImportRunnerOptions imports;
  upload::UploadRegistry* uploads = nullptr;  // unset: upload DataVolumes are left alone
};

class DataVolumeController : public Controller {
 public:
  explicit DataVolumeController(server::ObjectService& objects, DataVolumeOptions options = {});
  // Prometheus text about imports (see ImportRunner::Metrics).
  std::string Metrics() const { return imports_->Metrics(); }

 protected:
  Result<Requeue> Reconcile(const ObjectKey& key) override;

 private:
  Result<Requeue> EnsureClaim(const nlohmann::json& dv);
  Result<Requeue> FollowClaim(const nlohmann::json& dv, const nlohmann::json& pvc);
  Result<Requeue> PopulateBlank(const nlohmann::json& dv, const nlohmann::json& pvc);
  Result<Requeue> PopulateByImport(const nlohmann::json& dv, const nlohmann::json& pvc);
  Result<Requeue> PopulateByUpload(const nlohmann::json& dv, const nlohmann::json& pvc);
  Result<Requeue> SubmitImport(const nlohmann::json& dv, const nlohmann::json& pvc);
  // Clones (datavolume_clone.cc). PrepareCloneClaim fills in the target claim's clone parts;
  // false when the claim must wait (its status says why).
  Result<bool> PrepareCloneClaim(const nlohmann::json& dv, nlohmann::json& pvc);
  Result<bool> PrepareSmartClone(const nlohmann::json& dv, const nlohmann::json& source_pvc,
                                 const std::string& snapshot_class, nlohmann::json& pvc);
  Result<Requeue> PopulateByClone(const nlohmann::json& dv, const nlohmann::json& pvc);
  Result<Requeue> SubmitCloneCopy(const nlohmann::json& dv, const nlohmann::json& pvc);
  Result<Requeue> FinishClone(const nlohmann::json& dv, const nlohmann::json& pvc);
  Status DeleteCloneSnapshots(const ObjectKey& dv);
  Status FailClone(const nlohmann::json& dv, const std::string& reason, const std::string& message);
  Result<ImportJob> ImportJobFor(const nlohmann::json& dv, const nlohmann::json& pvc);
  Status MarkPopulated(const nlohmann::json& dv, const nlohmann::json& pvc, bool preallocated);
  Result<std::string> ClassNameFor(const nlohmann::json& dv);
  double OverheadFor(const std::string& class_name);
  bool PreallocationWanted(const nlohmann::json& dv);
  // Writes phase, progress and the three conditions; unchanged conditions keep their
  // lastTransitionTime.
  // restart_count, when set, replaces status.restartCount.
  Status SetStatus(const nlohmann::json& dv, const std::string& phase, const std::string& progress,
                   const nlohmann::json& conditions, std::optional<int> restart_count = {});

  DataVolumeOptions options_;
  EventRecorder events_;
  // Last: their threads report to the members above.
  std::unique_ptr<ImportRunner> imports_;
  std::unique_ptr<CloneRunner> clones_;
};

}  // namespace vdisk::controllers
