// DataVolume clones in process: strategy choice and its recorded fallback, host-assisted copies
// between volume modes and namespaces, sizes, and snapshots on a pool without reflinks (the test
// directory's file system decides which case runs; the e2e tests cover XFS with reflinks).
#include <fcntl.h>
#include <unistd.h>

#include <fstream>

#include "controllers/clone_strategy.h"
#include "controllers/datavolume_controller.h"
#include "controllers/snapshot_controller.h"
#include "controllers/storage_profile_controller.h"
#include "controllers/storage_test_env.h"
#include "storage/hostpath_pool.h"
#include "storage/volume_copy.h"

namespace vdisk::controllers {
namespace {

constexpr int64_t kMiB = 1024 * 1024;

class DataVolumeCloneTest : public StorageTestEnv {
 protected:
  void SetUp() override {
    StorageTestEnv::SetUp();
    if (HasFatalFailure()) return;
    Run<StorageProfileController>(*objects_, &volumes_->pools());
    Run<SnapshotController>(*objects_);
    Create(Kind("", "Namespace"), "",
           {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "other"}}}});
  }

  static json DataVolume(const std::string& ns, const std::string& name, const json& source,
                         const std::string& size, const std::string& mode = "Filesystem") {
    return {{"apiVersion", "cdi.kubevirt.io/v1beta1"},
            {"kind", "DataVolume"},
            {"metadata", {{"name", name}, {"namespace", ns}}},
            {"spec",
             {{"source", source},
              {"pvc",
               {{"accessModes", {"ReadWriteOnce"}},
                {"volumeMode", mode},
                {"resources", {{"requests", {{"storage", size}}}}}}}}}};
  }

  // A 64 MiB blank source with a few MiB of pattern data at scattered offsets (holes between).
  std::string MakeSource(const std::string& mode = "Filesystem") {
    Create(Dv(), "default",
           DataVolume("default", "source", {{"blank", json::object()}}, "64Mi", mode));
    EXPECT_TRUE(WaitForPhase(Dv(), "default", "source", "Succeeded"));
    std::string image = ImageOf("default", "source");
    int fd = ::open(image.c_str(), O_WRONLY);
    EXPECT_GE(fd, 0);
    std::string chunk(kMiB, '\0');
    for (int64_t offset : {int64_t{0}, 10 * kMiB, 40 * kMiB}) {
      for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>((offset / kMiB) + i);
      EXPECT_EQ(::pwrite(fd, chunk.data(), chunk.size(), offset),
                static_cast<ssize_t>(chunk.size()));
    }
    ::fsync(fd);
    ::close(fd);
    return image;
  }

  std::string ImageOf(const std::string& ns, const std::string& claim) {
    json pvc = Get(Pvc(), ns, claim);
    json pv = Get(Pv(), "", pvc["spec"]["volumeName"].get<std::string>());
    auto path = VolumeImagePath(pv);
    EXPECT_TRUE(path.ok()) << path.status().message();
    return path.ok() ? *path : "";
  }

  static std::string Read(const std::string& path, int64_t length) {
    std::ifstream in(path, std::ios::binary);
    std::string data(length, '\0');
    in.read(data.data(), length);
    data.resize(in.gcount());
    return data;
  }

  std::string Annotation(const std::string& ns, const std::string& claim, const char* key) {
    return Get(Pvc(), ns, claim)
        .value("/metadata/annotations"_json_pointer, json::object())
        .value(key, "");
  }
};

TEST_F(DataVolumeCloneTest, CopyCloneAcrossNamespacesRecordsItsFallbackAndCopiesSparsely) {
  std::string source = MakeSource();
  json pvc_source = {{"pvc", {{"namespace", "default"}, {"name", "source"}}}};
  Create(Dv(), "other", DataVolume("other", "copy", pvc_source, "128Mi"));
  ASSERT_TRUE(WaitForPhase(Dv(), "other", "copy", "Succeeded"));
  EXPECT_EQ(Get(Dv(), "other", "copy")["status"]["progress"], "100.0%");

  // The default class's pool here takes no snapshots unless its file system shares blocks.
  bool reflinks = storage::SupportsReflink(dir_ + "/pools/default");
  EXPECT_EQ(Annotation("other", "copy", kAnnCloneType), reflinks ? "snapshot" : "copy");
  if (!reflinks) {
    EXPECT_EQ(Annotation("other", "copy", kAnnCloneFallbackReason),
              "No compatible volumesnapshotclass found");
    EXPECT_TRUE(HasEvent("other", "copy", "NoVolumeSnapshotClass"));
    EXPECT_TRUE(HasEvent("other", "copy", "CloneSucceeded"));
  }

  std::string target = ImageOf("other", "copy");
  int64_t source_size = storage::ApparentSize(source);
  EXPECT_EQ(Read(target, source_size), Read(source, source_size));
  // Grown to the usable space of the larger target: 128 MiB * 0.945, rounded down to a MiB.
  EXPECT_EQ(storage::ApparentSize(target), 120 * kMiB);
  // Holes stay holes: 3 MiB of data, not 64.
  EXPECT_LT(storage::AllocatedBytes(target), 16 * kMiB);
}

TEST_F(DataVolumeCloneTest, FilesystemToBlockAndBackKeepsTheBytes) {
  std::string source = MakeSource();
  json from_source = {{"pvc", {{"namespace", "default"}, {"name", "source"}}}};
  Create(Dv(), "default", DataVolume("default", "block", from_source, "64Mi", "Block"));
  ASSERT_TRUE(WaitForPhase(Dv(), "default", "block", "Succeeded"));
  EXPECT_EQ(Annotation("default", "block", kAnnCloneType), "copy");
  EXPECT_EQ(Annotation("default", "block", kAnnCloneFallbackReason),
            storage::SupportsReflink(dir_ + "/pools/default")
                ? "The volume modes of source and target are incompatible"
                : "No compatible volumesnapshotclass found");
  std::string block = ImageOf("default", "block");
  EXPECT_EQ(storage::ApparentSize(block), 64 * kMiB) << "a block volume keeps its size";
  int64_t source_size = storage::ApparentSize(source);
  EXPECT_EQ(Read(block, source_size), Read(source, source_size));

  json from_block = {{"pvc", {{"namespace", "default"}, {"name", "block"}}}};
  Create(Dv(), "default", DataVolume("default", "back", from_block, "80Mi"));
  ASSERT_TRUE(WaitForPhase(Dv(), "default", "back", "Succeeded"));
  std::string back = ImageOf("default", "back");
  EXPECT_EQ(Read(back, source_size), Read(source, source_size));
}

// Spec 9.20.12.1 (examples 18 and 19): moving a disk to a node by cloning it into a labelled
// local PV; the DataVolume's claim names no class and selects the PV by label.
TEST_F(DataVolumeCloneTest, CloneIntoLabelledLocalPvMovesTheDisk) {
  std::string source = MakeSource();
  std::string local_dir = dir_ + "/local/disk1";
  std::filesystem::create_directories(local_dir);
  Create(Pv(), "",
         {{"apiVersion", "v1"},
          {"kind", "PersistentVolume"},
          {"metadata", {{"name", "destination-pv"}, {"labels", {{"node", "node01"}}}}},
          {"spec",
           {{"accessModes", {"ReadWriteOnce"}},
            {"capacity", {{"storage", "100Mi"}}},
            {"local", {{"path", local_dir}}},
            {"nodeAffinity",
             {{"required",
               {{"nodeSelectorTerms",
                 {{{"matchExpressions",
                    {{{"key", "kubernetes.io/hostname"},
                      {"operator", "In"},
                      {"values", {"node01"}}}}}}}}}}}},
            {"persistentVolumeReclaimPolicy", "Retain"},
            {"storageClassName", "local"},
            {"volumeMode", "Filesystem"}}}});
  json dv = DataVolume("default", "moved",
                       {{"pvc", {{"namespace", "default"}, {"name", "source"}}}}, "100Mi");
  dv["spec"]["pvc"].erase("volumeMode");
  dv["spec"]["pvc"]["selector"] = {{"matchLabels", {{"node", "node01"}}}};
  Create(Dv(), "default", dv);
  ASSERT_TRUE(WaitForPhase(Dv(), "default", "moved", "Succeeded"));
  EXPECT_EQ(Get(Pvc(), "default", "moved")["spec"]["volumeName"], "destination-pv");
  int64_t source_size = storage::ApparentSize(source);
  EXPECT_EQ(Read(local_dir + "/disk.img", source_size), Read(source, source_size));
}

TEST_F(DataVolumeCloneTest, TargetSmallerThanSourceFails) {
  MakeSource();
  Create(Dv(), "default",
         DataVolume("default", "small", {{"pvc", {{"namespace", "default"}, {"name", "source"}}}},
                    "32Mi"));
  ASSERT_TRUE(WaitForPhase(Dv(), "default", "small", "Failed"));
  EXPECT_EQ(EventMessage("default", "small", "ErrIncompatiblePVC"), kMessageTargetTooSmall);
  EXPECT_TRUE(Get(Pvc(), "default", "small").is_null()) << "no claim for a clone that cannot fit";
}

TEST_F(DataVolumeCloneTest, MissingSourceWaitsAndSaysSo) {
  Create(Dv(), "default",
         DataVolume("default", "orphan", {{"pvc", {{"namespace", "default"}, {"name", "nope"}}}},
                    "64Mi"));
  ASSERT_TRUE(WaitFor([&] { return HasEvent("default", "orphan", "CloneWithoutSource"); }));
  EXPECT_TRUE(WaitForPhase(Dv(), "default", "orphan", "Pending"));
  MakeSource();  // named "source", not "nope": still waiting
  EXPECT_TRUE(Get(Pvc(), "default", "orphan").is_null());
}

TEST_F(DataVolumeCloneTest, SnapshotFollowsThePoolsReflinkSupport) {
  MakeSource();
  Create(Kind("snapshot.storage.k8s.io", "VolumeSnapshot"), "default",
         {{"apiVersion", "snapshot.storage.k8s.io/v1"},
          {"kind", "VolumeSnapshot"},
          {"metadata", {{"name", "snap"}, {"namespace", "default"}}},
          {"spec", {{"source", {{"persistentVolumeClaimName", "source"}}}}}});
  const api::Kind& snapshots = Kind("snapshot.storage.k8s.io", "VolumeSnapshot");
  if (storage::SupportsReflink(dir_ + "/pools/default")) {
    ASSERT_TRUE(WaitFor([&] {
      return Get(snapshots, "default", "snap").value("/status/readyToUse"_json_pointer, false);
    }));
    return;
  }
  ASSERT_TRUE(WaitFor([&] {
    return !Get(snapshots, "default", "snap")
                .value("/status/error/message"_json_pointer, "")
                .empty();
  }));
  json snap = Get(snapshots, "default", "snap");
  EXPECT_EQ(snap["status"]["readyToUse"], false);
  EXPECT_NE(snap["status"]["error"]["message"].get<std::string>().find("does not support"),
            std::string::npos)
      << snap.dump();
  EXPECT_TRUE(HasEvent("default", "snap", "SnapshotCreationFailed"));
  EXPECT_TRUE(
      Get(Kind("snapshot.storage.k8s.io", "VolumeSnapshotClass"), "", server::kDefaultStorageClass)
          .is_null())
      << "a pool without reflinks gets no snapshot class";
  // Deleting it releases it (its finalizer is removed).
  ASSERT_TRUE(objects_->Delete(snapshots, "default", "snap").ok());
  EXPECT_TRUE(WaitFor([&] { return Get(snapshots, "default", "snap").is_null(); }));
}

}  // namespace
}  // namespace vdisk::controllers
