// Tests for CopyImage and SupportsReflink: what a clone's user sees (bytes, holes, sizes,
// errors), on the test's temporary directory and, as root, on a loop-mounted XFS with reflink.
#include "storage/volume_copy.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "storage/hostpath_pool.h"
#include "storage/test_filesystems.h"

namespace vdisk::storage {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kKiB = 1024;
constexpr int64_t kMiB = 1024 * kKiB;

std::string RandomBytes(int64_t length, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string bytes(static_cast<size_t>(length), '\0');
  for (int64_t i = 0; i + 8 <= length; i += 8) {
    uint64_t word = rng() | 0x0101010101010101ull;  // no zero byte, so no block is all zeros
    std::memcpy(bytes.data() + i, &word, 8);
  }
  for (int64_t i = length / 8 * 8; i < length; ++i) bytes[i] = 'r';
  return bytes;
}

// Writes `data` at `offset`, creating the file if needed and never truncating it.
void WriteAt(const std::string& path, int64_t offset, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::pwrite(fd, data.data(), data.size(), offset), static_cast<ssize_t>(data.size()));
  ASSERT_EQ(::fsync(fd), 0);
  ::close(fd);
}

void MakeSparseFile(const std::string& path, int64_t size) {
  std::ofstream(path, std::ios::trunc).close();
  fs::resize_file(path, size);
}

std::string ReadAll(const std::string& path) {
  std::string bytes(static_cast<size_t>(std::max<int64_t>(ApparentSize(path), 0)), '\0');
  std::ifstream(path, std::ios::binary)
      .read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return bytes;
}

std::string ReadRange(const std::string& path, int64_t offset, int64_t length) {
  std::string bytes(static_cast<size_t>(length), '\0');
  std::ifstream in(path, std::ios::binary);
  in.seekg(offset);
  in.read(bytes.data(), length);
  bytes.resize(static_cast<size_t>(in.gcount()));
  return bytes;
}

// Bytes in use on the file system holding `path`.
int64_t UsedBytes(const std::string& path) {
  ::sync();
  struct statvfs st {};
  EXPECT_EQ(::statvfs(path.c_str(), &st), 0);
  return static_cast<int64_t>(st.f_blocks - st.f_bfree) * static_cast<int64_t>(st.f_frsize);
}

bool CanShareBlocks(const std::string& path) {
  struct statfs st {};
  if (::statfs(path.c_str(), &st) != 0) return true;
  return st.f_type != EXT4_SUPER_MAGIC && st.f_type != TMPFS_MAGIC;
}

class VolumeCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "volume-copy-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    source_ = root_ + "/source.img";
    target_ = root_ + "/target.img";
    copy_.allow_reflink = false;  // the copy path, whatever the temporary directory supports
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string root_, source_, target_;
  CopyOptions copy_;
};

TEST_F(VolumeCopyTest, CopiesContentAndKeepsHoles) {
  MakeSparseFile(source_, 64 * kMiB);
  WriteAt(source_, 0, RandomBytes(kMiB, 1));
  WriteAt(source_, 32 * kMiB, RandomBytes(kMiB, 2));
  WriteAt(source_, 64 * kMiB - 4 * kKiB, RandomBytes(4 * kKiB, 3));

  auto result = CopyImage(source_, target_, copy_);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->method, CopyMethod::kCopy);
  EXPECT_EQ(result->source_size, 64 * kMiB);
  EXPECT_EQ(result->bytes_written, 2 * kMiB + 4 * kKiB);
  EXPECT_EQ(ApparentSize(target_), 64 * kMiB);
  EXPECT_TRUE(ReadAll(source_) == ReadAll(target_));
  EXPECT_LT(AllocatedBytes(target_), 4 * kMiB);  // the 61 MiB of holes stayed holes
}

TEST_F(VolumeCopyTest, ZeroBlocksInDataAreNotWritten) {
  // Allocated zeros (as a guest's zeroed blocks are) between two data blocks.
  WriteAt(source_, 0, RandomBytes(4 * kKiB, 4));
  WriteAt(source_, 4 * kKiB, std::string(8 * kMiB, '\0'));
  WriteAt(source_, 8 * kMiB + 4 * kKiB, RandomBytes(4 * kKiB, 5));
  ASSERT_GE(AllocatedBytes(source_), 8 * kMiB);

  auto result = CopyImage(source_, target_, copy_);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->bytes_written, 8 * kKiB);
  EXPECT_TRUE(ReadAll(source_) == ReadAll(target_));
  EXPECT_LT(AllocatedBytes(target_), kMiB);
}

TEST_F(VolumeCopyTest, ReplacesAnExistingTargetAndCopiesRaggedSizes) {
  WriteAt(source_, 0, RandomBytes(10000, 6));  // not a multiple of any block size
  WriteAt(target_, 0, RandomBytes(3 * kMiB, 7));
  auto result = CopyImage(source_, target_, copy_);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(ApparentSize(target_), 10000);
  EXPECT_TRUE(ReadAll(source_) == ReadAll(target_));
}

TEST_F(VolumeCopyTest, EmptySource) {
  MakeSparseFile(source_, 0);
  auto result = CopyImage(source_, target_, copy_);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->source_size, 0);
  EXPECT_EQ(ApparentSize(target_), 0);
}

TEST_F(VolumeCopyTest, DeviceTargetKeepsSizeAndZeroesHoles) {
  // The "device" holds old data everywhere; the source is mostly holes and zero blocks.
  std::string garbage(16 * kMiB, '\xAB');
  WriteAt(target_, 0, garbage);
  MakeSparseFile(source_, 8 * kMiB + 1000);
  std::string data = RandomBytes(kMiB, 8);
  WriteAt(source_, kMiB, data);
  WriteAt(source_, 4 * kMiB, std::string(kMiB, '\0'));  // allocated zeros
  WriteAt(source_, 8 * kMiB, RandomBytes(1000, 9));     // a ragged tail

  copy_.target_is_device = true;
  auto result = CopyImage(source_, target_, copy_);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->bytes_written, kMiB + 1000);
  EXPECT_EQ(ApparentSize(target_), 16 * kMiB);
  std::string copied = ReadAll(target_);
  EXPECT_TRUE(copied.substr(0, 8 * kMiB + 1000) == ReadAll(source_));
  EXPECT_TRUE(copied.substr(0, kMiB) == std::string(kMiB, '\0'));  // old data under a hole
  EXPECT_TRUE(copied.substr(4 * kMiB, kMiB) == std::string(kMiB, '\0'));
  // Past the source's end the device is not the copy's business.
  EXPECT_TRUE(copied.substr(8 * kMiB + 1000) == garbage.substr(8 * kMiB + 1000));
}

TEST_F(VolumeCopyTest, TooSmallDeviceTargetIsRefusedBeforeWriting) {
  std::string garbage(4 * kMiB, '\xCD');
  WriteAt(target_, 0, garbage);
  WriteAt(source_, 0, RandomBytes(8 * kMiB, 10));
  copy_.target_is_device = true;
  auto result = CopyImage(source_, target_, copy_);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalid);
  EXPECT_NE(result.status().message().find(std::to_string(8 * kMiB)), std::string::npos)
      << result.status().message();
  EXPECT_NE(result.status().message().find(std::to_string(4 * kMiB)), std::string::npos);
  EXPECT_NE(result.status().message().find(target_), std::string::npos);
  EXPECT_TRUE(ReadAll(target_) == garbage);
}

TEST_F(VolumeCopyTest, MissingDeviceTargetIsNotCreated) {
  WriteAt(source_, 0, RandomBytes(kMiB, 11));
  copy_.target_is_device = true;
  auto result = CopyImage(source_, target_, copy_);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(target_));
}

TEST_F(VolumeCopyTest, ErrorsNameThePathAndTheReason) {
  auto result = CopyImage(root_ + "/missing.img", target_, copy_);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find(root_ + "/missing.img"), std::string::npos);
  EXPECT_NE(result.status().message().find("No such file or directory"), std::string::npos)
      << result.status().message();

  WriteAt(source_, 0, RandomBytes(kMiB, 12));
  auto onto_itself = CopyImage(source_, source_, copy_);
  ASSERT_FALSE(onto_itself.ok());
  EXPECT_NE(onto_itself.status().message().find("onto itself"), std::string::npos);
  EXPECT_EQ(ApparentSize(source_), kMiB);  // not truncated

  auto into_missing_dir = CopyImage(source_, root_ + "/no/such/dir.img", copy_);
  ASSERT_FALSE(into_missing_dir.ok());
  EXPECT_NE(into_missing_dir.status().message().find(root_ + "/no/such/dir.img"),
            std::string::npos);
}

TEST_F(VolumeCopyTest, TargetSizeGrowsTheFileButNeverShrinksIt) {
  std::string data = RandomBytes(2 * kMiB, 13);
  WriteAt(source_, 0, data);
  copy_.target_size = 32 * kMiB;
  auto result = CopyImage(source_, target_, copy_);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(ApparentSize(target_), 32 * kMiB);
  EXPECT_TRUE(ReadRange(target_, 0, 2 * kMiB) == data);
  EXPECT_TRUE(ReadRange(target_, 2 * kMiB, 30 * kMiB) == std::string(30 * kMiB, '\0'));
  EXPECT_LT(AllocatedBytes(target_), 4 * kMiB);

  copy_.target_size = kMiB;
  result = CopyImage(source_, target_, copy_);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(ApparentSize(target_), 2 * kMiB);
}

TEST_F(VolumeCopyTest, PreallocateAllocatesEveryBlock) {
  MakeSparseFile(source_, 16 * kMiB);
  WriteAt(source_, 0, RandomBytes(kMiB, 14));
  copy_.preallocate = true;
  copy_.target_size = 24 * kMiB;
  auto result = CopyImage(source_, target_, copy_);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(ApparentSize(target_), 24 * kMiB);
  EXPECT_GE(AllocatedBytes(target_), 24 * kMiB);
  EXPECT_TRUE(ReadRange(target_, 0, 16 * kMiB) == ReadAll(source_));
}

TEST_F(VolumeCopyTest, ProgressReachesTheTotal) {
  MakeSparseFile(source_, 64 * kMiB);
  WriteAt(source_, 0, RandomBytes(12 * kMiB, 15));
  WriteAt(source_, 40 * kMiB, RandomBytes(kMiB, 16));
  std::vector<std::pair<int64_t, int64_t>> calls;
  copy_.progress = [&](int64_t done, int64_t total) { calls.emplace_back(done, total); };
  auto result = CopyImage(source_, target_, copy_);
  ASSERT_TRUE(result.ok()) << result.status().message();
  ASSERT_GE(calls.size(), 2u);
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(calls[i].second, 64 * kMiB);
    if (i > 0) {
      EXPECT_GE(calls[i].first, calls[i - 1].first);
    }
  }
  EXPECT_EQ(calls.back().first, 64 * kMiB);
}

TEST_F(VolumeCopyTest, CancelStopsTheCopyAndRemovesThePartialTarget) {
  WriteAt(source_, 0, RandomBytes(32 * kMiB, 17));
  std::atomic<bool> cancel{false};
  int64_t last_done = 0;
  copy_.cancel = &cancel;
  copy_.progress = [&](int64_t done, int64_t) {
    last_done = done;
    cancel = true;  // after the first chunk
  };
  auto result = CopyImage(source_, target_, copy_);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kCancelled);
  EXPECT_NE(result.status().message().find(target_), std::string::npos);
  EXPECT_LT(last_done, 32 * kMiB);
  EXPECT_FALSE(fs::exists(target_));
}

TEST_F(VolumeCopyTest, CancelledBeforeStartingWritesNothingToADevice) {
  std::string garbage(kMiB, '\xEF');
  WriteAt(target_, 0, garbage);
  WriteAt(source_, 0, RandomBytes(kMiB, 18));
  std::atomic<bool> cancel{true};
  copy_.cancel = &cancel;
  copy_.target_is_device = true;
  auto result = CopyImage(source_, target_, copy_);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kCancelled);
  EXPECT_TRUE(ReadAll(target_) == garbage);
}

TEST_F(VolumeCopyTest, FallsBackToCopyingWhereBlocksCannotBeShared) {
  if (CanShareBlocks(root_)) GTEST_SKIP() << root_ << " is neither ext4 nor tmpfs";
  EXPECT_FALSE(SupportsReflink(root_));
  WriteAt(source_, 0, RandomBytes(kMiB, 19));
  copy_.allow_reflink = true;
  auto result = CopyImage(source_, target_, copy_);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->method, CopyMethod::kCopy);
  EXPECT_TRUE(ReadAll(source_) == ReadAll(target_));

  copy_.require_reflink = true;
  auto refused = CopyImage(source_, target_, copy_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalid);
  EXPECT_FALSE(fs::exists(target_));
}

// A loop block device over `file`, detached by the destructor. Needs root.
class LoopDevice {
 public:
  explicit LoopDevice(const std::string& file) {
    FILE* out = ::popen(("losetup --find --show " + file).c_str(), "r");
    if (out == nullptr) return;
    char line[256] = {};
    if (std::fgets(line, sizeof(line), out) != nullptr) path_ = line;
    ::pclose(out);
    while (!path_.empty() && path_.back() == '\n') path_.pop_back();
  }
  ~LoopDevice() {
    if (!path_.empty()) std::system(("losetup -d " + path_).c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST_F(VolumeCopyTest, BlockDevicesAsSourceAndTarget) {
  if (::geteuid() != 0) GTEST_SKIP() << "attaching a loop device needs root";
  // A device reports no holes: its zero blocks must be found by reading.
  MakeSparseFile(source_, 16 * kMiB);
  WriteAt(source_, 2 * kMiB, RandomBytes(kMiB, 21));
  WriteAt(source_, 8 * kMiB, std::string(kMiB, '\0'));
  LoopDevice source_device(source_);
  ASSERT_FALSE(source_device.path().empty());
  auto from_device = CopyImage(source_device.path(), target_, copy_);
  ASSERT_TRUE(from_device.ok()) << from_device.status().message();
  EXPECT_EQ(from_device->source_size, 16 * kMiB);
  EXPECT_EQ(from_device->bytes_written, kMiB);
  EXPECT_TRUE(ReadAll(target_) == ReadAll(source_));
  EXPECT_LT(AllocatedBytes(target_), 2 * kMiB);

  // A device target full of old data: holes and zero blocks come out as zeros.
  std::string device_file = root_ + "/device.img";
  WriteAt(device_file, 0, std::string(24 * kMiB, '\x5A'));
  LoopDevice target_device(device_file);
  ASSERT_FALSE(target_device.path().empty());
  copy_.target_is_device = true;
  auto to_device = CopyImage(source_, target_device.path(), copy_);
  ASSERT_TRUE(to_device.ok()) << to_device.status().message();
  EXPECT_EQ(to_device->bytes_written, kMiB);
  EXPECT_TRUE(ReadRange(target_device.path(), 0, 16 * kMiB) == ReadAll(source_));
  EXPECT_TRUE(ReadRange(target_device.path(), 16 * kMiB, 8 * kMiB) ==
              std::string(8 * kMiB, '\x5A'));

  // A device smaller than the source is refused, and left alone.
  std::string before = ReadRange(target_device.path(), 0, 24 * kMiB);
  WriteAt(source_, 32 * kMiB - 1, "x");
  auto refused = CopyImage(source_, target_device.path(), copy_);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(ReadRange(target_device.path(), 0, 24 * kMiB) == before);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalid);
}

TEST_F(VolumeCopyTest, ReflinksOnXfsWithoutUsingSpace) {
  XfsMount xfs(root_);
  if (!xfs.skip_reason().empty()) GTEST_SKIP() << xfs.skip_reason();
  ASSERT_TRUE(xfs.mounted());
  EXPECT_TRUE(SupportsReflink(xfs.dir()));
  std::string source = xfs.dir() + "/source.img";
  std::string target = xfs.dir() + "/target.img";
  MakeSparseFile(source, 128 * kMiB);
  WriteAt(source, 16 * kMiB, RandomBytes(64 * kMiB, 20));

  int64_t used_before = UsedBytes(xfs.dir());
  CopyOptions options;
  options.target_size = 256 * kMiB;
  auto result = CopyImage(source, target, options);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->method, CopyMethod::kReflink);
  EXPECT_EQ(result->bytes_written, 0);
  EXPECT_EQ(result->source_size, 128 * kMiB);
  EXPECT_LT(UsedBytes(xfs.dir()) - used_before, 8 * kMiB);
  EXPECT_EQ(ApparentSize(target), 256 * kMiB);
  EXPECT_TRUE(ReadRange(target, 0, 128 * kMiB) == ReadAll(source));

  // Writing to the clone leaves the source alone.
  WriteAt(target, 16 * kMiB, std::string(kMiB, 'w'));
  EXPECT_TRUE(ReadRange(source, 16 * kMiB, kMiB) == RandomBytes(kMiB, 20));

  // Without permission to reflink, the same file system gets a real (sparse) copy.
  options.allow_reflink = false;
  auto copied = CopyImage(source, xfs.dir() + "/copy.img", options);
  ASSERT_TRUE(copied.ok()) << copied.status().message();
  EXPECT_EQ(copied->method, CopyMethod::kCopy);
  EXPECT_EQ(copied->bytes_written, 64 * kMiB);
}

}  // namespace
}  // namespace vdisk::storage
