// DataVolumeController, the clone sources (`pvc` and `snapshot`): see datavolume_controller.h
// and clone_strategy.h.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "api/quantity.h"
#include "controllers/clone_strategy.h"
#include "controllers/datavolume_controller.h"
#include "controllers/datavolume_internal.h"
#include "controllers/snapshot_controller.h"
#include "controllers/storage_profile_controller.h"
#include "controllers/volume_controller.h"
#include "storage/fs_overhead.h"
#include "storage/hostpath_pool.h"

namespace vdisk::controllers {

using namespace datavolume;  // NOLINT(build/namespaces): the controller's shared helpers

namespace {

// On a smart clone's temporary snapshot: "<namespace>/<name>" of the DataVolume it serves
// (owner references cannot cross namespaces).
constexpr const char* kAnnCloneTarget = "volume.vdisk.io/clone-target";

const api::Kind& SnapshotKind() { return KindOf("snapshot.storage.k8s.io", "VolumeSnapshot"); }

const json& SourceOf(const json& dv) { return Field(Field(dv, "spec"), "source"); }
bool FromSnapshot(const json& dv) { return Field(SourceOf(dv), "snapshot").is_object(); }
const json& SourceRef(const json& dv) {
  return FromSnapshot(dv) ? Field(SourceOf(dv), "snapshot") : Field(SourceOf(dv), "pvc");
}
std::string SourceNamespace(const json& dv) {
  std::string ns = Str(Field(SourceRef(dv), "namespace"));
  return ns.empty() ? MetaString(dv, "namespace") : ns;
}
std::string SourceName(const json& dv) { return Str(Field(SourceRef(dv), "name")); }
std::string SourceText(const json& dv) { return SourceNamespace(dv) + "/" + SourceName(dv); }
std::string TargetText(const json& dv) {
  return MetaString(dv, "namespace") + "/" + MetaString(dv, "name");
}
std::string TemporarySnapshotName(const json& dv) { return "cdi-tmp-" + MetaString(dv, "uid"); }

std::string CloneTypeOf(const json& pvc) {
  return Str(Field(Field(Field(pvc, "metadata"), "annotations"), kAnnCloneType));
}

// The size of a disk image: a regular file's length or a block device's capacity.
Result<int64_t> ImageSize(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Invalid("cannot open " + path + ": " + std::strerror(errno));
  off_t end = ::lseek(fd, 0, SEEK_END);
  ::close(fd);
  if (end < 0) return Invalid("cannot size " + path + ": " + std::strerror(errno));
  return static_cast<int64_t>(end);
}

json PendingConditions(const std::string& claim) {
  return Conditions(Condition("Bound", false, "Pending", "PVC " + claim + " Pending"),
                    Condition("Running", false, "", ""), Condition("Ready", false, "", ""));
}

}  // namespace

namespace datavolume {

bool IsClone(const json& dv) {
  return Field(SourceOf(dv), "pvc").is_object() || Field(SourceOf(dv), "snapshot").is_object();
}

std::vector<ObjectKey> CloneTargetOf(const json& snapshot) {
  std::string target =
      Str(Field(Field(Field(snapshot, "metadata"), "annotations"), kAnnCloneTarget));
  size_t slash = target.find('/');
  if (slash == std::string::npos) return {};
  return {{target.substr(0, slash), target.substr(slash + 1)}};
}

}  // namespace datavolume

Result<bool> DataVolumeController::PrepareCloneClaim(const json& dv, json& pvc) {
  const std::string claim = MetaString(dv, "name");
  const std::string source_ns = SourceNamespace(dv);
  const std::string source_name = SourceName(dv);
  json& annotations = pvc["metadata"]["annotations"];
  auto wait = [&](const std::string& phase, const std::string& reason,
                  const std::string& message) -> Result<bool> {
    if (!reason.empty()) events_.Record(dv, "Normal", reason, message);
    VDISK_RETURN_IF_ERROR(SetStatus(
        dv, phase, "N/A",
        Conditions(Condition("Bound", false, reason, message), Condition("Running", false, "", ""),
                   Condition("Ready", false, "", ""))));
    return false;
  };

  // Without a size of its own, the target takes its source's.
  json& request = pvc["spec"]["resources"]["requests"]["storage"];
  if (FromSnapshot(dv)) {
    auto snapshot = ReadySnapshotImage(objects_, source_ns, source_name);
    if (!snapshot.ok()) {
      if (snapshot.status().code() == StatusCode::kNotFound) {
        return wait("Pending", "CloneWithoutSource",
                    "The source snapshot " + source_name + " doesn't exist");
      }
      if (snapshot.status().code() == StatusCode::kUnavailable) {
        return wait("CloneScheduled", "CloneScheduled", snapshot.status().message());
      }
      VDISK_RETURN_IF_ERROR(FailClone(dv, "CloneValidationFailed", snapshot.status().message()));
      return false;
    }
    if (!request.is_string()) {
      request = api::Quantity::FromBytes(snapshot->restore_size).ToString();
    }
    if (ClaimRequest(pvc) < snapshot->restore_size) {
      VDISK_RETURN_IF_ERROR(FailClone(dv, "ErrIncompatiblePVC", kMessageTargetTooSmall));
      return false;
    }
    pvc["spec"]["dataSourceRef"] = {{"apiGroup", "snapshot.storage.k8s.io"},
                                    {"kind", "VolumeSnapshot"},
                                    {"name", source_name},
                                    {"namespace", source_ns}};
    annotations[kAnnCloneType] = kCloneSnapshot;
    VDISK_RETURN_IF_ERROR(
        SetStatus(dv, "SmartClonePVCInProgress", "N/A", PendingConditions(claim)));
    return true;
  }

  auto source = objects_.Get(PvcKind(), source_ns, source_name);
  if (!source.ok()) {
    if (source.status().code() != StatusCode::kNotFound) return source.status();
    return wait("Pending", "CloneWithoutSource",
                "The source pvc " + source_name + " doesn't exist");
  }
  if (Phase(*source) != "Bound") {
    return wait("CloneScheduled", "CloneScheduled",
                "waiting for the source claim " + SourceText(dv) + " to be bound");
  }
  if (!request.is_string()) {
    request = Field(Field(Field(Field(*source, "spec"), "resources"), "requests"), "storage");
  }
  CloneFacts facts;
  facts.source_request = ClaimRequest(*source);
  facts.target_request = ClaimRequest(pvc);
  if (facts.target_request < facts.source_request) {
    VDISK_RETURN_IF_ERROR(FailClone(dv, "ErrIncompatiblePVC", kMessageTargetTooSmall));
    return false;
  }
  VDISK_ASSIGN_OR_RETURN(facts.target_class, ClassNameFor(dv));
  facts.source_class = Str(Field(Field(*source, "spec"), "storageClassName"));
  auto mode = [](const json& claim_spec) {
    std::string m = Str(Field(claim_spec, "volumeMode"));
    return m.empty() ? std::string("Filesystem") : m;
  };
  facts.source_volume_mode = mode(Field(*source, "spec"));
  facts.target_volume_mode = mode(Field(pvc, "spec"));
  std::string snapshot_class;
  if (!facts.target_class.empty()) {
    auto profile =
        objects_.Get(KindOf("cdi.kubevirt.io", "StorageProfile"), "", facts.target_class);
    if (profile.ok()) {
      facts.profile_strategy = EffectiveCloneStrategy(*profile);
      snapshot_class = Str(Field(Field(*profile, "status"), "snapshotClass"));
    }
    auto storage_class =
        objects_.Get(KindOf("storage.k8s.io", "StorageClass"), "", facts.target_class);
    facts.target_class_allows_expansion =
        storage_class.ok() && Field(*storage_class, "allowVolumeExpansion") == true;
  }
  facts.snapshot_class_available =
      !snapshot_class.empty() &&
      objects_.Get(KindOf("snapshot.storage.k8s.io", "VolumeSnapshotClass"), "", snapshot_class)
          .ok();
  CloneStrategyChoice choice = ChooseCloneStrategy(facts);
  annotations[kAnnCloneType] = choice.strategy;
  if (!choice.fallback_reason.empty()) {
    annotations[kAnnCloneFallbackReason] = choice.fallback_message;
    events_.Record(dv, "Warning", choice.fallback_reason, choice.fallback_message);
  }
  if (choice.strategy == kCloneSnapshot) {
    return PrepareSmartClone(dv, *source, snapshot_class, pvc);
  }
  if (choice.strategy == kCloneCsiClone) {
    pvc["spec"]["dataSourceRef"] = {
        {"kind", "PersistentVolumeClaim"}, {"name", source_name}, {"namespace", source_ns}};
    events_.Record(dv, "Normal", "CSICloneInProgress",
                   "CSI clone from " + SourceText(dv) + " into " + TargetText(dv));
    VDISK_RETURN_IF_ERROR(SetStatus(dv, "CSICloneInProgress", "N/A", PendingConditions(claim)));
    return true;
  }
  events_.Record(dv, "Normal", "CloneScheduled",
                 "Cloning from " + SourceText(dv) + " into " + TargetText(dv) + " scheduled");
  VDISK_RETURN_IF_ERROR(SetStatus(dv, "CloneScheduled", "N/A", PendingConditions(claim)));
  return true;
}

Result<bool> DataVolumeController::PrepareSmartClone(const json& dv, const json& source_pvc,
                                                     const std::string& snapshot_class, json& pvc) {
  const std::string claim = MetaString(dv, "name");
  const std::string ns = MetaString(source_pvc, "namespace");
  const std::string name = TemporarySnapshotName(dv);
  auto snapshot = objects_.Get(SnapshotKind(), ns, name);
  if (!snapshot.ok()) {
    if (snapshot.status().code() != StatusCode::kNotFound) return snapshot.status();
    json fresh = {{"apiVersion", SnapshotKind().ApiVersion()},
                  {"kind", "VolumeSnapshot"},
                  {"metadata",
                   {{"name", name},
                    {"namespace", ns},
                    {"labels", {{"cdi.kubevirt.io/OwnedByUID", MetaString(dv, "uid")}}},
                    {"annotations", {{kAnnCloneTarget, TargetText(dv)}}}}},
                  {"spec",
                   {{"volumeSnapshotClassName", snapshot_class},
                    {"source", {{"persistentVolumeClaimName", MetaString(source_pvc, "name")}}}}}};
    auto created = objects_.Create(SnapshotKind(), ns, std::move(fresh));
    if (!created.ok() && created.status().code() != StatusCode::kAlreadyExists) {
      return created.status();
    }
    events_.Record(
        dv, "Normal", "SnapshotForSmartCloneInProgress",
        "Creating snapshot " + ns + "/" + name + " for smart-clone of " + SourceText(dv));
    VDISK_RETURN_IF_ERROR(
        SetStatus(dv, "SnapshotForSmartCloneInProgress", "N/A", PendingConditions(claim)));
    return false;
  }
  if (Field(Field(*snapshot, "status"), "readyToUse") != true) {
    std::string why = Str(Field(Field(Field(*snapshot, "status"), "error"), "message"));
    VDISK_RETURN_IF_ERROR(SetStatus(
        dv, "SnapshotForSmartCloneInProgress", "N/A",
        Conditions(Condition("Bound", false, "Pending", "PVC " + claim + " Pending"),
                   Condition("Running", false, why.empty() ? "" : "SnapshotNotReady", why),
                   Condition("Ready", false, "", ""))));
    return false;
  }
  pvc["spec"]["dataSourceRef"] = {{"apiGroup", "snapshot.storage.k8s.io"},
                                  {"kind", "VolumeSnapshot"},
                                  {"name", name},
                                  {"namespace", ns}};
  events_.Record(dv, "Normal", "SmartClonePVCInProgress",
                 "Creating PVC for smart-clone of " + SourceText(dv));
  VDISK_RETURN_IF_ERROR(SetStatus(dv, "SmartClonePVCInProgress", "N/A", PendingConditions(claim)));
  return true;
}

Result<Requeue> DataVolumeController::PopulateByClone(const json& dv, const json& pvc) {
  const std::string clone_type = CloneTypeOf(pvc);
  if (Phase(pvc) != "Bound") {
    std::string phase = clone_type == kCloneCopy       ? "CloneScheduled"
                        : clone_type == kCloneCsiClone ? "CSICloneInProgress"
                                                       : "SmartClonePVCInProgress";
    VDISK_RETURN_IF_ERROR(SetStatus(dv, phase, "N/A", PendingConditions(MetaString(pvc, "name"))));
    return Requeue();
  }
  if (clone_type == kCloneCopy) return SubmitCloneCopy(dv, pvc);
  return FinishClone(dv, pvc);
}

Result<Requeue> DataVolumeController::SubmitCloneCopy(const json& dv, const json& pvc) {
  const ObjectKey key{MetaString(dv, "namespace"), MetaString(dv, "name")};
  const std::string claim = MetaString(pvc, "name");
  json bound = Condition("Bound", true, "Bound", "PVC " + claim + " Bound");
  const json& restart_count = Field(Field(dv, "status"), "restartCount");
  int restarts = restart_count.is_number_integer() ? restart_count.get<int>() : 0;
  auto state = clones_->State(key, MetaString(dv, "uid"));
  if (!state) {
    auto source = objects_.Get(PvcKind(), SourceNamespace(dv), SourceName(dv));
    if (!source.ok()) {
      VDISK_RETURN_IF_ERROR(FailClone(dv, "CloneWithoutSource",
                                      "The source pvc " + SourceName(dv) + " doesn't exist"));
      return Requeue();
    }
    VDISK_ASSIGN_OR_RETURN(json source_pv,
                           objects_.Get(KindOf("", "PersistentVolume"), "",
                                        Str(Field(Field(*source, "spec"), "volumeName"))));
    VDISK_ASSIGN_OR_RETURN(std::string source_path, VolumeImagePath(source_pv));
    std::string class_name = Str(Field(Field(pvc, "spec"), "storageClassName"));
    VDISK_ASSIGN_OR_RETURN(
        dataplane::ImportTarget target,
        VolumeTargetOf(objects_, pvc, OverheadFor(class_name), PreallocationWanted(dv), ""));
    VDISK_ASSIGN_OR_RETURN(int64_t source_size, ImageSize(source_path));
    if (!target.block && static_cast<uint64_t>(source_size) > target.usable_size) {
      VDISK_RETURN_IF_ERROR(FailClone(dv, "ErrIncompatiblePVC",
                                      "the source image of " + std::to_string(source_size) +
                                          " bytes does not fit the target's usable space of " +
                                          std::to_string(target.usable_size) + " bytes"));
      return Requeue();
    }
    CloneJob job;
    job.owner = key;
    job.uid = MetaString(dv, "uid");
    job.source = std::move(source_path);
    job.target = target.path;
    job.copy.target_is_device = target.block;
    job.copy.target_size = target.block ? 0 : static_cast<int64_t>(target.usable_size);
    job.copy.preallocate = target.preallocate && !target.block;
    job.copy.allow_reflink = false;  // "copy" means independent blocks
    // The server stopped while this copy ran: starting again is a restart.
    if (Phase(dv) == "CloneInProgress") ++restarts;
    clones_->Submit(std::move(job));
    events_.Record(dv, "Normal", "CloneInProgress",
                   "Cloning from " + SourceText(dv) + " into " + TargetText(dv) + " in progress");
    VDISK_RETURN_IF_ERROR(SetStatus(
        dv, "CloneInProgress", "N/A",
        Conditions(bound, Condition("Running", true, "", ""), Condition("Ready", false, "", "")),
        restarts));
    return Requeue(kProgressInterval);
  }
  switch (state->phase) {
    case CloneState::Phase::kRunning:
      VDISK_RETURN_IF_ERROR(SetStatus(
          dv, "CloneInProgress", PercentText(state->percent),
          Conditions(bound, Condition("Running", true, "", ""), Condition("Ready", false, "", "")),
          restarts));
      return Requeue(kProgressInterval);
    case CloneState::Phase::kSucceeded:
      return FinishClone(dv, pvc);
    case CloneState::Phase::kFailed:
      clones_->Cancel(key);
      VDISK_RETURN_IF_ERROR(FailClone(dv, "CloneFailed", state->error));
      return Requeue();
  }
  return Requeue();
}

Result<Requeue> DataVolumeController::FinishClone(const json& dv, const json& pvc) {
  const ObjectKey key{MetaString(dv, "namespace"), MetaString(dv, "name")};
  const std::string claim = MetaString(pvc, "name");
  json bound = Condition("Bound", true, "Bound", "PVC " + claim + " Bound");
  VDISK_RETURN_IF_ERROR(DeleteCloneSnapshots(key));
  VDISK_ASSIGN_OR_RETURN(json pv, objects_.Get(KindOf("", "PersistentVolume"), "",
                                               Str(Field(Field(pvc, "spec"), "volumeName"))));
  bool copied = CloneTypeOf(pvc) == kCloneCopy;
  bool preallocated =
      copied && PreallocationWanted(dv) && Str(Field(Field(pv, "spec"), "volumeMode")) != "Block";
  // A reflinked or restored Filesystem image has the source's size: grow it to the usable
  // space of the (possibly larger) target, as CDI's expansion step does.
  auto pool = PoolOfVolume(pv);
  if (!copied && pool.ok() && Str(Field(Field(pv, "spec"), "volumeMode")) != "Block") {
    std::string class_name = Str(Field(Field(pvc, "spec"), "storageClassName"));
    int64_t usable = storage::UsableSpace(ClaimRequest(pvc), OverheadFor(class_name));
    const std::string pv_name = MetaString(pv, "name");
    if (usable > storage::ApparentSize(pool->ImagePath(pv_name))) {
      VDISK_RETURN_IF_ERROR(SetStatus(dv, "ExpansionInProgress", "N/A",
                                      Conditions(bound, Condition("Running", true, "", ""),
                                                 Condition("Ready", false, "", ""))));
      Status grown = pool->GrowImage(pv_name, usable, /*preallocate=*/false);
      if (!grown.ok()) {
        VDISK_RETURN_IF_ERROR(FailClone(dv, "ExpansionFailed", grown.message()));
        return Requeue();
      }
    }
  }
  clones_->Cancel(key);  // done: forget the job
  VDISK_RETURN_IF_ERROR(MarkPopulated(dv, pvc, preallocated));
  events_.Record(dv, "Normal", "CloneSucceeded",
                 "Successfully cloned from " + SourceText(dv) + " into " + TargetText(dv));
  VDISK_RETURN_IF_ERROR(SetStatus(dv, "Succeeded", "100.0%",
                                  Conditions(bound, Condition("Running", false, "Completed", ""),
                                             Condition("Ready", true, "", ""))));
  return Requeue();
}

Status DataVolumeController::DeleteCloneSnapshots(const ObjectKey& dv) {
  VDISK_ASSIGN_OR_RETURN(server::ListResult snapshots, objects_.List(SnapshotKind(), "", {}));
  for (const auto& snapshot : snapshots.items) {
    auto target = CloneTargetOf(snapshot);
    if (target.empty() || target[0] != dv) continue;
    auto deleted = objects_.Delete(SnapshotKind(), MetaString(snapshot, "namespace"),
                                   MetaString(snapshot, "name"), {});
    if (!deleted.ok() && deleted.status().code() != StatusCode::kNotFound) {
      return deleted.status();
    }
  }
  return Status::Ok();
}

Status DataVolumeController::FailClone(const json& dv, const std::string& reason,
                                       const std::string& message) {
  events_.Record(dv, "Warning", reason, message);
  return SetStatus(dv, "Failed", "N/A",
                   Conditions(Condition("Bound", false, reason, message),
                              Condition("Running", false, reason, message),
                              Condition("Ready", false, reason, message)));
}

}  // namespace vdisk::controllers
