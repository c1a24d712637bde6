#include "controllers/datavolume_controller.h"

#include <spdlog/spdlog.h>

#include "api/quantity.h"
#include "common/clock.h"
#include "controllers/volume_controller.h"
#include "storage/fs_overhead.h"
#include "storage/hostpath_pool.h"

namespace vdisk::controllers {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr milliseconds kPopulateRetry(10'000);

const api::Kind& DvKind() { return KindOf("cdi.kubevirt.io", "DataVolume"); }
const api::Kind& PvcKind() { return KindOf("", "PersistentVolumeClaim"); }

std::string Phase(const json& object) { return Str(Field(Field(object, "status"), "phase")); }
bool NonEmptyArray(const json& value) { return value.is_array() && !value.empty(); }

json Condition(const char* type, bool status, const std::string& reason,
               const std::string& message) {
  return {{"type", type},
          {"status", status ? "True" : "False"},
          {"reason", reason},
          {"message", message}};
}

json Conditions(json bound, json running, json ready) {
  return json::array({std::move(bound), std::move(running), std::move(ready)});
}

// The claim property set a StorageProfile recommends: spec overrides status.
json PropertySet(const json& profile) {
  const json& from_spec = Field(Field(profile, "spec"), "claimPropertySets");
  if (NonEmptyArray(from_spec)) return from_spec[0];
  const json& from_status = Field(Field(profile, "status"), "claimPropertySets");
  return NonEmptyArray(from_status) ? from_status[0] : json();
}

bool OwnedBy(const json& pvc, const std::string& uid) {
  const json& refs = Field(Field(pvc, "metadata"), "ownerReferences");
  if (!refs.is_array()) return false;
  for (const auto& ref : refs) {
    if (Str(Field(ref, "uid")) == uid && Field(ref, "controller") == true) return true;
  }
  return false;
}

}  // namespace

Result<json> RenderClaimSpec(const json& dv, const json& profile, double overhead) {
  const json& spec = Field(dv, "spec");
  if (Field(spec, "pvc").is_object()) return Field(spec, "pvc");  // the PVC API: as written
  const json& storage_api = Field(spec, "storage");
  if (!storage_api.is_object()) return Invalid("DataVolume.spec must set pvc or storage");
  json claim = storage_api;
  json properties = PropertySet(profile);
  if (!NonEmptyArray(Field(claim, "accessModes"))) {
    if (!NonEmptyArray(Field(properties, "accessModes"))) {
      std::string class_name = MetaString(profile, "name");
      return Invalid(class_name.empty()
                         ? "no accessMode specified in DataVolume and no StorageProfile found"
                         : "no accessMode specified in DataVolume nor in StorageProfile \"" +
                               class_name + "\": set spec.claimPropertySets of the profile");
    }
    claim["accessModes"] = properties["accessModes"];
  }
  if (Str(Field(claim, "volumeMode")).empty()) {
    std::string mode = Str(Field(properties, "volumeMode"));
    claim["volumeMode"] = mode.empty() ? "Filesystem" : mode;
  }
  if (claim["volumeMode"] == "Filesystem") {
    const json& request = Field(Field(Field(claim, "resources"), "requests"), "storage");
    if (!request.is_string()) return Invalid("spec.storage.resources.requests.storage is required");
    VDISK_ASSIGN_OR_RETURN(api::Quantity quantity,
                           api::Quantity::Parse(request.get<std::string>()));
    int64_t inflated = storage::RequiredSpace(quantity.Value(), overhead);
    claim["resources"]["requests"]["storage"] = api::Quantity::FromBytes(inflated).ToString();
  }
  return claim;
}

DataVolumeController::DataVolumeController(server::ObjectService& objects)
    : Controller("datavolume", objects, DvKind()), events_(objects, "datavolume-controller") {
  Watches(PvcKind(), [](const json& pvc) { return OwnerKeys(pvc, "DataVolume"); });
  // A profile filled in later lets a waiting DataVolume render its claim.
  if (const api::Kind* profile =
          api::KindRegistry::Get().ByKind("cdi.kubevirt.io", "StorageProfile")) {
    Watches(*profile, [this](const json&) {
      std::vector<ObjectKey> keys;
      auto list = objects_.List(DvKind(), "", {});
      if (!list.ok()) return keys;
      for (const auto& dv : list->items) {
        if (Phase(dv) != "Succeeded") keys.push_back(SelfKey(dv)[0]);
      }
      return keys;
    });
  }
}

Result<Requeue> DataVolumeController::Reconcile(const ObjectKey& key) {
  auto dv = objects_.Get(DvKind(), key.ns, key.name);
  if (!dv.ok()) {
    return dv.status().code() == StatusCode::kNotFound ? Result<Requeue>(Requeue()) : dv.status();
  }
  if (!Field(Field(*dv, "metadata"), "deletionTimestamp").is_null()) return Requeue();
  if (!Field(Field(Field(*dv, "spec"), "source"), "blank").is_object()) return Requeue();
  auto pvc = objects_.Get(PvcKind(), key.ns, key.name);
  if (!pvc.ok()) {
    if (pvc.status().code() != StatusCode::kNotFound) return pvc.status();
    return EnsureClaim(*dv);
  }
  if (!OwnedBy(*pvc, MetaString(*dv, "uid"))) {
    std::string message =
        "Resource \"" + key.name + "\" already exists and is not managed by DataVolume";
    events_.Record(*dv, "Warning", "ErrResourceExists", message);
    VDISK_RETURN_IF_ERROR(SetStatus(
        *dv, "Pending", "N/A",
        Conditions(Condition("Bound", false, "ErrResourceExists", message),
                   Condition("Running", false, "", ""), Condition("Ready", false, "", ""))));
    return Requeue();
  }
  return FollowClaim(*dv, *pvc);
}

Result<std::string> DataVolumeController::ClassNameFor(const json& dv) {
  const json& spec = Field(dv, "spec");
  const json& claim = Field(spec, "pvc").is_object() ? Field(spec, "pvc") : Field(spec, "storage");
  if (Field(claim, "storageClassName").is_string()) return Str(Field(claim, "storageClassName"));
  VDISK_ASSIGN_OR_RETURN(server::ListResult classes,
                         objects_.List(KindOf("storage.k8s.io", "StorageClass"), "", {}));
  for (const auto& sc : classes.items) {
    if (Str(Field(Field(Field(sc, "metadata"), "annotations"), kAnnDefaultClass)) == "true") {
      return MetaString(sc, "name");
    }
  }
  return std::string();
}

double DataVolumeController::OverheadFor(const std::string& class_name) {
  auto config = objects_.Get(KindOf("cdi.kubevirt.io", "CDIConfig"), "", "config");
  return storage::FilesystemOverhead(config.ok() ? *config : json(), class_name);
}

bool DataVolumeController::PreallocationWanted(const json& dv) {
  const json& own = Field(Field(dv, "spec"), "preallocation");
  if (own.is_boolean()) return own.get<bool>();
  auto config = objects_.Get(KindOf("cdi.kubevirt.io", "CDIConfig"), "", "config");
  if (!config.ok()) return false;
  const json& effective = Field(Field(*config, "status"), "preallocation");
  if (effective.is_boolean()) return effective.get<bool>();
  return Field(Field(*config, "spec"), "preallocation") == true;
}

Result<Requeue> DataVolumeController::EnsureClaim(const json& dv) {
  const std::string ns = MetaString(dv, "namespace");
  const std::string name = MetaString(dv, "name");
  VDISK_ASSIGN_OR_RETURN(std::string class_name, ClassNameFor(dv));
  json profile;
  if (!class_name.empty()) {
    auto found = objects_.Get(KindOf("cdi.kubevirt.io", "StorageProfile"), "", class_name);
    if (found.ok()) profile = std::move(*found);
  }
  auto spec = RenderClaimSpec(dv, profile, OverheadFor(class_name));
  if (!spec.ok()) {
    const std::string& why = spec.status().message();
    events_.Record(dv, "Warning", "ErrClaimNotValid", why);
    VDISK_RETURN_IF_ERROR(
        SetStatus(dv, "Pending", "N/A",
                  Conditions(Condition("Bound", false, "ErrClaimNotValid", why),
                             Condition("Running", false, "", ""),
                             Condition("Ready", false, "ErrClaimNotValid", why))));
    return Requeue();
  }
  json pvc = {{"apiVersion", "v1"},
              {"kind", "PersistentVolumeClaim"},
              {"metadata",
               {{"name", name},
                {"namespace", ns},
                {"labels", {{"app", "containerized-data-importer"}}},
                {"annotations",
                 {{kAnnBindImmediate, "true"},
                  {"cdi.kubevirt.io/storage.contentType", "kubevirt"},
                  {kAnnPreallocationRequested, PreallocationWanted(dv) ? "true" : "false"}}},
                {"ownerReferences", json::array({{{"apiVersion", DvKind().ApiVersion()},
                                                  {"kind", "DataVolume"},
                                                  {"name", name},
                                                  {"uid", MetaString(dv, "uid")},
                                                  {"controller", true},
                                                  {"blockOwnerDeletion", true}}})}}},
              {"spec", std::move(*spec)}};
  auto created = objects_.Create(PvcKind(), ns, std::move(pvc));
  if (!created.ok()) {
    if (created.status().code() == StatusCode::kAlreadyExists) return Requeue(milliseconds(0));
    std::string why = created.status().message();
    events_.Record(dv, "Warning", "ErrClaimNotValid", why);
    VDISK_RETURN_IF_ERROR(SetStatus(
        dv, "Pending", "N/A",
        Conditions(Condition("Bound", false, "ErrClaimNotValid", why),
                   Condition("Running", false, "", ""), Condition("Ready", false, "", ""))));
    return Requeue();
  }
  events_.Record(dv, "Normal", "Pending", "PVC " + name + " Pending");
  return FollowClaim(dv, created->object);
}

Result<Requeue> DataVolumeController::FollowClaim(const json& dv, const json& pvc) {
  const std::string name = MetaString(pvc, "name");
  if (Phase(dv) == "Succeeded") return Requeue();
  if (Phase(pvc) != "Bound") {
    VDISK_RETURN_IF_ERROR(SetStatus(
        dv, "Pending", "N/A",
        Conditions(Condition("Bound", false, "Pending", "PVC " + name + " Pending"),
                   Condition("Running", false, "", ""), Condition("Ready", false, "", ""))));
    return Requeue();
  }
  if (Phase(dv) != "PVCBound") {
    events_.Record(dv, "Normal", "Bound", "PVC " + name + " Bound");
    VDISK_RETURN_IF_ERROR(SetStatus(
        dv, "PVCBound", "N/A",
        Conditions(Condition("Bound", true, "Bound", "PVC " + name + " Bound"),
                   Condition("Running", false, "", ""), Condition("Ready", false, "", ""))));
  }
  return PopulateBlank(dv, pvc);
}

Result<Requeue> DataVolumeController::PopulateBlank(const json& dv, const json& pvc) {
  const std::string name = MetaString(pvc, "name");
  const std::string pv_name = Str(Field(Field(pvc, "spec"), "volumeName"));
  VDISK_ASSIGN_OR_RETURN(json pv, objects_.Get(KindOf("", "PersistentVolume"), "", pv_name));
  bool block = Str(Field(Field(pv, "spec"), "volumeMode")) == "Block";
  bool preallocate = PreallocationWanted(dv);
  if (!block) {
    std::string class_name = Str(Field(Field(pvc, "spec"), "storageClassName"));
    int64_t size = storage::UsableSpace(ClaimRequest(pvc), OverheadFor(class_name));
    Status written;
    if (auto pool = PoolOfVolume(pv); pool.ok()) {
      written = pool->CreateImage(pv_name, size, preallocate);
    } else {
      std::string dir = Str(Field(Field(Field(pv, "spec"), "local"), "path"));
      if (dir.empty()) dir = Str(Field(Field(Field(pv, "spec"), "hostPath"), "path"));
      written = dir.empty() ? Invalid("volume " + pv_name + " has no local or hostPath path")
                            : storage::WriteImageFile(dir + "/disk.img", size, preallocate);
    }
    if (!written.ok()) {
      events_.Record(dv, "Warning", "Error", written.message());
      VDISK_RETURN_IF_ERROR(
          SetStatus(dv, "PVCBound", "N/A",
                    Conditions(Condition("Bound", true, "Bound", "PVC " + name + " Bound"),
                               Condition("Running", false, "Error", written.message()),
                               Condition("Ready", false, "", ""))));
      return Requeue(kPopulateRetry);
    }
  }
  json annotations = {{"cdi.kubevirt.io/storage.pod.phase", "Succeeded"}};
  if (preallocate && !block) annotations[kAnnPreallocationApplied] = "true";
  VDISK_RETURN_IF_ERROR([&] {
    auto patched =
        objects_.Patch(PvcKind(), MetaString(pvc, "namespace"), name, server::PatchType::kMerge,
                       {{"metadata", {{"annotations", annotations}}}}, false);
    return patched.ok() ? Status::Ok() : patched.status();
  }());
  if (preallocate && !block)
    events_.Record(dv, "Normal", "PreallocationApplied", "Preallocation applied");
  events_.Record(dv, "Normal", "ImportSucceeded", "Successfully imported into PVC " + name);
  VDISK_RETURN_IF_ERROR(SetStatus(
      dv, "Succeeded", "100.0%",
      Conditions(Condition("Bound", true, "Bound", "PVC " + name + " Bound"),
                 Condition("Running", false, "Completed", ""), Condition("Ready", true, "", ""))));
  return Requeue();
}

Status DataVolumeController::SetStatus(const json& dv, const std::string& phase,
                                       const std::string& progress, const json& conditions) {
  const json& old_status = Field(dv, "status");
  const json& old_conditions = Field(old_status, "conditions");
  std::string now = NowRfc3339();
  json merged = json::array();
  bool changed = Phase(dv) != phase || Str(Field(old_status, "progress")) != progress;
  for (json condition : conditions) {
    condition["lastTransitionTime"] = now;
    condition["lastHeartbeatTime"] = now;
    bool same = false;
    if (old_conditions.is_array()) {
      for (const auto& old : old_conditions) {
        if (Field(old, "type") != condition["type"]) continue;
        same = Field(old, "status") == condition["status"] &&
               Field(old, "reason") == condition["reason"] &&
               Field(old, "message") == condition["message"];
        if (Field(old, "status") == condition["status"] && old.contains("lastTransitionTime")) {
          condition["lastTransitionTime"] = old["lastTransitionTime"];
        }
        if (same) condition["lastHeartbeatTime"] = Field(old, "lastHeartbeatTime");
      }
    }
    changed = changed || !same;
    merged.push_back(std::move(condition));
  }
  if (!changed) return Status::Ok();  // nothing new: no write, no watch event, no loop
  json status = {{"phase", phase},
                 {"progress", progress},
                 {"claimName", MetaString(dv, "name")},
                 {"conditions", std::move(merged)}};
  auto patched = objects_.Patch(DvKind(), MetaString(dv, "namespace"), MetaString(dv, "name"),
                                server::PatchType::kMerge, {{"status", status}},
                                /*status_only=*/true);
  return patched.ok() ? Status::Ok() : patched.status();
}

}  // namespace vdisk::controllers
