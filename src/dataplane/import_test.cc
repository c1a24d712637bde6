// End-to-end tests of ImportImage (import.h): every supported format, read as a stream and with
// random access, built by the real tools (gzip, pigz, xz, zstd, qemu-img) and compared with the
// raw image it came from; plus the failure cases a hostile or broken source can produce.
#include "dataplane/import.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <stop_token>

#include "dataplane/file_image_writer.h"
#include "dataplane/file_reader.h"
#include "dataplane/test_util.h"
#include "qcow2/qcow2.h"

namespace vdisk::dataplane {
namespace {

using testing::AllocatedBytes;
using testing::FileSize;
using testing::HoldsImage;
using testing::Sh;
using testing::TempDir;

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kImageSize = 8 * kMiB;
constexpr uint64_t kVolumeSize = 32 * kMiB;

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// Hands out at most 64 KiB per Read, as a network body does, and optionally requests a stop
// once `stop_after` bytes have passed.
class NetworkLikeReader : public io::Reader {
 public:
  NetworkLikeReader(std::unique_ptr<io::Reader> in, std::stop_source* stop, uint64_t stop_after)
      : in_(std::move(in)), stop_(stop), stop_after_(stop_after) {}
  Result<size_t> Read(std::span<std::byte> out) override {
    VDISK_ASSIGN_OR_RETURN(size_t n, in_->Read(out.first(std::min<size_t>(out.size(), 65536))));
    passed_ += n;
    if (stop_ != nullptr && passed_ >= stop_after_) stop_->request_stop();
    return n;
  }

 private:
  std::unique_ptr<io::Reader> in_;
  std::stop_source* stop_;
  uint64_t stop_after_;
  uint64_t passed_ = 0;
};

struct SourceOptions {
  bool random_access = false;
  bool known_size = true;
  std::stop_source* stop_after_bytes = nullptr;  // request this stop once...
  uint64_t stop_after = 0;                       // ...this many bytes were read
};

// A local file served as an import source.
ImportSource FileSource(const std::string& path, SourceOptions options = {}) {
  ImportSource source;
  source.open_stream = [path, options]() -> Result<std::unique_ptr<io::Reader>> {
    VDISK_ASSIGN_OR_RETURN(std::unique_ptr<FileStreamReader> file, OpenFileStream(path));
    return std::unique_ptr<io::Reader>(std::make_unique<NetworkLikeReader>(
        std::move(file), options.stop_after_bytes, options.stop_after));
  };
  if (options.random_access) {
    source.open_random_access = [path]() -> Result<std::unique_ptr<io::RandomAccessReader>> {
      VDISK_ASSIGN_OR_RETURN(std::unique_ptr<FileRandomAccessReader> file, OpenFileReader(path));
      return std::unique_ptr<io::RandomAccessReader>(std::move(file));
    };
  }
  if (options.known_size) source.size = FileSize(path);
  return source;
}

// The inputs: one raw image and the formats and compressions of it, each built by the real
// tool the first time a test asks for it (ctest runs every test in its own process).
class ImportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    inputs_ = new TempDir();
    image_ = new std::vector<std::byte>(testing::MakeImage(kImageSize, 42));
    testing::WriteFileBytes(*inputs_ / "disk.raw", *image_);
  }
  static void TearDownTestSuite() {
    delete inputs_;
    delete image_;
  }

  // The input `name`, or "" when the tool that makes it is missing.
  static std::string Input(const std::string& name) {
    static const std::map<std::string, std::string> kRecipes = {
        {"disk.raw.gz", "gzip -k disk.raw"},
        {"pigz.raw.gz", "pigz -p 2 -b 256 -c disk.raw > pigz.raw.gz"},
        {"disk.raw.xz", "xz -2 -k disk.raw"},
        {"mt.raw.xz", "xz -2 -T2 --block-size=1MiB -c disk.raw > mt.raw.xz"},
        {"disk.raw.zst", "zstd -q -k disk.raw"},
        {"disk.qcow2", "qemu-img convert -q -f raw -O qcow2 disk.raw disk.qcow2"},
        {"compressed.qcow2", "qemu-img convert -q -c -f raw -O qcow2 disk.raw compressed.qcow2"},
        {"disk.qcow2.gz", "gzip -c disk.qcow2 > disk.qcow2.gz"},
        {"disk.qcow2.xz", "xz -2 -T2 -c disk.qcow2 > disk.qcow2.xz"},
        {"disk.qcow2.zst", "zstd -q -c disk.qcow2 > disk.qcow2.zst"},
    };
    const std::string path = *inputs_ / name;
    if (Exists(path)) return path;
    auto recipe = kRecipes.find(name);
    if (recipe == kRecipes.end()) return "";
    if (name.starts_with("disk.qcow2.") && Input("disk.qcow2").empty()) return "";
    if (recipe->second.starts_with("qemu-img") && !testing::HaveTool("qemu-img")) return "";
    EXPECT_EQ(Sh("cd " + inputs_->path() + " && " + recipe->second), 0) << recipe->second;
    return path;
  }

  ImportTarget Target(uint64_t usable_size = kVolumeSize) {
    return ImportTarget{dir_ / "disk.img", usable_size, false, false, dir_.path()};
  }

  // Asserts the target holds nothing: no image and no partial file.
  void ExpectNoImage() {
    EXPECT_FALSE(Exists(dir_ / "disk.img"));
    EXPECT_FALSE(Exists(FileImageWriter::PartialPath(dir_ / "disk.img")));
  }

  static TempDir* inputs_;
  static std::vector<std::byte>* image_;
  TempDir dir_;
};

TempDir* ImportTest::inputs_ = nullptr;
std::vector<std::byte>* ImportTest::image_ = nullptr;

struct FormatCase {
  const char* file;
  Format format;
  Format inner_format;
};

class ImportFormatTest : public ImportTest,
                         public ::testing::WithParamInterface<std::tuple<FormatCase, bool>> {};

TEST_P(ImportFormatTest, ImportsTheSameGuestBytes) {
  const auto& [format_case, random_access] = GetParam();
  const std::string input = Input(format_case.file);
  if (input.empty()) GTEST_SKIP() << format_case.file << " needs qemu-img";
  io::Progress progress;
  ImportOptions options;
  options.progress = &progress;
  Result<ImportResult> result =
      ImportImage(FileSource(input, {.random_access = random_access}), Target(), options);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->format, format_case.format);
  EXPECT_EQ(result->inner_format, format_case.inner_format);
  EXPECT_EQ(result->virtual_size, kImageSize);
  // The image is grown to the volume's usable size, zeros past the image.
  EXPECT_TRUE(HoldsImage(dir_ / "disk.img", *image_, kVolumeSize));
  EXPECT_FALSE(Exists(FileImageWriter::PartialPath(dir_ / "disk.img")));
  if (format_case.format == Format::kQcow2) {
    EXPECT_EQ(Sh("qemu-img compare -q -f raw -F qcow2 " + (dir_ / "disk.img") + " " + input), 0);
  }
  const bool by_random_access = random_access && format_case.format == Format::kQcow2;
  if (!by_random_access) {
    EXPECT_EQ(result->bytes_read, FileSize(input));
    EXPECT_EQ(progress.done.load(), FileSize(input));
    EXPECT_EQ(progress.total.load(), FileSize(input));
  } else {
    EXPECT_GT(result->bytes_read, 0u);
    EXPECT_EQ(progress.total.load(), kImageSize);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Formats, ImportFormatTest,
    ::testing::Combine(
        ::testing::Values(FormatCase{"disk.raw", Format::kRaw, Format::kRaw},
                          FormatCase{"disk.raw.gz", Format::kGzip, Format::kRaw},
                          FormatCase{"pigz.raw.gz", Format::kGzip, Format::kRaw},
                          FormatCase{"disk.raw.xz", Format::kXz, Format::kRaw},
                          FormatCase{"mt.raw.xz", Format::kXz, Format::kRaw},
                          FormatCase{"disk.raw.zst", Format::kZstd, Format::kRaw},
                          FormatCase{"disk.qcow2", Format::kQcow2, Format::kQcow2},
                          FormatCase{"compressed.qcow2", Format::kQcow2, Format::kQcow2},
                          FormatCase{"disk.qcow2.gz", Format::kGzip, Format::kQcow2},
                          FormatCase{"disk.qcow2.xz", Format::kXz, Format::kQcow2},
                          FormatCase{"disk.qcow2.zst", Format::kZstd, Format::kQcow2}),
        ::testing::Bool()),
    [](const auto& info) {
      std::string name = std::get<0>(info.param).file;
      for (char& c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return name + (std::get<1>(info.param) ? "_RandomAccess" : "_Stream");
    });

TEST_F(ImportTest, IsoIsImportedAsRaw) {
  std::vector<std::byte> iso = testing::MakeImage(2 * kMiB, 5);
  std::memcpy(iso.data() + 0x8001, "CD001", 5);
  testing::WriteFileBytes(dir_ / "cd.iso", iso);
  Result<ImportResult> result = ImportImage(FileSource(dir_ / "cd.iso"), Target(), {});
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->format, Format::kIso);
  EXPECT_TRUE(HoldsImage(dir_ / "disk.img", iso, kVolumeSize));
}

TEST_F(ImportTest, MostlyZeroImageStaysSparse) {
  // 256 MiB with 1 MiB of data in it.
  ASSERT_EQ(Sh("cd " + dir_.path() + " && truncate -s 256M sparse.raw && head -c 1M " +
               Input("disk.raw") + " | dd of=sparse.raw bs=1M seek=100 conv=notrunc status=none" +
               " && pigz -p 2 -k sparse.raw"),
            0);
  Result<ImportResult> result =
      ImportImage(FileSource(dir_ / "sparse.raw.gz"), Target(256 * kMiB), {});
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(FileSize(dir_ / "disk.img"), 256 * kMiB);
  EXPECT_LT(AllocatedBytes(dir_ / "disk.img"), 4 * kMiB);
  EXPECT_EQ(Sh("cmp -s " + (dir_ / "disk.img") + " " + (dir_ / "sparse.raw")), 0);
}

TEST_F(ImportTest, PreallocatedTargetIsFullyAllocated) {
  ImportTarget target = Target();
  target.preallocate = true;
  Result<ImportResult> result = ImportImage(FileSource(Input("disk.raw.gz")), target, {});
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_GE(AllocatedBytes(dir_ / "disk.img"), kVolumeSize);
  EXPECT_TRUE(HoldsImage(dir_ / "disk.img", *image_, kVolumeSize));
}

TEST_F(ImportTest, Qcow2LargerThanTheVolumeIsRefusedBeforeAnyWrite) {
  if (!testing::HaveTool("qemu-img")) GTEST_SKIP() << "needs qemu-img";
  ASSERT_EQ(Sh("cd " + dir_.path() + " && qemu-img create -q -f qcow2 big.qcow2 1G" +
               " && gzip -k big.qcow2"),
            0);
  // A stale file at the target path proves the target was never touched: creating the writer
  // would remove it.
  for (const char* name : {"big.qcow2", "big.qcow2.gz"}) {
    for (bool random_access : {true, false}) {
      testing::WriteFileBytes(dir_ / "disk.img", std::vector<std::byte>(10));
      bool stream_opened = false;
      ImportSource source = FileSource(dir_ / name, {.random_access = random_access});
      if (random_access && std::string(name) == "big.qcow2") {
        source.open_stream = [&]() -> Result<std::unique_ptr<io::Reader>> {
          stream_opened = true;
          return Internal("not expected");
        };
      }
      Result<ImportResult> result = ImportImage(source, Target(64 * kMiB), {});
      ASSERT_FALSE(result.ok()) << name;
      EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(result.status().message(),
                "A larger PVC is required: image virtual size 1073741824 exceeds the volume's "
                "usable size 67108864")
          << name;
      EXPECT_FALSE(stream_opened);
      EXPECT_EQ(FileSize(dir_ / "disk.img"), 10u) << name;
      EXPECT_FALSE(Exists(FileImageWriter::PartialPath(dir_ / "disk.img")));
    }
  }
}

TEST_F(ImportTest, RawOfKnownSizeLargerThanTheVolumeIsRefusedBeforeAnyWrite) {
  testing::WriteFileBytes(dir_ / "disk.img", std::vector<std::byte>(10));
  Result<ImportResult> result = ImportImage(FileSource(Input("disk.raw")), Target(6 * kMiB), {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(),
            "A larger PVC is required: image virtual size 8388608 exceeds the volume's usable "
            "size 6291456");
  EXPECT_EQ(FileSize(dir_ / "disk.img"), 10u);
}

TEST_F(ImportTest, RawOfUnknownSizeLargerThanTheVolumeFails) {
  for (const char* name : {"disk.raw", "disk.raw.xz"}) {
    Result<ImportResult> result =
        ImportImage(FileSource(Input(name), {.known_size = false}), Target(6 * kMiB), {});
    ASSERT_FALSE(result.ok()) << name;
    EXPECT_EQ(result.status().message(),
              "image is larger than the volume: it holds more than the volume's 6291456 usable "
              "bytes")
        << name;
    ExpectNoImage();
  }
}

TEST_F(ImportTest, GzipBombStopsAtTheVolumeSize) {
  // 1 GiB of zeros in about 1 MiB of gzip: 1024 members of 1 MiB of zeros each.
  ASSERT_EQ(Sh("head -c 1M /dev/zero | gzip > " + (dir_ / "mib.gz")), 0);
  std::vector<std::byte> member = testing::ReadFileBytes(dir_ / "mib.gz");
  std::vector<std::byte> bomb;
  for (int i = 0; i < 1024; ++i) bomb.insert(bomb.end(), member.begin(), member.end());
  testing::WriteFileBytes(dir_ / "bomb.gz", bomb);
  Result<ImportResult> result = ImportImage(FileSource(dir_ / "bomb.gz"), Target(16 * kMiB), {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message().rfind("image is larger than the volume", 0), 0u)
      << result.status().message();
  ExpectNoImage();
}

TEST_F(ImportTest, TruncatedCompressedImagesFailWithTheReason) {
  const struct {
    const char* file;
    const char* message;
  } cases[] = {{"disk.raw.gz", "gzip stream is truncated"},
               {"mt.raw.xz", "xz stream is truncated"},
               {"disk.raw.zst", "zstd stream is truncated"}};
  for (const auto& c : cases) {
    std::vector<std::byte> bytes = testing::ReadFileBytes(Input(c.file));
    bytes.resize(bytes.size() * 2 / 3);
    testing::WriteFileBytes(dir_ / "cut", bytes);
    Result<ImportResult> result = ImportImage(FileSource(dir_ / "cut"), Target(), {});
    ASSERT_FALSE(result.ok()) << c.file;
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(result.status().message(), c.message);
    ExpectNoImage();
  }
}

TEST_F(ImportTest, ChecksumIsVerifiedOverTheWholeSource) {
  for (const char* name : {"disk.raw.xz", "disk.qcow2"}) {
    if (Input(name).empty()) continue;
    FILE* pipe = ::popen(("sha256sum " + Input(name)).c_str(), "r");
    char digest[65] = {};
    ASSERT_EQ(std::fread(digest, 1, 64, pipe), 64u);
    ::pclose(pipe);
    ImportOptions options;
    options.checksum = *ParseChecksum(std::string("sha256:") + digest);
    Result<ImportResult> result =
        ImportImage(FileSource(Input(name), {.random_access = true}), Target(), options);
    ASSERT_TRUE(result.ok()) << name << ": " << result.status().message();
    EXPECT_EQ(result->bytes_read, FileSize(Input(name)));
    EXPECT_TRUE(HoldsImage(dir_ / "disk.img", *image_, kVolumeSize));

    options.checksum = *ParseChecksum("sha256:" + std::string(64, '0'));
    result = ImportImage(FileSource(Input(name), {.random_access = true}), Target(), options);
    ASSERT_FALSE(result.ok()) << name;
    EXPECT_EQ(result.status().message(), "checksum mismatch: expected sha256:" +
                                             std::string(64, '0') + ", got sha256:" + digest);
    ExpectNoImage();
  }
}

TEST_F(ImportTest, UnsupportedFormatsAreRefusedByName) {
  if (!testing::HaveTool("qemu-img")) GTEST_SKIP() << "needs qemu-img";
  ASSERT_EQ(Sh("cd " + dir_.path() + " && qemu-img convert -q -f raw -O vmdk " + Input("disk.raw") +
               " disk.vmdk && gzip -k disk.vmdk"),
            0);
  for (const char* name : {"disk.vmdk", "disk.vmdk.gz"}) {
    for (bool random_access : {true, false}) {
      Result<ImportResult> result =
          ImportImage(FileSource(dir_ / name, {.random_access = random_access}), Target(), {});
      ASSERT_FALSE(result.ok()) << name;
      EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(result.status().message(), "unsupported image format: vmdk") << name;
      ExpectNoImage();
    }
  }
}

TEST_F(ImportTest, OnlyOneCompressionLayer) {
  ASSERT_EQ(Sh("gzip -c " + Input("disk.raw.xz") + " > " + (dir_ / "double.xz.gz")), 0);
  Result<ImportResult> result = ImportImage(FileSource(dir_ / "double.xz.gz"), Target(), {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(),
            "unsupported image format: xz inside gzip (only one compression layer is supported)");
  ExpectNoImage();
}

TEST_F(ImportTest, EmptySourceIsAnError) {
  testing::WriteFileBytes(dir_ / "empty", {});
  Result<ImportResult> result = ImportImage(FileSource(dir_ / "empty"), Target(), {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(), "the image is empty");
  ExpectNoImage();
}

TEST_F(ImportTest, CancelledBeforeStart) {
  std::stop_source stop;
  stop.request_stop();
  ImportOptions options;
  options.stop = stop.get_token();
  Result<ImportResult> result = ImportImage(FileSource(Input("disk.raw.gz")), Target(), options);
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(IsCancelled(result.status())) << result.status().message();
  ExpectNoImage();
}

TEST_F(ImportTest, CancelledMidwayRemovesThePartialImage) {
  for (const char* name : {"disk.raw", "disk.raw.xz", "disk.qcow2", "disk.qcow2.gz"}) {
    if (Input(name).empty()) continue;
    std::stop_source stop;
    ImportOptions options;
    options.stop = stop.get_token();
    // The stop arrives once a third of the source has been read.
    ImportSource source = FileSource(
        Input(name), {.stop_after_bytes = &stop, .stop_after = FileSize(Input(name)) / 3});
    Result<ImportResult> result = ImportImage(source, Target(), options);
    ASSERT_FALSE(result.ok()) << name;
    EXPECT_TRUE(IsCancelled(result.status())) << name << ": " << result.status().message();
    ExpectNoImage();
  }
}

TEST_F(ImportTest, BlockTargetIsOverwrittenInPlace) {
  const std::string device = dir_ / "device";  // a file standing in for the block device
  testing::WriteFileBytes(device, std::vector<std::byte>(kVolumeSize, std::byte{0xee}));
  for (const char* name : {"disk.raw.zst", "disk.qcow2"}) {
    if (Input(name).empty()) continue;
    ImportTarget target{device, 0, false, true, dir_.path()};
    Result<ImportResult> result =
        ImportImage(FileSource(Input(name), {.random_access = true}), target, {});
    ASSERT_TRUE(result.ok()) << name << ": " << result.status().message();
    EXPECT_TRUE(HoldsImage(device, *image_, kVolumeSize)) << name;
  }
}

}  // namespace
}  // namespace vdisk::dataplane
