// CDI kinds (DataVolume, StorageProfile, CDIConfig, DataSource, UploadTokenRequest), the
// HostPathProvisioner and the HyperConverged storage settings.
//
// DataVolume rules follow CDI's validating webhook (pkg/apiserver/webhooks/datavolume-validate.go
// and util.go) and keep its wording, but name fields by their JSON paths (`spec.pvc`, not CDI's
// `spec.PVC`) and report every problem found rather than only the first.

#include <algorithm>
#include <cctype>
#include <map>

#include "api/validation_internal.h"

namespace vdisk::api::internal {
namespace {

// ---- URLs and checksums ---------------------------------------------------------------------

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// True for `scheme://[user@]host[:port][/path]` with a non-empty host and a scheme in `schemes`.
bool IsUrlWithHost(const std::string& url, const std::vector<std::string>& schemes) {
  for (char c : url) {
    if (std::isspace(static_cast<unsigned char>(c)) ||
        std::iscntrl(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  size_t sep = url.find("://");
  if (sep == std::string::npos) return false;
  std::string scheme = Lower(url.substr(0, sep));
  if (std::find(schemes.begin(), schemes.end(), scheme) == schemes.end()) return false;
  std::string authority = url.substr(sep + 3, url.find_first_of("/?#", sep + 3) - (sep + 3));
  size_t at = authority.rfind('@');
  if (at != std::string::npos) authority = authority.substr(at + 1);
  std::string host = authority;
  std::string port;
  if (!authority.empty() && authority[0] == '[') {  // [IPv6]:port
    size_t close = authority.find(']');
    if (close == std::string::npos) return false;
    host = authority.substr(1, close - 1);
    std::string rest = authority.substr(close + 1);
    if (!rest.empty() && rest[0] != ':') return false;
    if (!rest.empty()) port = rest.substr(1);
  } else if (size_t colon = authority.rfind(':'); colon != std::string::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  bool port_ok =
      std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
  return !host.empty() && port_ok;
}

std::string SchemeList(const std::vector<std::string>& schemes) {
  std::string out;
  for (size_t i = 0; i < schemes.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == schemes.size() ? " or " : ", ") + schemes[i];
  }
  return out;
}

// CDI's checkSourceURL: a required URL with one of `schemes`.
void CheckSourceUrl(const Json* source, const std::string& path,
                    const std::vector<std::string>& schemes, FieldErrors& errors) {
  std::string url_path = Child(path, "url");
  const Json* url = Get(source, "url");
  if (url == nullptr || *url == "") {
    errors.push_back(RequiredValue(url_path, "source URL is empty"));
    return;
  }
  if (url->is_string() && IsUrlWithHost(url->get<std::string>(), schemes)) return;
  errors.push_back(
      InvalidValue(url_path, *url,
                   "Invalid source URL: must be an absolute " + SchemeList(schemes) +
                       " URL with a host, e.g. \"https://images.example.com/disk.img\""));
}

// "algorithm:hex", as the importer verifies it.
void CheckChecksum(const Json* source, const std::string& path, FieldErrors& errors) {
  const Json* checksum = Get(source, "checksum");
  if (checksum == nullptr || *checksum == "") return;
  static const std::map<std::string, size_t> kHexLength = {
      {"md5", 32}, {"sha1", 40}, {"sha256", 64}, {"sha512", 128}};
  std::string text = checksum->is_string() ? checksum->get<std::string>() : "";
  size_t colon = text.find(':');
  std::string algorithm = colon == std::string::npos ? "" : text.substr(0, colon);
  std::string hex = colon == std::string::npos ? "" : text.substr(colon + 1);
  auto it = kHexLength.find(Lower(algorithm));
  bool hex_ok =
      std::all_of(hex.begin(), hex.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
  if (it != kHexLength.end() && hex.size() == it->second && hex_ok) return;
  errors.push_back(InvalidValue(Child(path, "checksum"), *checksum,
                                "Invalid checksum format: must be \"algorithm:hash\" with "
                                "algorithm md5, sha1, sha256 or sha512 and the hash in hex"));
}

// ---- DataVolume sources ---------------------------------------------------------------------

// The members of DataVolumeSource; a DataVolume has exactly one.
const std::vector<std::string> kDataVolumeSources = {
    "http", "s3", "gcs", "registry", "pvc", "upload", "blank", "imageio", "vddk", "snapshot"};

void RequireStrings(const Json& source, const std::string& path,
                    const std::vector<const char*>& fields, FieldErrors& errors) {
  for (const char* field : fields) {
    if (!HasString(&source, field)) errors.push_back(RequiredValue(Child(path, field)));
  }
}

void CheckNamedReference(const Json& source, const std::string& path, FieldErrors& errors) {
  RequireStrings(source, path, {"name"}, errors);
  CheckDns1123Label(Get(source, "namespace"), Child(path, "namespace"), errors);
}

void CheckRegistrySource(const Json& registry, const std::string& path, const std::string& content,
                         const std::string& spec_path, FieldErrors& errors) {
  if (!content.empty() && content != "kubevirt") {
    errors.push_back(InvalidValue(Child(spec_path, "contentType"), content,
                                  "ContentType must be kubevirt when Source is Registry"));
  }
  const Json* url = Get(registry, "url");
  const Json* image_stream = Get(registry, "imageStream");
  if ((url == nullptr) == (image_stream == nullptr)) {
    errors.push_back(
        InvalidValue(path, registry, "Source registry should have either URL or ImageStream"));
    return;
  }
  const Json* pull_method = Get(registry, "pullMethod");
  CheckEnum(pull_method, Child(path, "pullMethod"), {"pod", "node"}, errors);
  if (url != nullptr) {
    std::string text = url->is_string() ? url->get<std::string>() : "";
    bool ok = false;
    for (const char* scheme : {"docker://", "oci-archive://"}) {
      if (text.rfind(scheme, 0) == 0 && text.size() > std::string(scheme).size()) ok = true;
    }
    if (!ok) {
      errors.push_back(InvalidValue(Child(path, "url"), *url,
                                    "Illegal registry source URL scheme: must start with "
                                    "docker:// or oci-archive://, e.g. "
                                    "\"docker://quay.io/containerdisks/fedora:latest\""));
    }
    return;
  }
  if (*image_stream == "") {
    errors.push_back(InvalidValue(Child(path, "imageStream"), *image_stream,
                                  "Source registry ImageStream is not valid"));
  } else if (pull_method == nullptr || *pull_method != "node") {
    errors.push_back(InvalidValue(Child(path, "pullMethod"),
                                  pull_method != nullptr ? *pull_method : Json(""),
                                  "Source registry ImageStream is supported only with node pull "
                                  "import method"));
  }
}

void CheckImageIoSource(const Json& source, const std::string& path, FieldErrors& errors) {
  RequireStrings(source, path, {"secretRef", "diskId"}, errors);
  const Json* insecure = Get(source, "insecureSkipVerify");
  if (!HasString(&source, "certConfigMap") && !(insecure != nullptr && *insecure == true)) {
    errors.push_back(RequiredValue(Child(path, "certConfigMap"),
                                   "source Imageio requires CertConfigMap or InsecureSkipVerify"));
  }
  CheckSourceUrl(&source, path, {"http", "https"}, errors);
}

void CheckOneSource(const std::string& type, const Json& source, const std::string& path,
                    const std::string& content, const std::string& spec_path, FieldErrors& errors) {
  if (type == "http") {
    CheckSourceUrl(&source, path, {"http", "https"}, errors);
    CheckChecksum(&source, path, errors);
    CheckDns1123Subdomain(Get(source, "secretRef"), Child(path, "secretRef"), errors);
    CheckDns1123Subdomain(Get(source, "certConfigMap"), Child(path, "certConfigMap"), errors);
  } else if (type == "s3") {
    CheckSourceUrl(&source, path, {"http", "https", "s3"}, errors);
  } else if (type == "gcs") {
    CheckSourceUrl(&source, path, {"gs", "http", "https"}, errors);
  } else if (type == "registry") {
    CheckRegistrySource(source, path, content, spec_path, errors);
  } else if (type == "pvc" || type == "snapshot") {
    CheckNamedReference(source, path, errors);
  } else if (type == "blank") {
    if (content == "archive") {
      errors.push_back(InvalidValue(Child(spec_path, "contentType"), content,
                                    "SourceType cannot be blank and the contentType be archive"));
    }
  } else if (type == "imageio") {
    CheckImageIoSource(source, path, errors);
  } else if (type == "vddk") {
    RequireStrings(source, path, {"secretRef", "uuid", "backingFile", "thumbprint"}, errors);
    CheckSourceUrl(&source, path, {"http", "https"}, errors);
  }
}

void CheckSource(const Json& source, const std::string& spec_path, const std::string& content,
                 FieldErrors& errors) {
  std::string path = Child(spec_path, "source");
  std::vector<std::string> present;
  for (const std::string& type : kDataVolumeSources) {
    if (Get(source, type) != nullptr) present.push_back(type);
  }
  if (present.empty()) {
    errors.push_back(RequiredValue(path, "Missing Data volume source"));
    return;
  }
  if (present.size() > 1) {
    std::string list;
    for (const std::string& p : present) list += (list.empty() ? "" : ", ") + p;
    errors.push_back(ForbiddenField(
        path, "Multiple Data volume sources: " + list + "; a DataVolume has exactly one source"));
  }
  for (const std::string& type : present) {
    CheckOneSource(type, *Get(source, type), Child(path, type), content, spec_path, errors);
  }
}

void CheckSourceRef(const Json& ref, const std::string& path, FieldErrors& errors) {
  const Json* kind = Get(ref, "kind");
  if (kind == nullptr || *kind == "") {
    errors.push_back(RequiredValue(Child(path, "kind"), "Missing sourceRef kind"));
  } else {
    CheckEnum(kind, Child(path, "kind"), {"DataSource"}, errors);
  }
  if (!HasString(&ref, "name")) {
    errors.push_back(RequiredValue(Child(path, "name"), "Missing sourceRef name"));
  }
  CheckDns1123Label(Get(ref, "namespace"), Child(path, "namespace"), errors);
}

// ---- DataVolume target: spec.pvc or spec.storage ---------------------------------------------

bool IsCloneSpec(const Json& spec) {
  const Json* source = GetObject(&spec, "source");
  return Get(spec, "sourceRef") != nullptr || Get(source, "pvc") != nullptr ||
         Get(source, "snapshot") != nullptr;
}

// CDI's validateStorageSize: the request is optional only for clones through the storage API,
// where CDI takes the size from the source.
void CheckTargetSize(const Json& spec, const Json& target, bool pvc_api, const std::string& path,
                     FieldErrors& errors) {
  std::string name = pvc_api ? "PVC" : "Storage";
  std::string size_path = Child(path, "resources.requests.storage");
  const Json* requests = GetObject(GetObject(&target, "resources"), "requests");
  const Json* size = Get(requests, "storage");
  if (size == nullptr) {
    if (pvc_api || !IsCloneSpec(spec))
      errors.push_back(RequiredValue(size_path, name + " size is missing"));
    return;
  }
  FieldErrors ignored;  // CheckResourceRequirements reported a malformed value
  std::optional<Quantity> q = CheckQuantity(size, size_path, ignored);
  if (!q) return;
  if (!IsPositive(*q)) {
    errors.push_back(
        InvalidValue(size_path, *size, name + " size can't be equal or less than zero"));
  } else if (*q < Quantity::FromBytes(1024 * 1024)) {
    // KubeVirt does not accept disks under 1MiB.
    errors.push_back(InvalidValue(size_path, *size, name + " size should be at least 1MiB"));
  }
}

void CheckTargetAccessModes(const Json& target, bool pvc_api, const std::string& path,
                            FieldErrors& errors) {
  std::string modes_path = Child(path, "accessModes");
  const Json* modes = GetArray(&target, "accessModes");
  if (!pvc_api) {  // the storage API takes them from the StorageProfile when absent
    CheckAccessModes(modes, modes_path, false, "", errors);
    return;
  }
  if (modes == nullptr || modes->empty()) {
    errors.push_back(RequiredValue(modes_path, "at least 1 access mode is required"));
  } else if (modes->size() > 1) {
    errors.push_back(InvalidValue(modes_path, *modes, "PVC multiple accessModes"));
  } else {
    CheckAccessModes(modes, modes_path, false, "", errors);
  }
}

// Returns whether the target asks for external population (dataSource or dataSourceRef).
bool CheckTarget(const Json& spec, const Json& target, bool pvc_api, const std::string& path,
                 FieldErrors& errors) {
  CheckTargetAccessModes(target, pvc_api, path, errors);
  CheckResourceRequirements(GetObject(&target, "resources"), Child(path, "resources"), errors);
  CheckTargetSize(spec, target, pvc_api, path, errors);
  CheckDns1123Subdomain(Get(target, "storageClassName"), Child(path, "storageClassName"), errors);
  std::vector<std::string> modes = kVolumeModes;
  if (!pvc_api) modes.push_back("FromStorageProfile");
  CheckEnum(Get(target, "volumeMode"), Child(path, "volumeMode"), modes, errors);
  CheckLabelSelector(Get(target, "selector"), Child(path, "selector"), errors);
  bool external = false;
  for (const char* field : {"dataSource", "dataSourceRef"}) {
    const Json* ref = GetObject(&target, field);
    if (ref == nullptr) continue;
    external = true;
    RequireStrings(*ref, Child(path, field), {"name", "kind"}, errors);
  }
  return external;
}

void CheckExternalPopulation(const Json& spec, const std::string& path, FieldErrors& errors) {
  if (Get(spec, "source") == nullptr && Get(spec, "sourceRef") == nullptr) return;
  errors.push_back(ForbiddenField(Child(path, "source"),
                                  "External population is incompatible with Source and SourceRef"));
}

}  // namespace

void CheckDataVolumeSpec(const Json* spec, const std::string& path, FieldErrors& errors) {
  if (spec == nullptr || !spec->is_object()) {
    errors.push_back(RequiredValue(path));
    return;
  }
  const Json* pvc = GetObject(spec, "pvc");
  const Json* storage = GetObject(spec, "storage");
  bool external = false;
  if (pvc == nullptr && storage == nullptr) {
    errors.push_back(RequiredValue(Child(path, "pvc"), "Missing Data volume PVC or Storage"));
  } else if (pvc != nullptr && storage != nullptr) {
    errors.push_back(
        ForbiddenField(Child(path, "storage"),
                       "Duplicate storage definition, both target storage and target pvc defined"));
  } else {
    bool pvc_api = pvc != nullptr;
    external = CheckTarget(*spec, pvc_api ? *pvc : *storage, pvc_api,
                           Child(path, pvc_api ? "pvc" : "storage"), errors);
  }
  if (external) {
    CheckExternalPopulation(*spec, path, errors);
  } else {
    const Json* source = GetObject(spec, "source");
    const Json* ref = GetObject(spec, "sourceRef");
    constexpr char kOneSource[] =
        "Data volume should have either Source or SourceRef, or be externally populated";
    if (source == nullptr && ref == nullptr) {
      errors.push_back(RequiredValue(Child(path, "source"), kOneSource));
    } else if (source != nullptr && ref != nullptr) {
      errors.push_back(ForbiddenField(Child(path, "sourceRef"), kOneSource));
    } else if (ref != nullptr) {
      CheckSourceRef(*ref, Child(path, "sourceRef"), errors);
    } else {
      CheckSource(*source, path, GetString(spec, "contentType"), errors);
    }
  }
  CheckEnum(Get(*spec, "contentType"), Child(path, "contentType"), {"kubevirt", "archive"}, errors);
  CheckBool(Get(*spec, "preallocation"), Child(path, "preallocation"), errors);
}

namespace {

// ---- DataVolume --------------------------------------------------------------------------------

// A clone source without a namespace is in the DataVolume's own namespace; writing it down lets
// controllers and `kubectl get -o yaml` see where the data comes from.
void DataVolumeDefaults(Json& object) {
  std::string ns = GetString(GetObject(&object, "metadata"), "namespace");
  const Json* spec = GetObject(&object, "spec");
  if (ns.empty() || GetObject(spec, "source") == nullptr) return;
  Json& source = object["spec"]["source"];
  for (const char* type : {"pvc", "snapshot"}) {
    if (GetObject(&source, type) == nullptr) continue;
    SetDefault(source[type], "namespace", ns);
  }
}

void ValidateDataVolume(const Json& object, FieldErrors& errors) {
  CheckDataVolumeSpec(GetObject(&object, "spec"), "spec", errors);
}

// Multi-stage (warm) imports from VDDK or imageio move on by appending checkpoints.
bool IsCheckpointUpdate(const Json* spec, const Json* old_spec) {
  const Json* source = GetObject(spec, "source");
  bool multi_stage = (Get(source, "vddk") != nullptr || Get(source, "imageio") != nullptr) &&
                     GetArray(spec, "checkpoints") != nullptr;
  if (!multi_stage) return false;
  Json a = *spec;
  Json b = old_spec != nullptr ? *old_spec : Json::object();
  for (Json* s : {&a, &b}) {
    s->erase("checkpoints");
    s->erase("finalCheckpoint");
  }
  return SemanticEqual(&a, &b);
}

void ValidateDataVolumeUpdate(const Json& object, const Json& old_object, FieldErrors& errors) {
  const Json* spec = GetObject(&object, "spec");
  const Json* old_spec = GetObject(&old_object, "spec");
  if (SemanticEqual(spec, old_spec) || (spec != nullptr && IsCheckpointUpdate(spec, old_spec))) {
    return;
  }
  errors.push_back(
      ForbiddenField("spec", "Cannot update DataVolume Spec" + DescribeChanges(old_spec, spec)));
}

// ---- StorageProfile ----------------------------------------------------------------------------

void ValidateStorageProfile(const Json& object, FieldErrors& errors) {
  const Json* spec = GetObject(&object, "spec");
  CheckEnum(Get(spec, "cloneStrategy"), "spec.cloneStrategy", {"copy", "snapshot", "csi-clone"},
            errors);
  CheckEnum(Get(spec, "dataImportCronSourceFormat"), "spec.dataImportCronSourceFormat",
            {"pvc", "snapshot"}, errors);
  const Json* sets = GetArray(spec, "claimPropertySets");
  if (sets == nullptr) return;
  for (size_t i = 0; i < sets->size(); ++i) {
    const Json& set = (*sets)[i];
    std::string path = Index("spec.claimPropertySets", i);
    const Json* modes = GetArray(&set, "accessModes");
    CheckAccessModes(modes, Child(path, "accessModes"), true, "", errors);
    if (modes != nullptr && modes->size() > 4) {
      errors.push_back(TooLongValue(Child(path, "accessModes"), modes->size(), 4));
    }
    const Json* volume_mode = Get(set, "volumeMode");
    if (volume_mode == nullptr) errors.push_back(RequiredValue(Child(path, "volumeMode")));
    CheckEnum(volume_mode, Child(path, "volumeMode"), kVolumeModes, errors);
  }
}

// ---- CDIConfig and HyperConverged ----------------------------------------------------------

// CDI's Percent: `^(0(?:\.\d{1,3})?|1)$`.
bool IsPercent(const Json& value) {
  if (!value.is_string()) return false;
  const std::string s = value.get<std::string>();
  if (s == "0" || s == "1") return true;
  if (s.size() < 3 || s.size() > 5 || s.compare(0, 2, "0.") != 0) return false;
  return std::all_of(s.begin() + 2, s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

void CheckPercent(const Json* value, const std::string& path, FieldErrors& errors) {
  if (value == nullptr || IsPercent(*value)) return;
  errors.push_back(InvalidValue(
      path, *value,
      "must be a fraction from \"0\" to \"1\" with at most three decimals, e.g. \"0.055\""));
}

void CheckFilesystemOverhead(const Json* overhead, const std::string& path, FieldErrors& errors) {
  CheckPercent(Get(overhead, "global"), Child(path, "global"), errors);
  const Json* per_class = GetObject(overhead, "storageClass");
  if (per_class == nullptr) return;
  for (const auto& [name, value] : per_class->items()) {
    CheckPercent(&value, Key(Child(path, "storageClass"), name), errors);
  }
}

void ValidateCdiConfig(const Json& object, FieldErrors& errors) {
  const Json* spec = GetObject(&object, "spec");
  CheckFilesystemOverhead(GetObject(spec, "filesystemOverhead"), "spec.filesystemOverhead", errors);
  CheckResourceRequirements(GetObject(spec, "podResourceRequirements"),
                            "spec.podResourceRequirements", errors);
  CheckDns1123Subdomain(Get(spec, "scratchSpaceStorageClass"), "spec.scratchSpaceStorageClass",
                        errors);
  CheckBool(Get(spec, "preallocation"), "spec.preallocation", errors);
}

void ValidateHyperConverged(const Json& object, FieldErrors& errors) {
  const Json* spec = GetObject(&object, "spec");
  CheckFilesystemOverhead(GetObject(spec, "filesystemOverhead"), "spec.filesystemOverhead", errors);
  CheckResourceRequirements(GetObject(GetObject(spec, "resourceRequirements"), "storageWorkloads"),
                            "spec.resourceRequirements.storageWorkloads", errors);
  CheckDns1123Subdomain(Get(spec, "scratchSpaceStorageClass"), "spec.scratchSpaceStorageClass",
                        errors);
  const Json* registries = GetArray(GetObject(spec, "storageImport"), "insecureRegistries");
  if (registries == nullptr) return;
  for (size_t i = 0; i < registries->size(); ++i) {
    const Json& r = (*registries)[i];
    if (r == "") {
      errors.push_back(RequiredValue(Index("spec.storageImport.insecureRegistries", i)));
    }
  }
}

// ---- DataSource and UploadTokenRequest -----------------------------------------------------

void ValidateDataSource(const Json& object, FieldErrors& errors) {
  const Json* source = GetObject(GetObject(&object, "spec"), "source");
  for (const char* type : {"pvc", "snapshot", "dataSource"}) {
    const Json* ref = GetObject(source, type);
    if (ref != nullptr) CheckNamedReference(*ref, Child("spec.source", type), errors);
  }
}

void ValidateUploadTokenRequest(const Json& object, FieldErrors& errors) {
  const Json* spec = GetObject(&object, "spec");
  if (!HasString(spec, "pvcName")) {
    errors.push_back(RequiredValue("spec.pvcName"));
    return;
  }
  CheckDns1123Subdomain(Get(*spec, "pvcName"), "spec.pvcName", errors);
}

// ---- HostPathProvisioner -------------------------------------------------------------------

// The hostpath-provisioner-operator webhook's rules.
void CheckStoragePools(const Json& pools, FieldErrors& errors) {
  std::map<std::string, size_t> names;
  std::map<std::string, size_t> paths;
  for (size_t i = 0; i < pools.size(); ++i) {
    const Json& pool = pools[i];
    std::string path = Index("spec.storagePools", i);
    std::string name = GetString(&pool, "name");
    std::string dir = GetString(&pool, "path");
    if (name.empty()) errors.push_back(RequiredValue(Child(path, "name")));
    if (name.size() > 50) errors.push_back(TooLongValue(Child(path, "name"), name, 50));
    if (dir.empty()) errors.push_back(RequiredValue(Child(path, "path")));
    if (dir.size() > 255) errors.push_back(TooLongValue(Child(path, "path"), dir, 255));
    if (!name.empty() && !names.emplace(name, i).second) {
      errors.push_back(DuplicateValue(Child(path, "name"), name));
    }
    if (!dir.empty() && !paths.emplace(dir, i).second) {
      errors.push_back(DuplicateValue(Child(path, "path"), dir));
    }
    if (const Json* tmpl = GetObject(&pool, "pvcTemplate")) {
      CheckPersistentVolumeClaimSpec(tmpl, Child(path, "pvcTemplate"), errors);
    }
  }
}

void ValidateHostPathProvisioner(const Json& object, FieldErrors& errors) {
  const Json* spec = GetObject(&object, "spec");
  const Json* path_config = GetObject(spec, "pathConfig");
  const Json* pools = GetArray(spec, "storagePools");
  bool has_pools = pools != nullptr && !pools->empty();
  if (path_config != nullptr && has_pools) {
    errors.push_back(
        ForbiddenField("spec.pathConfig", "pathConfig and storage pools cannot be both set"));
  } else if (path_config == nullptr && !has_pools) {
    errors.push_back(
        RequiredValue("spec.storagePools", "either pathConfig or storage pools must be set"));
  }
  if (path_config != nullptr && !HasString(path_config, "path")) {
    errors.push_back(RequiredValue("spec.pathConfig.path", "pathconfig path must be set"));
  }
  if (pools != nullptr) CheckStoragePools(*pools, errors);
  CheckEnum(Get(spec, "imagePullPolicy"), "spec.imagePullPolicy",
            {"Always", "IfNotPresent", "Never"}, errors);
}

}  // namespace

std::vector<KindRules> CdiKindRules() {
  return {
      {"cdi.kubevirt.io", "DataVolume", DataVolumeDefaults, ValidateDataVolume,
       ValidateDataVolumeUpdate},
      {"cdi.kubevirt.io", "StorageProfile", nullptr, ValidateStorageProfile, nullptr},
      {"cdi.kubevirt.io", "CDIConfig", nullptr, ValidateCdiConfig, nullptr},
      {"cdi.kubevirt.io", "DataSource", nullptr, ValidateDataSource, nullptr},
      {"upload.cdi.kubevirt.io", "UploadTokenRequest", nullptr, ValidateUploadTokenRequest,
       nullptr},
      {"hostpathprovisioner.kubevirt.io", "HostPathProvisioner", nullptr,
       ValidateHostPathProvisioner, nullptr},
      {"hco.kubevirt.io", "HyperConverged", nullptr, ValidateHyperConverged, nullptr},
  };
}

}  // namespace vdisk::api::internal
