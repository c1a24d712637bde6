// KubeVirt kinds: VirtualMachine and VirtualMachineInstance (the virt-api admitters' rules that
// concern disks), VirtualMachineSnapshot and VirtualMachineRestore (the snapshot admitters).

#include <set>

#include "api/validation_internal.h"

namespace vdisk::api::internal {
namespace {

constexpr char kKubevirtGroup[] = "kubevirt.io";

// ---- VirtualMachine and VirtualMachineInstance ---------------------------------------------

void CheckVolumes(const Json* volumes, const std::string& path, FieldErrors& errors) {
  if (volumes == nullptr || !volumes->is_array()) return;
  std::set<std::string> names;
  for (size_t i = 0; i < volumes->size(); ++i) {
    const Json& volume = (*volumes)[i];
    std::string volume_path = Index(path, i);
    std::string name = GetString(&volume, "name");
    if (name.empty()) {
      errors.push_back(RequiredValue(Child(volume_path, "name")));
    } else if (!names.insert(name).second) {
      errors.push_back(DuplicateValue(Child(volume_path, "name"), name));
    }
    const Json* data_volume = GetObject(&volume, "dataVolume");
    if (data_volume != nullptr && !HasString(data_volume, "name")) {
      errors.push_back(RequiredValue(Child(volume_path, "dataVolume.name")));
    }
    const Json* claim = GetObject(&volume, "persistentVolumeClaim");
    if (claim != nullptr && !HasString(claim, "claimName")) {
      errors.push_back(RequiredValue(Child(volume_path, "persistentVolumeClaim.claimName")));
    }
  }
}

void CheckInstanceSpec(const Json* spec, const std::string& path, FieldErrors& errors) {
  const Json* domain = GetObject(spec, "domain");
  CheckResourceRequirements(GetObject(domain, "resources"), Child(path, "domain.resources"),
                            errors);
  CheckVolumes(Get(spec, "volumes"), Child(path, "volumes"), errors);
}

// Whether a template volume uses the DataVolume (or its PVC, which has the same name).
bool IsReferenced(const std::string& name, const Json* volumes) {
  if (volumes == nullptr || !volumes->is_array()) return false;
  for (const Json& volume : *volumes) {
    if (GetString(GetObject(&volume, "dataVolume"), "name") == name) return true;
    if (GetString(GetObject(&volume, "persistentVolumeClaim"), "claimName") == name) return true;
  }
  return false;
}

void CheckDataVolumeTemplates(const Json& spec, FieldErrors& errors) {
  const Json* templates = GetArray(&spec, "dataVolumeTemplates");
  if (templates == nullptr) return;
  const Json* volumes = Get(GetObject(GetObject(&spec, "template"), "spec"), "volumes");
  for (size_t i = 0; i < templates->size(); ++i) {
    const Json& tmpl = (*templates)[i];
    std::string path = Index("spec.dataVolumeTemplates", i);
    const Json* name = Get(GetObject(&tmpl, "metadata"), "name");
    if (name == nullptr || *name == "") {
      errors.push_back(RequiredValue(Child(path, "metadata.name"),
                                     "'name' field must not be empty for DataVolumeTemplate "
                                     "entry " +
                                         path + "."));
    } else {
      CheckDns1123Subdomain(name, Child(path, "metadata.name"), errors);
      if (name->is_string() && !IsReferenced(name->get<std::string>(), volumes)) {
        errors.push_back(RequiredValue(path, "DataVolumeTemplate entry " + path +
                                                 " must be referenced in the VMI template's "
                                                 "'volumes' list"));
      }
    }
    CheckDataVolumeSpec(GetObject(&tmpl, "spec"), Child(path, "spec"), errors);
  }
}

void ValidateVirtualMachine(const Json& object, FieldErrors& errors) {
  const Json* spec = GetObject(&object, "spec");
  if (spec == nullptr) {
    errors.push_back(RequiredValue("spec"));
    return;
  }
  const Json* tmpl = GetObject(spec, "template");
  if (tmpl == nullptr) {
    errors.push_back(RequiredValue("spec.template", "missing virtual machine template."));
  } else {
    CheckInstanceSpec(GetObject(tmpl, "spec"), "spec.template.spec", errors);
  }
  CheckDataVolumeTemplates(*spec, errors);
  const Json* running = Get(*spec, "running");
  const Json* run_strategy = Get(*spec, "runStrategy");
  CheckBool(running, "spec.running", errors);
  if (running != nullptr && run_strategy != nullptr) {
    errors.push_back(
        InvalidValue("spec.running", *running, "Running and RunStrategy are mutually exclusive"));
  }
  CheckEnum(run_strategy, "spec.runStrategy",
            {"Always", "Halted", "Manual", "RerunOnFailure", "Once", "WaitAsReceiver"}, errors);
}

void ValidateVirtualMachineInstance(const Json& object, FieldErrors& errors) {
  CheckInstanceSpec(GetObject(&object, "spec"), "spec", errors);
}

// ---- VirtualMachineSnapshot and VirtualMachineRestore ----------------------------------------

// A TypedLocalObjectReference to a VirtualMachine (a snapshot's source, a restore's target).
void CheckVirtualMachineReference(const Json* ref, const std::string& path, FieldErrors& errors) {
  if (ref == nullptr) {
    errors.push_back(RequiredValue(path));
    return;
  }
  const Json* group = Get(*ref, "apiGroup");
  if (group == nullptr) {
    errors.push_back(RequiredValue(Child(path, "apiGroup"), "missing apiGroup"));
  } else if (*group != kKubevirtGroup) {
    errors.push_back(
        InvalidValue(Child(path, "apiGroup"), *group, "invalid apiGroup: must be \"kubevirt.io\""));
  }
  const Json* kind = Get(*ref, "kind");
  if (kind == nullptr || *kind != "VirtualMachine") {
    errors.push_back(InvalidValue(Child(path, "kind"), kind != nullptr ? *kind : Json(""),
                                  "invalid kind: must be \"VirtualMachine\""));
  }
  if (!HasString(ref, "name")) errors.push_back(RequiredValue(Child(path, "name")));
}

void ValidateVirtualMachineSnapshot(const Json& object, FieldErrors& errors) {
  CheckVirtualMachineReference(GetObject(GetObject(&object, "spec"), "source"), "spec.source",
                               errors);
}

void ValidateVirtualMachineRestore(const Json& object, FieldErrors& errors) {
  const Json* spec = GetObject(&object, "spec");
  CheckVirtualMachineReference(GetObject(spec, "target"), "spec.target", errors);
  if (!HasString(spec, "virtualMachineSnapshotName")) {
    errors.push_back(RequiredValue("spec.virtualMachineSnapshotName"));
  }
}

// Upstream's admitters say "spec in immutable after creation"; the typo is not kept.
void ValidateSpecImmutable(const Json& object, const Json& old_object, FieldErrors& errors) {
  const Json* spec = Get(object, "spec");
  const Json* old_spec = Get(old_object, "spec");
  if (SemanticEqual(spec, old_spec)) return;
  errors.push_back(
      ForbiddenField("spec", "spec is immutable after creation" + DescribeChanges(old_spec, spec)));
}

}  // namespace

std::vector<KindRules> KubevirtKindRules() {
  return {
      {"kubevirt.io", "VirtualMachine", nullptr, ValidateVirtualMachine, nullptr},
      {"kubevirt.io", "VirtualMachineInstance", nullptr, ValidateVirtualMachineInstance, nullptr},
      {"snapshot.kubevirt.io", "VirtualMachineSnapshot", nullptr, ValidateVirtualMachineSnapshot,
       ValidateSpecImmutable},
      {"snapshot.kubevirt.io", "VirtualMachineRestore", nullptr, ValidateVirtualMachineRestore,
       ValidateSpecImmutable},
  };
}

}  // namespace vdisk::api::internal
