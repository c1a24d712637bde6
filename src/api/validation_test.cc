#include "api/validation.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <regex>
#include <string>

namespace vdisk::api {
namespace {

// ---- Helpers ---------------------------------------------------------------------------------

const Kind& KindOf(std::string_view group, std::string_view kind) {
  const Kind* k = KindRegistry::Get().ByKind(group, kind);
  if (k == nullptr) {
    ADD_FAILURE() << "no kind " << group << "/" << kind;
    static const Kind kNone;
    return kNone;
  }
  return *k;
}

const Kind& Pvc() { return KindOf("", "PersistentVolumeClaim"); }
const Kind& Pv() { return KindOf("", "PersistentVolume"); }
const Kind& Sc() { return KindOf("storage.k8s.io", "StorageClass"); }
const Kind& Dv() { return KindOf("cdi.kubevirt.io", "DataVolume"); }

std::string Describe(const FieldErrors& errors) {
  std::string out;
  for (const FieldError& e : errors) out += "\n  " + e.ToString();
  return out.empty() ? " (none)" : out;
}

const FieldError* Find(const FieldErrors& errors, const std::string& field) {
  for (const FieldError& e : errors) {
    if (e.field == field) return &e;
  }
  return nullptr;
}

// Asserts an error at `field` whose kubectl text starts with `field: <prefix>`.
::testing::AssertionResult HasError(const FieldErrors& errors, const std::string& field,
                                    const std::string& prefix) {
  for (const FieldError& e : errors) {
    if (e.field == field && e.ToString().rfind(field + ": " + prefix, 0) == 0) {
      return ::testing::AssertionSuccess();
    }
  }
  return ::testing::AssertionFailure()
         << "no error \"" << field << ": " << prefix << "...\" among:" << Describe(errors);
}

::testing::AssertionResult NoErrors(const FieldErrors& errors) {
  if (errors.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "unexpected errors:" << Describe(errors);
}

FieldErrors Create(const Kind& kind, Json object) {
  ApplyDefaults(kind, object);
  return ValidateCreate(kind, object);
}

FieldErrors Update(const Kind& kind, Json object, Json old_object) {
  ApplyDefaults(kind, old_object);
  ApplyDefaults(kind, object);
  return ValidateUpdate(kind, object, old_object);
}

Json ValidPvc() {
  return Json::parse(R"({
    "apiVersion": "v1", "kind": "PersistentVolumeClaim",
    "metadata": {"name": "disk", "namespace": "default"},
    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}}
  })");
}

Json ValidPv() {
  return Json::parse(R"({
    "apiVersion": "v1", "kind": "PersistentVolume",
    "metadata": {"name": "pv1"},
    "spec": {
      "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "10Gi"},
      "local": {"path": "/mnt/disk1"},
      "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": ["node01"]}]}]}}
    }
  })");
}

Json ValidStorageClass() {
  return Json::parse(R"({
    "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
    "metadata": {"name": "hostpath-csi"},
    "provisioner": "kubevirt.io.hostpath-provisioner",
    "parameters": {"storagePool": "my-storage-pool"}
  })");
}

Json ValidDv() {
  return Json::parse(R"({
    "apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
    "metadata": {"name": "dv", "namespace": "default"},
    "spec": {
      "source": {"http": {"url": "https://images.example.test/fedora.qcow2"}},
      "pvc": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    }
  })");
}

// ---- Example manifests -------------------------------------------------------------------------

std::filesystem::path ExamplesDir() {
  // The spec lives beside the repository: <root>/../shared/spec/examples.
  return std::filesystem::path(__FILE__).parent_path() / "../../../shared/spec/examples";
}

// One python3 run converts every manifest: {"01-....yaml": {...}, ...}.
Json LoadYamlDirectory(const std::filesystem::path& dir) {
  std::string command =
      "python3 -c 'import yaml,json,sys,glob,os; print(json.dumps({os.path.basename(f): "
      "yaml.safe_load(open(f)) for f in glob.glob(os.path.join(sys.argv[1], \"*.yaml\"))}))' '" +
      dir.string() + "'";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return nullptr;
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  if (pclose(pipe) != 0) return nullptr;
  return Json::parse(out, nullptr, /*allow_exceptions=*/false);
}

struct Example {
  std::string name;
  Json object;
  const Kind* kind;
};

std::vector<Example> LoadExamples() {
  std::vector<Example> examples;
  Json all = LoadYamlDirectory(ExamplesDir());
  if (!all.is_object()) return examples;
  for (const auto& [name, object] : all.items()) {  // sorted by file name
    const Kind* kind = nullptr;
    if (object.is_object() && object.value("apiVersion", Json()).is_string() &&
        object.value("kind", Json()).is_string()) {
      kind = KindRegistry::Get().ByApiVersionKind(object["apiVersion"].get<std::string>(),
                                                  object["kind"].get<std::string>());
    }
    examples.push_back({name, object, kind});
  }
  return examples;
}

const std::vector<Example>& Examples() {
  static const std::vector<Example> examples = LoadExamples();
  return examples;
}

TEST(ValidationExamples, AllLoad) {
  ASSERT_TRUE(std::filesystem::exists(ExamplesDir())) << "no " << ExamplesDir();
  ASSERT_EQ(Examples().size(), 27u);
  for (const Example& e : Examples()) {
    EXPECT_TRUE(e.object.is_object()) << e.name;
    EXPECT_NE(e.kind, nullptr) << e.name;
  }
}

TEST(ValidationExamples, EveryManifestButTwelveIsValidOnCreateAndUpdate) {
  for (const Example& e : Examples()) {
    if (e.kind == nullptr || e.name.rfind("12-", 0) == 0) continue;
    Json object = e.object;
    if (e.kind->namespaced && !object["metadata"].contains("namespace")) {
      object["metadata"]["namespace"] = "default";  // as the server sets it from the URL
    }
    ApplyDefaults(*e.kind, object);
    EXPECT_TRUE(NoErrors(ValidateCreate(*e.kind, object))) << e.name;
    // Re-applying the same manifest (kubectl apply twice) is always allowed.
    Json again = e.object;
    if (object["metadata"].contains("namespace"))
      again["metadata"]["namespace"] = object["metadata"]["namespace"];
    ApplyDefaults(*e.kind, again);
    EXPECT_TRUE(NoErrors(ValidateUpdate(*e.kind, again, object))) << e.name;
  }
}

TEST(ValidationExamples, TwelveIsRejectedForItsSchemelessUrlOnly) {
  for (const Example& e : Examples()) {
    if (e.name.rfind("12-", 0) != 0) continue;
    FieldErrors errors = Create(*e.kind, e.object);
    ASSERT_EQ(errors.size(), 1u) << Describe(errors);
    EXPECT_EQ(errors[0].field, "spec.source.http.url");
    EXPECT_EQ(errors[0].type, FieldError::Type::kInvalid);
    EXPECT_EQ(errors[0].bad_value, "example.exampleurl.com");
    EXPECT_TRUE(HasError(errors, "spec.source.http.url",
                         "Invalid value: \"example.exampleurl.com\": Invalid source URL"));
    return;
  }
  if (std::filesystem::exists(ExamplesDir())) ADD_FAILURE() << "12-dv-annotations.yaml not found";
}

// Untrusted objects of any shape: no rule may throw. Every node of every example is replaced in
// turn by values of the wrong type.
void ForEachPointer(const Json& value, const Json::json_pointer& at,
                    const std::function<void(const Json::json_pointer&)>& visit) {
  visit(at);
  if (value.is_object()) {
    for (const auto& [key, child] : value.items()) ForEachPointer(child, at / key, visit);
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) ForEachPointer(value[i], at / i, visit);
  }
}

TEST(ValidationRobustness, HostileShapesNeverThrow) {
  const Json hostile[] = {nullptr,
                          5,
                          -1.5,
                          "x",
                          "",
                          true,
                          Json::array(),
                          Json::object(),
                          Json::array({nullptr, 1, "a"})};
  for (const Example& e : Examples()) {
    if (e.kind == nullptr) continue;
    ForEachPointer(e.object, Json::json_pointer(), [&](const Json::json_pointer& at) {
      for (const Json& bad : hostile) {
        Json mutated = e.object;
        if (at.empty()) {
          mutated = bad;
        } else {
          mutated[at] = bad;
        }
        EXPECT_NO_THROW({
          Json copy = mutated;
          ApplyDefaults(*e.kind, copy);
          (void)ValidateCreate(*e.kind, copy);
          (void)ValidateUpdate(*e.kind, copy, e.object);
          (void)ValidateUpdate(*e.kind, e.object, copy);
        }) << e.name
           << " " << at.to_string() << " = " << bad.dump();
      }
    });
  }
}

TEST(ValidationRobustness, EveryKindAcceptsAnyTopLevelShape) {
  const Json shapes[] = {nullptr,
                         5,
                         "x",
                         Json::array(),
                         Json::object(),
                         Json::parse(R"({"metadata": [], "spec": 5, "status": "x"})"),
                         Json::parse(R"({"metadata": {"name": 5, "labels": 3}, "spec": {}})")};
  for (const Kind& kind : KindRegistry::Get().All()) {
    for (const Json& shape : shapes) {
      EXPECT_NO_THROW({
        Json copy = shape;
        ApplyDefaults(kind, copy);
        (void)ValidateCreate(kind, copy);
        (void)ValidateUpdate(kind, copy, shape);
      }) << kind.kind
         << " " << shape.dump();
    }
  }
}

// ---- Metadata ----------------------------------------------------------------------------------

TEST(ValidationMetadata, NameOrGenerateNameRequired) {
  Json pvc = ValidPvc();
  pvc["metadata"].erase("name");
  EXPECT_TRUE(HasError(Create(Pvc(), pvc), "metadata.name",
                       "Required value: name or generateName is required"));
  pvc["metadata"]["generateName"] = "disk-";
  EXPECT_TRUE(NoErrors(Create(Pvc(), pvc)));
}

TEST(ValidationMetadata, NamesAreDns1123Subdomains) {
  Json pvc = ValidPvc();
  pvc["metadata"]["name"] = "Bad_Name";
  FieldErrors errors = Create(Pvc(), pvc);
  EXPECT_TRUE(HasError(errors, "metadata.name", "Invalid value: \"Bad_Name\": "));
  pvc["metadata"]["name"] = "a.b-c";
  EXPECT_TRUE(NoErrors(Create(Pvc(), pvc)));
}

TEST(ValidationMetadata, NamespaceNamesAreLabels) {
  const Kind& ns = KindOf("", "Namespace");
  Json object = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "a.b"}}}};
  EXPECT_TRUE(HasError(Create(ns, object), "metadata.name", "Invalid value: \"a.b\": "));
  object["metadata"]["name"] = "openshift-cnv";
  EXPECT_TRUE(NoErrors(Create(ns, object)));
}

TEST(ValidationMetadata, LabelsAndAnnotationsAreChecked) {
  Json pvc = ValidPvc();
  pvc["metadata"]["labels"] = {{"bad key!", "v"}};
  FieldErrors errors = Create(Pvc(), pvc);
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0].field.rfind("metadata.labels", 0), 0u) << Describe(errors);
}

TEST(ValidationMetadata, OwnerReferencesMustBeComplete) {
  Json pvc = ValidPvc();
  pvc["metadata"]["ownerReferences"] = Json::parse(
      R"([{"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "name": "dv"}])");
  EXPECT_TRUE(HasError(Create(Pvc(), pvc), "metadata.ownerReferences[0].uid",
                       "Invalid value: \"\": uid must not be empty"));
  pvc["metadata"]["ownerReferences"][0]["uid"] = "1234";
  EXPECT_TRUE(NoErrors(Create(Pvc(), pvc)));
}

TEST(ValidationMetadata, OnlyOneControllerReference) {
  Json pvc = ValidPvc();
  pvc["metadata"]["ownerReferences"] = Json::parse(R"([
    {"apiVersion": "v1", "kind": "A", "name": "a", "uid": "1", "controller": true},
    {"apiVersion": "v1", "kind": "B", "name": "b", "uid": "2", "controller": true}])");
  EXPECT_TRUE(HasError(Create(Pvc(), pvc), "metadata.ownerReferences", "Invalid value: "));
}

TEST(ValidationMetadataUpdate, IdentityIsImmutable) {
  Json old_pvc = ValidPvc();
  old_pvc["metadata"]["uid"] = "u1";
  old_pvc["metadata"]["creationTimestamp"] = "2024-01-01T00:00:00Z";
  Json pvc = old_pvc;
  pvc["metadata"]["name"] = "other";
  pvc["metadata"]["namespace"] = "elsewhere";
  pvc["metadata"]["uid"] = "u2";
  pvc["metadata"]["creationTimestamp"] = "2025-01-01T00:00:00Z";
  FieldErrors errors = Update(Pvc(), pvc, old_pvc);
  EXPECT_TRUE(HasError(errors, "metadata.name", "Invalid value: \"other\": field is immutable"));
  EXPECT_TRUE(
      HasError(errors, "metadata.namespace", "Invalid value: \"elsewhere\": field is immutable"));
  EXPECT_TRUE(HasError(errors, "metadata.uid", "Invalid value: \"u2\": field is immutable"));
  EXPECT_TRUE(HasError(errors, "metadata.creationTimestamp", "Invalid value: "));
}

TEST(ValidationMetadataUpdate, OmittedSystemFieldsAndNewLabelsAreFine) {
  Json old_pvc = ValidPvc();
  old_pvc["metadata"]["uid"] = "u1";
  old_pvc["metadata"]["creationTimestamp"] = "2024-01-01T00:00:00Z";
  Json pvc = ValidPvc();  // as `kubectl replace` sends it
  pvc["metadata"]["labels"] = {{"tier", "gold"}};
  EXPECT_TRUE(NoErrors(Update(Pvc(), pvc, old_pvc)));
}

TEST(ValidationMetadataUpdate, NoNewFinalizersWhileDeleting) {
  Json old_pvc = ValidPvc();
  old_pvc["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z";
  old_pvc["metadata"]["finalizers"] = {"kubernetes.io/pvc-protection"};
  Json pvc = old_pvc;
  pvc["metadata"]["finalizers"].push_back("example.com/hold");
  EXPECT_TRUE(HasError(Update(Pvc(), pvc, old_pvc), "metadata.finalizers",
                       "Forbidden: no new finalizers can be added if the object is being deleted"));
  pvc["metadata"]["finalizers"] = Json::array();  // removing is how deletion proceeds
  EXPECT_TRUE(NoErrors(Update(Pvc(), pvc, old_pvc)));
}

// ---- PersistentVolumeClaim ---------------------------------------------------------------------

TEST(ValidationPvc, DefaultsVolumeModeAndPhase) {
  Json pvc = ValidPvc();
  ApplyDefaults(Pvc(), pvc);
  EXPECT_EQ(pvc["spec"]["volumeMode"], "Filesystem");
  EXPECT_EQ(pvc["status"]["phase"], "Pending");
  Json block = ValidPvc();
  block["spec"]["volumeMode"] = "Block";
  ApplyDefaults(Pvc(), block);
  EXPECT_EQ(block["spec"]["volumeMode"], "Block");
}

TEST(ValidationPvc, AccessModesRequiredAndSupported) {
  Json pvc = ValidPvc();
  pvc["spec"].erase("accessModes");
  EXPECT_TRUE(HasError(Create(Pvc(), pvc), "spec.accessModes",
                       "Required value: at least 1 access mode is required"));
  pvc["spec"]["accessModes"] = {"ReadWriteSometimes"};
  FieldErrors errors = Create(Pvc(), pvc);
  ASSERT_NE(Find(errors, "spec.accessModes"), nullptr) << Describe(errors);
  EXPECT_EQ(Find(errors, "spec.accessModes")->ToString(),
            "spec.accessModes: Unsupported value: \"ReadWriteSometimes\": supported values: "
            "\"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", \"ReadWriteOncePod\"");
  pvc["spec"]["accessModes"] = {"ReadWriteOncePod", "ReadWriteOnce"};
  EXPECT_TRUE(HasError(Create(Pvc(), pvc), "spec.accessModes",
                       "Forbidden: may not use ReadWriteOncePod with other access modes"));
  pvc["spec"]["accessModes"] = {"ReadWriteOncePod"};
  EXPECT_TRUE(NoErrors(Create(Pvc(), pvc)));
}

TEST(ValidationPvc, VolumeModeSupported) {
  Json pvc = ValidPvc();
  pvc["spec"]["volumeMode"] = "Blok";
  EXPECT_TRUE(HasError(Create(Pvc(), pvc), "spec.volumeMode",
                       "Unsupported value: \"Blok\": supported values: \"Block\", \"Filesystem\""));
}

TEST(ValidationPvc, StorageRequestRequiredPositiveAndAQuantity) {
  Json pvc = ValidPvc();
  pvc["spec"]["resources"]["requests"].erase("storage");
  EXPECT_TRUE(HasError(Create(Pvc(), pvc), "spec.resources[storage]", "Required value"));

  pvc["spec"]["resources"]["requests"]["storage"] = "2Gx";
  FieldErrors errors = Create(Pvc(), pvc);
  EXPECT_TRUE(HasError(errors, "spec.resources.requests[storage]",
                       "Invalid value: \"2Gx\": quantities must match the regular expression"));
  EXPECT_EQ(errors.size(), 1u) << Describe(errors);

  pvc["spec"]["resources"]["requests"]["storage"] = "0";
  EXPECT_TRUE(HasError(Create(Pvc(), pvc), "spec.resources[storage]",
                       "Invalid value: \"0\": must be greater than zero"));

  for (Json good : {Json("1.5G"), Json("500Mi"), Json(5), Json("1e9")}) {
    pvc["spec"]["resources"]["requests"]["storage"] = good;
    EXPECT_TRUE(NoErrors(Create(Pvc(), pvc))) << good.dump();
  }
}

TEST(ValidationPvc, OtherResourceQuantitiesChecked) {
  Json pvc = ValidPvc();
  pvc["spec"]["resources"]["limits"] = {{"storage", "-1Gi"}};
  EXPECT_TRUE(HasError(Create(Pvc(), pvc), "spec.resources.limits[storage]",
                       "Invalid value: \"-1Gi\": must be greater than or equal to 0"));
}

TEST(ValidationPvc, SelectorAndStorageClassChecked) {
  Json pvc = ValidPvc();
  pvc["spec"]["selector"] = Json::parse(
      R"({"matchExpressions": [{"key": "node", "operator": "Near", "values": ["a"]},
                               {"key": "zone", "operator": "In"}]})");
  pvc["spec"]["storageClassName"] = "Not_A_Class";
  FieldErrors errors = Create(Pvc(), pvc);
  EXPECT_TRUE(HasError(errors, "spec.selector.matchExpressions[0].operator",
                       "Invalid value: \"Near\": not a valid selector operator"));
  EXPECT_TRUE(HasError(errors, "spec.selector.matchExpressions[1].values",
                       "Required value: must be specified when `operator` is 'In' or 'NotIn'"));
  EXPECT_TRUE(HasError(errors, "spec.storageClassName", "Invalid value: \"Not_A_Class\": "));
}

TEST(ValidationPvcUpdate, StorageMayGrowButNeverShrink) {
  Json old_pvc = ValidPvc();
  Json pvc = ValidPvc();
  pvc["spec"]["resources"]["requests"]["storage"] = "3Gi";
  EXPECT_TRUE(NoErrors(Update(Pvc(), pvc, old_pvc)));
  pvc["spec"]["resources"]["requests"]["storage"] = "2048Mi";  // the same size, spelled otherwise
  EXPECT_TRUE(NoErrors(Update(Pvc(), pvc, old_pvc)));
  pvc["spec"]["resources"]["requests"]["storage"] = "1Gi";
  FieldErrors errors = Update(Pvc(), pvc, old_pvc);
  ASSERT_EQ(errors.size(), 1u) << Describe(errors);
  EXPECT_EQ(
      errors[0].ToString(),
      "spec.resources.requests.storage: Forbidden: field can not be less than previous value");
}

TEST(ValidationPvcUpdate, RestOfSpecImmutable) {
  Json old_pvc = ValidPvc();
  Json pvc = ValidPvc();
  pvc["spec"]["accessModes"] = {"ReadWriteMany"};
  FieldErrors errors = Update(Pvc(), pvc, old_pvc);
  EXPECT_TRUE(HasError(errors, "spec",
                       "Forbidden: spec is immutable after creation except resources.requests and "
                       "volumeAttributesClassName for bound claims\n  accessModes: "
                       "[\"ReadWriteOnce\"] -> [\"ReadWriteMany\"]"));
}

TEST(ValidationPvcUpdate, VolumeNameAndClassMaySetOnce) {
  Json old_pvc = ValidPvc();
  Json pvc = ValidPvc();
  pvc["spec"]["volumeName"] = "pv1";
  pvc["spec"]["storageClassName"] = "hostpath-csi";
  EXPECT_TRUE(NoErrors(Update(Pvc(), pvc, old_pvc)));
  Json rebound = pvc;
  rebound["spec"]["volumeName"] = "pv2";
  EXPECT_TRUE(HasError(Update(Pvc(), rebound, pvc), "spec", "Forbidden: spec is immutable"));
  Json reclassed = pvc;
  reclassed["spec"]["storageClassName"] = "other";
  EXPECT_TRUE(HasError(Update(Pvc(), reclassed, pvc), "spec", "Forbidden: spec is immutable"));
}

// ---- PersistentVolume --------------------------------------------------------------------------

TEST(ValidationPv, Defaults) {
  Json pv = ValidPv();
  ApplyDefaults(Pv(), pv);
  EXPECT_EQ(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
  EXPECT_EQ(pv["spec"]["volumeMode"], "Filesystem");
  EXPECT_EQ(pv["status"]["phase"], "Pending");
  EXPECT_TRUE(NoErrors(ValidateCreate(Pv(), pv)));
}

TEST(ValidationPv, ExactlyOneVolumeSource) {
  Json pv = ValidPv();
  pv["spec"].erase("local");
  EXPECT_TRUE(HasError(Create(Pv(), pv), "spec", "Required value: must specify a volume type"));
  pv = ValidPv();
  pv["spec"]["hostPath"] = {{"path", "/var/disks"}};
  EXPECT_TRUE(HasError(Create(Pv(), pv), "spec.local",
                       "Forbidden: may not specify more than 1 volume type"));
}

TEST(ValidationPv, LocalRequiresNodeAffinity) {
  Json pv = ValidPv();
  pv["spec"].erase("nodeAffinity");
  EXPECT_TRUE(HasError(Create(Pv(), pv), "spec.nodeAffinity",
                       "Required value: Local volume requires node affinity"));
  pv["spec"]["nodeAffinity"] = {{"required", {{"nodeSelectorTerms", Json::array()}}}};
  EXPECT_TRUE(HasError(Create(Pv(), pv), "spec.nodeAffinity.required.nodeSelectorTerms",
                       "Required value: must have at least one node selector term"));
}

TEST(ValidationPv, SourceFieldsChecked) {
  Json pv = ValidPv();
  pv["spec"]["local"]["path"] = "/mnt/../etc";
  EXPECT_TRUE(HasError(Create(Pv(), pv), "spec.local.path",
                       "Invalid value: \"/mnt/../etc\": must not contain '..'"));
  pv = ValidPv();
  pv["spec"].erase("local");
  pv["spec"]["csi"] = {{"driver", "kubevirt.io.hostpath-provisioner"}};
  EXPECT_TRUE(HasError(Create(Pv(), pv), "spec.csi.volumeHandle", "Required value"));
}

TEST(ValidationPv, CapacityAccessModesAndPolicy) {
  Json pv = ValidPv();
  pv["spec"].erase("capacity");
  pv["spec"].erase("accessModes");
  pv["spec"]["persistentVolumeReclaimPolicy"] = "Shred";
  FieldErrors errors = Create(Pv(), pv);
  EXPECT_TRUE(HasError(errors, "spec.capacity", "Required value"));
  EXPECT_TRUE(HasError(errors, "spec.accessModes", "Required value"));
  EXPECT_TRUE(HasError(errors, "spec.persistentVolumeReclaimPolicy",
                       "Unsupported value: \"Shred\": supported values: \"Delete\", \"Recycle\", "
                       "\"Retain\""));
  pv = ValidPv();
  pv["spec"]["capacity"]["storage"] = "lots";
  EXPECT_TRUE(HasError(Create(Pv(), pv), "spec.capacity[storage]",
                       "Invalid value: \"lots\": quantities must match"));
}

TEST(ValidationPvUpdate, VolumeSourceImmutable) {
  Json old_pv = ValidPv();
  Json pv = ValidPv();
  pv["spec"]["local"]["path"] = "/mnt/disk2";
  EXPECT_TRUE(HasError(Update(Pv(), pv, old_pv), "spec.persistentvolumesource",
                       "Forbidden: spec.persistentvolumesource is immutable after creation"));
  pv = ValidPv();
  pv["spec"]["capacity"]["storage"] = "20Gi";  // resizing a PV is allowed
  pv["spec"]["claimRef"] = {{"name", "disk"}, {"namespace", "default"}};
  EXPECT_TRUE(NoErrors(Update(Pv(), pv, old_pv)));
  pv["spec"]["volumeMode"] = "Block";
  EXPECT_TRUE(HasError(Update(Pv(), pv, old_pv), "spec.volumeMode",
                       "Invalid value: \"Block\": field is immutable"));
}

// ---- StorageClass ------------------------------------------------------------------------------

TEST(ValidationStorageClass, Defaults) {
  Json sc = ValidStorageClass();
  ApplyDefaults(Sc(), sc);
  EXPECT_EQ(sc["reclaimPolicy"], "Delete");
  EXPECT_EQ(sc["volumeBindingMode"], "Immediate");
  EXPECT_TRUE(NoErrors(ValidateCreate(Sc(), sc)));
}

TEST(ValidationStorageClass, ProvisionerRequiredAndEnums) {
  Json sc = ValidStorageClass();
  sc.erase("provisioner");
  sc["reclaimPolicy"] = "Recycle";
  sc["volumeBindingMode"] = "Later";
  FieldErrors errors = Create(Sc(), sc);
  EXPECT_TRUE(HasError(errors, "provisioner", "Required value"));
  EXPECT_TRUE(HasError(errors, "reclaimPolicy",
                       "Unsupported value: \"Recycle\": supported values: \"Delete\", \"Retain\""));
  EXPECT_TRUE(HasError(errors, "volumeBindingMode",
                       "Unsupported value: \"Later\": supported values: \"Immediate\", "
                       "\"WaitForFirstConsumer\""));
}

TEST(ValidationStorageClass, DefaultClassAnnotationIsBoolean) {
  Json sc = ValidStorageClass();
  sc["metadata"]["annotations"] = {{"storageclass.kubernetes.io/is-default-class", "yes"}};
  EXPECT_TRUE(HasError(Create(Sc(), sc),
                       "metadata.annotations[storageclass.kubernetes.io/is-default-class]",
                       "Invalid value: \"yes\": must be \"true\" or \"false\""));
  sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] = "true";
  EXPECT_TRUE(NoErrors(Create(Sc(), sc)));
}

TEST(ValidationStorageClassUpdate, RecipeImmutable) {
  Json old_sc = ValidStorageClass();
  Json sc = ValidStorageClass();
  sc["parameters"]["storagePool"] = "other";
  sc["provisioner"] = "example.com/other";
  sc["reclaimPolicy"] = "Retain";
  sc["volumeBindingMode"] = "WaitForFirstConsumer";
  FieldErrors errors = Update(Sc(), sc, old_sc);
  EXPECT_TRUE(HasError(errors, "parameters", "Forbidden: updates to parameters are forbidden."));
  EXPECT_TRUE(HasError(errors, "provisioner", "Forbidden: updates to provisioner are forbidden."));
  EXPECT_TRUE(
      HasError(errors, "reclaimPolicy", "Forbidden: updates to reclaimPolicy are forbidden."));
  EXPECT_TRUE(HasError(errors, "volumeBindingMode",
                       "Invalid value: \"WaitForFirstConsumer\": field is immutable"));
  EXPECT_EQ(errors.size(), 4u) << Describe(errors);

  sc = ValidStorageClass();
  sc["allowVolumeExpansion"] = true;
  sc["metadata"]["annotations"] = {{"storageclass.kubernetes.io/is-default-class", "true"}};
  EXPECT_TRUE(NoErrors(Update(Sc(), sc, old_sc)));
}

// ---- DataVolume --------------------------------------------------------------------------------

TEST(ValidationDataVolume, ValidHttpImport) { EXPECT_TRUE(NoErrors(Create(Dv(), ValidDv()))); }

TEST(ValidationDataVolume, ExactlyOneSource) {
  Json dv = ValidDv();
  dv["spec"].erase("source");
  EXPECT_TRUE(HasError(Create(Dv(), dv), "spec.source",
                       "Required value: Data volume should have either Source or SourceRef"));
  dv["spec"]["source"] = Json::object();
  EXPECT_TRUE(
      HasError(Create(Dv(), dv), "spec.source", "Required value: Missing Data volume source"));
  dv = ValidDv();
  dv["spec"]["source"]["blank"] = Json::object();
  EXPECT_TRUE(HasError(Create(Dv(), dv), "spec.source",
                       "Forbidden: Multiple Data volume sources: http, blank"));
  dv = ValidDv();
  dv["spec"]["sourceRef"] = {{"kind", "DataSource"}, {"name", "fedora"}};
  EXPECT_TRUE(HasError(Create(Dv(), dv), "spec.sourceRef",
                       "Forbidden: Data volume should have either Source or SourceRef"));
}

TEST(ValidationDataVolume, ExactlyOneOfPvcAndStorage) {
  Json dv = ValidDv();
  dv["spec"].erase("pvc");
  EXPECT_TRUE(
      HasError(Create(Dv(), dv), "spec.pvc", "Required value: Missing Data volume PVC or Storage"));
  dv = ValidDv();
  dv["spec"]["storage"] = {{"resources", {{"requests", {{"storage", "1Gi"}}}}}};
  EXPECT_TRUE(HasError(Create(Dv(), dv), "spec.storage",
                       "Forbidden: Duplicate storage definition, both target storage and target "
                       "pvc defined"));
}

TEST(ValidationDataVolume, HttpUrlMustBeHttpOrHttpsWithHost) {
  for (const char* bad : {"example.exampleurl.com", "ftp://example.com/a.img", "https://",
                          "https:///disk.img", "http://host:port/x", "https://exa mple.com/"}) {
    Json dv = ValidDv();
    dv["spec"]["source"]["http"]["url"] = bad;
    FieldErrors errors = Create(Dv(), dv);
    EXPECT_TRUE(HasError(errors, "spec.source.http.url",
                         "Invalid value: " + Json(bad).dump() + ": Invalid source URL"))
        << bad;
  }
  for (const char* good : {"http://10.0.0.1:8080/disk.img", "HTTPS://user:pw@example.com",
                           "https://[::1]:8443/a.qcow2.xz"}) {
    Json dv = ValidDv();
    dv["spec"]["source"]["http"]["url"] = good;
    EXPECT_TRUE(NoErrors(Create(Dv(), dv))) << good;
  }
  Json dv = ValidDv();
  dv["spec"]["source"]["http"].erase("url");
  EXPECT_TRUE(
      HasError(Create(Dv(), dv), "spec.source.http.url", "Required value: source URL is empty"));
}

TEST(ValidationDataVolume, HttpChecksum) {
  Json dv = ValidDv();
  dv["spec"]["source"]["http"]["checksum"] = "sha256:abc";
  EXPECT_TRUE(HasError(Create(Dv(), dv), "spec.source.http.checksum",
                       "Invalid value: \"sha256:abc\": Invalid checksum format"));
  dv["spec"]["source"]["http"]["checksum"] = "md5:" + std::string(32, 'a');
  EXPECT_TRUE(NoErrors(Create(Dv(), dv)));
}

TEST(ValidationDataVolume, RegistryUrlScheme) {
  Json dv = ValidDv();
  dv["spec"]["source"] = {{"registry", {{"url", "quay.io/containerdisks/fedora"}}}};
  EXPECT_TRUE(HasError(Create(Dv(), dv), "spec.source.registry.url",
                       "Invalid value: \"quay.io/containerdisks/fedora\": Illegal registry source "
                       "URL scheme"));
  for (const char* good :
       {"docker://quay.io/containerdisks/fedora:latest", "oci-archive:///a.tar"}) {
    dv["spec"]["source"]["registry"]["url"] = good;
    EXPECT_TRUE(NoErrors(Create(Dv(), dv))) << good;
  }
  dv["spec"]["source"]["registry"] = {{"imageStream", "fedora"}};
  EXPECT_TRUE(HasError(Create(Dv(), dv), "spec.source.registry.pullMethod",
                       "Invalid value: \"\": Source registry ImageStream is supported only with "
                       "node pull import method"));
  dv["spec"]["source"]["registry"]["pullMethod"] = "node";
  EXPECT_TRUE(NoErrors(Create(Dv(), dv)));
  dv["spec"]["source"]["registry"]["url"] = "docker://x/y";
  EXPECT_TRUE(HasError(Create(Dv(), dv), "spec.source.registry",
                       "Invalid value: {\"imageStream\":\"fedora\",\"pullMethod\":\"node\",\"url\":"
                       "\"docker://x/y\"}: Source registry should have either URL or ImageStream"));
}

TEST(ValidationDataVolume, PvcCloneSourceNeedsName) {
  Json dv = ValidDv();
  dv["spec"]["source"] = {{"pvc", {{"namespace", "source-ns"}}}};
  EXPECT_TRUE(HasError(Create(Dv(), dv), "spec.source.pvc.name", "Required value"));
  dv["spec"]["source"]["pvc"]["name"] = "golden";
  EXPECT_TRUE(NoErrors(Create(Dv(), dv)));
}

TEST(ValidationDataVolume, CloneSourceNamespaceDefaultsToTheDataVolumes) {
  Json dv = ValidDv();
  dv["metadata"]["namespace"] = "vms";
  dv["spec"]["source"] = {{"pvc", {{"name", "golden"}}}};
  ApplyDefaults(Dv(), dv);
  EXPECT_EQ(dv["spec"]["source"]["pvc"]["namespace"], "vms");
  dv["spec"]["source"]["pvc"]["namespace"] = "golden-images";
  ApplyDefaults(Dv(), dv);
  EXPECT_EQ(dv["spec"]["source"]["pvc"]["namespace"], "golden-images");
}

TEST(ValidationDataVolume, PvcApiNeedsOneAccessModeAndASize) {
  Json dv = ValidDv();
  dv["spec"]["pvc"].erase("accessModes");
  EXPECT_TRUE(HasError(Create(Dv(), dv), "spec.pvc.accessModes",
                       "Required value: at least 1 access mode is required"));
  dv["spec"]["pvc"]["accessModes"] = {"ReadWriteOnce", "ReadWriteMany"};
  EXPECT_TRUE(HasError(Create(Dv(), dv), "spec.pvc.accessModes", "Invalid value: "));
  dv = ValidDv();
  dv["spec"]["pvc"]["resources"]["requests"].erase("storage");
  EXPECT_TRUE(HasError(Create(Dv(), dv), "spec.pvc.resources.requests.storage",
                       "Required value: PVC size is missing"));
}

TEST(ValidationDataVolume, StorageApiSizeOptionalOnlyForClones) {
  Json dv = ValidDv();
  dv["spec"].erase("pvc");
  dv["spec"]["storage"] = Json::object();
  EXPECT_TRUE(HasError(Create(Dv(), dv), "spec.storage.resources.requests.storage",
                       "Required value: Storage size is missing"));
  dv["spec"]["source"] = {{"pvc", {{"name", "golden"}, {"namespace", "images"}}}};
  EXPECT_TRUE(NoErrors(Create(Dv(), dv)));
  dv["spec"].erase("source");
  dv["spec"]["sourceRef"] = {{"kind", "DataSource"}, {"name", "fedora"}};
  EXPECT_TRUE(NoErrors(Create(Dv(), dv)));
}

TEST(ValidationDataVolume, SizeMustBeAtLeastOneMebibyte) {
  Json dv = ValidDv();
  dv["spec"]["pvc"]["resources"]["requests"]["storage"] = "0";
  EXPECT_TRUE(HasError(Create(Dv(), dv), "spec.pvc.resources.requests.storage",
                       "Invalid value: \"0\": PVC size can't be equal or less than zero"));
  dv["spec"]["pvc"]["resources"]["requests"]["storage"] = "512Ki";
  EXPECT_TRUE(HasError(Create(Dv(), dv), "spec.pvc.resources.requests.storage",
                       "Invalid value: \"512Ki\": PVC size should be at least 1MiB"));
  dv["spec"]["pvc"]["resources"]["requests"]["storage"] = "2Gx";
  EXPECT_TRUE(HasError(Create(Dv(), dv), "spec.pvc.resources.requests[storage]",
                       "Invalid value: \"2Gx\": quantities must match"));
}

TEST(ValidationDataVolume, ContentTypeAndPreallocation) {
  Json dv = ValidDv();
  dv["spec"]["contentType"] = "zip";
  dv["spec"]["preallocation"] = "yes";
  FieldErrors errors = Create(Dv(), dv);
  EXPECT_TRUE(HasError(errors, "spec.contentType",
                       "Unsupported value: \"zip\": supported values: \"kubevirt\", \"archive\""));
  EXPECT_TRUE(HasError(errors, "spec.preallocation", "Invalid value: \"yes\": must be a boolean"));
  dv = ValidDv();
  dv["spec"]["source"] = {{"blank", Json::object()}};
  dv["spec"]["contentType"] = "archive";
  EXPECT_TRUE(HasError(Create(Dv(), dv), "spec.contentType",
                       "Invalid value: \"archive\": SourceType cannot be blank and the contentType "
                       "be archive"));
  dv["spec"]["source"] = {{"registry", {{"url", "docker://quay.io/a/b"}}}};
  EXPECT_TRUE(HasError(Create(Dv(), dv), "spec.contentType",
                       "Invalid value: \"archive\": ContentType must be kubevirt when Source is "
                       "Registry"));
  dv["spec"]["contentType"] = "kubevirt";
  dv["spec"]["preallocation"] = true;
  EXPECT_TRUE(NoErrors(Create(Dv(), dv)));
}

TEST(ValidationDataVolume, SourceRef) {
  Json dv = ValidDv();
  dv["spec"].erase("source");
  dv["spec"]["sourceRef"] = {{"kind", "PersistentVolumeClaim"}};
  FieldErrors errors = Create(Dv(), dv);
  EXPECT_TRUE(HasError(errors, "spec.sourceRef.kind",
                       "Unsupported value: \"PersistentVolumeClaim\": supported values: "
                       "\"DataSource\""));
  EXPECT_TRUE(HasError(errors, "spec.sourceRef.name", "Required value: Missing sourceRef name"));
  dv["spec"]["sourceRef"] = {{"name", "fedora"}};
  EXPECT_TRUE(
      HasError(Create(Dv(), dv), "spec.sourceRef.kind", "Required value: Missing sourceRef kind"));
}

TEST(ValidationDataVolume, ExternalPopulationExcludesSources) {
  Json dv = ValidDv();
  dv["spec"]["pvc"]["dataSourceRef"] = {
      {"apiGroup", "example.com"}, {"kind", "Populator"}, {"name", "p"}};
  EXPECT_TRUE(HasError(Create(Dv(), dv), "spec.source",
                       "Forbidden: External population is incompatible with Source and SourceRef"));
  dv["spec"].erase("source");
  EXPECT_TRUE(NoErrors(Create(Dv(), dv)));
}

TEST(ValidationDataVolumeUpdate, SpecImmutableMetadataNot) {
  Json old_dv = ValidDv();
  Json dv = ValidDv();
  dv["metadata"]["labels"] = {{"os", "fedora"}};
  dv["metadata"]["annotations"] = {{"cdi.kubevirt.io/storage.bind.immediate.requested", "true"}};
  EXPECT_TRUE(NoErrors(Update(Dv(), dv, old_dv)));
  dv["spec"]["pvc"]["resources"]["requests"]["storage"] = "5Gi";
  FieldErrors errors = Update(Dv(), dv, old_dv);
  ASSERT_EQ(errors.size(), 1u) << Describe(errors);
  EXPECT_TRUE(HasError(errors, "spec", "Forbidden: Cannot update DataVolume Spec\n  pvc: "));
}

TEST(ValidationDataVolumeUpdate, WarmImportCheckpointsMayAdvance) {
  Json old_dv = ValidDv();
  old_dv["spec"]["source"] = Json::parse(R"({"vddk": {"url": "https://vcenter.example.com",
      "secretRef": "s", "uuid": "u", "backingFile": "[ds] vm.vmdk", "thumbprint": "t"}})");
  old_dv["spec"]["checkpoints"] = Json::parse(R"([{"previous": "", "current": "snap-1"}])");
  Json dv = old_dv;
  dv["spec"]["checkpoints"].push_back({{"previous", "snap-1"}, {"current", "snap-2"}});
  dv["spec"]["finalCheckpoint"] = true;
  EXPECT_TRUE(NoErrors(Update(Dv(), dv, old_dv)));
}

TEST(ValidationDataVolume, VmDataVolumeTemplatesUseTheSameRules) {
  const Kind& vm = KindOf("kubevirt.io", "VirtualMachine");
  Json object = Json::parse(R"({
    "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
    "metadata": {"name": "vm", "namespace": "default"},
    "spec": {
      "running": false,
      "dataVolumeTemplates": [{"metadata": {"name": "root"},
        "spec": {"source": {"http": {"url": "nope"}}, "storage": {}}}],
      "template": {"spec": {"domain": {}, "volumes": [{"name": "root", "dataVolume": {"name": "root"}}]}}
    }
  })");
  FieldErrors errors = Create(vm, object);
  EXPECT_TRUE(HasError(errors, "spec.dataVolumeTemplates[0].spec.source.http.url",
                       "Invalid value: \"nope\": Invalid source URL"));
  EXPECT_TRUE(HasError(errors,
                       "spec.dataVolumeTemplates[0].spec.storage.resources.requests.storage",
                       "Required value: Storage size is missing"));
}

// ---- StorageProfile, CDIConfig, HyperConverged, HostPathProvisioner, UploadTokenRequest
// ----------

TEST(ValidationStorageProfile, CloneStrategyAndClaimPropertySets) {
  const Kind& sp = KindOf("cdi.kubevirt.io", "StorageProfile");
  Json object = Json::parse(R"({"metadata": {"name": "hostpath-csi"}, "spec": {
    "cloneStrategy": "fast",
    "claimPropertySets": [{"accessModes": ["ReadWriteAlways"]}]}})");
  FieldErrors errors = Create(sp, object);
  EXPECT_TRUE(HasError(errors, "spec.cloneStrategy",
                       "Unsupported value: \"fast\": supported values: \"copy\", \"snapshot\", "
                       "\"csi-clone\""));
  EXPECT_TRUE(HasError(errors, "spec.claimPropertySets[0].accessModes", "Unsupported value: "));
  EXPECT_TRUE(HasError(errors, "spec.claimPropertySets[0].volumeMode", "Required value"));
  object["spec"] = Json::parse(R"({"cloneStrategy": "snapshot",
    "claimPropertySets": [{"accessModes": ["ReadWriteMany"], "volumeMode": "Block"}]})");
  EXPECT_TRUE(NoErrors(Create(sp, object)));
}

TEST(ValidationHyperConverged, OverheadAndResourceQuantities) {
  const Kind& hco = KindOf("hco.kubevirt.io", "HyperConverged");
  Json object = Json::parse(R"({"metadata": {"name": "kubevirt-hyperconverged",
    "namespace": "openshift-cnv"}, "spec": {
      "filesystemOverhead": {"global": "1.5", "storageClass": {"hostpath-csi": "0.1234"}},
      "resourceRequirements": {"storageWorkloads": {"limits": {"cpu": "lots"}}}}})");
  FieldErrors errors = Create(hco, object);
  EXPECT_TRUE(HasError(errors, "spec.filesystemOverhead.global", "Invalid value: \"1.5\": "));
  EXPECT_TRUE(HasError(errors, "spec.filesystemOverhead.storageClass[hostpath-csi]",
                       "Invalid value: \"0.1234\": "));
  EXPECT_TRUE(HasError(errors, "spec.resourceRequirements.storageWorkloads.limits[cpu]",
                       "Invalid value: \"lots\": quantities must match"));
}

TEST(ValidationCdiConfig, Overhead) {
  const Kind& config = KindOf("cdi.kubevirt.io", "CDIConfig");
  Json object = Json::parse(
      R"({"metadata": {"name": "config"}, "spec": {"filesystemOverhead": {"global": "0.055"}}})");
  EXPECT_TRUE(NoErrors(Create(config, object)));
  object["spec"]["filesystemOverhead"]["global"] = "5%";
  EXPECT_TRUE(
      HasError(Create(config, object), "spec.filesystemOverhead.global", "Invalid value: "));
}

TEST(ValidationHostPathProvisioner, PoolsOrPathConfig) {
  const Kind& hpp = KindOf("hostpathprovisioner.kubevirt.io", "HostPathProvisioner");
  Json object = Json::parse(R"({"metadata": {"name": "hostpath-provisioner"}, "spec": {}})");
  EXPECT_TRUE(HasError(Create(hpp, object), "spec.storagePools",
                       "Required value: either pathConfig or storage pools must be set"));
  object["spec"]["storagePools"] = Json::parse(
      R"([{"name": "a", "path": "/var/a"}, {"name": "a", "path": "/var/b",
          "pvcTemplate": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gx"}}}}])");
  FieldErrors errors = Create(hpp, object);
  EXPECT_TRUE(HasError(errors, "spec.storagePools[1].name", "Duplicate value: \"a\""));
  EXPECT_TRUE(HasError(errors, "spec.storagePools[1].pvcTemplate.resources.requests[storage]",
                       "Invalid value: \"5Gx\": quantities must match"));
}

TEST(ValidationUploadTokenRequest, PvcNameRequired) {
  const Kind& utr = KindOf("upload.cdi.kubevirt.io", "UploadTokenRequest");
  Json object = Json::parse(R"({"metadata": {"name": "t", "namespace": "default"}, "spec": {}})");
  EXPECT_TRUE(HasError(Create(utr, object), "spec.pvcName", "Required value"));
  object["spec"]["pvcName"] = "upload-datavolume";
  EXPECT_TRUE(NoErrors(Create(utr, object)));
}

// ---- Secret and ConfigMap
// ------------------------------------------------------------------------

TEST(ValidationSecret, DefaultsTypeAndFoldsStringData) {
  const Kind& secret = KindOf("", "Secret");
  Json object = Json::parse(R"({"metadata": {"name": "creds", "namespace": "default"},
    "data": {"accessKeyId": "dXNlcg=="}, "stringData": {"secretKey": "hello", "accessKeyId": "admin"}})");
  ApplyDefaults(secret, object);
  EXPECT_EQ(object["type"], "Opaque");
  EXPECT_FALSE(object.contains("stringData"));
  EXPECT_EQ(object["data"]["secretKey"], "aGVsbG8=");
  EXPECT_EQ(object["data"]["accessKeyId"], "YWRtaW4=");  // stringData wins, as upstream
  EXPECT_TRUE(NoErrors(ValidateCreate(secret, object)));
}

TEST(ValidationSecret, KeysBase64AndTypeRequirements) {
  const Kind& secret = KindOf("", "Secret");
  Json object = Json::parse(R"({"metadata": {"name": "tls", "namespace": "default"},
    "type": "kubernetes.io/tls", "data": {"bad key": "aGk=", "tls.crt": "not base64!"}})");
  FieldErrors errors = Create(secret, object);
  EXPECT_TRUE(HasError(errors, "data[bad key]",
                       "Invalid value: \"bad key\": a valid config key must consist of "
                       "alphanumeric characters, '-', '_' or '.'"));
  EXPECT_TRUE(
      HasError(errors, "data[tls.crt]", "Invalid value: \"<value omitted>\": must be base64"));
  EXPECT_TRUE(HasError(errors, "data[tls.key]", "Required value"));
}

TEST(ValidationSecretUpdate, ImmutableSecretsStayThatWay) {
  const Kind& secret = KindOf("", "Secret");
  Json old_object = Json::parse(R"({"metadata": {"name": "s", "namespace": "default"},
    "type": "Opaque", "immutable": true, "data": {"a": "YQ=="}})");
  Json object = old_object;
  object["data"]["a"] = "Yg==";
  object["immutable"] = false;
  object["type"] = "kubernetes.io/basic-auth";
  object["data"]["username"] = "";
  FieldErrors errors = Update(secret, object, old_object);
  EXPECT_TRUE(HasError(errors, "data", "Forbidden: field is immutable when `immutable` is set"));
  EXPECT_TRUE(
      HasError(errors, "immutable", "Forbidden: field is immutable when `immutable` is set"));
  EXPECT_TRUE(
      HasError(errors, "type", "Invalid value: \"kubernetes.io/basic-auth\": field is immutable"));
  Json relabelled = old_object;
  relabelled["metadata"]["labels"] = {{"a", "b"}};
  EXPECT_TRUE(NoErrors(Update(secret, relabelled, old_object)));
}

TEST(ValidationConfigMap, KeysAndImmutability) {
  const Kind& cm = KindOf("", "ConfigMap");
  Json object = Json::parse(R"({"metadata": {"name": "ca", "namespace": "default"},
    "data": {"ca.pem": "-----BEGIN", "..x": "y"}, "binaryData": {"ca.pem": "AA=="}})");
  FieldErrors errors = Create(cm, object);
  EXPECT_TRUE(HasError(errors, "data[..x]", "Invalid value: \"..x\": must not start with '..'"));
  EXPECT_TRUE(HasError(errors, "binaryData[ca.pem]",
                       "Invalid value: \"ca.pem\": duplicate of key present in data"));
  Json old_object = Json::parse(
      R"({"metadata": {"name": "ca", "namespace": "default"}, "immutable": true, "data": {"a": "1"}})");
  Json changed = old_object;
  changed["data"]["a"] = "2";
  EXPECT_TRUE(HasError(Update(cm, changed, old_object), "data",
                       "Forbidden: field is immutable when `immutable` is set"));
  Json mutable_before = old_object;
  mutable_before.erase("immutable");
  EXPECT_TRUE(NoErrors(Update(cm, changed, mutable_before)));
}

// ---- Namespace and Event -----------------------------------------------------------------------

TEST(ValidationNamespace, Defaults) {
  const Kind& ns = KindOf("", "Namespace");
  Json object = {{"metadata", {{"name", "openshift-cnv"}}}};
  ApplyDefaults(ns, object);
  EXPECT_EQ(object["metadata"]["labels"]["kubernetes.io/metadata.name"], "openshift-cnv");
  EXPECT_EQ(object["status"]["phase"], "Active");
}

TEST(ValidationEvent, DefaultsForDescribe) {
  const Kind& ev = KindOf("", "Event");
  Json object = Json::parse(R"({"metadata": {"name": "dv.1", "namespace": "default"},
    "involvedObject": {"kind": "DataVolume", "name": "dv", "namespace": "default"},
    "reason": "ImportSucceeded", "message": "done", "reportingComponent": "datavolume-controller"})");
  ApplyDefaults(ev, object);
  EXPECT_EQ(object["type"], "Normal");
  EXPECT_EQ(object["count"], 1);
  EXPECT_EQ(object["source"]["component"], "datavolume-controller");
  ASSERT_TRUE(object["firstTimestamp"].is_string());
  EXPECT_TRUE(std::regex_match(object["firstTimestamp"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
  EXPECT_EQ(object["lastTimestamp"], object["firstTimestamp"]);
  EXPECT_TRUE(NoErrors(ValidateCreate(ev, object)));
}

TEST(ValidationEvent, InvolvedObjectRequiredAndInTheEventsNamespace) {
  const Kind& ev = KindOf("", "Event");
  Json object =
      Json::parse(R"({"metadata": {"name": "e", "namespace": "default"}, "type": "Loud"})");
  FieldErrors errors = Create(ev, object);
  EXPECT_TRUE(HasError(errors, "involvedObject", "Required value"));
  EXPECT_TRUE(HasError(errors, "type", "Unsupported value: \"Loud\""));
  object["type"] = "Warning";
  object["involvedObject"] = {{"kind", "DataVolume"}, {"namespace", "vms"}};
  errors = Create(ev, object);
  EXPECT_TRUE(HasError(errors, "involvedObject.name", "Required value"));
  EXPECT_TRUE(HasError(errors, "involvedObject.namespace",
                       "Invalid value: \"vms\": does not match event.namespace"));
  object["involvedObject"] = {{"kind", "PersistentVolume"}, {"name", "pv1"}};  // cluster-scoped
  EXPECT_TRUE(NoErrors(Create(ev, object)));
}

// ---- Snapshots ---------------------------------------------------------------------------------

TEST(ValidationVolumeSnapshot, ExactlyOneSourceAndImmutable) {
  const Kind& vs = KindOf("snapshot.storage.k8s.io", "VolumeSnapshot");
  Json object = Json::parse(R"({"metadata": {"name": "s", "namespace": "default"},
    "spec": {"source": {}, "volumeSnapshotClassName": ""}})");
  FieldErrors errors = Create(vs, object);
  EXPECT_TRUE(HasError(errors, "spec.source",
                       "Invalid value: {}: exactly one of volumeSnapshotContentName and "
                       "persistentVolumeClaimName must be set"));
  EXPECT_TRUE(HasError(errors, "spec.volumeSnapshotClassName",
                       "Invalid value: \"\": volumeSnapshotClassName must not be the empty string "
                       "when set"));
  Json valid = Json::parse(R"({"metadata": {"name": "s", "namespace": "default"},
    "spec": {"source": {"persistentVolumeClaimName": "disk"}}})");
  EXPECT_TRUE(NoErrors(Create(vs, valid)));
  Json changed = valid;
  changed["spec"]["source"]["persistentVolumeClaimName"] = "other";
  EXPECT_TRUE(HasError(Update(vs, changed, valid), "spec.source.persistentVolumeClaimName",
                       "Invalid value: \"other\": persistentVolumeClaimName is immutable"));
}

TEST(ValidationVolumeSnapshotClass, DriverAndDeletionPolicy) {
  const Kind& vsc = KindOf("snapshot.storage.k8s.io", "VolumeSnapshotClass");
  Json object = Json::parse(R"({"metadata": {"name": "c"}, "deletionPolicy": "Keep"})");
  FieldErrors errors = Create(vsc, object);
  EXPECT_TRUE(HasError(errors, "driver", "Required value"));
  EXPECT_TRUE(HasError(errors, "deletionPolicy",
                       "Unsupported value: \"Keep\": supported values: \"Delete\", \"Retain\""));
  object = Json::parse(R"({"metadata": {"name": "c"}, "driver": "kubevirt.io.hostpath-provisioner",
    "deletionPolicy": "Delete"})");
  EXPECT_TRUE(NoErrors(Create(vsc, object)));
}

TEST(ValidationVolumeSnapshotContent, HandlesAndReference) {
  const Kind& content = KindOf("snapshot.storage.k8s.io", "VolumeSnapshotContent");
  Json object = Json::parse(R"({"metadata": {"name": "c"}, "spec": {"driver": "d",
    "deletionPolicy": "Delete", "source": {"volumeHandle": "v"},
    "volumeSnapshotRef": {"name": "s"}}})");
  EXPECT_TRUE(HasError(Create(content, object), "spec.volumeSnapshotRef",
                       "Invalid value: {\"name\":\"s\"}: both spec.volumeSnapshotRef.name and "
                       "spec.volumeSnapshotRef.namespace must be set"));
  object["spec"]["volumeSnapshotRef"]["namespace"] = "default";
  EXPECT_TRUE(NoErrors(Create(content, object)));
  Json changed = object;
  changed["spec"]["source"]["volumeHandle"] = "w";
  EXPECT_TRUE(HasError(Update(content, changed, object), "spec.source.volumeHandle",
                       "Invalid value: \"w\": volumeHandle is immutable"));
}

TEST(ValidationVmSnapshot, SourceMustBeAVirtualMachine) {
  const Kind& snap = KindOf("snapshot.kubevirt.io", "VirtualMachineSnapshot");
  Json object = Json::parse(R"({"metadata": {"name": "s", "namespace": "default"},
    "spec": {"source": {"kind": "Pod"}}})");
  FieldErrors errors = Create(snap, object);
  EXPECT_TRUE(HasError(errors, "spec.source.apiGroup", "Required value: missing apiGroup"));
  EXPECT_TRUE(HasError(errors, "spec.source.kind", "Invalid value: \"Pod\": invalid kind"));
  EXPECT_TRUE(HasError(errors, "spec.source.name", "Required value"));
  object["spec"]["source"] = {
      {"apiGroup", "kubevirt.io"}, {"kind", "VirtualMachine"}, {"name", "vm"}};
  EXPECT_TRUE(NoErrors(Create(snap, object)));
  Json changed = object;
  changed["spec"]["source"]["name"] = "other";
  EXPECT_TRUE(HasError(Update(snap, changed, object), "spec",
                       "Forbidden: spec is immutable after creation"));
}

TEST(ValidationVmRestore, TargetAndSnapshotName) {
  const Kind& restore = KindOf("snapshot.kubevirt.io", "VirtualMachineRestore");
  Json object = Json::parse(R"({"metadata": {"name": "r", "namespace": "default"},
    "spec": {"target": {"apiGroup": "apps", "kind": "VirtualMachine", "name": "vm"}}})");
  FieldErrors errors = Create(restore, object);
  EXPECT_TRUE(
      HasError(errors, "spec.target.apiGroup", "Invalid value: \"apps\": invalid apiGroup"));
  EXPECT_TRUE(HasError(errors, "spec.virtualMachineSnapshotName", "Required value"));
}

TEST(ValidationVirtualMachine, TemplatesAndRunStrategy) {
  const Kind& vm = KindOf("kubevirt.io", "VirtualMachine");
  Json object = Json::parse(R"({"metadata": {"name": "vm", "namespace": "default"}, "spec": {
    "running": true, "runStrategy": "Always",
    "dataVolumeTemplates": [{"metadata": {}, "spec": {"source": {"blank": {}},
      "storage": {"resources": {"requests": {"storage": "1Gi"}}}}},
      {"metadata": {"name": "orphan"}, "spec": {"source": {"blank": {}},
      "storage": {"resources": {"requests": {"storage": "1Gi"}}}}}],
    "template": {"spec": {"domain": {"resources": {"requests": {"memory": "256Mx"}}}}}}})");
  FieldErrors errors = Create(vm, object);
  EXPECT_TRUE(HasError(errors, "spec.running",
                       "Invalid value: true: Running and RunStrategy are mutually exclusive"));
  EXPECT_TRUE(HasError(errors, "spec.dataVolumeTemplates[0].metadata.name",
                       "Required value: 'name' field must not be empty for DataVolumeTemplate "
                       "entry spec.dataVolumeTemplates[0]."));
  EXPECT_TRUE(HasError(errors, "spec.dataVolumeTemplates[1]",
                       "Required value: DataVolumeTemplate entry spec.dataVolumeTemplates[1] must "
                       "be referenced in the VMI template's 'volumes' list"));
  EXPECT_TRUE(HasError(errors, "spec.template.spec.domain.resources.requests[memory]",
                       "Invalid value: \"256Mx\": quantities must match"));
  object["spec"].erase("template");
  EXPECT_TRUE(HasError(Create(vm, object), "spec.template",
                       "Required value: missing virtual machine template."));
}

TEST(ValidationPvcUpdate, GrowthRefusedWhenTheBinderRecordedTheClassForbidsIt) {
  Json old_pvc = ValidPvc();
  old_pvc["metadata"]["annotations"] = {{"volume.vdisk.io/allow-volume-expansion", "false"}};
  Json pvc = old_pvc;
  pvc["spec"]["resources"]["requests"]["storage"] = "20Gi";
  FieldErrors errors = Update(Pvc(), pvc, old_pvc);
  ASSERT_EQ(errors.size(), 1u) << Describe(errors);
  EXPECT_EQ(errors[0].ToString(),
            "spec.resources.requests.storage: Forbidden: only dynamically provisioned pvc can be "
            "resized and the storageclass that provisions the pvc must support resize");
  // Allowed, or not recorded yet (an unbound claim): the size may grow.
  old_pvc["metadata"]["annotations"]["volume.vdisk.io/allow-volume-expansion"] = "true";
  EXPECT_TRUE(NoErrors(Update(Pvc(), pvc, old_pvc)));
  old_pvc["metadata"].erase("annotations");
  EXPECT_TRUE(NoErrors(Update(Pvc(), pvc, old_pvc)));
}

}  // namespace
}  // namespace vdisk::api
