#include "api/schema.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

namespace vdisk::api {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const SchemaRegistry& Registry() { return SchemaRegistry::Get(); }

const Kind& KindOf(std::string_view api_version, std::string_view kind) {
  const Kind* k = KindRegistry::Get().ByApiVersionKind(api_version, kind);
  EXPECT_NE(k, nullptr) << api_version << " " << kind;
  static const Kind kNone;
  return k ? *k : kNone;
}

std::vector<std::string> Messages(const FieldErrors& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.ToString());
  return out;
}

// ------------------------------------------------------------------ the manifests of the spec

std::filesystem::path ExamplesDir() {
  const char* dir = std::getenv("VDISK_EXAMPLES_DIR");
  return dir ? dir : "/work/shared/spec/examples";
}

// nlohmann cannot read YAML: one python3-yaml process converts every manifest of the directory
// to JSON, {"<file name>": <object>, ...}.
Json ReadExamples(const std::filesystem::path& dir) {
  std::string command =
      "python3 -c 'import glob,json,os,sys,yaml; json.dump({os.path.basename(f): "
      "yaml.safe_load(open(f)) for f in glob.glob(os.path.join(sys.argv[1], \"*.yaml\"))}, "
      "sys.stdout)' '" +
      dir.string() + "'";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return nullptr;
  std::string text;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) text.append(buffer, n);
  if (pclose(pipe) != 0) return nullptr;
  return Json::parse(text, nullptr, false);
}

TEST(SchemaExamplesTest, EveryExampleManifestIsKnownAndValid) {
  ASSERT_TRUE(std::filesystem::is_directory(ExamplesDir())) << "no " << ExamplesDir();
  Json examples = ReadExamples(ExamplesDir());
  ASSERT_TRUE(examples.is_object()) << "could not convert the manifests";
  EXPECT_GE(examples.size(), 27u);
  for (const auto& [file, object] : examples.items()) {
    SCOPED_TRACE(file);
    ASSERT_TRUE(object.is_object());
    const Kind& kind = KindOf(object.value("apiVersion", ""), object.value("kind", ""));
    EXPECT_THAT(Registry().UnknownFields(kind, object), IsEmpty());
    EXPECT_THAT(Messages(Registry().Validate(kind, object)), IsEmpty());
  }
}

// Example 27 inline, so the VM walk is covered wherever the spec directory is missing.
const char* kVirtualMachine = R"({
  "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
  "metadata": {"name": "my-vm"},
  "spec": {
    "running": false,
    "dataVolumeTemplates": [{
      "metadata": {"name": "my-vm-rootdisk"},
      "spec": {"source": {"blank": {}}, "storage": {"resources": {"requests": {"storage": "1Gi"}}}}
    }],
    "template": {"spec": {
      "domain": {
        "devices": {"disks": [{"name": "rootdisk", "disk": {"bus": "virtio"}}]},
        "resources": {"requests": {"memory": "256Mi"}}
      },
      "volumes": [{"name": "rootdisk", "dataVolume": {"name": "my-vm-rootdisk"}}]
    }}
  }
})";

const char* kDataVolume = R"({
  "apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
  "metadata": {"name": "fedora-import"},
  "spec": {
    "source": {"http": {"url": "https://images.example.test/fedora.qcow2.xz",
                        "secretRef": "creds", "certConfigMap": "ca"}},
    "storage": {"resources": {"requests": {"storage": "10Gi"}}}
  }
})";

const char* kPersistentVolumeClaim = R"({
  "apiVersion": "v1", "kind": "PersistentVolumeClaim",
  "metadata": {"name": "iso-pvc"},
  "spec": {"volumeMode": "Block", "accessModes": ["ReadWriteOnce"],
           "resources": {"requests": {"storage": "5Gi"}}}
})";

TEST(SchemaExamplesTest, InlineManifestsAreKnownAndValid) {
  for (const char* text : {kVirtualMachine, kDataVolume, kPersistentVolumeClaim}) {
    Json object = Json::parse(text);
    const Kind& kind =
        KindOf(object["apiVersion"].get<std::string>(), object["kind"].get<std::string>());
    EXPECT_THAT(Registry().UnknownFields(kind, object), IsEmpty()) << text;
    EXPECT_THAT(Messages(Registry().Validate(kind, object)), IsEmpty()) << text;
  }
}

// ------------------------------------------------------------------ unknown fields

TEST(SchemaUnknownFieldsTest, FindsMisspelledFieldsAtDepth) {
  Json dv = Json::parse(kDataVolume);
  dv["spec"]["source"]["http"]["urll"] = "x";
  dv["spec"]["sorce"] = Json::object();
  dv["metadata"]["labelz"] = Json::object();
  EXPECT_THAT(Registry().UnknownFields(KindOf("cdi.kubevirt.io/v1beta1", "DataVolume"), dv),
              ElementsAre("metadata.labelz", "spec.sorce", "spec.source.http.urll"));
}

TEST(SchemaUnknownFieldsTest, FindsUnknownFieldsInListsAndMarkerObjects) {
  Json vm = Json::parse(kVirtualMachine);
  Json& spec = vm["spec"];
  spec["template"]["spec"]["domain"]["devices"]["disks"][0]["disk"]["buss"] = "virtio";
  spec["template"]["spec"]["volumes"][0]["dataVolume"]["nam"] = "x";
  spec["dataVolumeTemplates"][0]["spec"]["source"]["blank"]["size"] = 1;
  EXPECT_THAT(Registry().UnknownFields(KindOf("kubevirt.io/v1", "VirtualMachine"), vm),
              ElementsAre("spec.dataVolumeTemplates[0].spec.source.blank.size",
                          "spec.template.spec.domain.devices.disks[0].disk.buss",
                          "spec.template.spec.volumes[0].dataVolume.nam"));
}

TEST(SchemaUnknownFieldsTest, FindsUnknownFieldsInMapValues) {
  Json hpp = {{"apiVersion", "hostpathprovisioner.kubevirt.io/v1beta1"},
              {"kind", "HostPathProvisioner"},
              {"spec", {{"storagePools", {{{"name", "p"}, {"path", "/x"}, {"pvcTemplat", {}}}}}}}};
  EXPECT_THAT(Registry().UnknownFields(
                  KindOf("hostpathprovisioner.kubevirt.io/v1beta1", "HostPathProvisioner"), hpp),
              ElementsAre("spec.storagePools[0].pvcTemplat"));
}

TEST(SchemaUnknownFieldsTest, PreserveUnknownSubtreesAreKnown) {
  Json vm = Json::parse(kVirtualMachine);
  Json& domain = vm["spec"]["template"]["spec"]["domain"];
  domain["cpu"] = {{"cores", 2}, {"model", "host-passthrough"}, {"anything", {{"deep", true}}}};
  domain["devices"]["interfaces"] = {{{"name", "default"}, {"masquerade", Json::object()}}};
  vm["spec"]["template"]["spec"]["networks"] = {{{"name", "default"}, {"pod", Json::object()}}};
  EXPECT_THAT(Registry().UnknownFields(KindOf("kubevirt.io/v1", "VirtualMachine"), vm), IsEmpty());

  Json hco = {{"apiVersion", "hco.kubevirt.io/v1beta1"},
              {"kind", "HyperConverged"},
              {"spec",
               {{"liveMigrationConfig", {{"parallelMigrationsPerCluster", 5}}},
                {"featureGates", {{"downwardMetrics", true}}},
                {"storageImport", {{"insecureRegistries", {"r:5000"}}}}}}};
  const Kind& kind = KindOf("hco.kubevirt.io/v1beta1", "HyperConverged");
  EXPECT_THAT(Registry().UnknownFields(kind, hco), IsEmpty());
  hco["spec"]["storageImport"]["insecureRegistry"] = Json::array();
  EXPECT_THAT(Registry().UnknownFields(kind, hco),
              ElementsAre("spec.storageImport.insecureRegistry"));
}

TEST(SchemaUnknownFieldsTest, PruneRemovesOnlyUnknownFields) {
  Json dv = Json::parse(kDataVolume);
  dv["spec"]["source"]["http"]["urll"] = "x";
  dv["spec"]["storage"]["resources"]["request"] = {{"storage", "1Gi"}};
  const Kind& kind = KindOf("cdi.kubevirt.io/v1beta1", "DataVolume");
  EXPECT_THAT(Registry().PruneUnknownFields(kind, dv),
              ElementsAre("spec.source.http.urll", "spec.storage.resources.request"));
  EXPECT_EQ(dv, Json::parse(kDataVolume));
  EXPECT_THAT(Registry().PruneUnknownFields(kind, dv), IsEmpty());
}

// ------------------------------------------------------------------ validation

TEST(SchemaValidateTest, WrongTypeIsReportedLikeKubeApiserver) {
  Json vm = Json::parse(kVirtualMachine);
  vm["spec"]["running"] = "yes";
  EXPECT_THAT(Messages(Registry().Validate(KindOf("kubevirt.io/v1", "VirtualMachine"), vm)),
              ElementsAre("spec.running: Invalid value: \"string\": spec.running in body must be "
                          "of type boolean: \"string\""));
}

TEST(SchemaValidateTest, BadEnumListsTheSupportedValues) {
  Json pvc = Json::parse(kPersistentVolumeClaim);
  pvc["spec"]["volumeMode"] = "Blok";
  pvc["spec"]["accessModes"][0] = "ReadWriteSometimes";
  EXPECT_THAT(Messages(Registry().Validate(KindOf("v1", "PersistentVolumeClaim"), pvc)),
              ElementsAre("spec.accessModes[0]: Unsupported value: \"ReadWriteSometimes\": "
                          "supported values: \"ReadOnlyMany\", \"ReadWriteMany\", "
                          "\"ReadWriteOnce\", \"ReadWriteOncePod\"",
                          "spec.volumeMode: Unsupported value: \"Blok\": supported values: "
                          "\"Block\", \"Filesystem\""));
}

TEST(SchemaValidateTest, MissingRequiredFields) {
  Json dv = Json::parse(kDataVolume);
  dv["spec"]["source"]["http"].erase("url");
  dv["spec"]["source"]["pvc"] = {{"name", "x"}};
  const Kind& kind = KindOf("cdi.kubevirt.io/v1beta1", "DataVolume");
  EXPECT_THAT(Messages(Registry().Validate(kind, dv)),
              ElementsAre("spec.source.http.url: Required value",
                          "spec.source.pvc.namespace: Required value"));
  Json no_spec = {{"apiVersion", "cdi.kubevirt.io/v1beta1"}, {"kind", "DataVolume"}};
  EXPECT_THAT(Messages(Registry().Validate(kind, no_spec)), ElementsAre("spec: Required value"));
}

TEST(SchemaValidateTest, NullIsAnAbsentField) {
  Json vmsnapshot = {
      {"apiVersion", "snapshot.kubevirt.io/v1alpha1"},
      {"kind", "VirtualMachineSnapshot"},
      {"spec",
       {{"source", {{"apiGroup", "kubevirt.io"}, {"kind", "VirtualMachine"}, {"name", "vm"}}}}},
      {"status",
       {{"conditions", {{{"type", "Ready"}, {"status", "True"}, {"lastProbeTime", nullptr}}}}}}};
  EXPECT_THAT(Messages(Registry().Validate(
                  KindOf("snapshot.kubevirt.io/v1alpha1", "VirtualMachineSnapshot"), vmsnapshot)),
              IsEmpty());
}

TEST(SchemaValidateTest, QuantitiesArePatternCheckedStringsOrNumbers) {
  Json pvc = Json::parse(kPersistentVolumeClaim);
  const Kind& kind = KindOf("v1", "PersistentVolumeClaim");
  pvc["spec"]["resources"]["requests"]["storage"] = 5368709120;
  EXPECT_THAT(Messages(Registry().Validate(kind, pvc)), IsEmpty());
  pvc["spec"]["resources"]["requests"]["storage"] = "5Gx";
  auto errors = Messages(Registry().Validate(kind, pvc));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], ::testing::StartsWith(
                             "spec.resources.requests.storage: Invalid value: \"5Gx\": "
                             "spec.resources.requests.storage in body should match '^(\\+|-)?"));
  pvc["spec"]["resources"]["requests"]["storage"] = true;
  EXPECT_THAT(Messages(Registry().Validate(kind, pvc)),
              ElementsAre("spec.resources.requests.storage: Invalid value: \"boolean\": "
                          "spec.resources.requests.storage in body must be of type "
                          "string,number: \"boolean\""));
}

TEST(SchemaValidateTest, HostileInputIsAnErrorNotACrash) {
  Json pvc = Json::parse(kPersistentVolumeClaim);
  pvc["spec"]["resources"]["requests"]["storage"] = std::string(1 << 20, '1');
  Json deep = Json::object();
  for (int i = 0; i < 200; ++i) deep = {{"nested", deep}};
  pvc["spec"]["selector"] = {{"matchLabels", deep}};
  auto errors = Messages(Registry().Validate(KindOf("v1", "PersistentVolumeClaim"), pvc));
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_THAT(errors[0], ::testing::StartsWith("spec.resources.requests.storage: Invalid value"));
  EXPECT_THAT(errors[1], ::testing::StartsWith("spec.selector.matchLabels.nested: Invalid value: "
                                               "\"object\""));
}

TEST(SchemaValidateTest, FormatsAndPatterns) {
  const Kind& hco_kind = KindOf("hco.kubevirt.io/v1beta1", "HyperConverged");
  Json hco = {
      {"apiVersion", "hco.kubevirt.io/v1beta1"},
      {"kind", "HyperConverged"},
      {"spec",
       {{"filesystemOverhead", {{"global", "1.5"}, {"storageClass", {{"hostpath-csi", "0.1"}}}}}}}};
  EXPECT_THAT(Messages(Registry().Validate(hco_kind, hco)),
              ElementsAre("spec.filesystemOverhead.global: Invalid value: \"1.5\": "
                          "spec.filesystemOverhead.global in body should match "
                          "'^(0(?:\\.\\d{1,3})?|1)$'"));

  Json secret = {{"apiVersion", "v1"},
                 {"kind", "Secret"},
                 {"metadata", {{"name", "s"}, {"creationTimestamp", "yesterday"}}},
                 {"data", {{"ok", "aGVsbG8="}, {"bad", "not base64!"}}}};
  EXPECT_THAT(Messages(Registry().Validate(KindOf("v1", "Secret"), secret)),
              ElementsAre("data.bad: Invalid value: \"not base64!\": data.bad in body must be "
                          "of type byte: \"not base64!\"",
                          "metadata.creationTimestamp: Invalid value: \"yesterday\": "
                          "metadata.creationTimestamp in body must be of type date-time: "
                          "\"yesterday\""));

  Json dv = Json::parse(kDataVolume);
  dv["status"] = {{"restartCount", 4294967296LL}};
  EXPECT_THAT(Messages(Registry().Validate(KindOf("cdi.kubevirt.io/v1beta1", "DataVolume"), dv)),
              ElementsAre("status.restartCount: Invalid value: 4294967296: status.restartCount in "
                          "body must be of type int32: \"4294967296\""));
}

TEST(SchemaValidateTest, ListLengthLimits) {
  Json profile = {{"apiVersion", "cdi.kubevirt.io/v1beta1"},
                  {"kind", "StorageProfile"},
                  {"spec", {{"claimPropertySets", Json::array()}}}};
  for (int i = 0; i < 9; ++i) {
    profile["spec"]["claimPropertySets"].push_back(
        {{"accessModes", {"ReadWriteOnce"}}, {"volumeMode", "Block"}});
  }
  EXPECT_THAT(
      Messages(Registry().Validate(KindOf("cdi.kubevirt.io/v1beta1", "StorageProfile"), profile)),
      ElementsAre("spec.claimPropertySets: Invalid value: 9: spec.claimPropertySets in "
                  "body should have at most 8 items"));
}

TEST(SchemaValidateTest, IntegersMayBeWrittenAsIntegralFloats) {
  Json dv = Json::parse(kDataVolume);
  dv["status"] = {{"restartCount", 3.0}};
  const Kind& kind = KindOf("cdi.kubevirt.io/v1beta1", "DataVolume");
  EXPECT_THAT(Messages(Registry().Validate(kind, dv)), IsEmpty());
  dv["status"]["restartCount"] = 3.5;
  EXPECT_THAT(Messages(Registry().Validate(kind, dv)),
              ElementsAre("status.restartCount: Invalid value: \"number\": status.restartCount "
                          "in body must be of type integer: \"number\""));
}

// ------------------------------------------------------------------ strategic merge

TEST(SchemaListStrategyTest, MetadataAndConditions) {
  auto strategy = Registry().ListStrategy(KindOf("v1", "PersistentVolumeClaim"));
  auto finalizers = strategy("metadata.finalizers");
  ASSERT_TRUE(finalizers.has_value());
  EXPECT_TRUE(finalizers->merge);
  EXPECT_EQ(finalizers->merge_key, "");
  auto owners = strategy("metadata.ownerReferences");
  ASSERT_TRUE(owners.has_value());
  EXPECT_TRUE(owners->merge);
  EXPECT_EQ(owners->merge_key, "uid");
  auto conditions = strategy("status.conditions");
  ASSERT_TRUE(conditions.has_value());
  EXPECT_TRUE(conditions->merge);
  EXPECT_EQ(conditions->merge_key, "type");
  EXPECT_FALSE(strategy("spec.accessModes").has_value());
  EXPECT_FALSE(strategy("spec.nosuchfield").has_value());
  EXPECT_FALSE(strategy("metadata.labels.app").has_value());
}

TEST(SchemaListStrategyTest, ThroughListsAndOtherKinds) {
  auto node = Registry().ListStrategy(KindOf("v1", "Node"));
  ASSERT_TRUE(node("status.addresses").has_value());
  EXPECT_EQ(node("status.addresses")->merge_key, "type");
  EXPECT_EQ(node("spec.podCIDRs")->merge_key, "");

  auto vm = Registry().ListStrategy(KindOf("kubevirt.io/v1", "VirtualMachine"));
  auto spread = vm("spec.template.spec.topologySpreadConstraints");
  ASSERT_TRUE(spread.has_value());
  EXPECT_EQ(spread->merge_key, "topologyKey");
  // List indexes are left out of the path: this walks into dataVolumeTemplates' items.
  ASSERT_TRUE(vm("spec.dataVolumeTemplates.metadata.finalizers").has_value());
  EXPECT_FALSE(vm("status.conditions").has_value());  // KubeVirt declares no strategy here
}

// ------------------------------------------------------------------ the schemas themselves

bool GvkListHolds(const Json& extension, const Json& gvk) {
  if (!extension.is_array()) return false;
  for (const auto& entry : extension) {
    if (entry == gvk) return true;
  }
  return false;
}

Json GvkOf(const Kind& kind) {
  return {{"group", kind.group}, {"kind", kind.kind}, {"version", kind.version}};
}

TEST(SchemaRegistryTest, EveryKindHasASchemaWithItsGvk) {
  for (const auto& kind : KindRegistry::Get().All()) {
    SCOPED_TRACE(kind.QualifiedKind());
    const Json* schema = Registry().KindSchema(kind);
    ASSERT_NE(schema, nullptr);
    EXPECT_TRUE(
        GvkListHolds(schema->value("x-kubernetes-group-version-kind", Json()), GvkOf(kind)));
    for (const char* field : {"apiVersion", "kind", "metadata"}) {
      EXPECT_TRUE((*schema)["properties"].contains(field)) << field;
    }
    EXPECT_TRUE(schema->contains("description"));
  }
}

void ExpectRefsResolve(const Json& node, const Json& schemas, const std::string& where) {
  if (node.is_object()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (it.key() == "$ref") {
        std::string ref = it.value().get<std::string>();
        ASSERT_TRUE(ref.starts_with("#/components/schemas/")) << where << ": " << ref;
        EXPECT_TRUE(schemas.contains(ref.substr(21))) << where << ": " << ref;
      } else {
        ExpectRefsResolve(it.value(), schemas, where);
      }
    }
  } else if (node.is_array()) {
    for (const auto& item : node) ExpectRefsResolve(item, schemas, where);
  }
}

TEST(SchemaRegistryTest, EveryRefResolves) {
  Json all = Json::object();
  for (const auto& [name, schema] : Registry().Schemas()) all[name] = schema;
  for (const auto& [name, schema] : Registry().Schemas()) ExpectRefsResolve(schema, all, name);
  for (const auto& [group, version] : KindRegistry::Get().GroupVersions()) {
    const Json* doc = Registry().OpenApiV3Document(group, version);
    ASSERT_NE(doc, nullptr) << group << "/" << version;
    ExpectRefsResolve(*doc, (*doc)["components"]["schemas"], group + "/" + version);
  }
}

// Every field explains itself: kubectl explain prints these descriptions.
void ExpectDescribedProperties(const Json& schema, const std::string& where) {
  if (!schema.is_object()) return;
  if (schema.contains("properties")) {
    for (auto it = schema["properties"].begin(); it != schema["properties"].end(); ++it) {
      EXPECT_TRUE(it.value().contains("description")) << where << "." << it.key();
      ExpectDescribedProperties(it.value(), where + "." + it.key());
    }
  }
  if (schema.contains("items")) ExpectDescribedProperties(schema["items"], where + "[]");
}

TEST(SchemaRegistryTest, EverySchemaAndPropertyIsDescribed) {
  for (const auto& [name, schema] : Registry().Schemas()) {
    EXPECT_TRUE(schema.contains("description")) << name;
    ExpectDescribedProperties(schema, name);
  }
}

// ------------------------------------------------------------------ OpenAPI v3 documents

// What cli-runtime's supportsQueryParamV3 does: the first PATCH operation with the GVK decides,
// and path order is random, so every such operation must declare the query parameter.
TEST(SchemaOpenApiTest, EveryPatchOperationDeclaresFieldValidation) {
  for (const auto& kind : KindRegistry::Get().All()) {
    SCOPED_TRACE(kind.QualifiedKind());
    const Json* doc = Registry().OpenApiV3Document(kind.group, kind.version);
    ASSERT_NE(doc, nullptr);
    EXPECT_EQ((*doc)["openapi"], "3.0.0");
    int patch_operations = 0;
    for (const auto& [path, item] : (*doc)["paths"].items()) {
      if (!item.contains("patch")) continue;
      const Json& op = item["patch"];
      if (op["x-kubernetes-group-version-kind"] != GvkOf(kind)) continue;
      ++patch_operations;
      bool declared = false;
      for (const auto& param : op["parameters"]) {
        declared = declared || (param["name"] == "fieldValidation" && param["in"] == "query");
      }
      EXPECT_TRUE(declared) << path;
      EXPECT_EQ(op["requestBody"]["content"].contains("application/strategic-merge-patch+json"),
                kind.strategic_merge)
          << path;
    }
    EXPECT_GE(patch_operations, 1);
  }
}

TEST(SchemaOpenApiTest, WritesDeclareFieldValidationAndEveryOperationItsGvk) {
  for (const auto& [group, version] : KindRegistry::Get().GroupVersions()) {
    const Json* doc = Registry().OpenApiV3Document(group, version);
    ASSERT_NE(doc, nullptr);
    for (const auto& [path, item] : (*doc)["paths"].items()) {
      for (const char* method : {"get", "post", "put", "patch", "delete"}) {
        if (!item.contains(method)) continue;
        const Json& op = item[method];
        EXPECT_TRUE(op.contains("x-kubernetes-group-version-kind")) << method << " " << path;
        EXPECT_TRUE(op.contains("x-kubernetes-action")) << method << " " << path;
        if (std::string(method) == "get" || std::string(method) == "delete") continue;
        bool declared = false;
        for (const auto& param : op["parameters"]) {
          declared = declared || param["name"] == "fieldValidation";
        }
        EXPECT_TRUE(declared) << method << " " << path;
      }
    }
  }
}

TEST(SchemaOpenApiTest, PathsFollowKubeApiserver) {
  const Json* core = Registry().OpenApiV3Document("", "v1");
  ASSERT_NE(core, nullptr);
  const Json& paths = (*core)["paths"];
  const std::string pvcs = "/api/v1/namespaces/{namespace}/persistentvolumeclaims";
  EXPECT_TRUE(paths[pvcs].contains("get"));
  EXPECT_TRUE(paths[pvcs].contains("post"));
  EXPECT_TRUE(paths[pvcs].contains("delete"));
  EXPECT_EQ(paths[pvcs]["get"]["x-kubernetes-action"], "list");
  for (const char* m : {"get", "put", "patch", "delete"}) {
    EXPECT_TRUE(paths[pvcs + "/{name}"].contains(m)) << m;
  }
  for (const char* m : {"get", "put", "patch"}) {
    EXPECT_TRUE(paths[pvcs + "/{name}/status"].contains(m)) << m;
  }
  EXPECT_TRUE(paths["/api/v1/persistentvolumeclaims"].contains("get"));
  EXPECT_TRUE(paths["/api/v1/persistentvolumes/{name}/status"].contains("patch"));
  EXPECT_FALSE(paths.contains("/api/v1/namespaces/{namespace}/secrets/{name}/status"));

  const Json* upload = Registry().OpenApiV3Document("upload.cdi.kubevirt.io", "v1beta1");
  ASSERT_NE(upload, nullptr);
  const Json& upload_paths = (*upload)["paths"];
  const std::string tokens =
      "/apis/upload.cdi.kubevirt.io/v1beta1/namespaces/{namespace}/"
      "uploadtokenrequests";
  EXPECT_TRUE(upload_paths[tokens].contains("post"));
  EXPECT_FALSE(upload_paths[tokens].contains("get"));
  EXPECT_FALSE(upload_paths[tokens + "/{name}"].contains("get"));
}

// What kubectl explain's template does to find the schema of a resource.
TEST(SchemaOpenApiTest, ExplainFindsEveryKind) {
  for (const auto& kind : KindRegistry::Get().All()) {
    SCOPED_TRACE(kind.QualifiedKind());
    const Json* doc = Registry().OpenApiV3Document(kind.group, kind.version);
    ASSERT_NE(doc, nullptr);
    std::string prefix =
        kind.group.empty() ? "/api/" + kind.version : "/apis/" + kind.group + "/" + kind.version;
    Json gvk;
    for (const std::string& path :
         {prefix + "/" + kind.plural, prefix + "/" + kind.plural + "/{name}",
          prefix + "/namespaces/{namespace}/" + kind.plural,
          prefix + "/namespaces/{namespace}/" + kind.plural + "/{name}"}) {
      if (!(*doc)["paths"].contains(path) || !gvk.is_null()) continue;
      for (const char* method : {"get", "post", "put", "patch", "delete"}) {
        const Json& item = (*doc)["paths"][path];
        if (item.contains(method) && gvk.is_null()) {
          gvk = item[method]["x-kubernetes-group-version-kind"];
        }
      }
    }
    ASSERT_EQ(gvk, GvkOf(kind));
    int found = 0;
    for (const auto& [name, schema] : (*doc)["components"]["schemas"].items()) {
      if (GvkListHolds(schema.value("x-kubernetes-group-version-kind", Json()), gvk)) ++found;
    }
    EXPECT_EQ(found, 1);
  }
}

TEST(SchemaOpenApiTest, ExplainPathThroughDataVolumeSpecSource) {
  const Json* doc = Registry().OpenApiV3Document("cdi.kubevirt.io", "v1beta1");
  ASSERT_NE(doc, nullptr);
  const Json& schemas = (*doc)["components"]["schemas"];
  const Json& spec = schemas["io.kubevirt.cdi.v1beta1.DataVolume"]["properties"]["spec"];
  ASSERT_EQ(spec["allOf"][0]["$ref"],
            "#/components/schemas/io.kubevirt.cdi.v1beta1.DataVolumeSpec");
  const Json& source = schemas["io.kubevirt.cdi.v1beta1.DataVolumeSpec"]["properties"]["source"];
  EXPECT_FALSE(source["description"].get<std::string>().empty());
  const Json& fields = schemas["io.kubevirt.cdi.v1beta1.DataVolumeSource"]["properties"];
  for (const char* f :
       {"http", "s3", "gcs", "registry", "pvc", "snapshot", "upload", "blank", "imageio", "vddk"}) {
    EXPECT_TRUE(fields.contains(f)) << f;
  }
  // The document carries what it references from other groups.
  EXPECT_TRUE(schemas.contains("io.k8s.api.core.v1.PersistentVolumeClaimSpec"));
  EXPECT_TRUE(schemas.contains("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
  EXPECT_FALSE(schemas.contains("io.kubevirt.v1.VirtualMachine"));
}

TEST(SchemaOpenApiTest, IndexListsEveryGroupVersionWithAHash) {
  Json index = Registry().OpenApiV3Index();
  const Json& paths = index["paths"];
  EXPECT_EQ(paths.size(), KindRegistry::Get().GroupVersions().size());
  std::string core = paths["api/v1"]["serverRelativeURL"];
  EXPECT_TRUE(core.starts_with("/openapi/v3/api/v1?hash=")) << core;
  std::string cdi = paths["apis/cdi.kubevirt.io/v1beta1"]["serverRelativeURL"];
  EXPECT_TRUE(cdi.starts_with("/openapi/v3/apis/cdi.kubevirt.io/v1beta1?hash=")) << cdi;
  EXPECT_NE(core.substr(core.find('=')), cdi.substr(cdi.find('=')));
  EXPECT_EQ(Registry().OpenApiV3Document("nosuch.group", "v1"), nullptr);
}

}  // namespace
}  // namespace vdisk::api
