#include "controllers/storage_profile_controller.h"

#include <gtest/gtest.h>

#include "controllers/storage_test_env.h"

namespace vdisk::controllers {
namespace {

using server::PatchType;

class StorageProfileControllerTest : public ControllerTestEnv {
 protected:
  void SetUp() override {
    ControllerTestEnv::SetUp();
    if (HasFatalFailure()) return;
    Run<GarbageCollector>(*objects_);
    Run<StorageProfileController>(*objects_);
  }

  void CreateClass(const std::string& name, const std::string& provisioner,
                   json annotations = json::object()) {
    json sc = {{"apiVersion", "storage.k8s.io/v1"},
               {"kind", "StorageClass"},
               {"metadata", {{"name", name}, {"annotations", annotations}}},
               {"provisioner", provisioner},
               {"volumeBindingMode", "WaitForFirstConsumer"}};
    Create(ClassKind(), "", sc);
  }
  json Profile(const std::string& name) {
    auto got = objects_->Get(ProfileKind(), "", name);
    return got.ok() ? *got : json();
  }
  // Waits until the profile's status has the class's provisioner: the controller has been.
  json ReconciledProfile(const std::string& name, const std::string& provisioner) {
    json profile;
    bool seen = WaitFor([&] {
      profile = Profile(name);
      return profile.is_object() && profile.contains("status") &&
             profile["status"].value("provisioner", "") == provisioner;
    });
    EXPECT_TRUE(seen) << "no reconciled StorageProfile " << name << ": " << profile.dump();
    return profile;
  }
  bool StatusMatches(const std::string& name, const json& expected) {
    json profile = Profile(name);
    return profile.is_object() && profile.value("status", json()) == expected;
  }
  static const api::Kind& ClassKind() { return KindOf("storage.k8s.io", "StorageClass"); }
  static const api::Kind& ProfileKind() { return KindOf("cdi.kubevirt.io", "StorageProfile"); }
};

const json kRwoFilesystem = {{"accessModes", {"ReadWriteOnce"}}, {"volumeMode", "Filesystem"}};
const json kRwoBlock = {{"accessModes", {"ReadWriteOnce"}}, {"volumeMode", "Block"}};

TEST_F(StorageProfileControllerTest, DefaultHostpathClassGetsRecognizedProfileOwnedByIt) {
  json profile =
      ReconciledProfile(server::kDefaultStorageClass, "kubevirt.io.hostpath-provisioner");
  json expected = {{"provisioner", "kubevirt.io.hostpath-provisioner"},
                   {"storageClass", server::kDefaultStorageClass},
                   {"claimPropertySets", {kRwoFilesystem}}};
  EXPECT_EQ(profile["status"], expected) << "no strategy: a clone tries snapshot first";
  EXPECT_EQ(profile["spec"], json::object());

  auto sc = objects_->Get(ClassKind(), "", server::kDefaultStorageClass);
  ASSERT_TRUE(sc.ok());
  const json& refs = profile["metadata"]["ownerReferences"];
  ASSERT_EQ(refs.size(), 1u);
  EXPECT_EQ(refs[0]["kind"], "StorageClass");
  EXPECT_EQ(refs[0]["name"], server::kDefaultStorageClass);
  EXPECT_EQ(refs[0]["uid"], (*sc)["metadata"]["uid"]);

  auto sets = EffectiveClaimProperties(profile);
  ASSERT_TRUE(sets.ok());
  ASSERT_EQ(sets->size(), 1u);
  EXPECT_EQ((*sets)[0], (ClaimPropertySet{{"ReadWriteOnce"}, "Filesystem"}));
  EXPECT_EQ(EffectiveCloneStrategy(profile), "");
}

TEST_F(StorageProfileControllerTest, NoProvisionerClassOffersFilesystemAndBlock) {
  CreateClass("local", "kubernetes.io/no-provisioner");
  json profile = ReconciledProfile("local", "kubernetes.io/no-provisioner");
  EXPECT_EQ(profile["status"]["claimPropertySets"], json::array({kRwoFilesystem, kRwoBlock}));
  EXPECT_EQ(profile["status"]["cloneStrategy"], "copy");
  auto sets = EffectiveClaimProperties(profile);
  ASSERT_TRUE(sets.ok());
  EXPECT_EQ(sets->size(), 2u);
}

// Spec 9.20.3.3, examples 07 and 08: an unrecognized provisioner leaves the status empty until
// the administrator fills spec.claimPropertySets, which then shows in the status.
TEST_F(StorageProfileControllerTest, UnknownProvisionerIsEmptyUntilAdminFillsSpec) {
  CreateClass("unknown-provisioner-class", "example.com/unknown-provisioner");
  json profile = ReconciledProfile("unknown-provisioner-class", "example.com/unknown-provisioner");
  EXPECT_EQ(profile["status"], json({{"provisioner", "example.com/unknown-provisioner"},
                                     {"storageClass", "unknown-provisioner-class"}}));
  auto sets = EffectiveClaimProperties(profile);
  ASSERT_TRUE(sets.ok());
  EXPECT_TRUE(sets->empty()) << "modes of an unrecognized provisioner must be undetermined";
  EXPECT_EQ(EffectiveCloneStrategy(profile), "");

  json spec = {{"claimPropertySets", {kRwoFilesystem}}};
  auto patched = objects_->Patch(ProfileKind(), "", "unknown-provisioner-class", PatchType::kMerge,
                                 {{"spec", spec}}, false);
  ASSERT_TRUE(patched.ok()) << patched.status().message();
  json expected = {{"provisioner", "example.com/unknown-provisioner"},
                   {"storageClass", "unknown-provisioner-class"},
                   {"claimPropertySets", {kRwoFilesystem}}};
  EXPECT_TRUE(WaitFor([&] { return StatusMatches("unknown-provisioner-class", expected); }))
      << Profile("unknown-provisioner-class").dump();
  EXPECT_EQ(Profile("unknown-provisioner-class")["spec"], spec);
}

// Spec 9.20.3.3.1, example 09: the spec's sets and clone strategy override the known values,
// and the spec is never rewritten.
TEST_F(StorageProfileControllerTest, SpecOverridesKnownValuesAndIsKept) {
  CreateClass("hostpath-csi", "kubevirt.io.hostpath-provisioner");
  ReconciledProfile("hostpath-csi", "kubevirt.io.hostpath-provisioner");
  json spec = {{"claimPropertySets", {kRwoBlock}}, {"cloneStrategy", "csi-clone"}};
  auto patched = objects_->Patch(ProfileKind(), "", "hostpath-csi", PatchType::kMerge,
                                 {{"spec", spec}}, false);
  ASSERT_TRUE(patched.ok()) << patched.status().message();
  json expected = {{"provisioner", "kubevirt.io.hostpath-provisioner"},
                   {"storageClass", "hostpath-csi"},
                   {"claimPropertySets", {kRwoBlock}},
                   {"cloneStrategy", "csi-clone"}};
  EXPECT_TRUE(WaitFor([&] { return StatusMatches("hostpath-csi", expected); }))
      << Profile("hostpath-csi").dump();
  EXPECT_EQ(Profile("hostpath-csi")["spec"], spec);

  // Clearing the spec brings the known values back.
  patched = objects_->Patch(
      ProfileKind(), "", "hostpath-csi", PatchType::kMerge,
      {{"spec", {{"claimPropertySets", nullptr}, {"cloneStrategy", nullptr}}}}, false);
  ASSERT_TRUE(patched.ok()) << patched.status().message();
  expected["claimPropertySets"] = {kRwoFilesystem};
  expected.erase("cloneStrategy");
  EXPECT_TRUE(WaitFor([&] { return StatusMatches("hostpath-csi", expected); }))
      << Profile("hostpath-csi").dump();
}

TEST_F(StorageProfileControllerTest, ClassCloneStrategyAnnotationBeatsTheTable) {
  CreateClass("snap", "kubevirt.io.hostpath-provisioner",
              {{"cdi.kubevirt.io/clone-strategy", "snapshot"}});
  json profile = ReconciledProfile("snap", "kubevirt.io.hostpath-provisioner");
  EXPECT_EQ(profile["status"]["cloneStrategy"], "snapshot");
}

TEST_F(StorageProfileControllerTest, DeletingTheClassRemovesItsProfile) {
  CreateClass("doomed", "kubernetes.io/no-provisioner");
  ReconciledProfile("doomed", "kubernetes.io/no-provisioner");
  auto deleted = objects_->Delete(ClassKind(), "", "doomed");
  ASSERT_TRUE(deleted.ok()) << deleted.status().message();
  EXPECT_TRUE(WaitFor([&] {
    return objects_->Get(ProfileKind(), "", "doomed").status().code() == StatusCode::kNotFound;
  }));
  // The other classes keep theirs.
  EXPECT_TRUE(Profile(server::kDefaultStorageClass).is_object());
}

TEST_F(StorageProfileControllerTest, ProfileMadeBeforeItsClassIsAdoptedWithItsSpec) {
  json spec = {{"claimPropertySets", {kRwoBlock}}};
  auto created = objects_->Create(ProfileKind(), "",
                                  {{"apiVersion", "cdi.kubevirt.io/v1beta1"},
                                   {"kind", "StorageProfile"},
                                   {"metadata", {{"name", "later"}}},
                                   {"spec", spec}});
  ASSERT_TRUE(created.ok()) << created.status().message();
  CreateClass("later", "example.com/unknown-provisioner");
  json profile = ReconciledProfile("later", "example.com/unknown-provisioner");
  EXPECT_EQ(profile["spec"], spec);
  EXPECT_EQ(profile["status"]["claimPropertySets"], json::array({kRwoBlock}));
  ASSERT_TRUE(profile["metadata"]["ownerReferences"].is_array());
  EXPECT_EQ(profile["metadata"]["ownerReferences"][0]["name"], "later");
}

TEST_F(StorageProfileControllerTest, DeletedProfileIsRecreated) {
  ReconciledProfile(server::kDefaultStorageClass, "kubevirt.io.hostpath-provisioner");
  auto deleted = objects_->Delete(ProfileKind(), "", server::kDefaultStorageClass);
  ASSERT_TRUE(deleted.ok()) << deleted.status().message();
  ReconciledProfile(server::kDefaultStorageClass, "kubevirt.io.hostpath-provisioner");
}

// ---- the pure functions ----------------------------------------------------------------------

TEST(EffectiveClaimPropertiesTest, SpecBeforeStatusAndMalformedSetsAreInvalid) {
  json profile = {{"spec", {{"claimPropertySets", {kRwoBlock}}}},
                  {"status", {{"claimPropertySets", {kRwoFilesystem}}}}};
  auto sets = EffectiveClaimProperties(profile);
  ASSERT_TRUE(sets.ok());
  ASSERT_EQ(sets->size(), 1u);
  EXPECT_EQ((*sets)[0].volume_mode, "Block");

  profile["spec"] = json::object();
  sets = EffectiveClaimProperties(profile);
  ASSERT_TRUE(sets.ok());
  EXPECT_EQ((*sets)[0].volume_mode, "Filesystem");

  profile["spec"]["claimPropertySets"] = {
      {{"accessModes", json::array()}, {"volumeMode", "Block"}}};
  EXPECT_EQ(EffectiveClaimProperties(profile).status().code(), StatusCode::kInvalid);
  profile["spec"]["claimPropertySets"] = {{{"accessModes", {"ReadWriteOnce"}}}};
  EXPECT_EQ(EffectiveClaimProperties(profile).status().code(), StatusCode::kInvalid);

  EXPECT_TRUE(EffectiveClaimProperties(json()).ok());
  EXPECT_TRUE(EffectiveClaimProperties(json("not an object"))->empty());
}

TEST(KnownProvisionersTest, Table) {
  EXPECT_EQ(KnownClaimPropertySets("kubevirt.io.hostpath-provisioner").size(), 1u);
  EXPECT_EQ(KnownClaimPropertySets("kubernetes.io/no-provisioner").size(), 2u);
  EXPECT_TRUE(KnownClaimPropertySets("example.com/unknown").empty());
  EXPECT_EQ(KnownCloneStrategy("kubevirt.io.hostpath-provisioner"), "");
  EXPECT_EQ(KnownCloneStrategy("kubernetes.io/no-provisioner"), "copy");
  EXPECT_EQ(KnownCloneStrategy("example.com/unknown"), "");
}

TEST(DesiredStorageProfileStatusTest, KeepsFieldsItDoesNotManage) {
  json sc = {{"metadata", {{"name", "x"}}}, {"provisioner", "example.com/unknown"}};
  json profile = {{"spec", json::object()},
                  {"status",
                   {{"dataImportCronSourceFormat", "pvc"},
                    {"snapshotClass", "snap"},
                    {"cloneStrategy", "copy"}}}};
  json status = DesiredStorageProfileStatus(sc, profile);
  EXPECT_EQ(status, json({{"provisioner", "example.com/unknown"},
                          {"storageClass", "x"},
                          {"dataImportCronSourceFormat", "pvc"}}));
}

TEST(DesiredStorageProfileStatusTest, PoolWithSnapshotsAdvertisesThem) {
  json sc = {{"metadata", {{"name", "hostpath-xfs"}}},
             {"provisioner", "kubevirt.io.hostpath-provisioner"}};
  json profile = {{"spec", json::object()}};
  json status = DesiredStorageProfileStatus(sc, profile, /*snapshots_supported=*/true);
  EXPECT_EQ(status["cloneStrategy"], "snapshot");
  EXPECT_EQ(status["snapshotClass"], "hostpath-xfs");

  json without = DesiredStorageProfileStatus(sc, profile, /*snapshots_supported=*/false);
  EXPECT_FALSE(without.contains("cloneStrategy")) << "a clone tries snapshot, then falls back";
  EXPECT_FALSE(without.contains("snapshotClass"));

  // The administrator's choices win.
  profile["spec"] = {{"cloneStrategy", "csi-clone"}, {"snapshotClass", "mine"}};
  json chosen = DesiredStorageProfileStatus(sc, profile, /*snapshots_supported=*/true);
  EXPECT_EQ(chosen["cloneStrategy"], "csi-clone");
  EXPECT_EQ(chosen["snapshotClass"], "mine");
}

}  // namespace
}  // namespace vdisk::controllers
