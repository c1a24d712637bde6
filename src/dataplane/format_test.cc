// Tests for format detection (format.h) and PeekReader, on files made by the real tools.
#include "dataplane/format.h"

#include <gtest/gtest.h>

#include "dataplane/peek_reader.h"
#include "dataplane/test_util.h"

namespace vdisk::dataplane {
namespace {

using testing::MakeImage;
using testing::MemoryReader;
using testing::ReadFileBytes;
using testing::Sh;
using testing::TempDir;

std::vector<std::byte> Head(const std::string& path) {
  std::vector<std::byte> bytes = ReadFileBytes(path);
  if (bytes.size() > kFormatHeadSize) bytes.resize(kFormatHeadSize);
  return bytes;
}

std::vector<std::byte> Bytes(std::string_view text) {
  std::vector<std::byte> bytes(text.size());
  std::memcpy(bytes.data(), text.data(), text.size());
  return bytes;
}

class FormatTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::WriteFileBytes(dir_ / "disk.raw", MakeImage(1 << 20)); }
  Format Detect(const std::string& name) { return DetectFormat(Head(dir_ / name)); }
  TempDir dir_;
};

TEST_F(FormatTest, RawAndCompressors) {
  EXPECT_EQ(Detect("disk.raw"), Format::kRaw);
  ASSERT_EQ(Sh("cd " + dir_.path() +
               " && gzip -k disk.raw && xz -k disk.raw && zstd -q disk.raw && bzip2 -k disk.raw"),
            0);
  EXPECT_EQ(Detect("disk.raw.gz"), Format::kGzip);
  EXPECT_EQ(Detect("disk.raw.xz"), Format::kXz);
  EXPECT_EQ(Detect("disk.raw.zst"), Format::kZstd);
  EXPECT_EQ(Detect("disk.raw.bz2"), Format::kBzip2);
}

TEST_F(FormatTest, ImageFormatsFromQemuImg) {
  if (!testing::HaveTool("qemu-img")) GTEST_SKIP() << "qemu-img is not installed";
  const struct {
    const char* qemu_format;
    Format expected;
  } cases[] = {
      {"qcow2", Format::kQcow2}, {"vmdk", Format::kVmdk}, {"vhdx", Format::kVhdx},
      {"vdi", Format::kVdi},     {"vpc", Format::kVhd},   {"qed", Format::kQed},
  };
  for (const auto& c : cases) {
    std::string out = dir_ / (std::string("disk.") + c.qemu_format);
    ASSERT_EQ(Sh("qemu-img convert -q -f raw -O " + std::string(c.qemu_format) + " " +
                 (dir_ / "disk.raw") + " " + out),
              0)
        << c.qemu_format;
    EXPECT_EQ(DetectFormat(Head(out)), c.expected) << c.qemu_format;
  }
}

TEST(DetectFormat, IsoIsRecognisedAndImportedAsRaw) {
  std::vector<std::byte> iso(0x9000);
  std::memcpy(iso.data() + 0x8001, "CD001", 5);
  EXPECT_EQ(DetectFormat(iso), Format::kIso);
  EXPECT_TRUE(CheckSupported(Format::kIso).ok());
  EXPECT_TRUE(IsDiskImage(Format::kIso));
}

TEST(DetectFormat, ShortAndEmptyInputsAreRaw) {
  EXPECT_EQ(DetectFormat({}), Format::kRaw);
  EXPECT_EQ(DetectFormat(Bytes("QF")), Format::kRaw);
  EXPECT_EQ(DetectFormat(Bytes("BZh")), Format::kRaw);  // no block size digit
  EXPECT_EQ(DetectFormat(Bytes("BZh9")), Format::kBzip2);
}

TEST(DetectFormat, ZstdSkippableFrameAndVmdkDescriptor) {
  EXPECT_EQ(DetectFormat(Bytes("\x5a\x2a\x4d\x18\x00\x00\x00\x00")), Format::kZstd);
  EXPECT_EQ(DetectFormat(Bytes("# Disk DescriptorFile\nversion=1\n")), Format::kVmdk);
}

TEST(CheckSupported, RefusesOtherImageFormatsByName) {
  Status status = CheckSupported(Format::kVmdk);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "unsupported image format: vmdk");
  EXPECT_EQ(CheckSupported(Format::kBzip2).message(), "unsupported image format: bzip2");
  for (Format ok : {Format::kRaw, Format::kQcow2, Format::kGzip, Format::kXz, Format::kZstd}) {
    EXPECT_TRUE(CheckSupported(ok).ok()) << FormatName(ok);
  }
}

TEST_F(FormatTest, Qcow2HeaderVirtualSize) {
  if (!testing::HaveTool("qemu-img")) GTEST_SKIP() << "qemu-img is not installed";
  ASSERT_EQ(Sh("qemu-img create -q -f qcow2 " + (dir_ / "big.qcow2") + " 123456789K"), 0);
  EXPECT_EQ(Qcow2HeaderVirtualSize(Head(dir_ / "big.qcow2")), uint64_t{123456789} * 1024);
  EXPECT_EQ(Qcow2HeaderVirtualSize(Head(dir_ / "disk.raw")), std::nullopt);
}

TEST(PeekReader, ReplaysThePeekedHeadThenTheRest) {
  std::vector<std::byte> data = MakeImage(200000, 7);
  MemoryReader source(data, 1000);  // short reads underneath
  PeekReader peek(source);
  Result<std::span<const std::byte>> head = peek.Peek(5000);
  ASSERT_TRUE(head.ok());
  ASSERT_EQ(head->size(), 5000u);
  EXPECT_EQ(std::memcmp(head->data(), data.data(), 5000), 0);
  // A larger peek extends the same head.
  head = peek.Peek(70000);
  ASSERT_TRUE(head.ok());
  ASSERT_EQ(head->size(), 70000u);
  Result<std::vector<std::byte>> all = testing::ReadAll(peek, 3333);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, data);
}

TEST(PeekReader, PeekPastTheEndReturnsTheWholeStream) {
  MemoryReader source(Bytes("short"));
  PeekReader peek(source);
  Result<std::span<const std::byte>> head = peek.Peek(kFormatHeadSize);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->size(), 5u);
  Result<std::vector<std::byte>> all = testing::ReadAll(peek);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, Bytes("short"));
}

}  // namespace
}  // namespace vdisk::dataplane
