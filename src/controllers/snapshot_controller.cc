// SnapshotController: see snapshot_controller.h.
#include "controllers/snapshot_controller.h"

#include <chrono>

#include "api/quantity.h"
#include "common/clock.h"
#include "controllers/volume_controller.h"
#include "storage/hostpath_pool.h"

namespace vdisk::controllers {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// A snapshot waiting for its claim (not bound yet) or its class looks again this soon.
constexpr milliseconds kWaitRetry(2'000);

const api::Kind& SnapshotKind() { return KindOf("snapshot.storage.k8s.io", "VolumeSnapshot"); }
const api::Kind& ContentKind() {
  return KindOf("snapshot.storage.k8s.io", "VolumeSnapshotContent");
}
const api::Kind& SnapshotClassKind() {
  return KindOf("snapshot.storage.k8s.io", "VolumeSnapshotClass");
}
const api::Kind& PvcKind() { return KindOf("", "PersistentVolumeClaim"); }
const api::Kind& PvKind() { return KindOf("", "PersistentVolume"); }

const json& Spec(const json& object) { return Field(object, "spec"); }
const json& StatusOf(const json& object) { return Field(object, "status"); }
bool IsDeleting(const json& object) {
  return !Field(Field(object, "metadata"), "deletionTimestamp").is_null();
}
std::string PoolPathOf(const json& content) {
  return Str(Field(Field(Field(content, "metadata"), "annotations"), kAnnPoolPath));
}
// The snapshot's name inside its pool: the handle vdisk gave it.
std::string HandleOf(const json& content) {
  std::string handle = Str(Field(StatusOf(content), "snapshotHandle"));
  if (handle.empty()) handle = Str(Field(Field(Spec(content), "source"), "snapshotHandle"));
  return handle;
}

Status PatchStatus(server::ObjectService& objects, const api::Kind& kind, const json& object,
                   json status) {
  auto patched = objects.Patch(kind, MetaString(object, "namespace"), MetaString(object, "name"),
                               server::PatchType::kMerge, {{"status", std::move(status)}},
                               /*status_only=*/true);
  if (!patched.ok() && patched.status().code() != StatusCode::kNotFound) return patched.status();
  return Status::Ok();
}

}  // namespace

std::string SnapshotContentName(const json& snapshot) {
  return "snapcontent-" + MetaString(snapshot, "uid");
}

Result<SnapshotImage> ReadySnapshotImage(server::ObjectService& objects, const std::string& ns,
                                         const std::string& name) {
  VDISK_ASSIGN_OR_RETURN(json snapshot, objects.Get(SnapshotKind(), ns, name));
  const std::string what = "VolumeSnapshot " + ns + "/" + name;
  if (Field(StatusOf(snapshot), "readyToUse") != true) {
    return Unavailable(what + " is not ready to use");
  }
  std::string content_name = Str(Field(StatusOf(snapshot), "boundVolumeSnapshotContentName"));
  VDISK_ASSIGN_OR_RETURN(json content, objects.Get(ContentKind(), "", content_name));
  std::string pool_path = PoolPathOf(content);
  if (pool_path.empty() || HandleOf(content).empty()) {
    return Invalid(what + " was not taken by vdisk's hostpath driver");
  }
  VDISK_ASSIGN_OR_RETURN(storage::HostPathPool pool, storage::HostPathPool::Open(pool_path));
  SnapshotImage image;
  image.path = pool.SnapshotPath(HandleOf(content));
  image.restore_size = QuantityBytes(Field(StatusOf(content), "restoreSize"));
  image.volume_mode = Str(Field(Spec(content), "sourceVolumeMode"));
  if (image.volume_mode.empty()) image.volume_mode = "Filesystem";
  return image;
}

// ---- SnapshotBinder ------------------------------------------------------------------------

SnapshotBinder::SnapshotBinder(server::ObjectService& objects)
    : Controller("snapshot-controller", objects, SnapshotKind()),
      events_(objects, "snapshot-controller") {
  // A content's progress (ready, deleted) concerns the snapshot it names.
  Watches(ContentKind(), [](const json& content) {
    const json& ref = Field(Spec(content), "volumeSnapshotRef");
    std::string name = Str(Field(ref, "name"));
    if (name.empty()) return std::vector<ObjectKey>{};
    return std::vector<ObjectKey>{{Str(Field(ref, "namespace")), name}};
  });
}

Result<Requeue> SnapshotBinder::Reconcile(const ObjectKey& key) {
  auto snapshot = objects_.Get(SnapshotKind(), key.ns, key.name);
  if (!snapshot.ok()) {
    if (snapshot.status().code() == StatusCode::kNotFound) return Requeue();
    return snapshot.status();
  }
  if (IsDeleting(*snapshot)) return Release(*snapshot);
  VDISK_RETURN_IF_ERROR(
      SetFinalizer(objects_, SnapshotKind(), *snapshot, kSnapshotFinalizer, true));
  if (Field(StatusOf(*snapshot), "readyToUse") == true) return Requeue();
  if (!Str(Field(Field(Spec(*snapshot), "source"), "volumeSnapshotContentName")).empty()) {
    return BindPreprovisioned(*snapshot);
  }
  return TakeSnapshot(*snapshot);
}

Result<Requeue> SnapshotBinder::TakeSnapshot(const json& snapshot) {
  const std::string ns = MetaString(snapshot, "namespace");
  const std::string claim =
      Str(Field(Field(Spec(snapshot), "source"), "persistentVolumeClaimName"));
  auto pvc = objects_.Get(PvcKind(), ns, claim);
  if (!pvc.ok()) {
    if (pvc.status().code() != StatusCode::kNotFound) return pvc.status();
    return Fail(snapshot, "SnapshotPending",
                "the source PersistentVolumeClaim " + ns + "/" + claim + " does not exist");
  }
  if (Str(Field(StatusOf(*pvc), "phase")) != "Bound") {
    return Fail(snapshot, "SnapshotPending",
                "the source PersistentVolumeClaim " + claim + " is not bound yet");
  }
  const std::string pv_name = Str(Field(Spec(*pvc), "volumeName"));
  VDISK_ASSIGN_OR_RETURN(json pv, objects_.Get(PvKind(), "", pv_name));
  auto pool = PoolOfVolume(pv);
  if (!pool.ok()) {
    return Fail(
        snapshot, "SnapshotCreationFailed",
        "volume " + pv_name + " is not in a vdisk storage pool, so it cannot be snapshotted");
  }

  std::string class_name = Str(Field(Spec(snapshot), "volumeSnapshotClassName"));
  if (class_name.empty()) {
    // The claim's class's profile names the snapshot class that serves it.
    std::string storage_class = Str(Field(Spec(*pvc), "storageClassName"));
    auto profile = objects_.Get(KindOf("cdi.kubevirt.io", "StorageProfile"), "", storage_class);
    if (profile.ok()) class_name = Str(Field(StatusOf(*profile), "snapshotClass"));
    if (class_name.empty()) {
      return Fail(snapshot, "SnapshotCreationFailed",
                  "no VolumeSnapshotClass serves storage class \"" + storage_class +
                      "\": its storage pool " + pool->path() +
                      " does not support snapshots (its file system has no reflinks)");
    }
    auto patched =
        objects_.Patch(SnapshotKind(), ns, MetaString(snapshot, "name"), server::PatchType::kMerge,
                       {{"spec", {{"volumeSnapshotClassName", class_name}}}}, false);
    if (!patched.ok()) return patched.status();
  }
  auto snapshot_class = objects_.Get(SnapshotClassKind(), "", class_name);
  if (!snapshot_class.ok()) {
    if (snapshot_class.status().code() != StatusCode::kNotFound) return snapshot_class.status();
    return Fail(snapshot, "SnapshotCreationFailed",
                "VolumeSnapshotClass \"" + class_name + "\" not found");
  }
  if (Str(Field(*snapshot_class, "driver")) != kHostPathProvisioner) {
    return Fail(snapshot, "SnapshotCreationFailed",
                "VolumeSnapshotClass \"" + class_name + "\" is for driver \"" +
                    Str(Field(*snapshot_class, "driver")) + "\", not " + kHostPathProvisioner);
  }
  if (!pool->SupportsReflink()) {
    return Fail(snapshot, "SnapshotCreationFailed",
                "storage pool " + pool->path() +
                    " does not support snapshots: its file system has no reflinks (XFS with "
                    "reflink=1, or btrfs)");
  }

  // The content first, so that its reclaimer can always clean up what the snapshot leaves.
  const std::string content_name = SnapshotContentName(snapshot);
  auto content = objects_.Get(ContentKind(), "", content_name);
  if (!content.ok()) {
    if (content.status().code() != StatusCode::kNotFound) return content.status();
    std::string policy = Str(Field(*snapshot_class, "deletionPolicy"));
    json fresh = {{"apiVersion", ContentKind().ApiVersion()},
                  {"kind", "VolumeSnapshotContent"},
                  {"metadata",
                   {{"name", content_name},
                    {"finalizers", json::array({kSnapshotContentFinalizer})},
                    {"annotations", {{kAnnPoolPath, pool->path()}}}}},
                  {"spec",
                   {{"deletionPolicy", policy.empty() ? "Delete" : policy},
                    {"driver", kHostPathProvisioner},
                    {"source", {{"volumeHandle", pv_name}}},
                    {"sourceVolumeMode", Str(Field(Spec(pv), "volumeMode")).empty()
                                             ? "Filesystem"
                                             : Str(Field(Spec(pv), "volumeMode"))},
                    {"volumeSnapshotClassName", class_name},
                    {"volumeSnapshotRef",
                     {{"apiVersion", SnapshotKind().ApiVersion()},
                      {"kind", "VolumeSnapshot"},
                      {"name", MetaString(snapshot, "name")},
                      {"namespace", ns},
                      {"uid", MetaString(snapshot, "uid")}}}}}};
    auto created = objects_.Create(ContentKind(), "", std::move(fresh));
    if (!created.ok()) return created.status();
    content = std::move(created->object);
  }
  auto taken = pool->CreateSnapshot(pv_name, content_name);
  if (!taken.ok()) return Fail(snapshot, "SnapshotCreationFailed", taken.status().message());

  int64_t restore_size = QuantityBytes(Field(Field(Spec(pv), "capacity"), "storage"));
  auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  json content_status = {{"readyToUse", true},
                         {"restoreSize", restore_size},
                         {"snapshotHandle", content_name},
                         {"creationTime", static_cast<int64_t>(nanos)}};
  VDISK_RETURN_IF_ERROR(PatchStatus(objects_, ContentKind(), *content, content_status));
  (*content)["status"] = std::move(content_status);
  VDISK_RETURN_IF_ERROR(MarkReady(snapshot, *content));
  events_.Record(snapshot, "Normal", "SnapshotCreated",
                 "Snapshot " + ns + "/" + MetaString(snapshot, "name") +
                     " was successfully created by the CSI driver.");
  return Requeue();
}

Result<Requeue> SnapshotBinder::BindPreprovisioned(const json& snapshot) {
  const std::string content_name =
      Str(Field(Field(Spec(snapshot), "source"), "volumeSnapshotContentName"));
  auto content = objects_.Get(ContentKind(), "", content_name);
  if (!content.ok()) {
    if (content.status().code() != StatusCode::kNotFound) return content.status();
    return Fail(snapshot, "SnapshotContentMissing",
                "VolumeSnapshotContent \"" + content_name + "\" not found");
  }
  const json& ref = Field(Spec(*content), "volumeSnapshotRef");
  std::string ref_uid = Str(Field(ref, "uid"));
  if (Str(Field(ref, "name")) != MetaString(snapshot, "name") ||
      Str(Field(ref, "namespace")) != MetaString(snapshot, "namespace") ||
      (!ref_uid.empty() && ref_uid != MetaString(snapshot, "uid"))) {
    return Fail(snapshot, "SnapshotContentMismatch",
                "VolumeSnapshotContent \"" + content_name + "\" is bound to another snapshot");
  }
  if (Field(StatusOf(*content), "readyToUse") != true) {
    return Fail(snapshot, "SnapshotPending",
                "VolumeSnapshotContent \"" + content_name + "\" is not ready to use");
  }
  VDISK_RETURN_IF_ERROR(MarkReady(snapshot, *content));
  return Requeue();
}

Status SnapshotBinder::MarkReady(const json& snapshot, const json& content) {
  int64_t nanos = 0;
  if (Field(StatusOf(content), "creationTime").is_number_integer()) {
    nanos = Field(StatusOf(content), "creationTime").get<int64_t>();
  }
  SystemTime created{
      std::chrono::duration_cast<SystemTime::duration>(std::chrono::nanoseconds(nanos))};
  json status = {
      {"boundVolumeSnapshotContentName", MetaString(content, "name")},
      {"creationTime", FormatRfc3339(created)},
      {"readyToUse", true},
      {"restoreSize",
       api::Quantity::FromBytes(QuantityBytes(Field(StatusOf(content), "restoreSize"))).ToString()},
      {"error", nullptr}};
  VDISK_RETURN_IF_ERROR(PatchStatus(objects_, SnapshotKind(), snapshot, std::move(status)));
  events_.Record(snapshot, "Normal", "SnapshotReady",
                 "Snapshot " + MetaString(snapshot, "namespace") + "/" +
                     MetaString(snapshot, "name") + " is ready to use.");
  return Status::Ok();
}

Result<Requeue> SnapshotBinder::Fail(const json& snapshot, const std::string& reason,
                                     const std::string& message) {
  events_.Record(snapshot, "Warning", reason, message);
  const json& old_error = Field(StatusOf(snapshot), "error");
  if (Str(Field(old_error, "message")) != message ||
      Field(StatusOf(snapshot), "readyToUse") != false) {
    VDISK_RETURN_IF_ERROR(PatchStatus(
        objects_, SnapshotKind(), snapshot,
        {{"readyToUse", false}, {"error", {{"message", message}, {"time", NowRfc3339()}}}}));
  }
  return Requeue(kWaitRetry);
}

Result<Requeue> SnapshotBinder::Release(const json& snapshot) {
  std::string content_name = Str(Field(StatusOf(snapshot), "boundVolumeSnapshotContentName"));
  if (content_name.empty() &&
      Str(Field(Field(Spec(snapshot), "source"), "volumeSnapshotContentName")).empty()) {
    content_name = SnapshotContentName(snapshot);  // taken, but not marked ready before a crash
  }
  if (!content_name.empty()) {
    auto content = objects_.Get(ContentKind(), "", content_name);
    if (content.ok() && Str(Field(Spec(*content), "deletionPolicy")) != "Retain" &&
        Str(Field(Field(Spec(*content), "volumeSnapshotRef"), "uid")) ==
            MetaString(snapshot, "uid") &&
        !IsDeleting(*content)) {
      server::DeleteOptions options;
      options.precondition_uid = MetaString(*content, "uid");
      auto deleted = objects_.Delete(ContentKind(), "", content_name, options);
      if (!deleted.ok() && deleted.status().code() != StatusCode::kNotFound) {
        return deleted.status();
      }
    } else if (!content.ok() && content.status().code() != StatusCode::kNotFound) {
      return content.status();
    }
  }
  VDISK_RETURN_IF_ERROR(
      SetFinalizer(objects_, SnapshotKind(), snapshot, kSnapshotFinalizer, false));
  return Requeue();
}

// ---- SnapshotContentReclaimer --------------------------------------------------------------

SnapshotContentReclaimer::SnapshotContentReclaimer(server::ObjectService& objects)
    : Controller("snapshot-content-reclaimer", objects, ContentKind()) {
  // A snapshot deleted behind the binder's back still releases a content it provisioned.
  Watches(SnapshotKind(), [](const json& snapshot) {
    return std::vector<ObjectKey>{{"", SnapshotContentName(snapshot)}};
  });
}

Result<Requeue> SnapshotContentReclaimer::Reconcile(const ObjectKey& key) {
  auto content = objects_.Get(ContentKind(), "", key.name);
  if (!content.ok()) {
    if (content.status().code() == StatusCode::kNotFound) return Requeue();
    return content.status();
  }
  const std::string pool_path = PoolPathOf(*content);
  const bool delete_policy = Str(Field(Spec(*content), "deletionPolicy")) != "Retain";
  if (IsDeleting(*content)) {
    if (delete_policy && !pool_path.empty() && !HandleOf(*content).empty()) {
      VDISK_ASSIGN_OR_RETURN(storage::HostPathPool pool, storage::HostPathPool::Open(pool_path));
      VDISK_RETURN_IF_ERROR(pool.DeleteSnapshot(HandleOf(*content)));
    } else if (delete_policy && !pool_path.empty()) {
      // Deleted before it was marked ready: the snapshot, if taken, has the content's name.
      VDISK_ASSIGN_OR_RETURN(storage::HostPathPool pool, storage::HostPathPool::Open(pool_path));
      VDISK_RETURN_IF_ERROR(pool.DeleteSnapshot(key.name));
    }
    VDISK_RETURN_IF_ERROR(
        SetFinalizer(objects_, ContentKind(), *content, kSnapshotContentFinalizer, false));
    return Requeue();
  }
  // A pre-provisioned content naming a snapshot vdisk holds becomes ready.
  const std::string handle = Str(Field(Field(Spec(*content), "source"), "snapshotHandle"));
  if (Field(StatusOf(*content), "readyToUse") != true && !handle.empty() && !pool_path.empty()) {
    VDISK_ASSIGN_OR_RETURN(storage::HostPathPool pool, storage::HostPathPool::Open(pool_path));
    if (pool.SnapshotExists(handle)) {
      int64_t size = storage::ApparentSize(pool.SnapshotPath(handle));
      VDISK_RETURN_IF_ERROR(
          PatchStatus(objects_, ContentKind(), *content,
                      {{"readyToUse", true}, {"restoreSize", size}, {"snapshotHandle", handle}}));
    }
    return Requeue();
  }
  // A dynamically provisioned content whose snapshot is gone goes with it.
  const json& ref = Field(Spec(*content), "volumeSnapshotRef");
  if (delete_policy && key.name == "snapcontent-" + Str(Field(ref, "uid"))) {
    auto snapshot =
        objects_.Get(SnapshotKind(), Str(Field(ref, "namespace")), Str(Field(ref, "name")));
    bool gone = !snapshot.ok() && snapshot.status().code() == StatusCode::kNotFound;
    if (snapshot.ok() && MetaString(*snapshot, "uid") != Str(Field(ref, "uid"))) gone = true;
    if (gone) {
      server::DeleteOptions options;
      options.precondition_uid = MetaString(*content, "uid");
      auto deleted = objects_.Delete(ContentKind(), "", key.name, options);
      if (!deleted.ok() && deleted.status().code() != StatusCode::kNotFound) {
        return deleted.status();
      }
    }
  }
  return Requeue();
}

}  // namespace vdisk::controllers
