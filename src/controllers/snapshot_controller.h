// SnapshotController: CSI volume snapshots of hostpath volumes, the work the external-snapshotter
// and a CSI driver share upstream (snapshot.storage.k8s.io/v1).
//
//   VolumeSnapshot <ns>/<vs>   spec.source.persistentVolumeClaimName: a Bound claim whose PV
//        │                     lives in a vdisk pool; spec.volumeSnapshotClassName defaults to
//        │                     the claim's StorageProfile status.snapshotClass
//        ├─> VolumeSnapshotContent snapcontent-<vs uid> (cluster-scoped; spec.volumeSnapshotRef,
//        │     source.volumeHandle = the PV, sourceVolumeMode, deletionPolicy of the class)
//        ├─> <pool>/snapshots/<content>/disk.img, a reflink copy of the volume: constant time,
//        │     no space until either side is written
//        └─> both report readyToUse, restoreSize (the source's capacity) and creationTime
//   spec.source.volumeSnapshotContentName (pre-provisioned): bound when that content's
//        volumeSnapshotRef names this snapshot, and ready when the content is
//
// A pool without reflinks cannot take snapshots: the snapshot stays readyToUse=false with
// status.error saying so, and a Warning event. Its StorageProfile advertises no snapshot class
// (see StorageProfileController), so clones there never ask for one.
//
// Deletion: both objects carry upstream's bound-protection finalizers. Deleting the snapshot
// deletes its content when the deletionPolicy is Delete; deleting a content removes the
// snapshot's files (policy Delete) before the object goes.
//
// Restoring (a claim whose dataSource is a VolumeSnapshot) is the provisioner's part: see
// VolumeController.
//
// Thread safety: as Controller.
#pragma once

#include <string>

#include "controllers/controller.h"
#include "controllers/event_recorder.h"

namespace vdisk::controllers {

inline constexpr const char* kSnapshotFinalizer =
    "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection";
inline constexpr const char* kSnapshotContentFinalizer =
    "snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection";

// The content a dynamically provisioned snapshot is bound to.
std::string SnapshotContentName(const nlohmann::json& snapshot);

// Where a ready snapshot's image is: the VolumeSnapshot `ns`/`name` must be readyToUse and bound
// to a content taken by vdisk. Unavailable while it is not ready yet; NotFound when missing.
struct SnapshotImage {
  std::string path;          // the reflinked disk.img
  int64_t restore_size = 0;  // bytes: the smallest claim that may restore it
  std::string volume_mode;   // of the volume it was taken from
};
Result<SnapshotImage> ReadySnapshotImage(server::ObjectService& objects, const std::string& ns,
                                         const std::string& name);

class SnapshotBinder : public Controller {
 public:
  explicit SnapshotBinder(server::ObjectService& objects);
  ~SnapshotBinder() override { Stop(); }

 protected:
  Result<Requeue> Reconcile(const ObjectKey& key) override;

 private:
  Result<Requeue> TakeSnapshot(const nlohmann::json& snapshot);
  Result<Requeue> BindPreprovisioned(const nlohmann::json& snapshot);
  Result<Requeue> Release(const nlohmann::json& snapshot);
  // Records why the snapshot is not ready (status.error and a Warning event).
  Result<Requeue> Fail(const nlohmann::json& snapshot, const std::string& reason,
                       const std::string& message);
  Status MarkReady(const nlohmann::json& snapshot, const nlohmann::json& content);

  EventRecorder events_;
};

class SnapshotContentReclaimer : public Controller {
 public:
  explicit SnapshotContentReclaimer(server::ObjectService& objects);
  ~SnapshotContentReclaimer() override { Stop(); }

 protected:
  Result<Requeue> Reconcile(const ObjectKey& key) override;
};

// Both loops, started and stopped together.
class SnapshotController {
 public:
  explicit SnapshotController(server::ObjectService& objects)
      : binder_(objects), reclaimer_(objects) {}
  void Start() {
    binder_.Start();
    reclaimer_.Start();
  }
  void Stop() {
    binder_.Stop();
    reclaimer_.Stop();
  }
  // Lets other controllers (a clone waiting for its snapshot) hurry a snapshot along.
  void Enqueue(const ObjectKey& key) { binder_.Enqueue(key); }

 private:
  SnapshotBinder binder_;
  SnapshotContentReclaimer reclaimer_;
};

}  // namespace vdisk::controllers
