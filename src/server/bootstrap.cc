#include "server/bootstrap.h"

#include "common/clock.h"
#include "common/version.h"

namespace vdisk::server {
namespace {

const Kind& KindOf(const char* group, const char* kind) {
  return *api::KindRegistry::Get().ByKind(group, kind);
}

// Creates `object` unless it exists; when `status` is given, a new object gets it too.
Status EnsureObject(ObjectService& objects, const Kind& kind, const std::string& ns, Json object,
                    const Json& status = nullptr) {
  std::string name = object["metadata"]["name"];
  auto created = objects.Create(kind, ns, std::move(object));
  if (!created.ok()) {
    return created.status().code() == StatusCode::kAlreadyExists ? Status::Ok() : created.status();
  }
  if (status.is_null()) return Status::Ok();
  auto updated = objects.Patch(kind, ns, name, PatchType::kMerge, {{"status", status}},
                               /*status_only=*/true);
  return updated.ok() ? Status::Ok() : updated.status();
}

}  // namespace

Status EnsureBootstrapObjects(ObjectService& objects, const std::string& node_name) {
  for (const char* ns : {"default", "kube-system", "kube-public", "openshift-cnv",
                         "openshift-virtualization-os-images"}) {
    VDISK_RETURN_IF_ERROR(
        EnsureObject(objects, KindOf("", "Namespace"), "", {{"metadata", {{"name", ns}}}}));
  }
  std::string now = NowRfc3339();
  VDISK_RETURN_IF_ERROR(EnsureObject(
      objects, KindOf("", "Node"), "",
      {{"metadata",
        {{"name", node_name},
         {"labels", {{"kubernetes.io/hostname", node_name}, {"kubernetes.io/os", "linux"}}}}}},
      {{"conditions",
        {{{"type", "Ready"},
          {"status", "True"},
          {"reason", "VdiskReady"},
          {"message", "vdisk node agent is running"},
          {"lastHeartbeatTime", now},
          {"lastTransitionTime", now}}}},
       {"nodeInfo",
        {{"kubeletVersion", std::string("v1.32.0+vdisk-") + kVdiskVersion},
         {"operatingSystem", "linux"},
         {"architecture", "amd64"}}}}));
  VDISK_RETURN_IF_ERROR(EnsureObject(
      objects, KindOf("hco.kubevirt.io", "HyperConverged"), "openshift-cnv",
      {{"metadata", {{"name", "kubevirt-hyperconverged"}, {"namespace", "openshift-cnv"}}},
       {"spec", Json::object()}}));
  // The built-in hostpath pool "default" (DATA_DIR/pools/default) and its class: a single
  // node needs no scheduling decision, so volumes bind at once.
  VDISK_RETURN_IF_ERROR(
      EnsureObject(objects, KindOf("storage.k8s.io", "StorageClass"), "",
                   {{"metadata",
                     {{"name", kDefaultStorageClass},
                      {"annotations", {{"storageclass.kubernetes.io/is-default-class", "true"}}}}},
                    {"provisioner", "kubevirt.io.hostpath-provisioner"},
                    {"parameters", {{"storagePool", "default"}}},
                    {"reclaimPolicy", "Delete"},
                    {"volumeBindingMode", "Immediate"},
                    {"allowVolumeExpansion", true}}));
  VDISK_RETURN_IF_ERROR(EnsureObject(objects, KindOf("cdi.kubevirt.io", "CDIConfig"), "",
                                     {{"metadata", {{"name", "config"}}}, {"spec", Json::object()}},
                                     {{"filesystemOverhead", {{"global", "0.055"}}}}));
  return Status::Ok();
}

}  // namespace vdisk::server
