// UploadClaimController: PVCs that ask for an upload themselves, without a DataVolume
// (`vdisk image-upload pvc`, or any claim annotated cdi.kubevirt.io/storage.upload.target).
//
// Once such a claim is Bound it is offered to the UploadRegistry and annotated as upstream's
// upload pod would annotate it: pod.phase=Running and pod.ready=true while it accepts an
// upload, pod.phase=Succeeded (pod.ready=false) once an upload completed. Claims owned by a
// DataVolume are the DataVolumeController's.
#pragma once

#include <string>

#include "api/annotations.h"
#include "controllers/controller.h"
#include "upload/registry.h"

namespace vdisk::controllers {

using api::kAnnUploadTarget;

class UploadClaimController : public Controller {
 public:
  // Scratch space for a claim goes to <scratch_dir>/<claim uid>.
  UploadClaimController(server::ObjectService& objects, upload::UploadRegistry& uploads,
                        std::string scratch_dir);

 protected:
  Result<Requeue> Reconcile(const ObjectKey& key) override;

 private:
  upload::UploadRegistry& uploads_;
  const std::string scratch_dir_;
};

}  // namespace vdisk::controllers
