// Tests for the decompressors (decompress.h) against files made by gzip, pigz, xz and zstd.
#include "dataplane/decompress.h"

#include <gtest/gtest.h>

#include "dataplane/file_reader.h"
#include "dataplane/test_util.h"

namespace vdisk::dataplane {
namespace {

using testing::MakeImage;
using testing::MemoryReader;
using testing::ReadAll;
using testing::ReadFileBytes;
using testing::Sh;
using testing::TempDir;

class DecompressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    image_ = MakeImage(6 << 20);
    testing::WriteFileBytes(dir_ / "disk.raw", image_);
  }

  // Runs `command` in the test directory, which holds disk.raw.
  void Make(const std::string& command) {
    ASSERT_EQ(Sh("cd " + dir_.path() + " && " + command), 0) << command;
  }

  // Decompresses `name` with the decoder for `format`, reading `chunk` bytes at a time from a
  // source that returns at most `max_read` bytes per call.
  Result<std::vector<std::byte>> Decode(Format format, const std::string& name,
                                        size_t chunk = 1 << 20, size_t max_read = SIZE_MAX) {
    MemoryReader source(ReadFileBytes(dir_ / name), max_read);
    VDISK_ASSIGN_OR_RETURN(std::unique_ptr<io::Reader> decoder, NewDecompressor(format, source, 2));
    return ReadAll(*decoder, chunk);
  }

  // Truncates `name` to `size` bytes into `truncated`.
  void Truncate(const std::string& name, size_t size, const std::string& truncated) {
    std::vector<std::byte> bytes = ReadFileBytes(dir_ / name);
    ASSERT_LT(size, bytes.size());
    bytes.resize(size);
    testing::WriteFileBytes(dir_ / truncated, bytes);
  }

  TempDir dir_;
  std::vector<std::byte> image_;
};

TEST_F(DecompressTest, Gzip) {
  Make("gzip -k disk.raw");
  Result<std::vector<std::byte>> out = Decode(Format::kGzip, "disk.raw.gz");
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, image_);
}

TEST_F(DecompressTest, GzipWithTinyReadsAndSmallOutputBuffers) {
  Make("gzip -k disk.raw");
  Result<std::vector<std::byte>> out = Decode(Format::kGzip, "disk.raw.gz", 1000, 7);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, image_);
}

TEST_F(DecompressTest, GzipFromManyReadSizes) {
  Make("gzip -k disk.raw");
  for (size_t max_read : {size_t{1}, size_t{7}, size_t{4093}, size_t{65535}, SIZE_MAX}) {
    for (size_t chunk : {size_t{1000}, size_t{40000}, size_t{1} << 22}) {
      Result<std::vector<std::byte>> out = Decode(Format::kGzip, "disk.raw.gz", chunk, max_read);
      ASSERT_TRUE(out.ok()) << max_read << "/" << chunk << ": " << out.status().message();
      EXPECT_EQ(*out, image_) << max_read << "/" << chunk;
    }
  }
}

TEST_F(DecompressTest, GzipMultiMemberFromPigzAndConcatenation) {
  Make("pigz -k -p 2 -b 128 --independent disk.raw && mv disk.raw.gz pigz.gz");
  Result<std::vector<std::byte>> out = Decode(Format::kGzip, "pigz.gz");
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, image_);

  // Three gzip members back to back, with a file name in each header.
  Make(
      "head -c 1000000 disk.raw > a && tail -c +1000001 disk.raw | head -c 3000000 > b && "
      "tail -c +4000001 disk.raw > c && gzip -k a b c && cat a.gz b.gz c.gz > multi.gz");
  out = Decode(Format::kGzip, "multi.gz", 4096, 4093);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, image_);
}

TEST_F(DecompressTest, GzipIgnoresZeroPaddingButNotGarbage) {
  Make("gzip -k disk.raw && cp disk.raw.gz padded.gz && head -c 5000 /dev/zero >> padded.gz");
  Result<std::vector<std::byte>> out = Decode(Format::kGzip, "padded.gz");
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, image_);

  Make("cp disk.raw.gz garbage.gz && printf 'hello' >> garbage.gz");
  out = Decode(Format::kGzip, "garbage.gz");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("gzip data is corrupt"), std::string::npos);
}

TEST_F(DecompressTest, GzipTruncatedAndCorrupt) {
  Make("gzip -k disk.raw");
  const size_t size = testing::FileSize(dir_ / "disk.raw.gz");
  for (size_t cut : {size_t{5}, size_t{20}, size / 2, size - 4}) {
    Truncate("disk.raw.gz", cut, "cut.gz");
    Result<std::vector<std::byte>> out = Decode(Format::kGzip, "cut.gz");
    ASSERT_FALSE(out.ok()) << cut;
    EXPECT_EQ(out.status().message(), "gzip stream is truncated") << cut;
  }
  // A flipped byte in the middle: either the deflate stream or the CRC check catches it.
  std::vector<std::byte> bytes = ReadFileBytes(dir_ / "disk.raw.gz");
  bytes[size / 2] ^= std::byte{0x55};
  testing::WriteFileBytes(dir_ / "corrupt.gz", bytes);
  Result<std::vector<std::byte>> out = Decode(Format::kGzip, "corrupt.gz");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(out.status().message().rfind("gzip data is corrupt", 0), 0u) << out.status().message();
}

TEST_F(DecompressTest, XzSingleAndMultiBlock) {
  Make(
      "xz -k disk.raw && xz -T2 --block-size=1MiB -c disk.raw > multi.xz && "
      "xz --list --robot multi.xz | awk '$1 == \"totals\" { exit ($3 < 4) }'");
  Result<std::vector<std::byte>> out = Decode(Format::kXz, "disk.raw.xz");
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, image_);
  out = Decode(Format::kXz, "multi.xz", 100000, 65536);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, image_);
}

TEST_F(DecompressTest, XzConcatenatedStreams) {
  Make(
      "head -c 1000000 disk.raw | xz > a.xz && tail -c +1000001 disk.raw | xz > b.xz && "
      "cat a.xz b.xz > both.xz");
  Result<std::vector<std::byte>> out = Decode(Format::kXz, "both.xz");
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, image_);
}

TEST_F(DecompressTest, XzTruncatedAndCorrupt) {
  Make("xz -T2 --block-size=1MiB -c disk.raw > multi.xz");
  const size_t size = testing::FileSize(dir_ / "multi.xz");
  for (size_t cut : {size_t{3}, size_t{100}, size / 2, size - 1}) {
    Truncate("multi.xz", cut, "cut.xz");
    Result<std::vector<std::byte>> out = Decode(Format::kXz, "cut.xz");
    ASSERT_FALSE(out.ok()) << cut;
    EXPECT_EQ(out.status().message(), "xz stream is truncated") << cut;
  }
  std::vector<std::byte> bytes = ReadFileBytes(dir_ / "multi.xz");
  bytes[size / 2] ^= std::byte{0x55};
  testing::WriteFileBytes(dir_ / "corrupt.xz", bytes);
  Result<std::vector<std::byte>> out = Decode(Format::kXz, "corrupt.xz");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message().rfind("xz data is corrupt: ", 0), 0u) << out.status().message();
}

TEST_F(DecompressTest, ZstdSingleAndMultiFrame) {
  Make(
      "zstd -q -k disk.raw && head -c 2000000 disk.raw | zstd -q > a.zst && "
      "tail -c +2000001 disk.raw | zstd -q > b.zst && cat a.zst b.zst > multi.zst");
  Result<std::vector<std::byte>> out = Decode(Format::kZstd, "disk.raw.zst");
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, image_);
  out = Decode(Format::kZstd, "multi.zst", 777, 1000);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, image_);
}

TEST_F(DecompressTest, ZstdTruncatedAndCorrupt) {
  Make("zstd -q -k disk.raw");
  const size_t size = testing::FileSize(dir_ / "disk.raw.zst");
  for (size_t cut : {size_t{6}, size / 2, size - 1}) {
    Truncate("disk.raw.zst", cut, "cut.zst");
    Result<std::vector<std::byte>> out = Decode(Format::kZstd, "cut.zst");
    ASSERT_FALSE(out.ok()) << cut;
    EXPECT_EQ(out.status().message(), "zstd stream is truncated") << cut;
  }
  std::vector<std::byte> bytes = ReadFileBytes(dir_ / "disk.raw.zst");
  bytes[size / 2] ^= std::byte{0x55};
  testing::WriteFileBytes(dir_ / "corrupt.zst", bytes);
  Result<std::vector<std::byte>> out = Decode(Format::kZstd, "corrupt.zst");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message().rfind("zstd data is corrupt: ", 0), 0u)
      << out.status().message();
}

TEST_F(DecompressTest, ZstdFrameContentSize) {
  Make("zstd -q -k disk.raw && cat disk.raw | zstd -q > piped.zst");
  std::vector<std::byte> head = ReadFileBytes(dir_ / "disk.raw.zst");
  EXPECT_EQ(ZstdFirstFrameContentSize(head), image_.size());
  EXPECT_EQ(ZstdFirstFrameContentSize(ReadFileBytes(dir_ / "piped.zst")), std::nullopt);
}

TEST_F(DecompressTest, FromAFileStream) {
  Make("xz -T2 --block-size=1MiB -c disk.raw > multi.xz");
  Result<std::unique_ptr<FileStreamReader>> file = OpenFileStream(dir_ / "multi.xz");
  ASSERT_TRUE(file.ok());
  Result<std::unique_ptr<XzReader>> xz = XzReader::Create(**file);
  ASSERT_TRUE(xz.ok());
  Result<std::vector<std::byte>> out = ReadAll(**xz);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, image_);
}

TEST(NewDecompressor, RefusesNonCompressionFormats) {
  MemoryReader empty({});
  Result<std::unique_ptr<io::Reader>> decoder = NewDecompressor(Format::kRaw, empty);
  ASSERT_FALSE(decoder.ok());
  EXPECT_EQ(decoder.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vdisk::dataplane
