// Tests for FileImageWriter (file_image_writer.h): sparseness, preallocation, bounds, the
// partial-file protocol and Block targets (a regular file standing in for the device).
#include "dataplane/file_image_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "dataplane/test_util.h"

namespace vdisk::dataplane {
namespace {

using testing::AllocatedBytes;
using testing::FileSize;
using testing::TempDir;

constexpr uint64_t kMiB = 1 << 20;

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

std::vector<std::byte> Filled(size_t size, uint8_t value) {
  return std::vector<std::byte>(size, std::byte{value});
}

TEST(IsAllZero, FindsAnyNonZeroByte) {
  std::vector<std::byte> data(3 * 4096 + 17);
  EXPECT_TRUE(IsAllZero(data));
  EXPECT_TRUE(IsAllZero({}));
  for (size_t pos : {size_t{0}, size_t{4095}, size_t{4096}, size_t{3 * 4096 + 16}}) {
    data[pos] = std::byte{1};
    EXPECT_FALSE(IsAllZero(data)) << pos;
    data[pos] = std::byte{0};
  }
}

TEST(FileImageWriter, WritesIntoPartialFileAndCommitRenames) {
  TempDir dir;
  const std::string path = dir / "disk.img";
  Result<std::unique_ptr<FileImageWriter>> writer =
      FileImageWriter::Create({path, 64 * kMiB, false, false});
  ASSERT_TRUE(writer.ok()) << writer.status().message();
  EXPECT_EQ((*writer)->capacity(), 64 * kMiB);
  EXPECT_FALSE(Exists(path));
  EXPECT_EQ(FileSize(FileImageWriter::PartialPath(path)), 64 * kMiB);
  ASSERT_TRUE((*writer)->WriteAt(kMiB, Filled(8192, 0xab)).ok());
  ASSERT_TRUE((*writer)->Commit().ok());
  EXPECT_TRUE(Exists(path));
  EXPECT_FALSE(Exists(FileImageWriter::PartialPath(path)));
  std::vector<std::byte> expected(kMiB + 8192);
  std::fill(expected.begin() + kMiB, expected.end(), std::byte{0xab});
  EXPECT_TRUE(testing::HoldsImage(path, expected, 64 * kMiB));
  writer->reset();
  EXPECT_TRUE(Exists(path)) << "a committed image survives its writer";
}

TEST(FileImageWriter, WithoutCommitNothingIsLeft) {
  TempDir dir;
  const std::string path = dir / "disk.img";
  testing::WriteFileBytes(path, Filled(100, 1));  // a stale image from an earlier import
  {
    Result<std::unique_ptr<FileImageWriter>> writer =
        FileImageWriter::Create({path, 4 * kMiB, false, false});
    ASSERT_TRUE(writer.ok());
    EXPECT_FALSE(Exists(path)) << "a stale image must not survive a new import";
    ASSERT_TRUE((*writer)->WriteAt(0, Filled(4096, 2)).ok());
    ASSERT_TRUE((*writer)->Finish().ok());
  }
  EXPECT_FALSE(Exists(path));
  EXPECT_FALSE(Exists(FileImageWriter::PartialPath(path)));
}

TEST(FileImageWriter, SkipsZeroBlocks) {
  TempDir dir;
  const std::string path = dir / "disk.img";
  Result<std::unique_ptr<FileImageWriter>> writer =
      FileImageWriter::Create({path, 256 * kMiB, false, false});
  ASSERT_TRUE(writer.ok());
  // 64 MiB of zeros with one non-zero 4 KiB block in the middle.
  std::vector<std::byte> data(64 * kMiB);
  data[32 * kMiB + 100] = std::byte{7};
  ASSERT_TRUE((*writer)->WriteAt(0, data).ok());
  ASSERT_TRUE((*writer)->Commit().ok());
  EXPECT_LE(AllocatedBytes(path), 1 * kMiB);
  EXPECT_TRUE(testing::HoldsImage(path, data, 256 * kMiB));
}

TEST(FileImageWriter, PreallocatesWhenAsked) {
  TempDir dir;
  const std::string path = dir / "disk.img";
  Result<std::unique_ptr<FileImageWriter>> writer =
      FileImageWriter::Create({path, 32 * kMiB, true, false});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Commit().ok());
  EXPECT_GE(AllocatedBytes(path), 32 * kMiB);
}

TEST(FileImageWriter, RefusesWritesAtOrPastCapacity) {
  TempDir dir;
  Result<std::unique_ptr<FileImageWriter>> writer =
      FileImageWriter::Create({dir / "disk.img", 1 * kMiB, false, false});
  ASSERT_TRUE(writer.ok());
  EXPECT_TRUE((*writer)->WriteAt(kMiB - 4096, Filled(4096, 1)).ok());
  EXPECT_EQ((*writer)->WriteAt(kMiB - 4096, Filled(4097, 1)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*writer)->WriteAt(kMiB, Filled(1, 1)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*writer)->WriteAt(UINT64_MAX, Filled(2, 1)).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE((*writer)->WriteAt(kMiB, {}).ok());
  EXPECT_EQ(FileSize(FileImageWriter::PartialPath(dir / "disk.img")), kMiB);
}

// Runs of any length and alignment, some spanning many zero-detection blocks: every byte must
// land where it belongs.
TEST(FileImageWriter, LongUnalignedRunsLandExactly) {
  TempDir dir;
  const std::string path = dir / "disk.img";
  Result<std::unique_ptr<FileImageWriter>> writer =
      FileImageWriter::Create({path, 16 * kMiB, false, false});
  ASSERT_TRUE(writer.ok());
  std::vector<std::byte> expected(16 * kMiB);
  auto write = [&](uint64_t offset, size_t size, uint8_t seed) {
    std::vector<std::byte> data(size);
    for (size_t i = 0; i < size; ++i) data[i] = std::byte(static_cast<uint8_t>(seed + i * 7));
    ASSERT_TRUE((*writer)->WriteAt(offset, data).ok());
    std::copy(data.begin(), data.end(), expected.begin() + static_cast<ptrdiff_t>(offset));
  };
  write(1000, 5 * kMiB + 123, 1);  // unaligned both ends
  write(6 * kMiB, 64 * 1024, 2);   // aligned
  write(7 * kMiB + 4095, 70000, 3);
  write(9 * kMiB + 512, 2 * kMiB, 4);
  write(16 * kMiB - 100, 100, 5);  // the last bytes of the volume
  ASSERT_TRUE((*writer)->Commit().ok());
  EXPECT_TRUE(testing::HoldsImage(path, expected, 16 * kMiB));
}

// How much of [offset, offset + size) of `path` is in the page cache, from 0 to 1.
double CachedFraction(const std::string& path, uint64_t offset, uint64_t size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(offset));
  ::close(fd);
  if (map == MAP_FAILED) return -1;
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> resident((size + page - 1) / page);
  double fraction = -1;
  if (::mincore(map, size, resident.data()) == 0) {
    fraction = static_cast<double>(std::count_if(resident.begin(), resident.end(),
                                                 [](unsigned char r) { return r & 1; })) /
               static_cast<double>(resident.size());
  }
  ::munmap(map, size);
  return fraction;
}

// A large image does not pile up in the page cache: windows already written out are dropped
// as the writing goes on, and the rest once the image is committed.
TEST(FileImageWriter, WrittenWindowsLeaveThePageCache) {
  TempDir dir;
  struct statfs fs {};
  ASSERT_EQ(::statfs(dir.path().c_str(), &fs), 0);
  if (fs.f_type == TMPFS_MAGIC) GTEST_SKIP() << "tmpfs keeps its files in the page cache";
  const std::string path = dir / "disk.img";
  constexpr uint64_t kSize = 256 * kMiB;
  Result<std::unique_ptr<FileImageWriter>> writer =
      FileImageWriter::Create({path, kSize, false, false});
  ASSERT_TRUE(writer.ok());
  std::vector<std::byte> chunk = Filled(4 * kMiB, 9);
  for (uint64_t at = 0; at < 200 * kMiB; at += chunk.size()) {
    ASSERT_TRUE((*writer)->WriteAt(at, chunk).ok());
  }
  const std::string partial = FileImageWriter::PartialPath(path);
  EXPECT_LT(CachedFraction(partial, 0, 64 * kMiB), 0.1);  // two windows back: written, dropped
  ASSERT_TRUE((*writer)->Commit().ok());
  EXPECT_LT(CachedFraction(path, 0, kSize), 0.1);
  std::vector<std::byte> expected(kSize);
  std::fill(expected.begin(), expected.begin() + 200 * kMiB, std::byte{9});
  EXPECT_TRUE(testing::HoldsImage(path, expected, kSize));
}

TEST(FileImageWriter, ConcurrentDisjointWrites) {
  TempDir dir;
  const std::string path = dir / "disk.img";
  Result<std::unique_ptr<FileImageWriter>> writer =
      FileImageWriter::Create({path, 16 * kMiB, false, false});
  ASSERT_TRUE(writer.ok());
  std::vector<std::thread> threads;
  for (uint8_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t chunk = t; chunk < 16; chunk += 4) {
        EXPECT_TRUE((*writer)->WriteAt(chunk * kMiB, Filled(kMiB, 1 + chunk)).ok());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_TRUE((*writer)->Commit().ok());
  std::vector<std::byte> expected;
  for (uint8_t chunk = 0; chunk < 16; ++chunk) {
    std::vector<std::byte> part = Filled(kMiB, 1 + chunk);
    expected.insert(expected.end(), part.begin(), part.end());
  }
  EXPECT_TRUE(testing::HoldsImage(path, expected, 16 * kMiB));
}

TEST(FileImageWriter, BlockTargetIsWrittenInPlaceAndZeroedFirst) {
  TempDir dir;
  const std::string device = dir / "device";                // a file standing in for a block device
  testing::WriteFileBytes(device, Filled(8 * kMiB, 0xee));  // old content
  Result<uint64_t> capacity = FileImageWriter::CapacityOf({device, 0, false, true});
  ASSERT_TRUE(capacity.ok());
  EXPECT_EQ(*capacity, 8 * kMiB);
  EXPECT_EQ(*FileImageWriter::CapacityOf({device, 4 * kMiB, false, true}), 4 * kMiB);
  {
    Result<std::unique_ptr<FileImageWriter>> writer =
        FileImageWriter::Create({device, 0, false, true});
    ASSERT_TRUE(writer.ok()) << writer.status().message();
    ASSERT_TRUE((*writer)->WriteAt(4096, Filled(4096, 3)).ok());
    ASSERT_TRUE((*writer)->Commit().ok());
  }
  std::vector<std::byte> expected(8192);
  std::fill(expected.begin() + 4096, expected.end(), std::byte{3});
  EXPECT_TRUE(testing::HoldsImage(device, expected, 8 * kMiB));
  EXPECT_FALSE(Exists(FileImageWriter::PartialPath(device)));
}

TEST(FileImageWriter, MissingBlockTargetIsNotFound) {
  TempDir dir;
  Result<std::unique_ptr<FileImageWriter>> writer =
      FileImageWriter::Create({dir / "nodev", 0, false, true});
  ASSERT_FALSE(writer.ok());
  EXPECT_EQ(writer.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace vdisk::dataplane
