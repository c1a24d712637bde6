#include "controllers/datavolume_controller.h"

#include "api/quantity.h"
#include "controllers/storage_test_env.h"
#include "storage/fs_overhead.h"
#include "storage/hostpath_pool.h"

namespace vdisk::controllers {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kMiB = 1024 * 1024;

using DataVolumeControllerTest = StorageTestEnv;

json BlankDataVolume(const std::string& name, const json& claim_api) {
  return {{"apiVersion", "cdi.kubevirt.io/v1beta1"},
          {"kind", "DataVolume"},
          {"metadata", {{"name", name}, {"namespace", "default"}}},
          {"spec", {{"source", {{"blank", json::object()}}}, {claim_api[0], claim_api[1]}}}};
}

json ClaimApi(const char* api, const std::string& size) {
  return {api,
          {{"accessModes", {"ReadWriteOnce"}}, {"resources", {{"requests", {{"storage", size}}}}}}};
}

json ConditionOf(const json& dv, const std::string& type) {
  for (const auto& c : dv.value("/status/conditions"_json_pointer, json::array())) {
    if (c["type"] == type) return c;
  }
  return nullptr;
}

TEST_F(DataVolumeControllerTest, BlankPvcApiWritesUsableSizeAndDeleteRemovesAll) {
  // The spec's examples/20-dv-blank.yaml: 500Mi through the PVC API, default class.
  json dv =
      Create(Dv(), "default", BlankDataVolume("blank-image-datavolume", ClaimApi("pvc", "500Mi")));
  ASSERT_TRUE(WaitForPhase(Dv(), "default", "blank-image-datavolume", "Succeeded"));
  json done = Get(Dv(), "default", "blank-image-datavolume");
  EXPECT_EQ(done["status"]["progress"], "100.0%");
  EXPECT_EQ(ConditionOf(done, "Bound")["status"], "True");
  EXPECT_EQ(ConditionOf(done, "Running")["reason"], "Completed");
  EXPECT_EQ(ConditionOf(done, "Ready")["status"], "True");

  json pvc = Get(Pvc(), "default", "blank-image-datavolume");
  EXPECT_EQ(pvc["spec"]["resources"]["requests"]["storage"], "500Mi");  // PVC API: as written
  EXPECT_EQ(pvc["metadata"]["annotations"][kAnnBindImmediate], "true");
  EXPECT_EQ(pvc["metadata"]["ownerReferences"][0]["uid"], dv["metadata"]["uid"]);
  EXPECT_EQ(pvc["metadata"]["ownerReferences"][0]["controller"], true);
  EXPECT_EQ(pvc["metadata"]["ownerReferences"][0]["blockOwnerDeletion"], true);

  // 500 MiB * (1 - 0.055) = 472.5 MiB, rounded down to 472 MiB = 494927872 bytes.
  std::string pv_name = pvc["spec"]["volumeName"];
  std::string image = PoolVolumeDir(pv_name) + "/disk.img";
  EXPECT_EQ(storage::ApparentSize(image), 494927872);
  EXPECT_LT(storage::AllocatedBytes(image), 494927872);  // sparse
  EXPECT_TRUE(HasEvent("default", "blank-image-datavolume", "Bound"));

  ASSERT_TRUE(objects_->Delete(Dv(), "default", "blank-image-datavolume").ok());
  ASSERT_TRUE(WaitFor([&] { return Get(Pvc(), "default", "blank-image-datavolume").is_null(); }));
  ASSERT_TRUE(WaitFor([&] { return Get(Pv(), "", pv_name).is_null(); }));
  EXPECT_FALSE(fs::exists(PoolVolumeDir(pv_name)));
}

TEST_F(DataVolumeControllerTest, PreallocationAllocatesEveryBlock) {
  // examples/13-dv-preallocation.yaml, smaller: 64Mi -> 64 * 0.945 = 60.48 MiB -> 60 MiB.
  json dv = BlankDataVolume("preallocated-datavolume", ClaimApi("pvc", "64Mi"));
  dv["spec"]["preallocation"] = true;
  Create(Dv(), "default", dv);
  ASSERT_TRUE(WaitForPhase(Dv(), "default", "preallocated-datavolume", "Succeeded"));
  json pvc = Get(Pvc(), "default", "preallocated-datavolume");
  EXPECT_EQ(pvc["metadata"]["annotations"][kAnnPreallocationRequested], "true");
  EXPECT_EQ(pvc["metadata"]["annotations"][kAnnPreallocationApplied], "true");
  std::string image = PoolVolumeDir(pvc["spec"]["volumeName"]) + "/disk.img";
  EXPECT_EQ(storage::ApparentSize(image), 60 * kMiB);
  EXPECT_GE(storage::AllocatedBytes(image), 60 * kMiB);
  EXPECT_TRUE(HasEvent("default", "preallocated-datavolume", "PreallocationApplied"));
}

TEST_F(DataVolumeControllerTest, StorageApiFillsModesFromProfileAndInflates) {
  const api::Kind& profile_kind = Kind("cdi.kubevirt.io", "StorageProfile");
  auto profile = objects_->Create(profile_kind, "",
                                  {{"apiVersion", "cdi.kubevirt.io/v1beta1"},
                                   {"kind", "StorageProfile"},
                                   {"metadata", {{"name", "vdisk-hostpath"}}},
                                   {"spec", json::object()}});
  if (!profile.ok() && profile.status().code() != StatusCode::kAlreadyExists) {
    FAIL() << profile.status().message();
  }
  auto status =
      objects_->Patch(profile_kind, "", "vdisk-hostpath", server::PatchType::kMerge,
                      {{"status",
                        {{"claimPropertySets",
                          {{{"accessModes", {"ReadWriteOnce"}}, {"volumeMode", "Filesystem"}}}}}}},
                      true);
  ASSERT_TRUE(status.ok()) << status.status().message();
  json dv = BlankDataVolume("via-storage",
                            {"storage", {{"resources", {{"requests", {{"storage", "64Mi"}}}}}}});
  Create(Dv(), "default", dv);
  ASSERT_TRUE(WaitForPhase(Dv(), "default", "via-storage", "Succeeded"));
  json pvc = Get(Pvc(), "default", "via-storage");
  EXPECT_EQ(pvc["spec"]["accessModes"], json({"ReadWriteOnce"}));
  EXPECT_EQ(pvc["spec"]["volumeMode"], "Filesystem");
  // ceil(64 MiB / 0.945) = 71014671 bytes (CDI's GetRequiredSpace).
  auto request =
      api::Quantity::Parse(pvc["spec"]["resources"]["requests"]["storage"].get<std::string>());
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->Value(), 71014671);
  // usable = floor(71014671 * 0.945 / 1 MiB) MiB = 64 MiB: the user gets what was asked.
  EXPECT_EQ(storage::ApparentSize(PoolVolumeDir(pvc["spec"]["volumeName"]) + "/disk.img"),
            64 * kMiB);
}

TEST_F(DataVolumeControllerTest, EmptyStorageProfileCreatesNoClaim) {
  Create(Sc(), "", StorageClass("mystery", "example.com/unknown", "Delete", "Immediate"));
  json dv = BlankDataVolume(
      "unknown-modes",
      {"storage",
       {{"storageClassName", "mystery"}, {"resources", {{"requests", {{"storage", "1Gi"}}}}}}});
  Create(Dv(), "default", dv);
  ASSERT_TRUE(WaitFor([&] {
    json bound = ConditionOf(Get(Dv(), "default", "unknown-modes"), "Bound");
    return bound.is_object() && bound.value("reason", "") == "ErrClaimNotValid";
  }));
  json got = Get(Dv(), "default", "unknown-modes");
  EXPECT_EQ(got["status"]["phase"], "Pending");
  EXPECT_NE(ConditionOf(got, "Ready")["message"].get<std::string>().find("accessMode"),
            std::string::npos);
  EXPECT_TRUE(Get(Pvc(), "default", "unknown-modes").is_null());
}

TEST_F(DataVolumeControllerTest, BlankBlockVolumeNeedsNoImageWrite) {
  json claim = ClaimApi("pvc", "32Mi");
  claim[1]["volumeMode"] = "Block";
  Create(Dv(), "default", BlankDataVolume("blank-block", claim));
  ASSERT_TRUE(WaitForPhase(Dv(), "default", "blank-block", "Succeeded"));
  json pvc = Get(Pvc(), "default", "blank-block");
  json pv = Get(Pv(), "", pvc["spec"]["volumeName"]);
  EXPECT_EQ(pv["spec"]["volumeMode"], "Block");
  // The Block volume's backing file has the full requested size (no file system overhead).
  EXPECT_EQ(storage::ApparentSize(pv["spec"]["local"]["path"]), 32 * kMiB);
}

TEST_F(DataVolumeControllerTest, GlobalPreallocationFromCdiConfig) {
  auto patched =
      objects_->Patch(Kind("cdi.kubevirt.io", "CDIConfig"), "", "config", server::PatchType::kMerge,
                      {{"status", {{"preallocation", true}}}}, true);
  ASSERT_TRUE(patched.ok()) << patched.status().message();
  Create(Dv(), "default", BlankDataVolume("global-prealloc", ClaimApi("pvc", "16Mi")));
  ASSERT_TRUE(WaitForPhase(Dv(), "default", "global-prealloc", "Succeeded"));
  json pvc = Get(Pvc(), "default", "global-prealloc");
  std::string image = PoolVolumeDir(pvc["spec"]["volumeName"]) + "/disk.img";
  // 16 MiB * 0.945 = 15.12 MiB -> 15 MiB, every block allocated.
  EXPECT_EQ(storage::ApparentSize(image), 15 * kMiB);
  EXPECT_GE(storage::AllocatedBytes(image), 15 * kMiB);
}

TEST_F(DataVolumeControllerTest, LargerThanPoolStaysPendingWithEvent) {
  Create(Dv(), "default", BlankDataVolume("too-big", ClaimApi("pvc", "1000Ti")));
  ASSERT_TRUE(WaitFor([&] { return HasEvent("default", "too-big", "ProvisioningFailed"); }));
  ASSERT_TRUE(WaitForPhase(Dv(), "default", "too-big", "Pending"));
  json dv = Get(Dv(), "default", "too-big");
  EXPECT_EQ(dv["status"]["progress"], "N/A");
  EXPECT_EQ(ConditionOf(dv, "Bound")["reason"], "Pending");
  EXPECT_EQ(Get(Pvc(), "default", "too-big")["status"]["phase"], "Pending");
}

}  // namespace
}  // namespace vdisk::controllers
