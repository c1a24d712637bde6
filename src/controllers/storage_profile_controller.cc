#include "controllers/storage_profile_controller.h"

#include <map>

#include "controllers/volume_controller.h"

namespace vdisk::controllers {
namespace {

constexpr const char* kHostpathCsi = "kubevirt.io.hostpath-provisioner";
constexpr const char* kHostpathLegacy = "kubevirt.io/hostpath-provisioner";
constexpr const char* kNoProvisioner = "kubernetes.io/no-provisioner";
// A class annotation upstream CDI honours when the profile's spec names no strategy.
constexpr const char* kCloneStrategyAnnotation = "cdi.kubevirt.io/clone-strategy";

struct KnownProvisioner {
  std::vector<ClaimPropertySet> claim_property_sets;
  std::string clone_strategy;
};

// CDI's known-provisioner table, for the provisioners vdisk serves. The hostpath provisioner
// names no clone strategy, as upstream: a clone then tries "snapshot" and, where the pool
// cannot take snapshots, falls back to copy with the reason recorded. A pool that can gets
// "snapshot" in its profile (see the header).
const std::map<std::string, KnownProvisioner>& KnownProvisioners() {
  static const auto* table = new std::map<std::string, KnownProvisioner>{
      {kHostpathCsi, {{{{"ReadWriteOnce"}, "Filesystem"}}, ""}},
      {kHostpathLegacy, {{{{"ReadWriteOnce"}, "Filesystem"}}, ""}},
      {kNoProvisioner, {{{{"ReadWriteOnce"}, "Filesystem"}, {{"ReadWriteOnce"}, "Block"}}, "copy"}},
  };
  return *table;
}

std::string StringAt(const json& object, const char* field) {
  if (!object.is_object()) return "";
  auto it = object.find(field);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const json& ObjectAt(const json& object, const char* field) {
  static const json kEmpty = json::object();
  if (!object.is_object()) return kEmpty;
  auto it = object.find(field);
  return it != object.end() && it->is_object() ? *it : kEmpty;
}

bool IsCloneStrategy(const std::string& s) {
  return s == "copy" || s == "snapshot" || s == "csi-clone";
}

json ToJson(const std::vector<ClaimPropertySet>& sets) {
  json out = json::array();
  for (const auto& set : sets) {
    out.push_back({{"accessModes", set.access_modes}, {"volumeMode", set.volume_mode}});
  }
  return out;
}

// One claimPropertySets entry; both parts are required, as upstream insists.
Result<ClaimPropertySet> ParseClaimPropertySet(const json& entry, size_t index) {
  ClaimPropertySet set;
  set.volume_mode = StringAt(entry, "volumeMode");
  if (entry.is_object() && entry.contains("accessModes") && entry["accessModes"].is_array()) {
    for (const auto& mode : entry["accessModes"]) {
      if (mode.is_string()) set.access_modes.push_back(mode.get<std::string>());
    }
  }
  if (set.volume_mode.empty() || set.access_modes.empty()) {
    return Invalid("claimPropertySets[" + std::to_string(index) +
                   "] must provide both volume mode and access modes");
  }
  return set;
}

Result<std::vector<ClaimPropertySet>> ParseClaimPropertySets(const json& sets) {
  std::vector<ClaimPropertySet> out;
  if (!sets.is_array()) return out;
  for (size_t i = 0; i < sets.size(); ++i) {
    VDISK_ASSIGN_OR_RETURN(ClaimPropertySet set, ParseClaimPropertySet(sets[i], i));
    out.push_back(std::move(set));
  }
  return out;
}

bool HasEntries(const json& object, const char* field) {
  return object.is_object() && object.contains(field) && object[field].is_array() &&
         !object[field].empty();
}

std::string DesiredCloneStrategy(const json& storage_class, const json& spec) {
  std::string from_spec = StringAt(spec, "cloneStrategy");
  if (!from_spec.empty()) return from_spec;
  std::string annotated = StringAt(ObjectAt(ObjectAt(storage_class, "metadata"), "annotations"),
                                   kCloneStrategyAnnotation);
  if (IsCloneStrategy(annotated)) return annotated;
  return KnownCloneStrategy(StringAt(storage_class, "provisioner"));
}

json OwnerReferenceTo(const json& storage_class) {
  return {{"apiVersion", "storage.k8s.io/v1"},
          {"kind", "StorageClass"},
          {"name", MetaString(storage_class, "name")},
          {"uid", MetaString(storage_class, "uid")},
          {"controller", true}};
}

bool IsStorageClassReference(const json& ref) {
  return ref.is_object() && StringAt(ref, "kind") == "StorageClass" &&
         StringAt(ref, "apiVersion").starts_with("storage.k8s.io/");
}

// The profile's owner references with `ref` in place of any other StorageClass reference (a
// class deleted and made again under the same name leaves one with a stale uid).
json WithOwner(const json& profile, const json& ref) {
  json refs = json::array();
  const json& meta = ObjectAt(profile, "metadata");
  if (meta.contains("ownerReferences") && meta["ownerReferences"].is_array()) {
    for (const auto& existing : meta["ownerReferences"]) {
      if (!IsStorageClassReference(existing)) refs.push_back(existing);
    }
  }
  refs.push_back(ref);
  return refs;
}

bool IsOwnedBy(const json& profile, const json& ref) {
  const json& meta = ObjectAt(profile, "metadata");
  if (!meta.contains("ownerReferences") || !meta["ownerReferences"].is_array()) return false;
  for (const auto& existing : meta["ownerReferences"]) {
    if (IsStorageClassReference(existing) && StringAt(existing, "uid") == StringAt(ref, "uid")) {
      return true;
    }
  }
  return false;
}

bool HasStorageClassOwner(const json& profile) {
  const json& meta = ObjectAt(profile, "metadata");
  if (!meta.contains("ownerReferences") || !meta["ownerReferences"].is_array()) return false;
  for (const auto& ref : meta["ownerReferences"]) {
    if (IsStorageClassReference(ref)) return true;
  }
  return false;
}

}  // namespace

std::vector<ClaimPropertySet> KnownClaimPropertySets(const std::string& provisioner) {
  auto it = KnownProvisioners().find(provisioner);
  return it == KnownProvisioners().end() ? std::vector<ClaimPropertySet>{}
                                         : it->second.claim_property_sets;
}

std::string KnownCloneStrategy(const std::string& provisioner) {
  auto it = KnownProvisioners().find(provisioner);
  return it == KnownProvisioners().end() ? std::string() : it->second.clone_strategy;
}

Result<std::vector<ClaimPropertySet>> EffectiveClaimProperties(const json& storage_profile) {
  // The spec first: the status may not yet reflect an administrator's latest edit.
  const json& spec = ObjectAt(storage_profile, "spec");
  if (HasEntries(spec, "claimPropertySets"))
    return ParseClaimPropertySets(spec["claimPropertySets"]);
  const json& status = ObjectAt(storage_profile, "status");
  if (HasEntries(status, "claimPropertySets")) {
    return ParseClaimPropertySets(status["claimPropertySets"]);
  }
  return std::vector<ClaimPropertySet>{};
}

std::string EffectiveCloneStrategy(const json& storage_profile) {
  std::string from_spec = StringAt(ObjectAt(storage_profile, "spec"), "cloneStrategy");
  if (!from_spec.empty()) return from_spec;
  return StringAt(ObjectAt(storage_profile, "status"), "cloneStrategy");
}

json DesiredStorageProfileStatus(const json& storage_class, const json& profile,
                                 bool snapshots_supported) {
  json status = ObjectAt(profile, "status");
  const json& spec = ObjectAt(profile, "spec");
  const std::string provisioner = StringAt(storage_class, "provisioner");
  status["provisioner"] = provisioner;
  status["storageClass"] = MetaString(storage_class, "name");

  if (HasEntries(spec, "claimPropertySets")) {
    status["claimPropertySets"] = spec["claimPropertySets"];
  } else if (auto known = KnownClaimPropertySets(provisioner); !known.empty()) {
    status["claimPropertySets"] = ToJson(known);
  } else {
    status.erase("claimPropertySets");  // unrecognized: the administrator must say
  }

  std::string strategy = DesiredCloneStrategy(storage_class, spec);
  bool chosen =
      !StringAt(spec, "cloneStrategy").empty() ||
      IsCloneStrategy(StringAt(ObjectAt(ObjectAt(storage_class, "metadata"), "annotations"),
                               kCloneStrategyAnnotation));
  if (snapshots_supported && !chosen) strategy = "snapshot";
  std::string snapshot_class = StringAt(spec, "snapshotClass");
  if (snapshot_class.empty() && snapshots_supported) {
    snapshot_class = MetaString(storage_class, "name");
  }
  if (snapshot_class.empty()) {
    status.erase("snapshotClass");
  } else {
    status["snapshotClass"] = snapshot_class;
  }
  if (strategy.empty()) {
    status.erase("cloneStrategy");
  } else {
    status["cloneStrategy"] = strategy;
  }
  return status;
}

StorageProfileController::StorageProfileController(server::ObjectService& objects,
                                                   const storage::PoolRegistry* pools)
    : Controller("storageprofile-controller", objects,
                 *api::KindRegistry::Get().ByKind("storage.k8s.io", "StorageClass")),
      profile_kind_(*api::KindRegistry::Get().ByKind("cdi.kubevirt.io", "StorageProfile")),
      pools_(pools) {
  // A profile has its class's name: an edit or a deletion of one re-reconciles the class.
  Watches(profile_kind_, SelfKey);
  if (pools_ == nullptr) return;
  // Pools come and go with the provisioner's CRs (their status changes when one is ready),
  // and a snapshot class vdisk made is named like its storage class.
  Watches(KindOf("hostpathprovisioner.kubevirt.io", "HostPathProvisioner"),
          [this](const json&) { return KeysWhere(primary_, [](const json&) { return true; }); });
  Watches(KindOf("snapshot.storage.k8s.io", "VolumeSnapshotClass"), SelfKey);
}

bool StorageProfileController::SnapshotsSupported(const json& storage_class) const {
  if (pools_ == nullptr || StringAt(storage_class, "provisioner") != kHostpathCsi) return false;
  auto pool = PoolForClass(*pools_, storage_class);
  return pool.ok() && pool->SupportsReflink();
}

Status StorageProfileController::EnsureSnapshotClass(const json& storage_class, bool wanted) {
  const api::Kind& kind = KindOf("snapshot.storage.k8s.io", "VolumeSnapshotClass");
  const std::string name = MetaString(storage_class, "name");
  auto existing = objects_.Get(kind, "", name);
  if (!existing.ok() && existing.status().code() != StatusCode::kNotFound) {
    return existing.status();
  }
  if (wanted && !existing.ok()) {
    json snapshot_class = {
        {"apiVersion", kind.ApiVersion()},
        {"kind", kind.kind},
        {"metadata",
         {{"name", name}, {"ownerReferences", json::array({OwnerReferenceTo(storage_class)})}}},
        {"driver", kHostpathCsi},
        {"deletionPolicy", "Delete"}};
    auto created = objects_.Create(kind, "", std::move(snapshot_class));
    if (!created.ok() && created.status().code() != StatusCode::kAlreadyExists) {
      return created.status();
    }
  } else if (!wanted && existing.ok() && IsOwnedBy(*existing, OwnerReferenceTo(storage_class))) {
    server::DeleteOptions options;
    options.precondition_uid = MetaString(*existing, "uid");
    auto deleted = objects_.Delete(kind, "", name, options);
    if (!deleted.ok() && deleted.status().code() != StatusCode::kNotFound) {
      return deleted.status();
    }
  }
  return Status::Ok();
}

Result<Requeue> StorageProfileController::Reconcile(const ObjectKey& key) {
  auto storage_class = objects_.Get(primary_, "", key.name);
  if (!storage_class.ok()) {
    if (storage_class.status().code() != StatusCode::kNotFound) return storage_class.status();
    VDISK_RETURN_IF_ERROR(DeleteOrphanedProfile(key.name));
    return Requeue();
  }
  // A class on its way out takes its profile along through the garbage collector.
  if (!MetaString(*storage_class, "deletionTimestamp").empty()) return Requeue();

  VDISK_ASSIGN_OR_RETURN(json profile, EnsureProfile(*storage_class));
  bool snapshots = SnapshotsSupported(*storage_class);
  VDISK_RETURN_IF_ERROR(EnsureSnapshotClass(*storage_class, snapshots));
  json status = DesiredStorageProfileStatus(*storage_class, profile, snapshots);
  if (profile.contains("status") && profile["status"] == status) return Requeue();
  profile["status"] = std::move(status);
  // Pinned to the resourceVersion read: a concurrent spec edit makes this a retried conflict.
  auto written = objects_.Update(profile_kind_, "", key.name, std::move(profile),
                                 /*status_only=*/true);
  if (!written.ok()) return written.status();
  return Requeue();
}

Result<json> StorageProfileController::EnsureProfile(const json& storage_class) {
  const std::string name = MetaString(storage_class, "name");
  const json owner = OwnerReferenceTo(storage_class);
  auto existing = objects_.Get(profile_kind_, "", name);
  if (!existing.ok()) {
    if (existing.status().code() != StatusCode::kNotFound) return existing.status();
    json fresh = {{"apiVersion", profile_kind_.ApiVersion()},
                  {"kind", profile_kind_.kind},
                  {"metadata", {{"name", name}, {"ownerReferences", json::array({owner})}}},
                  {"spec", json::object()}};
    auto created = objects_.Create(profile_kind_, "", std::move(fresh));
    if (!created.ok()) return created.status();
    return std::move(created->object);
  }
  json profile = std::move(existing).value();
  if (IsOwnedBy(profile, owner)) return profile;
  // Adopt: only the owner references change; the administrator's spec stays as read.
  profile["metadata"]["ownerReferences"] = WithOwner(profile, owner);
  auto updated = objects_.Update(profile_kind_, "", name, std::move(profile),
                                 /*status_only=*/false);
  if (!updated.ok()) return updated.status();
  return std::move(updated->object);
}

Status StorageProfileController::DeleteOrphanedProfile(const std::string& name) {
  auto profile = objects_.Get(profile_kind_, "", name);
  if (!profile.ok()) {
    return profile.status().code() == StatusCode::kNotFound ? Status::Ok() : profile.status();
  }
  // A profile made by hand before its class exists waits for the class to adopt it.
  if (!HasStorageClassOwner(*profile)) return Status::Ok();
  server::DeleteOptions options;
  options.precondition_uid = MetaString(*profile, "uid");
  auto deleted = objects_.Delete(profile_kind_, "", name, options);
  if (!deleted.ok() && deleted.status().code() != StatusCode::kNotFound) return deleted.status();
  return Status::Ok();
}

}  // namespace vdisk::controllers
