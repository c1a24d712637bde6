// HostPathProvisionerController: path pools, a path that is a file, an undefined pool, and the
// pvcTemplate pool up to its claim (the mount itself needs root and a loop device: it is in
// tests/e2e/test_storage.py).
#include "controllers/hostpath_provisioner_controller.h"

#include <fstream>

#include "controllers/storage_test_env.h"
#include "storage/mounts.h"

namespace vdisk::controllers {
namespace {

namespace fs = std::filesystem;
using HostPathProvisionerTest = StorageTestEnv;

json Provisioner(const json& pools) {
  return {{"apiVersion", "hostpathprovisioner.kubevirt.io/v1beta1"},
          {"kind", "HostPathProvisioner"},
          {"metadata", {{"name", "hostpath-provisioner"}}},
          {"spec", {{"imagePullPolicy", "IfNotPresent"}, {"storagePools", pools}}}};
}

// The status entry of pool `name`, empty until there is one.
json PoolStatus(const json& cr, const std::string& name) {
  for (const auto& pool : cr.value("/status/storagePoolStatuses"_json_pointer, json::array())) {
    if (pool.value("name", "") == name) return pool;
  }
  return json::object();
}

json ConditionOf(const json& cr, const std::string& type) {
  for (const auto& c : cr.value("/status/conditions"_json_pointer, json::array())) {
    if (c.value("type", "") == type) return c;
  }
  return json::object();
}

TEST(PoolClaimNameTest, IsAValidObjectName) {
  EXPECT_EQ(PoolClaimName("my-storage-pool", "node01"), "hpp-pool-my-storage-pool-node01");
  EXPECT_EQ(PoolClaimName("Any_Name", "Node01"), "hpp-pool-any-name-node01");
  EXPECT_EQ(PoolClaimName(std::string(300, 'a'), "n").size(), 253u);
}

TEST_F(HostPathProvisionerTest, PathPoolIsCreatedReportedAndServesItsClass) {
  std::string path = dir_ + "/myvolumes";
  Create(Hpp(), "", Provisioner({{{"name", "fast"}, {"path", path}}}));
  ASSERT_TRUE(WaitFor([&] {
    return PoolStatus(Get(Hpp(), "", "hostpath-provisioner"), "fast").value("phase", "") == "Ready";
  }));
  EXPECT_TRUE(fs::is_directory(path + "/csi"));
  json cr = Get(Hpp(), "", "hostpath-provisioner");
  EXPECT_EQ(PoolStatus(cr, "fast")["currentReady"], 1);
  EXPECT_EQ(cr["metadata"]["finalizers"], json({kHostPathProvisionerFinalizer}));
  json available = ConditionOf(cr, "Available");
  EXPECT_EQ(available["status"], "True");
  EXPECT_NE(available.value("message", "").find(path + ": "), std::string::npos) << available;
  EXPECT_NE(available.value("message", "").find(" free of "), std::string::npos) << available;
  // The test directory is on the root file system here: the spec's warning shows.
  if (storage::OnSameFilesystem(path, "/")) {
    EXPECT_EQ(ConditionOf(cr, "Degraded")["reason"], "PoolOnRootFilesystem");
    EXPECT_TRUE(HasEvent("default", "hostpath-provisioner", "PoolOnRootFilesystem"));
  }

  Create(Sc(), "", StorageClass("fast-sc", kHostPathProvisioner, "Delete", "Immediate", "fast"));
  json pvc = Create(Pvc(), "default", Claim("in-pool", "16Mi", "fast-sc"));
  ASSERT_TRUE(WaitForPhase(Pvc(), "default", "in-pool", "Bound"));
  std::string pv_name = "pvc-" + pvc["metadata"]["uid"].get<std::string>();
  EXPECT_EQ(Get(Pv(), "", pv_name)["spec"]["local"]["path"], path + "/csi/" + pv_name);
  EXPECT_TRUE(fs::is_directory(path + "/csi/" + pv_name));

  // Without the pool, the class cannot provision: a new claim waits, saying why.
  ASSERT_TRUE(Patch(Hpp(), "", "hostpath-provisioner",
                    {{"spec", {{"storagePools", {{{"name", "other"}, {"path", path + "2"}}}}}}}));
  ASSERT_TRUE(
      WaitFor([&] { return PoolStatus(Get(Hpp(), "", "hostpath-provisioner"), "fast").empty(); }));
  Create(Pvc(), "default", Claim("after", "16Mi", "fast-sc"));
  ASSERT_TRUE(WaitFor([&] { return HasEvent("default", "after", "ProvisioningFailed"); }));
  EXPECT_NE(EventMessage("default", "after", "ProvisioningFailed").find("\"fast\" is not defined"),
            std::string::npos);
  EXPECT_EQ(Get(Pvc(), "default", "after")["status"]["phase"], "Pending");
  // The volume made before is untouched.
  EXPECT_TRUE(fs::is_directory(path + "/csi/" + pv_name));
}

TEST_F(HostPathProvisionerTest, PathThatIsAFileFailsThatPoolOnly) {
  std::string file = dir_ + "/not-a-dir";
  std::ofstream(file) << "keep me";
  std::string good = dir_ + "/good";
  Create(Hpp(), "",
         Provisioner({{{"name", "bad"}, {"path", file}}, {{"name", "good"}, {"path", good}}}));
  ASSERT_TRUE(WaitFor([&] {
    json cr = Get(Hpp(), "", "hostpath-provisioner");
    return PoolStatus(cr, "good").value("phase", "") == "Ready" &&
           ConditionOf(cr, "Degraded").value("reason", "") == "StoragePoolFailed";
  }));
  json cr = Get(Hpp(), "", "hostpath-provisioner");
  EXPECT_EQ(PoolStatus(cr, "bad")["currentReady"], 0);
  EXPECT_EQ(ConditionOf(cr, "Available")["status"], "False");
  std::string message = ConditionOf(cr, "Degraded")["message"];
  EXPECT_NE(message.find("storage pool bad: pool path " + file + " exists and is not a directory"),
            std::string::npos)
      << message;
  EXPECT_TRUE(
      WaitFor([&] { return HasEvent("default", "hostpath-provisioner", "StoragePoolFailed"); }));
  std::string kept;
  std::getline(std::ifstream(file), kept);
  EXPECT_EQ(kept, "keep me");
}

TEST_F(HostPathProvisionerTest, TemplatePoolClaimsItsVolumeAndIsReleasedWithTheCr) {
  json tmpl = {{"volumeMode", "Block"},
               {"storageClassName", "my-storage-class"},
               {"accessModes", {"ReadWriteOnce"}},
               {"resources", {{"requests", {{"storage", "5Gi"}}}}}};
  Create(
      Hpp(), "",
      Provisioner({{{"name", "my-storage-pool"}, {"path", dir_ + "/tp"}, {"pvcTemplate", tmpl}}}));
  const std::string claim = "hpp-pool-my-storage-pool-node01";
  ASSERT_TRUE(WaitFor([&] { return !Get(Pvc(), "openshift-cnv", claim).is_null(); }));
  json pvc = Get(Pvc(), "openshift-cnv", claim);
  EXPECT_EQ(pvc["spec"]["volumeMode"], "Block");
  EXPECT_EQ(pvc["spec"]["storageClassName"], "my-storage-class");
  ASSERT_TRUE(WaitFor([&] {
    json status = PoolStatus(Get(Hpp(), "", "hostpath-provisioner"), "my-storage-pool");
    return status.value("phase", "") == "Preparing" && status.contains("claimStatuses");
  }));
  EXPECT_EQ(ConditionOf(Get(Hpp(), "", "hostpath-provisioner"), "Progressing")["status"], "True");

  // A claim in the pool's class waits for the pool, and says so.
  Create(Sc(), "",
         StorageClass("pool-sc", kHostPathProvisioner, "Delete", "Immediate", "my-storage-pool"));
  Create(Pvc(), "default", Claim("waits", "16Mi", "pool-sc"));
  ASSERT_TRUE(WaitFor([&] { return HasEvent("default", "waits", "ProvisioningFailed"); }));
  EXPECT_NE(EventMessage("default", "waits", "ProvisioningFailed")
                .find("waiting for claim openshift-cnv/" + claim + " to be bound"),
            std::string::npos);

  ASSERT_TRUE(objects_->Delete(Hpp(), "", "hostpath-provisioner").ok());
  ASSERT_TRUE(WaitFor([&] { return Get(Hpp(), "", "hostpath-provisioner").is_null(); }));
  EXPECT_TRUE(WaitFor([&] { return Get(Pvc(), "openshift-cnv", claim).is_null(); }));
}

}  // namespace
}  // namespace vdisk::controllers
