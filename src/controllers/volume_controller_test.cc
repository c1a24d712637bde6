#include "controllers/volume_controller.h"

#include <sys/stat.h>

#include <fstream>

#include "controllers/storage_test_env.h"
#include "storage/fs_overhead.h"

namespace vdisk::controllers {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kMiB = 1024 * 1024;

using VolumeControllerTest = StorageTestEnv;

std::string Uid(const json& object) { return object["metadata"]["uid"]; }

json LocalVolume(const std::string& name, const std::string& size, const std::string& path,
                 const json& labels) {
  return {{"apiVersion", "v1"},
          {"kind", "PersistentVolume"},
          {"metadata", {{"name", name}, {"labels", labels}}},
          {"spec",
           {{"capacity", {{"storage", size}}},
            {"accessModes", {"ReadWriteOnce"}},
            {"volumeMode", "Filesystem"},
            {"persistentVolumeReclaimPolicy", "Retain"},
            {"storageClassName", "local-sc"},
            {"local", {{"path", path}}},
            {"nodeAffinity", json::parse(R"({"required": {"nodeSelectorTerms": [{"matchExpressions":
                [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["node01"]}]}]}})")}}}};
}

TEST_F(VolumeControllerTest, DefaultClassProvisionsBindsAndDeleteReclaims) {
  json pvc = Create(Pvc(), "default", Claim("data", "64Mi"));
  ASSERT_TRUE(WaitForPhase(Pvc(), "default", "data", "Bound"));
  json bound = Get(Pvc(), "default", "data");
  std::string pv_name = "pvc-" + Uid(pvc);
  EXPECT_EQ(bound["spec"]["storageClassName"], "vdisk-hostpath");
  EXPECT_EQ(bound["spec"]["volumeName"], pv_name);
  EXPECT_EQ(bound["status"]["capacity"]["storage"], "64Mi");
  EXPECT_EQ(bound["status"]["accessModes"], json({"ReadWriteOnce"}));
  ASSERT_TRUE(WaitForPhase(Pv(), "", pv_name, "Bound"));
  json pv = Get(Pv(), "", pv_name);
  EXPECT_EQ(pv["spec"]["claimRef"]["uid"], Uid(pvc));
  EXPECT_EQ(pv["spec"]["local"]["path"], PoolVolumeDir(pv_name));
  EXPECT_EQ(pv["spec"]["persistentVolumeReclaimPolicy"], "Delete");
  EXPECT_TRUE(fs::is_directory(PoolVolumeDir(pv_name)));

  ASSERT_TRUE(objects_->Delete(Pvc(), "default", "data").ok());
  ASSERT_TRUE(WaitFor([&] { return Get(Pv(), "", pv_name).is_null(); }));
  EXPECT_FALSE(fs::exists(PoolVolumeDir(pv_name)));
}

TEST_F(VolumeControllerTest, RetainKeepsDataAndFreedVolumeBindsAgain) {
  Create(Sc(), "", StorageClass("keep", kHostPathProvisioner, "Retain", "Immediate"));
  json pvc = Create(Pvc(), "default", Claim("kept", "32Mi", "keep"));
  ASSERT_TRUE(WaitForPhase(Pvc(), "default", "kept", "Bound"));
  std::string pv_name = "pvc-" + Uid(pvc);
  std::ofstream(PoolVolumeDir(pv_name) + "/data") << "precious";

  ASSERT_TRUE(objects_->Delete(Pvc(), "default", "kept").ok());
  ASSERT_TRUE(WaitForPhase(Pv(), "", pv_name, "Released"));
  EXPECT_TRUE(fs::exists(PoolVolumeDir(pv_name) + "/data"));

  // The spec's procedure: remove the claimRef and the volume is Available again.
  auto patched =
      objects_->Patch(Pv(), "", pv_name, server::PatchType::kJson,
                      json::parse(R"([{"op":"remove","path":"/spec/claimRef"}])"), false);
  ASSERT_TRUE(patched.ok()) << patched.status().message();
  ASSERT_TRUE(WaitForPhase(Pv(), "", pv_name, "Available"));
  // A new claim of the class binds to the kept volume (static match), data and all.
  Create(Pvc(), "default", Claim("again", "16Mi", "keep"));
  ASSERT_TRUE(WaitForPhase(Pvc(), "default", "again", "Bound"));
  EXPECT_EQ(Get(Pvc(), "default", "again")["spec"]["volumeName"], pv_name);
  std::string data;
  std::ifstream(PoolVolumeDir(pv_name) + "/data") >> data;
  EXPECT_EQ(data, "precious");
}

TEST_F(VolumeControllerTest, StaticVolumeChosenBySelectorThenSmallest) {
  Create(Sc(), "", StorageClass("local-sc", kNoProvisioner, "Retain", "Immediate"));
  Create(Pv(), "", LocalVolume("big-fast", "2Gi", dir_, {{"tier", "fast"}}));
  Create(Pv(), "", LocalVolume("small-fast", "1Gi", dir_, {{"tier", "fast"}}));
  Create(Pv(), "", LocalVolume("tiny-slow", "600Mi", dir_, {{"tier", "slow"}}));
  // The binder chooses among the PVs its watch has delivered: let it see all three first.
  for (const char* name : {"big-fast", "small-fast", "tiny-slow"}) {
    ASSERT_TRUE(WaitForPhase(Pv(), "", name, "Available"));
  }
  json claim = Claim("fast", "500Mi", "local-sc");
  claim["spec"]["selector"] = {{"matchLabels", {{"tier", "fast"}}}};
  Create(Pvc(), "default", claim);
  ASSERT_TRUE(WaitForPhase(Pvc(), "default", "fast", "Bound"));
  json bound = Get(Pvc(), "default", "fast");
  EXPECT_EQ(bound["spec"]["volumeName"], "small-fast");
  EXPECT_EQ(bound["status"]["capacity"]["storage"], "1Gi");
  ASSERT_TRUE(WaitForPhase(Pv(), "", "small-fast", "Bound"));
  EXPECT_EQ(Get(Pv(), "", "tiny-slow").value("/status/phase"_json_pointer, ""), "Available");

  // No PV fits a Block claim: it stays Pending.
  json block = Claim("blk", "100Mi", "local-sc");
  block["spec"]["volumeMode"] = "Block";
  Create(Pvc(), "default", block);
  ASSERT_TRUE(WaitFor([&] { return HasEvent("default", "blk", "FailedBinding"); }));
  EXPECT_EQ(Get(Pvc(), "default", "blk")["status"]["phase"], "Pending");
}

TEST_F(VolumeControllerTest, WaitForFirstConsumerWaitsUnlessImmediateRequested) {
  Create(Sc(), "", StorageClass("wffc", kHostPathProvisioner, "Delete", "WaitForFirstConsumer"));
  Create(Pvc(), "default", Claim("later", "16Mi", "wffc"));
  ASSERT_TRUE(WaitFor([&] { return HasEvent("default", "later", "WaitForFirstConsumer"); }));
  EXPECT_EQ(Get(Pvc(), "default", "later")["status"]["phase"], "Pending");

  json now = Claim("now", "16Mi", "wffc");
  now["metadata"]["annotations"] = {{kAnnBindImmediate, "true"}};
  Create(Pvc(), "default", now);
  ASSERT_TRUE(WaitForPhase(Pvc(), "default", "now", "Bound"));
  EXPECT_EQ(Get(Pvc(), "default", "later")["status"]["phase"], "Pending");
}

TEST_F(VolumeControllerTest, PoolTooSmallStaysPendingWithEvent) {
  json pvc = Create(Pvc(), "default", Claim("huge", "1000Ti"));
  ASSERT_TRUE(WaitFor([&] { return HasEvent("default", "huge", "ProvisioningFailed"); }));
  EXPECT_EQ(Get(Pvc(), "default", "huge")["status"]["phase"], "Pending");
  EXPECT_TRUE(Get(Pv(), "", "pvc-" + Uid(pvc)).is_null());
  EXPECT_FALSE(fs::exists(PoolVolumeDir("pvc-" + Uid(pvc))));
}

TEST_F(VolumeControllerTest, ExpansionGrowsCapacityAndImage) {
  json pvc = Create(Pvc(), "default", Claim("grow", "64Mi"));
  ASSERT_TRUE(WaitForPhase(Pvc(), "default", "grow", "Bound"));
  std::string pv_name = "pvc-" + Uid(pvc);
  // The image a blank DataVolume would have written: 64Mi less 5.5%, down to 1 MiB = 60 MiB.
  auto pool = storage::HostPathPool::Open(dir_ + "/pools/default");
  ASSERT_TRUE(pool.ok());
  ASSERT_TRUE(pool->CreateImage(pv_name, 60 * kMiB, false).ok());

  auto patched =
      objects_->Patch(Pvc(), "default", "grow", server::PatchType::kMerge,
                      {{"spec", {{"resources", {{"requests", {{"storage", "128Mi"}}}}}}}}, false);
  ASSERT_TRUE(patched.ok()) << patched.status().message();
  ASSERT_TRUE(WaitFor([&] {
    return Get(Pvc(), "default", "grow").value("/status/capacity/storage"_json_pointer, "") ==
           "128Mi";
  }));
  EXPECT_EQ(Get(Pv(), "", pv_name)["spec"]["capacity"]["storage"], "128Mi");
  // 128Mi * 0.945 = 120.96 MiB, down to 120 MiB.
  EXPECT_EQ(storage::ApparentSize(pool->ImagePath(pv_name)), 120 * kMiB);

  // Shrinking is refused by validation and harms nothing.
  auto shrink =
      objects_->Patch(Pvc(), "default", "grow", server::PatchType::kMerge,
                      {{"spec", {{"resources", {{"requests", {{"storage", "32Mi"}}}}}}}}, false);
  EXPECT_FALSE(shrink.ok());
  EXPECT_EQ(storage::ApparentSize(pool->ImagePath(pv_name)), 120 * kMiB);
}

// Spec 9.20.10.4: a Block PV's path may be a regular file standing in for a device, but it
// must exist: a claim that would bind to it fails the PV instead, saying where, until it does.
TEST_F(VolumeControllerTest, MissingLocalPathFailsTheVolumeInsteadOfBinding) {
  Create(Sc(), "", StorageClass("local-sc", kNoProvisioner, "Retain", "Immediate"));
  std::string device = dir_ + "/loop10";
  json pv = LocalVolume("local-block-pv10", "64Mi", device, json::object());
  pv["spec"]["volumeMode"] = "Block";
  Create(Pv(), "", pv);
  ASSERT_TRUE(WaitForPhase(Pv(), "", "local-block-pv10", "Available"));  // nobody uses it yet

  json claim = Claim("blk", "64Mi", "local-sc");
  claim["spec"]["volumeMode"] = "Block";
  Create(Pvc(), "default", claim);
  ASSERT_TRUE(WaitForPhase(Pv(), "", "local-block-pv10", "Failed"));
  json failed = Get(Pv(), "", "local-block-pv10");
  std::string message = "local path " + device + " does not exist on node node01";
  EXPECT_EQ(failed["status"]["reason"], kReasonLocalPathMissing);
  EXPECT_EQ(failed["status"]["message"], message);
  EXPECT_EQ(EventMessage("default", "local-block-pv10", "LocalPathMissing"), message);
  ASSERT_TRUE(WaitFor([&] { return HasEventSaying("default", "blk", "FailedBinding", device); }));
  EXPECT_EQ(Get(Pvc(), "default", "blk")["status"]["phase"], "Pending");

  ASSERT_TRUE(storage::WriteImageFile(device, 64 * kMiB, false).ok());
  ASSERT_TRUE(WaitForPhase(Pvc(), "default", "blk", "Bound"));
  EXPECT_EQ(Get(Pvc(), "default", "blk")["spec"]["volumeName"], "local-block-pv10");
  json bound = Get(Pv(), "", "local-block-pv10");
  EXPECT_TRUE(bound["status"]["reason"].is_null()) << bound["status"];

  // A directory is no stand-in for a block device.
  json dir_pv = LocalVolume("dir-as-block", "64Mi", dir_, json::object());
  dir_pv["spec"]["volumeMode"] = "Block";
  Create(Pv(), "", dir_pv);
  json second = Claim("blk-dir", "64Mi", "local-sc");
  second["spec"]["volumeMode"] = "Block";
  Create(Pvc(), "default", second);
  ASSERT_TRUE(WaitForPhase(Pv(), "", "dir-as-block", "Failed"));
  EXPECT_NE(Get(Pv(), "", "dir-as-block")["status"]["message"].get<std::string>().find(
                "is a directory, not a block device or a regular file"),
            std::string::npos);
}

TEST_F(VolumeControllerTest, ExpansionTheClassForbidsIsRefusedAtTheApi) {
  json fixed = StorageClass("fixed", kHostPathProvisioner, "Delete", "Immediate");
  fixed["allowVolumeExpansion"] = false;
  Create(Sc(), "", fixed);
  Create(Pvc(), "default", Claim("fixed-size", "32Mi", "fixed"));
  ASSERT_TRUE(WaitForPhase(Pvc(), "default", "fixed-size", "Bound"));
  auto annotation = [&] {
    return Get(Pvc(), "default", "fixed-size")
        .value("/metadata/annotations"_json_pointer, json::object())
        .value(kAnnAllowVolumeExpansion, "");
  };
  ASSERT_TRUE(WaitFor([&] { return annotation() == "false"; }));
  json grow = {{"spec", {{"resources", {{"requests", {{"storage", "64Mi"}}}}}}}};
  auto refused =
      objects_->Patch(Pvc(), "default", "fixed-size", server::PatchType::kMerge, grow, false);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find(
                "only dynamically provisioned pvc can be resized and the storageclass that "
                "provisions the pvc must support resize"),
            std::string::npos)
      << refused.status().message();

  // Once the class allows it, so does the API.
  ASSERT_TRUE(Patch(Sc(), "", "fixed", {{"allowVolumeExpansion", true}}));
  ASSERT_TRUE(WaitFor([&] { return annotation() == "true"; }));
  ASSERT_TRUE(Patch(Pvc(), "default", "fixed-size", grow));
  EXPECT_TRUE(WaitFor([&] {
    return Get(Pvc(), "default", "fixed-size").value("/status/capacity/storage"_json_pointer, "") ==
           "64Mi";
  }));
}

TEST_F(VolumeControllerTest, ClaimWhoseVolumeIsDeletedIsLost) {
  Create(Sc(), "", StorageClass("local-sc", kNoProvisioner, "Retain", "Immediate"));
  Create(Pv(), "", LocalVolume("doomed", "64Mi", dir_, json::object()));
  Create(Pvc(), "default", Claim("orphan", "64Mi", "local-sc"));
  ASSERT_TRUE(WaitForPhase(Pvc(), "default", "orphan", "Bound"));
  ASSERT_TRUE(objects_->Delete(Pv(), "", "doomed").ok());
  ASSERT_TRUE(WaitForPhase(Pvc(), "default", "orphan", "Lost"));
  EXPECT_TRUE(HasEvent("default", "orphan", "ClaimLost"));
}

}  // namespace
}  // namespace vdisk::controllers
