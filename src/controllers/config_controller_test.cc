#include "controllers/config_controller.h"

#include <gtest/gtest.h>

#include <functional>

#include "controllers/storage_test_env.h"

namespace vdisk::controllers {
namespace {

using server::PatchType;

class ConfigControllerTest : public ControllerTestEnv {
 protected:
  void SetUp() override {
    ControllerTestEnv::SetUp();
    if (HasFatalFailure()) return;
    Run<ConfigController>(*objects_);
  }

  json Config() {
    auto got = objects_->Get(ConfigKind(), "", kCdiConfigName);
    return got.ok() ? *got : json();
  }
  // Waits until `check` holds for the CDIConfig; returns whether it did.
  bool ConfigEventually(const std::function<bool(const json&)>& check) {
    return WaitFor([&] {
      json config = Config();
      return config.is_object() && check(config);
    });
  }
  bool StatusFieldIs(const char* field, const json& expected) {
    bool ok = ConfigEventually([&](const json& config) {
      return config.value("status", json::object()).value(field, json()) == expected;
    });
    EXPECT_TRUE(ok) << "status." << field << " never became " << expected.dump() << ": "
                    << Config().dump();
    return ok;
  }
  void PatchHco(const json& patch) {
    Patch(HcoKind(), kHyperConvergedNamespace, kHyperConvergedName, patch);
  }
  void CreateClass(const std::string& name) {
    Create(Sc(), "",
           {{"apiVersion", "storage.k8s.io/v1"},
            {"kind", "StorageClass"},
            {"metadata", {{"name", name}}},
            {"provisioner", "kubevirt.io.hostpath-provisioner"}});
  }
  static const api::Kind& ConfigKind() { return KindOf("cdi.kubevirt.io", "CDIConfig"); }
  static const api::Kind& HcoKind() { return KindOf("hco.kubevirt.io", "HyperConverged"); }
};

const json kDefaultResources = {{"limits", {{"cpu", "750m"}, {"memory", "600M"}}},
                                {"requests", {{"cpu", "100m"}, {"memory", "60M"}}}};

TEST_F(ConfigControllerTest, EmptyHcoGivesDefaults) {
  ASSERT_TRUE(StatusFieldIs("defaultPodResourceRequirements", kDefaultResources));
  json config = Config();
  const json& status = config["status"];
  EXPECT_EQ(
      status["filesystemOverhead"],
      json({{"global", "0.055"}, {"storageClass", {{server::kDefaultStorageClass, "0.055"}}}}));
  EXPECT_EQ(status["preallocation"], false);
  EXPECT_FALSE(status.contains("scratchSpaceStorageClass"));
  EXPECT_FALSE(status.contains("importProxy"));
  EXPECT_EQ(config["spec"]["featureGates"],
            json::array({"HonorWaitForFirstConsumer", "DataVolumeClaimAdoption"}));
  EXPECT_EQ(FilesystemOverheadFor(config, server::kDefaultStorageClass), "0.055");
  EXPECT_EQ(FilesystemOverheadFor(config, "no-such-class"), "0.055");
  EXPECT_FALSE(GlobalPreallocation(config));
  EXPECT_TRUE(InsecureRegistries(config).empty());
  EXPECT_EQ(PodResourceRequirements(config), kDefaultResources);
}

// Spec 9.20.4.2, example 10.
TEST_F(ConfigControllerTest, HcoFilesystemOverheadShowsInStatus) {
  CreateClass("hostpath-csi");
  PatchHco({{"spec",
             {{"filesystemOverhead",
               {{"global", "0.08"}, {"storageClass", {{"hostpath-csi", "0.1"}}}}}}}});
  json expected = {
      {"global", "0.08"},
      {"storageClass", {{"hostpath-csi", "0.1"}, {server::kDefaultStorageClass, "0.08"}}}};
  ASSERT_TRUE(StatusFieldIs("filesystemOverhead", expected));
  json config = Config();
  EXPECT_EQ(FilesystemOverheadFor(config, "hostpath-csi"), "0.1");
  EXPECT_EQ(FilesystemOverheadFor(config, server::kDefaultStorageClass), "0.08");
  EXPECT_EQ(FilesystemOverheadFor(config, "made-later"), "0.08");
  EXPECT_EQ(config["spec"]["filesystemOverhead"],
            json({{"global", "0.08"}, {"storageClass", {{"hostpath-csi", "0.1"}}}}));

  // A class made afterwards gets its entry; removing the HCO setting restores the default.
  CreateClass("made-later");
  expected["storageClass"]["made-later"] = "0.08";
  ASSERT_TRUE(StatusFieldIs("filesystemOverhead", expected));
  PatchHco({{"spec", {{"filesystemOverhead", nullptr}}}});
  StatusFieldIs("filesystemOverhead", {{"global", "0.055"},
                                       {"storageClass",
                                        {{"hostpath-csi", "0.055"},
                                         {"made-later", "0.055"},
                                         {server::kDefaultStorageClass, "0.055"}}}});
}

// Spec 9.20.5.2, example 11.
TEST_F(ConfigControllerTest, StorageWorkloadsBecomePodResourceRequirements) {
  json workloads = {{"limits", {{"cpu", "500m"}, {"memory", "2Gi"}}},
                    {"requests", {{"cpu", "250m"}, {"memory", "1Gi"}}}};
  PatchHco({{"spec", {{"resourceRequirements", {{"storageWorkloads", workloads}}}}}});
  ASSERT_TRUE(StatusFieldIs("defaultPodResourceRequirements", workloads));
  EXPECT_EQ(Config()["spec"]["podResourceRequirements"], workloads);

  // Only the memory limit set: the other values stay at upstream's defaults.
  // (A merge patch: null removes the values set above.)
  json only_memory = {{"limits", {{"cpu", nullptr}, {"memory", "1Gi"}}}, {"requests", nullptr}};
  PatchHco({{"spec", {{"resourceRequirements", {{"storageWorkloads", only_memory}}}}}});
  json expected = kDefaultResources;
  expected["limits"]["memory"] = "1Gi";
  EXPECT_TRUE(StatusFieldIs("defaultPodResourceRequirements", expected));
}

// Spec 9.20.17.3, example 22: upstream puts the registries in the CDIConfig spec.
TEST_F(ConfigControllerTest, InsecureRegistriesGoToTheSpec) {
  json registries = {"private-registry-example-1:5000", "private-registry-example-2:5000"};
  PatchHco({{"spec", {{"storageImport", {{"insecureRegistries", registries}}}}}});
  ASSERT_TRUE(ConfigEventually([&](const json& config) {
    return config["spec"].value("insecureRegistries", json()) == registries;
  })) << Config().dump();
  EXPECT_EQ(InsecureRegistries(Config()),
            (std::vector<std::string>{"private-registry-example-1:5000",
                                      "private-registry-example-2:5000"}));
}

// Spec 9.20.18.4, example 23: the status names the scratch class only once it exists.
TEST_F(ConfigControllerTest, ScratchSpaceStorageClassOnceItExists) {
  PatchHco({{"spec", {{"scratchSpaceStorageClass", "hostpath-csi"}}}});
  ASSERT_TRUE(ConfigEventually([](const json& config) {
    return config["spec"].value("scratchSpaceStorageClass", "") == "hostpath-csi";
  }));
  EXPECT_FALSE(Config()["status"].contains("scratchSpaceStorageClass"));
  CreateClass("hostpath-csi");
  StatusFieldIs("scratchSpaceStorageClass", "hostpath-csi");
}

// Global preallocation, set the upstream way: the HCO's JSON patch for the CDI config.
TEST_F(ConfigControllerTest, PreallocationThroughTheCdiJsonPatchAnnotation) {
  std::string patch = R"([{"op": "add", "path": "/spec/config/preallocation", "value": true}])";
  PatchHco({{"metadata",
             {{"annotations", {{"containerizeddataimporter.kubevirt.io/jsonpatch", patch}}}}}});
  ASSERT_TRUE(StatusFieldIs("preallocation", true));
  EXPECT_TRUE(GlobalPreallocation(Config()));
  EXPECT_EQ(Config()["spec"]["preallocation"], true);
}

TEST_F(ConfigControllerTest, ImportProxyFromTheSpecShowsInStatus) {
  std::string patch =
      R"([{"op": "add", "path": "/spec/config/importProxy",
           "value": {"HTTPProxy": "http://proxy:3128", "noProxy": "localhost"}}])";
  PatchHco({{"metadata",
             {{"annotations", {{"containerizeddataimporter.kubevirt.io/jsonpatch", patch}}}}}});
  StatusFieldIs("importProxy", {{"HTTPProxy", "http://proxy:3128"}, {"noProxy", "localhost"}});
}

// The HCO is the authority over the CDIConfig spec, as with upstream's config authority.
TEST_F(ConfigControllerTest, DirectSpecEditsAreUndoneAndDeletedConfigIsRemade) {
  ASSERT_TRUE(StatusFieldIs("preallocation", false));
  auto patched = objects_->Patch(ConfigKind(), "", kCdiConfigName, PatchType::kMerge,
                                 {{"spec", {{"scratchSpaceStorageClass", "elsewhere"}}}}, false);
  ASSERT_TRUE(patched.ok()) << patched.status().message();
  EXPECT_TRUE(ConfigEventually([](const json& config) {
    return !config["spec"].contains("scratchSpaceStorageClass");
  })) << Config().dump();

  auto deleted = objects_->Delete(ConfigKind(), "", kCdiConfigName);
  ASSERT_TRUE(deleted.ok()) << deleted.status().message();
  EXPECT_TRUE(ConfigEventually([](const json& config) {
    return config.contains("status") && config["status"].contains("filesystemOverhead");
  }));
}

// ---- the pure functions ----------------------------------------------------------------------

TEST(CdiConfigSpecFromHyperConvergedTest, BadJsonPatchIsInvalid) {
  json hco = {
      {"metadata",
       {{"annotations", {{"containerizeddataimporter.kubevirt.io/jsonpatch", "not json"}}}}}};
  EXPECT_EQ(CdiConfigSpecFromHyperConverged(hco).status().code(), StatusCode::kInvalid);
  hco["metadata"]["annotations"]["containerizeddataimporter.kubevirt.io/jsonpatch"] =
      R"([{"op": "replace", "path": "/spec/config/missing/x", "value": 1}])";
  EXPECT_EQ(CdiConfigSpecFromHyperConverged(hco).status().code(), StatusCode::kInvalid);
  EXPECT_TRUE(CdiConfigSpecFromHyperConverged(json()).ok());
}

TEST(DesiredCdiConfigStatusTest, InvalidOverheadFallsBackAndOtherFieldsAreKept) {
  json spec = {{"filesystemOverhead", {{"global", "2"}, {"storageClass", {{"a", "bad"}}}}}};
  json status = DesiredCdiConfigStatus(spec, {"a"}, {{"uploadProxyURL", "https://x"}});
  EXPECT_EQ(status["filesystemOverhead"],
            json({{"global", "0.055"}, {"storageClass", {{"a", "0.055"}}}}));
  EXPECT_EQ(status["uploadProxyURL"], "https://x");
}

TEST(FilesystemOverheadForTest, PerClassThenGlobalThenDefault) {
  json config = {
      {"status", {{"filesystemOverhead", {{"global", "0.2"}, {"storageClass", {{"a", "0.3"}}}}}}}};
  EXPECT_EQ(FilesystemOverheadFor(config, "a"), "0.3");
  EXPECT_EQ(FilesystemOverheadFor(config, "b"), "0.2");
  EXPECT_EQ(FilesystemOverheadFor(json(), "b"), "0.055");
  EXPECT_EQ(FilesystemOverheadFor(json("junk"), "b"), "0.055");
}

}  // namespace
}  // namespace vdisk::controllers
