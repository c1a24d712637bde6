#include "storage/mounts.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "storage/hostpath_pool.h"

namespace vdisk::storage {
namespace {

namespace fs = std::filesystem;

class MountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "vdisk-mounts-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(MountsTest, RunToolCapturesOutputAndExitStatus) {
  auto ok = RunTool({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->exit_code, 3);
  EXPECT_EQ(ok->output, "out\nerr\n");
  EXPECT_EQ(RunTool({"no-such-tool-vdisk"}).status().code(), StatusCode::kUnavailable);
  auto slow = RunTool({"sleep", "5"}, std::chrono::seconds(1));
  EXPECT_EQ(slow.status().code(), StatusCode::kUnavailable);
}

TEST_F(MountsTest, DescribesPathsAndFileSystems) {
  EXPECT_EQ(DescribePath(dir_), "a directory");
  EXPECT_EQ(DescribePath(dir_ + "/none"), "missing");
  ASSERT_TRUE(WriteImageFile(dir_ + "/file", 1 << 20, false).ok());
  EXPECT_EQ(DescribePath(dir_ + "/file"), "a regular file");
  EXPECT_TRUE(OnSameFilesystem(dir_, dir_ + "/file"));
  EXPECT_FALSE(OnSameFilesystem(dir_, dir_ + "/none"));
  auto root = MountedAt("/");
  ASSERT_TRUE(root.has_value());
  EXPECT_FALSE(root->fs_type.empty());
  EXPECT_FALSE(MountedAt(dir_).has_value());
  EXPECT_TRUE(UnmountVolume(dir_).ok());  // not a mount point: nothing to do
  EXPECT_EQ(FilesystemOn("relative/path").status().code(), StatusCode::kInvalid);
  EXPECT_EQ(MakeXfs("-f").code(), StatusCode::kInvalid);
}

TEST_F(MountsTest, BlankFileGetsXfsOnce) {
  if (RunTool({"blkid", "-V"}).status().code() == StatusCode::kUnavailable ||
      RunTool({"mkfs.xfs", "-V"}).status().code() == StatusCode::kUnavailable) {
    GTEST_SKIP() << "blkid or mkfs.xfs is not installed";
  }
  std::string device = dir_ + "/device";
  ASSERT_TRUE(WriteImageFile(device, int64_t{320} << 20, false).ok());
  auto blank = FilesystemOn(device);
  ASSERT_TRUE(blank.ok()) << blank.status().message();
  EXPECT_EQ(*blank, "");
  ASSERT_TRUE(MakeXfs(device).ok());
  auto made = FilesystemOn(device);
  ASSERT_TRUE(made.ok()) << made.status().message();
  EXPECT_EQ(*made, "xfs");
}

}  // namespace
}  // namespace vdisk::storage
