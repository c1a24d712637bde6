#include "storage/hostpath_pool.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <vector>

#include "storage/fs_overhead.h"
#include "storage/test_filesystems.h"

namespace vdisk::storage {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kMiB = 1024 * 1024;

class HostPathPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "hpp-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string root_;
};

TEST_F(HostPathPoolTest, OpenCreatesMissingDirectory) {
  auto pool = HostPathPool::Open(root_ + "/a/b/pool");
  ASSERT_TRUE(pool.ok()) << pool.status().message();
  EXPECT_TRUE(fs::is_directory(root_ + "/a/b/pool/csi"));
  auto cap = pool->Capacity();
  ASSERT_TRUE(cap.ok());
  EXPECT_GT(cap->total, 0);
  EXPECT_LE(cap->free, cap->available);
}

TEST_F(HostPathPoolTest, RefusesPathThatIsAFile) {
  std::ofstream(root_ + "/file") << "x";
  auto pool = HostPathPool::Open(root_ + "/file");
  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.status().code(), StatusCode::kInvalid);
  EXPECT_NE(pool.status().message().find("is not a directory"), std::string::npos);
}

TEST_F(HostPathPoolTest, SparseImageThenGrowNeverShrink) {
  auto pool = HostPathPool::Open(root_ + "/pool");
  ASSERT_TRUE(pool.ok());
  ASSERT_TRUE(pool->CreateVolume("pvc-1", 64 * kMiB).ok());
  ASSERT_TRUE(pool->CreateImage("pvc-1", 64 * kMiB, false).ok());
  std::string image = root_ + "/pool/csi/pvc-1/disk.img";
  EXPECT_EQ(ApparentSize(image), 64 * kMiB);
  EXPECT_LT(AllocatedBytes(image), 64 * kMiB);  // sparse
  // Creating again with the same size is idempotent; another size is refused.
  EXPECT_TRUE(pool->CreateImage("pvc-1", 64 * kMiB, false).ok());
  EXPECT_FALSE(pool->CreateImage("pvc-1", 32 * kMiB, false).ok());
  ASSERT_TRUE(pool->GrowImage("pvc-1", 96 * kMiB, false).ok());
  EXPECT_EQ(ApparentSize(image), 96 * kMiB);
  ASSERT_TRUE(pool->GrowImage("pvc-1", 16 * kMiB, false).ok());
  EXPECT_EQ(ApparentSize(image), 96 * kMiB);
  // The sparse image's unallocated part counts as reserved.
  auto cap = pool->Capacity();
  ASSERT_TRUE(cap.ok());
  EXPECT_GE(cap->reserved, 96 * kMiB - AllocatedBytes(image));
}

TEST_F(HostPathPoolTest, PreallocatedImageHasEveryBlock) {
  auto pool = HostPathPool::Open(root_ + "/pool");
  ASSERT_TRUE(pool.ok());
  ASSERT_TRUE(pool->CreateVolume("pvc-2", 8 * kMiB).ok());
  ASSERT_TRUE(pool->CreateImage("pvc-2", 8 * kMiB, true).ok());
  std::string image = pool->ImagePath("pvc-2");
  EXPECT_EQ(ApparentSize(image), 8 * kMiB);
  EXPECT_GE(AllocatedBytes(image), 8 * kMiB);
  ASSERT_TRUE(pool->GrowImage("pvc-2", 12 * kMiB, true).ok());
  EXPECT_GE(AllocatedBytes(image), 12 * kMiB);
}

TEST_F(HostPathPoolTest, RefusesMoreThanFreeSpace) {
  auto pool = HostPathPool::Open(root_ + "/pool");
  ASSERT_TRUE(pool.ok());
  auto cap = pool->Capacity();
  ASSERT_TRUE(cap.ok());
  Status st = pool->CreateVolume("big", cap->free + 1024 * kMiB);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("cannot hold"), std::string::npos) << st.message();
  EXPECT_FALSE(pool->VolumeExists("big"));
  // An image that fits now but would not with a sparse image already promised.
  ASSERT_TRUE(pool->CreateVolume("half", 0).ok());
  ASSERT_TRUE(pool->CreateImage("half", cap->free / 2 + 512 * kMiB, false).ok());
  ASSERT_TRUE(pool->CreateVolume("other", 0).ok());
  EXPECT_FALSE(pool->CreateImage("other", cap->free / 2 + 512 * kMiB, false).ok());
}

TEST_F(HostPathPoolTest, DeleteRemovesDirectory) {
  auto pool = HostPathPool::Open(root_ + "/pool");
  ASSERT_TRUE(pool.ok());
  ASSERT_TRUE(pool->CreateVolume("pvc-3", kMiB).ok());
  ASSERT_TRUE(pool->CreateImage("pvc-3", kMiB, false).ok());
  ASSERT_TRUE(pool->DeleteVolume("pvc-3").ok());
  EXPECT_FALSE(fs::exists(root_ + "/pool/csi/pvc-3"));
  EXPECT_TRUE(pool->DeleteVolume("pvc-3").ok());
  EXPECT_FALSE(pool->DeleteVolume("../x").ok());
}

TEST_F(HostPathPoolTest, SnapshotCallsRefuseBadNames) {
  auto pool = HostPathPool::Open(root_ + "/pool");
  ASSERT_TRUE(pool.ok());
  ASSERT_TRUE(pool->CreateVolume("pvc-4", kMiB).ok());
  ASSERT_TRUE(pool->CreateImage("pvc-4", kMiB, false).ok());
  for (const std::string& bad :
       std::vector<std::string>{"", ".", "..", "a/b", "../csi", std::string("a\0b", 3)}) {
    auto created = pool->CreateSnapshot("pvc-4", bad);
    ASSERT_FALSE(created.ok()) << bad;
    EXPECT_EQ(created.status().code(), StatusCode::kInvalid);
    EXPECT_EQ(pool->DeleteSnapshot(bad).code(), StatusCode::kInvalid) << bad;
    EXPECT_EQ(pool->CreateSnapshot(bad, "snap").status().code(), StatusCode::kInvalid) << bad;
  }
  EXPECT_TRUE(fs::exists(pool->ImagePath("pvc-4")));
}

TEST_F(HostPathPoolTest, SnapshotNeedsReflink) {
  auto pool = HostPathPool::Open(root_ + "/pool");
  ASSERT_TRUE(pool.ok());
  if (pool->SupportsReflink()) GTEST_SKIP() << root_ << " supports reflink";
  ASSERT_TRUE(pool->CreateVolume("pvc-5", kMiB).ok());
  ASSERT_TRUE(pool->CreateImage("pvc-5", kMiB, false).ok());
  auto created = pool->CreateSnapshot("pvc-5", "snap-1");
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().code(), StatusCode::kInvalid);
  EXPECT_NE(created.status().message().find("storage pool " + root_ +
                                            "/pool does not support "
                                            "snapshots: its file system has no reflink"),
            std::string::npos)
      << created.status().message();
  EXPECT_FALSE(pool->SnapshotExists("snap-1"));
  EXPECT_EQ(pool->CreateSnapshot("missing", "snap-1").status().code(), StatusCode::kNotFound);
  // Deleting what was never made is fine.
  EXPECT_TRUE(pool->DeleteSnapshot("snap-1").ok());
}

void WriteAt(const std::string& path, int64_t offset, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::pwrite(fd, data.data(), data.size(), offset), static_cast<ssize_t>(data.size()));
  ASSERT_EQ(::fsync(fd), 0);
  ::close(fd);
}

std::string ReadAll(const std::string& path) {
  std::string bytes(static_cast<size_t>(std::max<int64_t>(ApparentSize(path), 0)), '\0');
  std::ifstream(path, std::ios::binary)
      .read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return bytes;
}

TEST_F(HostPathPoolTest, SnapshotOnReflinkPoolIsAFrozenCopy) {
  XfsMount xfs(root_);
  if (!xfs.skip_reason().empty()) GTEST_SKIP() << xfs.skip_reason();
  ASSERT_TRUE(xfs.mounted());
  auto pool = HostPathPool::Open(xfs.dir() + "/pool");
  ASSERT_TRUE(pool.ok());
  EXPECT_TRUE(pool->SupportsReflink());
  ASSERT_TRUE(pool->CreateVolume("pvc-6", 64 * kMiB).ok());
  ASSERT_TRUE(pool->CreateImage("pvc-6", 64 * kMiB, false).ok());
  std::string image = pool->ImagePath("pvc-6");
  WriteAt(image, 8 * kMiB, std::string(16 * kMiB, 'a'));
  std::string before = ReadAll(image);

  auto size = pool->CreateSnapshot("pvc-6", "snap-1");
  ASSERT_TRUE(size.ok()) << size.status().message();
  EXPECT_EQ(*size, 64 * kMiB);
  EXPECT_TRUE(pool->SnapshotExists("snap-1"));
  std::string snapshot = pool->SnapshotPath("snap-1");
  EXPECT_EQ(snapshot, xfs.dir() + "/pool/snapshots/snap-1/disk.img");
  EXPECT_TRUE(ReadAll(snapshot) == before);

  // The volume moves on; the snapshot does not.
  WriteAt(image, 8 * kMiB, std::string(kMiB, 'b'));
  ASSERT_TRUE(pool->GrowImage("pvc-6", 96 * kMiB, false).ok());
  EXPECT_TRUE(ReadAll(snapshot) == before);
  EXPECT_EQ(ApparentSize(snapshot), 64 * kMiB);

  // Asking again keeps the existing snapshot.
  auto again = pool->CreateSnapshot("pvc-6", "snap-1");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(*again, 64 * kMiB);
  EXPECT_TRUE(ReadAll(snapshot) == before);

  // Snapshots are not volumes: csi/ still lists the one volume, and capacity still works.
  std::vector<std::string> volumes;
  for (const auto& entry : fs::directory_iterator(xfs.dir() + "/pool/csi")) {
    volumes.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(volumes, std::vector<std::string>{"pvc-6"});
  EXPECT_FALSE(pool->VolumeExists("snap-1"));
  EXPECT_TRUE(pool->Capacity().ok());

  // The snapshot outlives its volume, and goes when deleted.
  ASSERT_TRUE(pool->DeleteVolume("pvc-6").ok());
  EXPECT_TRUE(ReadAll(snapshot) == before);
  ASSERT_TRUE(pool->DeleteSnapshot("snap-1").ok());
  EXPECT_FALSE(pool->SnapshotExists("snap-1"));
  EXPECT_FALSE(fs::exists(xfs.dir() + "/pool/snapshots/snap-1"));
  EXPECT_TRUE(pool->DeleteSnapshot("snap-1").ok());
}

TEST(FsOverheadTest, MatchesCdiArithmetic) {
  // 500Mi with 5.5%: aligned 500Mi, / 0.945 = 554802116.40.. -> 554802117.
  EXPECT_EQ(RequiredSpace(500 * kMiB, 0.055), 554802117);
  // usable of a 1Gi PVC: 0.945 * 1073741824 = 1014686023.68 -> 967 MiB.
  EXPECT_EQ(UsableSpace(1024 * kMiB, 0.055), 967 * kMiB);
  EXPECT_EQ(UsableSpace(1024 * kMiB, 0), 1024 * kMiB);
  nlohmann::json config = {
      {"status", {{"filesystemOverhead", {{"global", "0.1"}, {"storageClass", {{"x", "0.2"}}}}}}}};
  EXPECT_DOUBLE_EQ(FilesystemOverhead(config, "x"), 0.2);
  EXPECT_DOUBLE_EQ(FilesystemOverhead(config, "y"), 0.1);
  EXPECT_DOUBLE_EQ(FilesystemOverhead(nlohmann::json(), "y"), 0.055);
}

}  // namespace
}  // namespace vdisk::storage
