// Core v1 kinds: Namespace, Node, PersistentVolume, PersistentVolumeClaim, Secret, ConfigMap,
// Event. Rules follow k8s.io/kubernetes pkg/apis/core/validation and the v1 defaulters.

#include <array>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <ctime>

#include "api/validation_internal.h"
#include "common/base64.h"

namespace vdisk::api::internal {
namespace {

// ---- Namespace -----------------------------------------------------------------------------

void NamespaceDefaults(Json& object) {
  // Upstream labels every namespace with its own name so that selectors can pick namespaces.
  std::string name = GetString(GetObject(&object, "metadata"), "name");
  Json* metadata = EnsureObject(object, "metadata");
  Json* labels = metadata != nullptr ? EnsureObject(*metadata, "labels") : nullptr;
  if (labels != nullptr && !name.empty()) (*labels)["kubernetes.io/metadata.name"] = name;
  if (Json* status = EnsureObject(object, "status")) SetDefault(*status, "phase", "Active");
}

// ---- PersistentVolumeClaim -----------------------------------------------------------------

// Set by the claim binder on bound claims: "false" when their class forbids expansion.
constexpr const char* kAnnAllowVolumeExpansion = "volume.vdisk.io/allow-volume-expansion";

void CheckDataSourceReference(const Json* ref, const std::string& path, FieldErrors& errors) {
  if (ref == nullptr) return;
  if (!HasString(ref, "name")) errors.push_back(RequiredValue(Child(path, "name")));
  if (!HasString(ref, "kind")) errors.push_back(RequiredValue(Child(path, "kind")));
  std::string kind = GetString(ref, "kind");
  if (!HasString(ref, "apiGroup") && kind != "PersistentVolumeClaim") {
    errors.push_back(InvalidValue(
        path, kind, "must be 'PersistentVolumeClaim' when referencing the default apiGroup"));
  }
}

void CheckClaimStorageRequest(const Json* resources, const std::string& path, FieldErrors& errors) {
  CheckResourceRequirements(resources, Child(path, "resources"), errors);
  const Json* storage = Get(GetObject(resources, "requests"), "storage");
  // Upstream keys these two errors under `resources`, not `resources.requests`.
  std::string storage_path = Key(Child(path, "resources"), "storage");
  if (storage == nullptr) {
    errors.push_back(RequiredValue(storage_path));
    return;
  }
  FieldErrors parse_errors;  // already reported by CheckResourceRequirements
  std::optional<Quantity> q = CheckQuantity(storage, storage_path, parse_errors);
  if (q && !IsPositive(*q)) {
    errors.push_back(InvalidValue(storage_path, *storage, "must be greater than zero"));
  }
}

// Core kinds hold quantities as typed values, so kube-apiserver returns them canonical
// ("1.5G" reads back as "1500M"); a value that does not parse is left for validation to report.
void CanonicalizeQuantities(Json& object, std::initializer_list<const char*> path) {
  Json* map = &object;
  for (const char* field : path) {
    if (!map->is_object() || !map->contains(field)) return;
    map = &(*map)[field];
  }
  if (!map->is_object()) return;
  for (auto& [name, value] : map->items()) {
    if (!value.is_string()) continue;
    if (auto quantity = Quantity::Parse(value.get<std::string>()); quantity.ok()) {
      value = quantity->ToString();
    }
  }
}

void PersistentVolumeClaimDefaults(Json& object) {
  if (Json* spec = EnsureObject(object, "spec")) SetDefault(*spec, "volumeMode", "Filesystem");
  CanonicalizeQuantities(object, {"spec", "resources", "requests"});
  CanonicalizeQuantities(object, {"spec", "resources", "limits"});
  CanonicalizeQuantities(object, {"status", "capacity"});
  if (Json* status = EnsureObject(object, "status")) SetDefault(*status, "phase", "Pending");
}

void ValidatePersistentVolumeClaim(const Json& object, FieldErrors& errors) {
  CheckPersistentVolumeClaimSpec(GetObject(&object, "spec"), "spec", errors);
}

// A copy of a claim spec without what may change after creation.
Json MutableFieldsRemoved(const Json* spec) {
  Json copy = spec != nullptr && spec->is_object() ? *spec : Json::object();
  if (Json* resources = EnsureObject(copy, "resources")) {
    if (Json* requests = EnsureObject(*resources, "requests")) requests->erase("storage");
  }
  copy.erase("volumeAttributesClassName");
  return copy;
}

void ValidatePersistentVolumeClaimUpdate(const Json& object, const Json& old_object,
                                         FieldErrors& errors) {
  const Json* spec = GetObject(&object, "spec");
  const Json* old_spec = GetObject(&old_object, "spec");
  Json before = MutableFieldsRemoved(old_spec);
  Json after = MutableFieldsRemoved(spec);
  // The binder sets volumeName once; a default class may be assigned to a claim without one
  // (upstream's retroactive default StorageClass).
  if (!HasString(old_spec, "volumeName")) {
    before.erase("volumeName");
    after.erase("volumeName");
  }
  if (Get(old_spec, "storageClassName") == nullptr) {
    before.erase("storageClassName");
    after.erase("storageClassName");
  }
  if (!SemanticEqual(&before, &after)) {
    errors.push_back(
        ForbiddenField("spec",
                       "spec is immutable after creation except resources.requests and "
                       "volumeAttributesClassName for bound claims" +
                           DescribeChanges(&before, &after)));
  }
  // Growing the request is how a volume is expanded; shrinking is never supported.
  FieldErrors ignored;  // ValidateCreate reports unparsable quantities
  auto storage_of = [&ignored](const Json* s) {
    return CheckQuantity(Get(GetObject(GetObject(s, "resources"), "requests"), "storage"), "",
                         ignored);
  };
  std::optional<Quantity> old_size = storage_of(old_spec);
  std::optional<Quantity> new_size = storage_of(spec);
  if (old_size && new_size && *new_size < *old_size) {
    errors.push_back(ForbiddenField("spec.resources.requests.storage",
                                    "field can not be less than previous value"));
  }
  // Growing needs a class that allows expansion (upstream's PersistentVolumeClaimResize
  // admission). Validation cannot read the StorageClass, so the claim binder records its answer
  // on every bound claim (kAnnAllowVolumeExpansion in controllers/volume_controller.h).
  const Json* annotations = GetObject(GetObject(&old_object, "metadata"), "annotations");
  if (old_size && new_size && *old_size < *new_size &&
      GetString(annotations, kAnnAllowVolumeExpansion) == "false") {
    errors.push_back(ForbiddenField("spec.resources.requests.storage",
                                    "only dynamically provisioned pvc can be resized and the "
                                    "storageclass that provisions the pvc must support resize"));
  }
}

// ---- PersistentVolume ----------------------------------------------------------------------

// The members of PersistentVolumeSource, in upstream's order of checking.
constexpr std::array<const char*, 22> kVolumeSources = {"hostPath",
                                                        "gcePersistentDisk",
                                                        "awsElasticBlockStore",
                                                        "glusterfs",
                                                        "flocker",
                                                        "nfs",
                                                        "rbd",
                                                        "quobyte",
                                                        "cephfs",
                                                        "iscsi",
                                                        "cinder",
                                                        "fc",
                                                        "flexVolume",
                                                        "azureFile",
                                                        "vsphereVolume",
                                                        "photonPersistentDisk",
                                                        "portworxVolume",
                                                        "azureDisk",
                                                        "scaleIO",
                                                        "local",
                                                        "storageos",
                                                        "csi"};

const std::vector<std::string> kReclaimPolicies = {"Delete", "Recycle", "Retain"};
const std::vector<std::string> kHostPathTypes = {
    "",       "DirectoryOrCreate", "Directory",  "FileOrCreate", "File",
    "Socket", "CharDevice",        "BlockDevice"};

bool HasBacksteps(const std::string& path) {
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (path.compare(start, end - start, "..") == 0) return true;
    start = end + 1;
  }
  return false;
}

void CheckVolumeSource(const std::string& type, const Json& source, const std::string& path,
                       FieldErrors& errors) {
  auto require = [&](const char* field) {
    if (!HasString(&source, field)) errors.push_back(RequiredValue(Child(path, field)));
  };
  if (type == "hostPath") {
    require("path");
    CheckEnum(Get(source, "type"), Child(path, "type"), kHostPathTypes, errors);
  } else if (type == "local") {
    require("path");
    std::string local_path = GetString(&source, "path");
    if (HasBacksteps(local_path)) {
      errors.push_back(InvalidValue(Child(path, "path"), local_path, "must not contain '..'"));
    }
  } else if (type == "csi") {
    require("driver");
    require("volumeHandle");
  } else if (type == "nfs") {
    require("server");
    require("path");
    std::string nfs_path = GetString(&source, "path");
    if (!nfs_path.empty() && nfs_path[0] != '/') {
      errors.push_back(InvalidValue(Child(path, "path"), nfs_path, "must be an absolute path"));
    }
  }
}

void CheckVolumeSources(const Json& spec, bool node_affinity_specified, FieldErrors& errors) {
  int count = 0;
  for (const char* type : kVolumeSources) {
    const Json* source = Get(spec, type);
    if (source == nullptr) continue;
    std::string path = Child("spec", type);
    if (count++ > 0) {
      errors.push_back(ForbiddenField(path, "may not specify more than 1 volume type"));
      continue;
    }
    CheckVolumeSource(type, *source, path, errors);
    if (std::string(type) == "local" && !node_affinity_specified) {
      errors.push_back(RequiredValue("spec.nodeAffinity", "Local volume requires node affinity"));
    }
  }
  if (count == 0) errors.push_back(RequiredValue("spec", "must specify a volume type"));
}

void CheckCapacity(const Json* capacity, FieldErrors& errors) {
  if (capacity == nullptr || !capacity->is_object() || capacity->empty()) {
    errors.push_back(RequiredValue("spec.capacity"));
    return;
  }
  if (!capacity->contains("storage") || capacity->size() > 1) {
    errors.push_back(NotSupportedValue("spec.capacity", *capacity, {"storage"}));
  }
  for (const auto& [name, value] : capacity->items()) {
    std::string path = Key("spec.capacity", name);
    std::optional<Quantity> q = CheckQuantity(&value, path, errors);
    if (q && !IsPositive(*q))
      errors.push_back(InvalidValue(path, value, "must be greater than zero"));
  }
}

// Returns whether required node constraints were given.
bool CheckVolumeNodeAffinity(const Json* affinity, FieldErrors& errors) {
  if (affinity == nullptr) return false;
  const Json* required = Get(affinity, "required");
  if (required == nullptr) {
    errors.push_back(
        RequiredValue("spec.nodeAffinity.required", "must specify required node constraints"));
    return false;
  }
  CheckNodeSelector(required, "spec.nodeAffinity.required", errors);
  return true;
}

void PersistentVolumeDefaults(Json& object) {
  if (Json* spec = EnsureObject(object, "spec")) {
    SetDefault(*spec, "persistentVolumeReclaimPolicy", "Retain");
    SetDefault(*spec, "volumeMode", "Filesystem");
  }
  CanonicalizeQuantities(object, {"spec", "capacity"});
  if (Json* status = EnsureObject(object, "status")) SetDefault(*status, "phase", "Pending");
}

void ValidatePersistentVolume(const Json& object, FieldErrors& errors) {
  const Json* spec_ptr = GetObject(&object, "spec");
  const Json& spec = spec_ptr != nullptr ? *spec_ptr : Json::object();
  CheckAccessModes(Get(spec, "accessModes"), "spec.accessModes", true, "", errors);
  CheckCapacity(Get(spec, "capacity"), errors);
  CheckEnum(Get(spec, "persistentVolumeReclaimPolicy"), "spec.persistentVolumeReclaimPolicy",
            kReclaimPolicies, errors);
  bool affinity = CheckVolumeNodeAffinity(Get(spec, "nodeAffinity"), errors);
  CheckVolumeSources(spec, affinity, errors);
  const Json* host_path = GetObject(&spec, "hostPath");
  if (host_path != nullptr && GetString(host_path, "path") == "/" &&
      GetString(&spec, "persistentVolumeReclaimPolicy") == "Recycle") {
    errors.push_back(ForbiddenField("spec.persistentVolumeReclaimPolicy",
                                    "may not be 'recycle' for a hostPath mount of '/'"));
  }
  CheckDns1123Subdomain(Get(spec, "storageClassName"), "spec.storageClassName", errors);
  CheckEnum(Get(spec, "volumeMode"), "spec.volumeMode", kVolumeModes, errors);
}

void ValidatePersistentVolumeUpdate(const Json& object, const Json& old_object,
                                    FieldErrors& errors) {
  const Json* spec = GetObject(&object, "spec");
  const Json* old_spec = GetObject(&old_object, "spec");
  Json source = Json::object();
  Json old_source = Json::object();
  for (const char* type : kVolumeSources) {
    if (const Json* v = Get(spec, type)) source[type] = *v;
    if (const Json* v = Get(old_spec, type)) old_source[type] = *v;
  }
  if (!SemanticEqual(&source, &old_source)) {
    errors.push_back(ForbiddenField("spec.persistentvolumesource",
                                    "spec.persistentvolumesource is immutable after creation" +
                                        DescribeChanges(&old_source, &source)));
  }
  CheckImmutable(Get(spec, "volumeMode"), Get(old_spec, "volumeMode"), "spec.volumeMode", errors);
  // Node affinity may be added to a volume that had none, never changed afterwards.
  if (Get(old_spec, "nodeAffinity") != nullptr) {
    CheckImmutable(Get(spec, "nodeAffinity"), Get(old_spec, "nodeAffinity"), "spec.nodeAffinity",
                   errors);
  }
}

// ---- Secret and ConfigMap ------------------------------------------------------------------

constexpr size_t kMaxDataBytes = 1024 * 1024;  // core.MaxSecretSize, also a ConfigMap's limit

// The decoded length of padded standard base64 (as Go's []byte JSON decoding requires it),
// or nullopt when `text` is not that.
std::optional<size_t> Base64DecodedSize(const std::string& text) {
  std::string s;
  for (char c : text) {
    if (c != '\r' && c != '\n') s += c;
  }
  std::optional<std::string> decoded = Base64Decode(s);
  if (!decoded) return std::nullopt;
  return decoded->size();
}

// k8s.io/apimachinery IsConfigMapKey.
std::vector<std::string> ConfigKeyProblems(const std::string& key) {
  std::vector<std::string> problems;
  if (key.size() > 253) problems.push_back("must be no more than 253 characters");
  bool valid = !key.empty();
  for (char c : key) {
    valid =
        valid && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
  }
  if (!valid) {
    problems.push_back(
        "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "
        "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
        "'[-._a-zA-Z0-9]+')");
  }
  if (key == ".") {
    problems.push_back("must not be '.'");
  } else if (key == "..") {
    problems.push_back("must not be '..'");
  } else if (key.rfind("..", 0) == 0) {
    problems.push_back("must not start with '..'");
  }
  return problems;
}

void CheckConfigKeys(const Json* map, const std::string& path, FieldErrors& errors) {
  if (map == nullptr || !map->is_object()) return;
  for (const auto& [key, value] : map->items()) {
    for (const std::string& p : ConfigKeyProblems(key)) {
      errors.push_back(InvalidValue(Key(path, key), key, p));
    }
  }
}

// Checks that every value of a []byte map is base64; returns the total decoded size.
size_t CheckBinaryValues(const Json* map, const std::string& path, FieldErrors& errors) {
  size_t total = 0;
  if (map == nullptr || !map->is_object()) return 0;
  for (const auto& [key, value] : map->items()) {
    std::optional<size_t> size =
        value.is_string() ? Base64DecodedSize(value.get<std::string>()) : std::nullopt;
    if (!size) {
      // Never echo what may be a secret.
      errors.push_back(
          InvalidValue(Key(path, key), "<value omitted>", "must be base64-encoded bytes"));
      continue;
    }
    total += *size + key.size();
  }
  return total;
}

void CheckTotalSize(size_t bytes, const std::string& path, FieldErrors& errors) {
  if (bytes > kMaxDataBytes) errors.push_back(TooLongValue(path, bytes, kMaxDataBytes));
}

// A key counts as present in data or, before defaulting folded it in, in stringData.
bool HasSecretKey(const Json& object, const std::string& key) {
  return Get(GetObject(&object, "data"), key) != nullptr ||
         Get(GetObject(&object, "stringData"), key) != nullptr;
}

void CheckSecretType(const Json& object, FieldErrors& errors) {
  std::string type = GetString(&object, "type");
  auto require_key = [&](const char* key) {
    if (!HasSecretKey(object, key)) errors.push_back(RequiredValue(Key("data", key)));
  };
  if (type == "kubernetes.io/service-account-token") {
    const Json* annotations = GetObject(GetObject(&object, "metadata"), "annotations");
    if (!HasString(annotations, "kubernetes.io/service-account.name")) {
      errors.push_back(
          RequiredValue(Key("metadata.annotations", "kubernetes.io/service-account.name")));
    }
  } else if (type == "kubernetes.io/dockercfg") {
    require_key(".dockercfg");
  } else if (type == "kubernetes.io/dockerconfigjson") {
    require_key(".dockerconfigjson");
  } else if (type == "kubernetes.io/basic-auth") {
    // Either may be empty, but one of them must be there.
    if (!HasSecretKey(object, "username") && !HasSecretKey(object, "password")) {
      require_key("username");
      require_key("password");
    }
  } else if (type == "kubernetes.io/ssh-auth") {
    require_key("ssh-privatekey");
  } else if (type == "kubernetes.io/tls") {
    require_key("tls.crt");
    require_key("tls.key");
  }
}

void SecretDefaults(Json& object) {
  if (GetString(&object, "type").empty()) object["type"] = "Opaque";
  // stringData is write-only: upstream folds it into data, where it wins over the same key.
  const Json* string_data = GetObject(&object, "stringData");
  if (string_data == nullptr) return;
  Json pending = *string_data;
  Json* data = EnsureObject(object, "data");
  if (data == nullptr) return;  // data of a wrong type: leave both for validation to report
  for (const auto& [key, value] : pending.items()) {
    if (value.is_string()) (*data)[key] = Base64Encode(value.get<std::string>());
  }
  object.erase("stringData");
}

void ValidateSecret(const Json& object, FieldErrors& errors) {
  CheckConfigKeys(GetObject(&object, "data"), "data", errors);
  CheckConfigKeys(GetObject(&object, "stringData"), "stringData", errors);
  size_t total = CheckBinaryValues(GetObject(&object, "data"), "data", errors);
  if (const Json* string_data = GetObject(&object, "stringData")) {
    for (const auto& [key, value] : string_data->items()) {
      total += key.size() + (value.is_string() ? value.get<std::string>().size() : 0);
    }
  }
  CheckTotalSize(total, "data", errors);
  CheckSecretType(object, errors);
  CheckBool(Get(object, "immutable"), "immutable", errors);
}

bool IsImmutable(const Json& object) {
  const Json* immutable = Get(object, "immutable");
  return immutable != nullptr && *immutable == true;
}

// Secrets and ConfigMaps marked immutable keep their content and their mark for good.
void CheckImmutableContent(const Json& object, const Json& old_object,
                           const std::vector<const char*>& content_fields, FieldErrors& errors) {
  if (!IsImmutable(old_object)) return;
  constexpr char kDetail[] = "field is immutable when `immutable` is set";
  if (!IsImmutable(object)) errors.push_back(ForbiddenField("immutable", kDetail));
  for (const char* field : content_fields) {
    if (!SemanticEqual(Get(object, field), Get(old_object, field))) {
      errors.push_back(ForbiddenField(field, kDetail));
    }
  }
}

void ValidateSecretUpdate(const Json& object, const Json& old_object, FieldErrors& errors) {
  CheckImmutable(Get(object, "type"), Get(old_object, "type"), "type", errors);
  CheckImmutableContent(object, old_object, {"data", "stringData"}, errors);
}

void ValidateConfigMap(const Json& object, FieldErrors& errors) {
  const Json* data = GetObject(&object, "data");
  const Json* binary_data = GetObject(&object, "binaryData");
  CheckConfigKeys(data, "data", errors);
  CheckConfigKeys(binary_data, "binaryData", errors);
  size_t total = CheckBinaryValues(binary_data, "binaryData", errors);
  if (data != nullptr) {
    for (const auto& [key, value] : data->items()) {
      total += key.size() + (value.is_string() ? value.get<std::string>().size() : 0);
      if (Get(binary_data, key) != nullptr) {
        errors.push_back(
            InvalidValue(Key("binaryData", key), key, "duplicate of key present in data"));
      }
    }
  }
  CheckTotalSize(total, "data", errors);
  CheckBool(Get(object, "immutable"), "immutable", errors);
}

void ValidateConfigMapUpdate(const Json& object, const Json& old_object, FieldErrors& errors) {
  CheckImmutableContent(object, old_object, {"data", "binaryData"}, errors);
}

// ---- Event ---------------------------------------------------------------------------------

std::string NowRfc3339() {
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

// What client-go's event recorder fills in, so that an Event posted by any client shows in
// `kubectl describe` with a type, a count and an age.
void EventDefaults(Json& object) {
  SetDefault(object, "type", "Normal");
  SetDefault(object, "count", 1);
  if (Get(object, "eventTime") == nullptr) SetDefault(object, "firstTimestamp", NowRfc3339());
  if (const Json* first = Get(object, "firstTimestamp"))
    SetDefault(object, "lastTimestamp", *first);
  std::string reporter = GetString(&object, "reportingComponent");
  if (Json* source = EnsureObject(object, "source"); source != nullptr && !reporter.empty()) {
    SetDefault(*source, "component", reporter);
  }
}

void ValidateEvent(const Json& object, FieldErrors& errors) {
  const Json* involved = GetObject(&object, "involvedObject");
  if (involved == nullptr) {
    errors.push_back(RequiredValue("involvedObject"));
  } else if (!HasString(involved, "name")) {
    errors.push_back(RequiredValue("involvedObject.name"));
  }
  CheckEnum(Get(object, "type"), "type", {"Normal", "Warning"}, errors);
  // An Event lives in its object's namespace; events about cluster-scoped objects live in
  // "default" (legacy clients) or have no namespace.
  const Json* metadata = GetObject(&object, "metadata");
  if (Get(metadata, "namespace") == nullptr || involved == nullptr) return;
  std::string ns = GetString(metadata, "namespace");
  std::string involved_ns = GetString(involved, "namespace");
  bool matches = involved_ns.empty() ? (ns.empty() || ns == "default") : ns == involved_ns;
  if (!matches) {
    errors.push_back(
        InvalidValue("involvedObject.namespace", involved_ns, "does not match event.namespace"));
  }
}

}  // namespace

void CheckPersistentVolumeClaimSpec(const Json* spec, const std::string& path,
                                    FieldErrors& errors) {
  CheckAccessModes(Get(spec, "accessModes"), Child(path, "accessModes"), true,
                   "at least 1 access mode is required", errors);
  CheckLabelSelector(Get(spec, "selector"), Child(path, "selector"), errors);
  CheckClaimStorageRequest(GetObject(spec, "resources"), path, errors);
  CheckDns1123Subdomain(Get(spec, "storageClassName"), Child(path, "storageClassName"), errors);
  CheckEnum(Get(spec, "volumeMode"), Child(path, "volumeMode"), kVolumeModes, errors);
  CheckDataSourceReference(GetObject(spec, "dataSource"), Child(path, "dataSource"), errors);
  CheckDataSourceReference(GetObject(spec, "dataSourceRef"), Child(path, "dataSourceRef"), errors);
}

std::vector<KindRules> CoreKindRules() {
  return {
      {"", "Namespace", NamespaceDefaults, nullptr, nullptr, /*name_is_dns_label=*/true},
      {"", "Node", nullptr, nullptr, nullptr},
      {"", "PersistentVolumeClaim", PersistentVolumeClaimDefaults, ValidatePersistentVolumeClaim,
       ValidatePersistentVolumeClaimUpdate},
      {"", "PersistentVolume", PersistentVolumeDefaults, ValidatePersistentVolume,
       ValidatePersistentVolumeUpdate},
      {"", "Secret", SecretDefaults, ValidateSecret, ValidateSecretUpdate},
      {"", "ConfigMap", nullptr, ValidateConfigMap, ValidateConfigMapUpdate},
      {"", "Event", EventDefaults, ValidateEvent, nullptr},
  };
}

}  // namespace vdisk::api::internal
