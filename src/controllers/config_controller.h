// ConfigController: the HyperConverged object is what users edit; CDIConfig "config" shows the
// settings in effect (spec 9.20.4, 9.20.5, 9.20.17.3, 9.20.18.4). It does what the upstream chain
// HCO operator -> CDI CR spec.config -> CDI operator -> CDIConfig controller does, in one step:
//
//   HyperConverged openshift-cnv/kubevirt-hyperconverged
//     spec.filesystemOverhead                     ─┐
//     spec.scratchSpaceStorageClass                │  CDIConfig config .spec (replaced, as
//     spec.resourceRequirements.storageWorkloads   ├─ the CDI operator does when the HCO is its
//     spec.storageImport.insecureRegistries        │  config authority: edits made to the
//     annotation containerizeddataimporter.        │  CDIConfig's spec directly are undone)
//       kubevirt.io/jsonpatch (e.g. /spec/config/ ─┘
//       preallocation: upstream's way to set what the HCO has no field for)
//
//   CDIConfig .spec + StorageClasses ──> CDIConfig .status
//     filesystemOverhead       global (valid spec value, else 0.055) and one entry per
//                              existing StorageClass (its spec value, else the global one)
//     scratchSpaceStorageClass the spec's class when it exists, else absent
//     defaultPodResourceRequirements  upstream's defaults with the spec's cpu/memory over them
//     importProxy, imagePullSecrets   the spec's, when set
//     preallocation            spec.preallocation == true
//   Other status fields (uploadProxyURL, ...) are kept as they are.
//
// Thread safety: as Controller; the free functions are pure.
#pragma once

#include <string>
#include <vector>

#include "controllers/controller.h"

namespace vdisk::controllers {

inline constexpr const char* kHyperConvergedNamespace = "openshift-cnv";
inline constexpr const char* kHyperConvergedName = "kubevirt-hyperconverged";
inline constexpr const char* kCdiConfigName = "config";
// 5.5 %, the overhead the spec (9.20.4.1) and the HCO document as the default.
inline constexpr const char* kDefaultFilesystemOverhead = "0.055";

// The CDIConfig spec the HyperConverged object asks for. Invalid when the jsonpatch annotation
// is not a JSON patch that applies.
Result<json> CdiConfigSpecFromHyperConverged(const json& hyperconverged);
// The CDIConfig status for `spec`, given the names of the existing StorageClasses; managed
// fields of `current_status` are replaced, others kept.
json DesiredCdiConfigStatus(const json& spec, const std::vector<std::string>& storage_classes,
                            const json& current_status);

// Helpers for the controllers that render DataVolumes; each reads a CDIConfig's status (spec
// for the registries) and falls back to the upstream default.
//
// The overhead fraction ("0.055") for volumes of `storage_class`: its own, else the global one.
std::string FilesystemOverheadFor(const json& cdiconfig, const std::string& storage_class);
bool GlobalPreallocation(const json& cdiconfig);
std::vector<std::string> InsecureRegistries(const json& cdiconfig);
// status.defaultPodResourceRequirements, or upstream's defaults when absent.
json PodResourceRequirements(const json& cdiconfig);

class ConfigController : public Controller {
 public:
  explicit ConfigController(server::ObjectService& objects);
  // Stops the loop here, while Reconcile can still be called.
  ~ConfigController() override { Stop(); }

 protected:
  Result<Requeue> Reconcile(const ObjectKey& key) override;

 private:
  Result<json> ReadHyperConverged();
  Result<std::vector<std::string>> StorageClassNames();
  // The CDIConfig with `spec`, created when missing.
  Result<json> EnsureSpec(const json& spec);

  const api::Kind& hco_kind_;
  const api::Kind& storage_class_kind_;
};

}  // namespace vdisk::controllers
