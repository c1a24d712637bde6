// UploadClaimController: upload-target claims offered to the upload registry and annotated.
#include "controllers/upload_claim_controller.h"

#include "controllers/datavolume_controller.h"
#include "storage/fs_overhead.h"

namespace vdisk::controllers {
namespace {

const api::Kind& PvcKind() { return KindOf("", "PersistentVolumeClaim"); }

// How this controller's offers are told from the DataVolumeController's in the registry.
constexpr const char* kOfferedBy = "PersistentVolumeClaim";

}  // namespace

UploadClaimController::UploadClaimController(server::ObjectService& objects,
                                             upload::UploadRegistry& uploads,
                                             std::string scratch_dir)
    : Controller("upload-claim", objects, PvcKind()),
      uploads_(uploads),
      scratch_dir_(std::move(scratch_dir)) {}

Result<Requeue> UploadClaimController::Reconcile(const ObjectKey& key) {
  const upload::ClaimKey claim{key.ns, key.name};
  auto pvc = objects_.Get(PvcKind(), key.ns, key.name);
  if (!pvc.ok()) {
    if (pvc.status().code() != StatusCode::kNotFound) return pvc.status();
    uploads_.Withdraw(claim, kOfferedBy);
    return Requeue();
  }
  const json& annotations = Field(Field(*pvc, "metadata"), "annotations");
  if (!Field(annotations, kAnnUploadTarget).is_string() || !OwnerKeys(*pvc, "DataVolume").empty()) {
    return Requeue();
  }
  if (!Field(Field(*pvc, "metadata"), "deletionTimestamp").is_null()) {
    uploads_.Withdraw(claim, kOfferedBy);
    return Requeue();
  }
  const std::string uid = MetaString(*pvc, "uid");
  if (Str(Field(annotations, kAnnPodPhase)) == "Succeeded") {
    uploads_.MarkDone(claim, uid, kOfferedBy);
    return Requeue();
  }
  if (Str(Field(Field(*pvc, "status"), "phase")) != "Bound") return Requeue();
  auto state = uploads_.State(claim, uid);
  if (!state) {
    auto config = objects_.Get(KindOf("cdi.kubevirt.io", "CDIConfig"), "", "config");
    json cdi_config = config.ok() ? *config : json();
    std::string class_name = Str(Field(Field(*pvc, "spec"), "storageClassName"));
    bool preallocate = Field(Field(cdi_config, "status"), "preallocation") == true;
    VDISK_ASSIGN_OR_RETURN(
        dataplane::ImportTarget target,
        VolumeTargetOf(objects_, *pvc, storage::FilesystemOverhead(cdi_config, class_name),
                       preallocate, scratch_dir_ + "/" + uid));
    uploads_.Offer(claim, uid, std::move(target), kOfferedBy);
    return Requeue(std::chrono::milliseconds(0));
  }
  switch (state->phase) {
    case upload::UploadState::Phase::kReady:
      if (Str(Field(annotations, kAnnPodReady)) != "true") {
        VDISK_RETURN_IF_ERROR(Annotate(objects_, PvcKind(), key,
                                       {{kAnnPodPhase, "Running"}, {kAnnPodReady, "true"}}));
      }
      return Requeue();
    case upload::UploadState::Phase::kUploading:
      return Requeue(std::chrono::milliseconds(1000));
    case upload::UploadState::Phase::kSucceeded:
      VDISK_RETURN_IF_ERROR(Annotate(objects_, PvcKind(), key,
                                     {{kAnnPodPhase, "Succeeded"}, {kAnnPodReady, "false"}}));
      return Requeue();
  }
  return Requeue();
}

}  // namespace vdisk::controllers
