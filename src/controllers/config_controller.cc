#include "controllers/config_controller.h"

#include <algorithm>
#include <cctype>

#include "json/patch.h"

namespace vdisk::controllers {
namespace {

// The HCO annotation whose JSON patch applies to the CDI CR it renders (upstream
// JSONPatchCDIAnnotationName): the way to reach CDI settings the HCO has no field for.
constexpr const char* kCdiJsonPatchAnnotation = "containerizeddataimporter.kubevirt.io/jsonpatch";

// Upstream CDI's defaults for the resources of its worker pods (config-controller.go).
constexpr const char* kDefaultCpuLimit = "750m";
constexpr const char* kDefaultMemoryLimit = "600M";
constexpr const char* kDefaultCpuRequest = "100m";
constexpr const char* kDefaultMemoryRequest = "60M";

const json& ObjectAt(const json& object, const char* field) {
  static const json kEmpty = json::object();
  if (!object.is_object()) return kEmpty;
  auto it = object.find(field);
  return it != object.end() && it->is_object() ? *it : kEmpty;
}

std::string StringAt(const json& object, const char* field) {
  if (!object.is_object()) return "";
  auto it = object.find(field);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// CDI's Percent: `^(0(?:\.\d{1,3})?|1)$`.
bool IsPercent(const json& value) {
  if (!value.is_string()) return false;
  const std::string s = value.get<std::string>();
  if (s == "0" || s == "1") return true;
  if (s.size() < 3 || s.size() > 5 || s.compare(0, 2, "0.") != 0) return false;
  return std::all_of(s.begin() + 2, s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

// The feature gates the HCO always sets in the CDI config it renders.
json DefaultFeatureGates() {
  return json::array({"HonorWaitForFirstConsumer", "DataVolumeClaimAdoption"});
}

// The HCO's jsonpatch annotation applied to the config, as upstream applies it to the CDI CR.
Result<json> ApplyCdiJsonPatch(const json& hyperconverged, json spec) {
  std::string text = StringAt(ObjectAt(ObjectAt(hyperconverged, "metadata"), "annotations"),
                              kCdiJsonPatchAnnotation);
  if (text.empty()) return spec;
  json patch = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (patch.is_discarded() || !patch.is_array()) {
    return Invalid(std::string("annotation ") + kCdiJsonPatchAnnotation +
                   " is not a JSON patch (an array of operations)");
  }
  json cdi = {{"spec", {{"config", std::move(spec)}}}};
  auto patched = vdisk::json::ApplyJsonPatch(cdi, patch);
  if (!patched.ok()) {
    return Invalid(std::string("annotation ") + kCdiJsonPatchAnnotation + ": " +
                   patched.status().message());
  }
  const json& config = ObjectAt(ObjectAt(*patched, "spec"), "config");
  return config;
}

json FilesystemOverheadStatus(const json& spec, const std::vector<std::string>& classes) {
  const json& requested = ObjectAt(spec, "filesystemOverhead");
  json global = kDefaultFilesystemOverhead;
  if (requested.contains("global") && IsPercent(requested["global"])) global = requested["global"];
  const json& per_class = ObjectAt(requested, "storageClass");
  json by_class = json::object();
  for (const auto& name : classes) {
    auto it = per_class.find(name);
    by_class[name] = it != per_class.end() && IsPercent(*it) ? *it : global;
  }
  json out = {{"global", global}};
  if (!by_class.empty()) out["storageClass"] = std::move(by_class);
  return out;
}

// Upstream's defaults with the cpu and memory the spec sets in their place.
json PodResourcesStatus(const json& spec) {
  json out = {{"limits", {{"cpu", kDefaultCpuLimit}, {"memory", kDefaultMemoryLimit}}},
              {"requests", {{"cpu", kDefaultCpuRequest}, {"memory", kDefaultMemoryRequest}}}};
  const json& requested = ObjectAt(spec, "podResourceRequirements");
  for (const char* part : {"limits", "requests"}) {
    const json& values = ObjectAt(requested, part);
    for (const char* resource : {"cpu", "memory"}) {
      auto it = values.find(resource);
      if (it != values.end() && (it->is_string() || it->is_number())) out[part][resource] = *it;
    }
  }
  return out;
}

// Sets `field` of `status` to `value`, or removes it when `value` is null.
void SetOrErase(json& status, const char* field, json value) {
  if (value.is_null()) {
    status.erase(field);
  } else {
    status[field] = std::move(value);
  }
}

json ScratchSpaceStatus(const json& spec, const std::vector<std::string>& classes) {
  std::string wanted = StringAt(spec, "scratchSpaceStorageClass");
  bool exists = std::find(classes.begin(), classes.end(), wanted) != classes.end();
  return !wanted.empty() && exists ? json(wanted) : json();
}

json NonEmptyArrayAt(const json& object, const char* field) {
  auto it = object.find(field);
  return it != object.end() && it->is_array() && !it->empty() ? *it : json();
}

}  // namespace

Result<json> CdiConfigSpecFromHyperConverged(const json& hyperconverged) {
  const json& hco = ObjectAt(hyperconverged, "spec");
  json spec = {{"featureGates", DefaultFeatureGates()}};
  const json& workloads = ObjectAt(ObjectAt(hco, "resourceRequirements"), "storageWorkloads");
  if (!workloads.empty()) spec["podResourceRequirements"] = workloads;
  std::string scratch = StringAt(hco, "scratchSpaceStorageClass");
  if (!scratch.empty()) spec["scratchSpaceStorageClass"] = scratch;
  if (hco.contains("filesystemOverhead") && hco["filesystemOverhead"].is_object()) {
    spec["filesystemOverhead"] = hco["filesystemOverhead"];
  }
  const json& storage_import = ObjectAt(hco, "storageImport");
  if (storage_import.contains("insecureRegistries") &&
      storage_import["insecureRegistries"].is_array()) {
    spec["insecureRegistries"] = storage_import["insecureRegistries"];
  }
  return ApplyCdiJsonPatch(hyperconverged, std::move(spec));
}

json DesiredCdiConfigStatus(const json& spec, const std::vector<std::string>& storage_classes,
                            const json& current_status) {
  json status = current_status.is_object() ? current_status : json::object();
  status["filesystemOverhead"] = FilesystemOverheadStatus(spec, storage_classes);
  status["defaultPodResourceRequirements"] = PodResourcesStatus(spec);
  status["preallocation"] = spec.is_object() && spec.value("preallocation", json()) == true;
  SetOrErase(status, "scratchSpaceStorageClass", ScratchSpaceStatus(spec, storage_classes));
  const json& proxy = ObjectAt(spec, "importProxy");
  SetOrErase(status, "importProxy", proxy.empty() ? json() : proxy);
  SetOrErase(status, "imagePullSecrets",
             spec.is_object() ? NonEmptyArrayAt(spec, "imagePullSecrets") : json());
  return status;
}

std::string FilesystemOverheadFor(const json& cdiconfig, const std::string& storage_class) {
  const json& overhead = ObjectAt(ObjectAt(cdiconfig, "status"), "filesystemOverhead");
  const json& per_class = ObjectAt(overhead, "storageClass");
  if (auto it = per_class.find(storage_class); it != per_class.end() && IsPercent(*it)) {
    return it->get<std::string>();
  }
  if (overhead.contains("global") && IsPercent(overhead["global"])) {
    return overhead["global"].get<std::string>();
  }
  return kDefaultFilesystemOverhead;
}

bool GlobalPreallocation(const json& cdiconfig) {
  return ObjectAt(cdiconfig, "status").value("preallocation", json()) == true;
}

std::vector<std::string> InsecureRegistries(const json& cdiconfig) {
  std::vector<std::string> out;
  json registries = NonEmptyArrayAt(ObjectAt(cdiconfig, "spec"), "insecureRegistries");
  if (registries.is_null()) return out;
  for (const auto& r : registries) {
    if (r.is_string() && !r.get<std::string>().empty()) out.push_back(r.get<std::string>());
  }
  return out;
}

json PodResourceRequirements(const json& cdiconfig) {
  const json& status = ObjectAt(ObjectAt(cdiconfig, "status"), "defaultPodResourceRequirements");
  return status.empty() ? PodResourcesStatus(json::object()) : status;
}

ConfigController::ConfigController(server::ObjectService& objects)
    : Controller("config-controller", objects,
                 *api::KindRegistry::Get().ByKind("cdi.kubevirt.io", "CDIConfig")),
      hco_kind_(*api::KindRegistry::Get().ByKind("hco.kubevirt.io", "HyperConverged")),
      storage_class_kind_(*api::KindRegistry::Get().ByKind("storage.k8s.io", "StorageClass")) {
  Watches(hco_kind_, [](const json& hco) -> std::vector<ObjectKey> {
    if (MetaString(hco, "namespace") != kHyperConvergedNamespace ||
        MetaString(hco, "name") != kHyperConvergedName) {
      return {};
    }
    return {{"", kCdiConfigName}};
  });
  // The overhead map has one entry per class, and the scratch class must exist.
  Watches(storage_class_kind_, [](const json&) {
    return std::vector<ObjectKey>{{"", kCdiConfigName}};
  });
}

Result<Requeue> ConfigController::Reconcile(const ObjectKey& key) {
  if (key.name != kCdiConfigName) return Requeue();  // only the singleton is served
  VDISK_ASSIGN_OR_RETURN(json hyperconverged, ReadHyperConverged());
  VDISK_ASSIGN_OR_RETURN(json spec, CdiConfigSpecFromHyperConverged(hyperconverged));
  VDISK_ASSIGN_OR_RETURN(std::vector<std::string> classes, StorageClassNames());
  VDISK_ASSIGN_OR_RETURN(json config, EnsureSpec(spec));

  json status = DesiredCdiConfigStatus(spec, classes, config.value("status", json::object()));
  if (config.contains("status") && config["status"] == status) return Requeue();
  config["status"] = std::move(status);
  auto written = objects_.Update(primary_, "", kCdiConfigName, std::move(config),
                                 /*status_only=*/true);
  if (!written.ok()) return written.status();
  return Requeue();
}

Result<json> ConfigController::ReadHyperConverged() {
  auto hco = objects_.Get(hco_kind_, kHyperConvergedNamespace, kHyperConvergedName);
  if (hco.ok()) return std::move(hco).value();
  // No HCO: CDI's defaults apply, as for an HCO with an empty spec.
  if (hco.status().code() == StatusCode::kNotFound) return json::object();
  return hco.status();
}

Result<std::vector<std::string>> ConfigController::StorageClassNames() {
  VDISK_ASSIGN_OR_RETURN(server::ListResult list, objects_.List(storage_class_kind_, "", {}));
  std::vector<std::string> names;
  for (const auto& item : list.items) names.push_back(MetaString(item, "name"));
  return names;
}

Result<json> ConfigController::EnsureSpec(const json& spec) {
  auto existing = objects_.Get(primary_, "", kCdiConfigName);
  if (!existing.ok()) {
    if (existing.status().code() != StatusCode::kNotFound) return existing.status();
    json fresh = {{"apiVersion", primary_.ApiVersion()},
                  {"kind", primary_.kind},
                  {"metadata", {{"name", kCdiConfigName}}},
                  {"spec", spec}};
    auto created = objects_.Create(primary_, "", std::move(fresh));
    if (!created.ok()) return created.status();
    return std::move(created->object);
  }
  json config = std::move(existing).value();
  if (config.contains("spec") && config["spec"] == spec) return config;
  config["spec"] = spec;
  // Pinned to the resourceVersion read; the HCO is the authority over this spec.
  auto updated = objects_.Update(primary_, "", kCdiConfigName, std::move(config),
                                 /*status_only=*/false);
  if (!updated.ok()) return updated.status();
  return std::move(updated->object);
}

}  // namespace vdisk::controllers
