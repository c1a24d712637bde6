#include "api/kinds.h"

#include "api/jsonpath.h"

namespace vdisk::api {
namespace {

PrinterColumn Col(std::string name, std::string type, std::string path, std::string description,
                  int priority = 0) {
  return {std::move(name), std::move(type), std::move(description), priority, std::move(path), {}};
}

PrinterColumn Computed(std::string name, std::string type, std::string description,
                       std::function<Json(const Json&)> compute, int priority = 0) {
  return {std::move(name),   std::move(type), std::move(description), priority, "",
          std::move(compute)};
}

PrinterColumn Age() {
  return Col("Age", "date", ".metadata.creationTimestamp",
             "CreationTimestamp is a timestamp representing the server time when this object was "
             "created.");
}

std::string StringAt(const Json& object, std::string_view path, std::string fallback = "") {
  Json v = EvaluateJsonPath(object, path);
  return v.is_string() && !v.get<std::string>().empty() ? v.get<std::string>() : fallback;
}

// kubectl's short spelling of access modes: "RWO,RWX".
Json AccessModes(const Json& modes) {
  std::string out;
  if (!modes.is_array()) return out;
  for (const auto& mode : modes) {
    if (!mode.is_string()) continue;
    std::string m = mode.get<std::string>(), abbrev;
    if (m == "ReadWriteOnce")
      abbrev = "RWO";
    else if (m == "ReadOnlyMany")
      abbrev = "ROX";
    else if (m == "ReadWriteMany")
      abbrev = "RWX";
    else if (m == "ReadWriteOncePod")
      abbrev = "RWOP";
    else
      continue;
    if (out.find(abbrev) != std::string::npos) continue;
    if (!out.empty()) out += ",";
    out += abbrev;
  }
  return out;
}

std::string StorageClassOf(const Json& object) {
  std::string annotated =
      StringAt(object, ".metadata.annotations[\"volume.beta.kubernetes.io/storage-class\"]");
  return StringAt(object, ".spec.storageClassName", annotated);
}

PrinterColumn ReadyCondition(std::string name = "Ready") {
  return Col(std::move(name), "string", ".status.conditions[?(@.type==\"Ready\")].status", "");
}

// What a kind supports beyond the basics.
enum Traits : unsigned {
  kClusterScoped = 0,
  kNamespaced = 1 << 0,
  kStatus = 1 << 1,          // serves the /status subresource
  kStrategicMerge = 1 << 2,  // accepts strategic merge patches (core kinds)
};

// A kind with every verb; its singular name is its lower-cased kind, as for all kinds here.
Kind Define(std::string api_version, std::string kind, std::string plural,
            std::vector<std::string> short_names, unsigned traits,
            std::vector<PrinterColumn> columns, std::vector<std::string> categories = {}) {
  Kind k;
  size_t slash = api_version.find('/');
  k.group = slash == std::string::npos ? "" : api_version.substr(0, slash);
  k.version = slash == std::string::npos ? api_version : api_version.substr(slash + 1);
  k.singular = kind;
  for (char& c : k.singular) c = static_cast<char>(std::tolower(c));
  k.kind = std::move(kind);
  k.plural = std::move(plural);
  k.short_names = std::move(short_names);
  k.namespaced = traits & kNamespaced;
  k.has_status = traits & kStatus;
  k.strategic_merge = traits & kStrategicMerge;
  k.verbs = {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"};
  k.categories = std::move(categories);
  k.columns = std::move(columns);
  return k;
}

std::vector<Kind> BuildKinds() {
  std::vector<Kind> k;

  // core/v1
  k.push_back(
      Define("v1", "Namespace", "namespaces", {"ns"}, kStatus | kStrategicMerge,
             {Col("Status", "string", ".status.phase", "The phase of the namespace."), Age()}));
  k.push_back(Define(
      "v1", "Node", "nodes", {"no"}, kStatus | kStrategicMerge,
      {Computed("Status", "string", "The status of the node.",
                [](const Json& o) {
                  Json s = EvaluateJsonPath(o, ".status.conditions[?(@.type==\"Ready\")].status");
                  return Json(s == "True" ? "Ready" : s == "False" ? "NotReady" : "Unknown");
                }),
       Computed("Roles", "string", "The roles of the node.",
                [](const Json&) { return Json("<none>"); }),
       Age(),
       Col("Version", "string", ".status.nodeInfo.kubeletVersion",
           "Kubelet Version reported by the node.")}));
  k.push_back(Define(
      "v1", "PersistentVolume", "persistentvolumes", {"pv"}, kStatus | kStrategicMerge,
      {Col("Capacity", "string", ".spec.capacity.storage", "The storage capacity of the PV."),
       Computed(
           "Access Modes", "string", "All access modes the volume may be mounted with.",
           [](const Json& o) { return AccessModes(EvaluateJsonPath(o, ".spec.accessModes")); }),
       Computed("Reclaim Policy", "string", "What happens to the volume when released.",
                [](const Json& o) {
                  return Json(StringAt(o, ".spec.persistentVolumeReclaimPolicy", "Retain"));
                }),
       Col("Status", "string", ".status.phase", "The phase of the volume."),
       Computed("Claim", "string", "The claim bound to this volume.",
                [](const Json& o) {
                  std::string name = StringAt(o, ".spec.claimRef.name");
                  if (name.empty()) return Json("");
                  return Json(StringAt(o, ".spec.claimRef.namespace") + "/" + name);
                }),
       Computed("StorageClass", "string", "The storage class of the volume.",
                [](const Json& o) { return Json(StorageClassOf(o)); }),
       Computed("VolumeAttributesClass", "string", "The volume attributes class.",
                [](const Json& o) {
                  return Json(StringAt(o, ".spec.volumeAttributesClassName", "<unset>"));
                }),
       Col("Reason", "string", ".status.reason", "Why the volume is in its phase."), Age(),
       Col("VolumeMode", "string", ".spec.volumeMode", "Block or Filesystem.", 1)}));
  k.push_back(Define(
      "v1", "PersistentVolumeClaim", "persistentvolumeclaims", {"pvc"},
      kNamespaced | kStatus | kStrategicMerge,
      {Col("Status", "string", ".status.phase", "The phase of the claim."),
       Col("Volume", "string", ".spec.volumeName", "The volume bound to the claim."),
       Computed("Capacity", "string", "The capacity of the bound volume.",
                [](const Json& o) {
                  if (StringAt(o, ".spec.volumeName").empty()) return Json("");
                  return Json(StringAt(o, ".status.capacity.storage"));
                }),
       Computed(
           "Access Modes", "string", "The access modes of the bound volume.",
           [](const Json& o) { return AccessModes(EvaluateJsonPath(o, ".status.accessModes")); }),
       Computed("StorageClass", "string", "The storage class of the claim.",
                [](const Json& o) { return Json(StorageClassOf(o)); }),
       Computed("VolumeAttributesClass", "string", "The volume attributes class.",
                [](const Json& o) {
                  return Json(StringAt(o, ".spec.volumeAttributesClassName", "<unset>"));
                }),
       Age(), Col("VolumeMode", "string", ".spec.volumeMode", "Block or Filesystem.", 1)}));
  k.push_back(Define(
      "v1", "Secret", "secrets", {}, kNamespaced | kStrategicMerge,
      {Col("Type", "string", ".type", "The type of the secret."),
       Computed("Data", "integer", "The number of data entries.",
                [](const Json& o) {
                  return Json(o.contains("data") && o["data"].is_object() ? o["data"].size() : 0);
                }),
       Age()}));
  k.push_back(Define("v1", "ConfigMap", "configmaps", {"cm"}, kNamespaced | kStrategicMerge,
                     {Computed("Data", "integer", "The number of data entries.",
                               [](const Json& o) {
                                 size_t n = 0;
                                 for (const char* f : {"data", "binaryData"}) {
                                   if (o.contains(f) && o[f].is_object()) n += o[f].size();
                                 }
                                 return Json(n);
                               }),
                      Age()}));
  k.push_back(Define("v1", "Event", "events", {"ev"}, kNamespaced | kStrategicMerge,
                     {Computed("Last Seen", "string", "When the event was last seen.",
                               [](const Json& o) {
                                 return Json(
                                     StringAt(o, ".lastTimestamp", StringAt(o, ".eventTime")));
                               }),
                      Col("Type", "string", ".type", "Normal or Warning."),
                      Col("Reason", "string", ".reason", "Why the event happened."),
                      Computed("Object", "string", "The object the event is about.",
                               [](const Json& o) {
                                 std::string kind = StringAt(o, ".involvedObject.kind");
                                 for (char& c : kind) c = static_cast<char>(std::tolower(c));
                                 return Json(kind + "/" + StringAt(o, ".involvedObject.name"));
                               }),
                      Col("Message", "string", ".message", "A human-readable description.")}));

  // vdisk runs VMs as QEMU processes, not in pods: the kind is served read-only and empty so that
  // clients asking which pods use a claim (kubectl describe pvc) get an answer.
  k.push_back(Define("v1", "Pod", "pods", {"po"}, kNamespaced | kStatus | kStrategicMerge,
                     {Col("Status", "string", ".status.phase", "The phase of the pod."), Age()}));
  k.back().verbs = {"get", "list", "watch"};

  // storage.k8s.io/v1
  k.push_back(Define(
      "storage.k8s.io/v1", "StorageClass", "storageclasses", {"sc"}, kStrategicMerge,
      {Col("Provisioner", "string", ".provisioner", "The provisioner of the class."),
       Computed("ReclaimPolicy", "string", "The reclaim policy of volumes of the class.",
                [](const Json& o) { return Json(StringAt(o, ".reclaimPolicy", "Delete")); }),
       Computed("VolumeBindingMode", "string", "When volumes are bound.",
                [](const Json& o) { return Json(StringAt(o, ".volumeBindingMode", "Immediate")); }),
       Computed("AllowVolumeExpansion", "string", "Whether volumes may grow.",
                [](const Json& o) {
                  return Json(o.value("allowVolumeExpansion", false) ? "true" : "false");
                }),
       Age()}));

  // snapshot.storage.k8s.io/v1
  k.push_back(Define(
      "snapshot.storage.k8s.io/v1", "VolumeSnapshot", "volumesnapshots", {"vs"},
      kNamespaced | kStatus,
      {Col("ReadyToUse", "boolean", ".status.readyToUse", "Whether the snapshot is ready."),
       Col("SourcePVC", "string", ".spec.source.persistentVolumeClaimName", "The source PVC."),
       Col("SourceSnapshotContent", "string", ".spec.source.volumeSnapshotContentName",
           "The source content."),
       Col("RestoreSize", "string", ".status.restoreSize", "Minimum size to restore to."),
       Col("SnapshotClass", "string", ".spec.volumeSnapshotClassName", "The snapshot class."),
       Col("SnapshotContent", "string", ".status.boundVolumeSnapshotContentName",
           "The bound content."),
       Col("CreationTime", "date", ".status.creationTime", "When the snapshot was cut."), Age()}));
  k.push_back(
      Define("snapshot.storage.k8s.io/v1", "VolumeSnapshotContent", "volumesnapshotcontents",
             {"vsc", "vscs"}, kStatus,
             {Col("ReadyToUse", "boolean", ".status.readyToUse", "Whether the snapshot is ready."),
              Col("RestoreSize", "integer", ".status.restoreSize", "Size in bytes."),
              Col("DeletionPolicy", "string", ".spec.deletionPolicy", "Delete or Retain."),
              Col("Driver", "string", ".spec.driver", "The CSI driver."),
              Col("VolumeSnapshotClass", "string", ".spec.volumeSnapshotClassName", "The class."),
              Col("VolumeSnapshot", "string", ".spec.volumeSnapshotRef.name", "The snapshot."),
              Col("VolumeSnapshotNamespace", "string", ".spec.volumeSnapshotRef.namespace",
                  "The snapshot's namespace."),
              Age()}));
  k.push_back(
      Define("snapshot.storage.k8s.io/v1", "VolumeSnapshotClass", "volumesnapshotclasses",
             {"vsclass", "vsclasses"}, kClusterScoped,
             {Col("Driver", "string", ".driver", "The CSI driver."),
              Col("DeletionPolicy", "string", ".deletionPolicy", "Delete or Retain."), Age()}));

  // cdi.kubevirt.io/v1beta1
  k.push_back(Define(
      "cdi.kubevirt.io/v1beta1", "DataVolume", "datavolumes", {"dv", "dvs"}, kNamespaced | kStatus,
      {Col("Phase", "string", ".status.phase", "The phase the DataVolume is in"),
       Col("Progress", "string", ".status.progress", "Transfer progress in percentage"),
       Col("Restarts", "integer", ".status.restartCount",
           "The number of times the transfer has been restarted."),
       Age()},
      {"all"}));
  k.push_back(
      Define("cdi.kubevirt.io/v1beta1", "StorageProfile", "storageprofiles", {}, kStatus, {Age()}));
  k.push_back(Define("cdi.kubevirt.io/v1beta1", "CDIConfig", "cdiconfigs", {}, kStatus, {Age()}));
  k.push_back(Define("cdi.kubevirt.io/v1beta1", "DataSource", "datasources", {"das"},
                     kNamespaced | kStatus, {Age()}, {"all"}));
  k.push_back(Define("upload.cdi.kubevirt.io/v1beta1", "UploadTokenRequest", "uploadtokenrequests",
                     {"utr", "utrs"}, kNamespaced, {Age()}));
  k.back().verbs = {"create"};
  k.push_back(Define("hostpathprovisioner.kubevirt.io/v1beta1", "HostPathProvisioner",
                     "hostpathprovisioners", {}, kStatus, {Age()}));
  k.push_back(Define("hco.kubevirt.io/v1beta1", "HyperConverged", "hyperconvergeds",
                     {"hco", "hcos"}, kNamespaced | kStatus, {Age()}));

  // kubevirt.io/v1
  k.push_back(Define(
      "kubevirt.io/v1", "VirtualMachine", "virtualmachines", {"vm", "vms"}, kNamespaced | kStatus,
      {Age(), Col("Status", "string", ".status.printableStatus", "Human readable status"),
       ReadyCondition()},
      {"all"}));
  k.push_back(Define(
      "kubevirt.io/v1", "VirtualMachineInstance", "virtualmachineinstances", {"vmi", "vmis"},
      kNamespaced | kStatus,
      {Age(), Col("Phase", "string", ".status.phase", "The VMI's phase."),
       Col("IP", "string", ".status.interfaces[0].ipAddress", "The VMI's address."),
       Col("NodeName", "string", ".status.nodeName", "The node running the VMI."), ReadyCondition(),
       Col("Live-Migratable", "string", ".status.conditions[?(@.type==\"LiveMigratable\")].status",
           "", 1),
       Col("Paused", "string", ".status.conditions[?(@.type==\"Paused\")].status", "", 1)},
      {"all"}));

  // snapshot.kubevirt.io/v1alpha1
  k.push_back(Define("snapshot.kubevirt.io/v1alpha1", "VirtualMachineSnapshot",
                     "virtualmachinesnapshots", {"vmsnapshot", "vmsnapshots"},
                     kNamespaced | kStatus,
                     {Col("SourceKind", "string", ".spec.source.kind", ""),
                      Col("SourceName", "string", ".spec.source.name", ""),
                      Col("Phase", "string", ".status.phase", ""),
                      Col("ReadyToUse", "boolean", ".status.readyToUse", ""),
                      Col("CreationTime", "date", ".status.creationTime", ""),
                      Col("Error", "string", ".status.error.message", "")},
                     {"all"}));
  k.push_back(Define("snapshot.kubevirt.io/v1alpha1", "VirtualMachineSnapshotContent",
                     "virtualmachinesnapshotcontents", {"vmsnapshotcontent", "vmsnapshotcontents"},
                     kNamespaced | kStatus,
                     {Col("ReadyToUse", "boolean", ".status.readyToUse", ""),
                      Col("CreationTime", "date", ".status.creationTime", ""),
                      Col("Error", "string", ".status.error.message", "")},
                     {"all"}));
  k.push_back(Define("snapshot.kubevirt.io/v1alpha1", "VirtualMachineRestore",
                     "virtualmachinerestores", {"vmrestore", "vmrestores"}, kNamespaced | kStatus,
                     {Col("TargetKind", "string", ".spec.target.kind", ""),
                      Col("TargetName", "string", ".spec.target.name", ""),
                      Col("Complete", "boolean", ".status.complete", ""),
                      Col("RestoreTime", "date", ".status.restoreTime", ""),
                      Col("Error", "string", ".status.error.message", "")},
                     {"all"}));

  return k;
}

}  // namespace

const KindRegistry& KindRegistry::Get() {
  static const KindRegistry registry;
  return registry;
}

KindRegistry::KindRegistry() : kinds_(BuildKinds()) {}

const Kind* KindRegistry::ByResource(std::string_view group, std::string_view version,
                                     std::string_view plural) const {
  for (const auto& k : kinds_) {
    if (k.group == group && k.version == version && k.plural == plural) return &k;
  }
  return nullptr;
}

const Kind* KindRegistry::ByKind(std::string_view group, std::string_view kind) const {
  for (const auto& k : kinds_) {
    if (k.group == group && k.kind == kind) return &k;
  }
  return nullptr;
}

const Kind* KindRegistry::ByApiVersionKind(std::string_view api_version,
                                           std::string_view kind) const {
  for (const auto& k : kinds_) {
    if (k.ApiVersion() == api_version && k.kind == kind) return &k;
  }
  return nullptr;
}

std::vector<std::pair<std::string, std::string>> KindRegistry::GroupVersions() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& k : kinds_) {
    std::pair<std::string, std::string> gv{k.group, k.version};
    bool seen = false;
    for (const auto& existing : out) seen = seen || existing == gv;
    if (!seen) out.push_back(gv);
  }
  return out;
}

}  // namespace vdisk::api
