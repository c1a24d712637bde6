// storage.k8s.io StorageClass (k8s.io/kubernetes pkg/apis/storage/validation) and the
// snapshot.storage.k8s.io kinds (the external-snapshotter CRDs' validation rules).

#include <algorithm>
#include <cctype>

#include "api/names.h"
#include "api/validation_internal.h"

namespace vdisk::api::internal {
namespace {

// ---- StorageClass --------------------------------------------------------------------------

constexpr size_t kMaxParameterCount = 512;
constexpr size_t kMaxParameterBytes = 256 * 1024;

void CheckProvisioner(const Json& object, FieldErrors& errors) {
  std::string provisioner = GetString(&object, "provisioner");
  if (provisioner.empty()) {
    errors.push_back(RequiredValue("provisioner"));
    return;
  }
  std::string lower = provisioner;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const std::string& p : IsQualifiedName(lower)) {
    errors.push_back(InvalidValue("provisioner", provisioner, p));
  }
}

void CheckParameters(const Json* parameters, FieldErrors& errors) {
  if (parameters == nullptr || !parameters->is_object()) return;
  if (parameters->size() > kMaxParameterCount) {
    errors.push_back(TooLongValue("parameters", parameters->size(), kMaxParameterCount));
    return;
  }
  size_t total = 0;
  for (const auto& [key, value] : parameters->items()) {
    if (key.empty()) errors.push_back(InvalidValue("parameters", key, "field can not be empty."));
    total += key.size() + (value.is_string() ? value.get<std::string>().size() : 0);
  }
  if (total > kMaxParameterBytes) {
    errors.push_back(TooLongValue("parameters", total, kMaxParameterBytes));
  }
}

void StorageClassDefaults(Json& object) {
  SetDefault(object, "reclaimPolicy", "Delete");
  SetDefault(object, "volumeBindingMode", "Immediate");
}

void ValidateStorageClass(const Json& object, FieldErrors& errors) {
  CheckProvisioner(object, errors);
  CheckParameters(Get(object, "parameters"), errors);
  CheckEnum(Get(object, "reclaimPolicy"), "reclaimPolicy", {"Delete", "Retain"}, errors);
  const Json* binding_mode = Get(object, "volumeBindingMode");
  if (binding_mode == nullptr) {
    errors.push_back(RequiredValue("volumeBindingMode"));
  } else {
    CheckEnum(binding_mode, "volumeBindingMode", {"Immediate", "WaitForFirstConsumer"}, errors);
  }
  CheckBool(Get(object, "allowVolumeExpansion"), "allowVolumeExpansion", errors);
  CheckBooleanAnnotation(object, "storageclass.kubernetes.io/is-default-class", errors);
  CheckBooleanAnnotation(object, "storageclass.beta.kubernetes.io/is-default-class", errors);
}

// Volumes already provisioned from a class keep the recipe they were made with, so the recipe
// cannot change under them.
void ValidateStorageClassUpdate(const Json& object, const Json& old_object, FieldErrors& errors) {
  auto forbid_change = [&](const char* field) {
    if (SemanticEqual(Get(object, field), Get(old_object, field))) return;
    errors.push_back(ForbiddenField(field, std::string("updates to ") + field + " are forbidden."));
  };
  // An empty map and no map are the same parameters.
  const Json* parameters = Get(object, "parameters");
  const Json* old_parameters = Get(old_object, "parameters");
  bool both_empty = (parameters == nullptr || parameters->empty()) &&
                    (old_parameters == nullptr || old_parameters->empty());
  if (!both_empty) forbid_change("parameters");
  forbid_change("provisioner");
  forbid_change("reclaimPolicy");
  CheckImmutable(Get(object, "volumeBindingMode"), Get(old_object, "volumeBindingMode"),
                 "volumeBindingMode", errors);
}

// ---- VolumeSnapshot ------------------------------------------------------------------------

const std::vector<std::string> kDeletionPolicies = {"Delete", "Retain"};

// CEL's has(): the field is present, whatever its value.
bool Has(const Json* object, const char* field) { return Get(object, field) != nullptr; }

void ValidateVolumeSnapshot(const Json& object, FieldErrors& errors) {
  const Json* spec = GetObject(&object, "spec");
  if (spec == nullptr) {
    errors.push_back(RequiredValue("spec"));
    return;
  }
  const Json* source = GetObject(spec, "source");
  if (source == nullptr) {
    errors.push_back(RequiredValue("spec.source"));
  } else if (Has(source, "persistentVolumeClaimName") == Has(source, "volumeSnapshotContentName")) {
    errors.push_back(InvalidValue(
        "spec.source", *source,
        "exactly one of volumeSnapshotContentName and persistentVolumeClaimName must be set"));
  }
  const Json* class_name = Get(*spec, "volumeSnapshotClassName");
  if (class_name != nullptr && *class_name == "") {
    errors.push_back(InvalidValue("spec.volumeSnapshotClassName", *class_name,
                                  "volumeSnapshotClassName must not be the empty string when set"));
  }
}

// The source names what the snapshot is of; a different one would be a different snapshot.
void CheckSourceFieldsImmutable(const Json* source, const Json* old_source, const std::string& path,
                                const std::vector<std::string>& fields, FieldErrors& errors) {
  for (const std::string& field : fields) {
    const Json* value = Get(source, field);
    const Json* old_value = Get(old_source, field);
    if (SemanticEqual(value, old_value)) continue;
    errors.push_back(InvalidValue(Child(path, field), value != nullptr ? *value : Json(nullptr),
                                  field + " is immutable"));
  }
}

void ValidateVolumeSnapshotUpdate(const Json& object, const Json& old_object, FieldErrors& errors) {
  const Json* source = GetObject(GetObject(&object, "spec"), "source");
  const Json* old_source = GetObject(GetObject(&old_object, "spec"), "source");
  CheckSourceFieldsImmutable(source, old_source, "spec.source",
                             {"persistentVolumeClaimName", "volumeSnapshotContentName"}, errors);
}

// ---- VolumeSnapshotContent -----------------------------------------------------------------

void CheckDeletionPolicy(const Json* owner, const std::string& path, FieldErrors& errors) {
  const Json* policy = Get(owner, "deletionPolicy");
  if (policy == nullptr) {
    errors.push_back(RequiredValue(path));
  } else {
    CheckEnum(policy, path, kDeletionPolicies, errors);
  }
}

void ValidateVolumeSnapshotContent(const Json& object, FieldErrors& errors) {
  const Json* spec = GetObject(&object, "spec");
  if (spec == nullptr) {
    errors.push_back(RequiredValue("spec"));
    return;
  }
  if (!HasString(spec, "driver")) errors.push_back(RequiredValue("spec.driver"));
  CheckDeletionPolicy(spec, "spec.deletionPolicy", errors);
  const Json* source = GetObject(spec, "source");
  if (source == nullptr) {
    errors.push_back(RequiredValue("spec.source"));
  } else if (Has(source, "volumeHandle") == Has(source, "snapshotHandle")) {
    errors.push_back(InvalidValue("spec.source", *source,
                                  "exactly one of volumeHandle and snapshotHandle must be set"));
  }
  const Json* ref = GetObject(spec, "volumeSnapshotRef");
  if (!HasString(ref, "name") || !HasString(ref, "namespace")) {
    errors.push_back(InvalidValue(
        "spec.volumeSnapshotRef", ref != nullptr ? *ref : Json(nullptr),
        "both spec.volumeSnapshotRef.name and spec.volumeSnapshotRef.namespace must be set"));
  }
  CheckEnum(Get(*spec, "sourceVolumeMode"), "spec.sourceVolumeMode", kVolumeModes, errors);
}

void ValidateVolumeSnapshotContentUpdate(const Json& object, const Json& old_object,
                                         FieldErrors& errors) {
  const Json* spec = GetObject(&object, "spec");
  const Json* old_spec = GetObject(&old_object, "spec");
  CheckSourceFieldsImmutable(GetObject(spec, "source"), GetObject(old_spec, "source"),
                             "spec.source", {"volumeHandle", "snapshotHandle"}, errors);
  CheckSourceFieldsImmutable(spec, old_spec, "spec", {"sourceVolumeMode"}, errors);
}

// ---- VolumeSnapshotClass -------------------------------------------------------------------

void ValidateVolumeSnapshotClass(const Json& object, FieldErrors& errors) {
  if (!HasString(&object, "driver")) errors.push_back(RequiredValue("driver"));
  CheckDeletionPolicy(&object, "deletionPolicy", errors);
  CheckBooleanAnnotation(object, "snapshot.storage.kubernetes.io/is-default-class", errors);
}

}  // namespace

std::vector<KindRules> StorageKindRules() {
  return {
      {"storage.k8s.io", "StorageClass", StorageClassDefaults, ValidateStorageClass,
       ValidateStorageClassUpdate},
      {"snapshot.storage.k8s.io", "VolumeSnapshot", nullptr, ValidateVolumeSnapshot,
       ValidateVolumeSnapshotUpdate},
      {"snapshot.storage.k8s.io", "VolumeSnapshotContent", nullptr, ValidateVolumeSnapshotContent,
       ValidateVolumeSnapshotContentUpdate},
      {"snapshot.storage.k8s.io", "VolumeSnapshotClass", nullptr, ValidateVolumeSnapshotClass,
       nullptr},
  };
}

}  // namespace vdisk::api::internal
