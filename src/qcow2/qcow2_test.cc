// Tests of the qcow2 reader against images made by the real qemu-img and qemu-io: every
// conversion (random access and streaming) must match `qemu-img convert -O raw` byte for
// byte, and hostile images must be rejected with the right reason.
#include "qcow2/qcow2.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "qcow2/sparse_stream.h"

namespace vdisk::qcow2 {
namespace {

using ::testing::HasSubstr;

class FileReader : public io::RandomAccessReader {
 public:
  explicit FileReader(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY)) {
    struct stat st {};
    if (fd_ >= 0 && ::fstat(fd_, &st) == 0) size_ = static_cast<uint64_t>(st.st_size);
  }
  ~FileReader() override {
    if (fd_ >= 0) ::close(fd_);
  }
  uint64_t size() const override { return size_; }
  Status ReadAt(uint64_t offset, std::span<std::byte> out) override {
    if (offset > size_ || out.size() > size_ - offset) return InvalidArgument("read past EOF");
    for (size_t done = 0; done < out.size();) {
      ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, offset + done);
      if (n <= 0) return Internal("pread failed");
      done += n;
    }
    return Status::Ok();
  }

 private:
  int fd_;
  uint64_t size_ = 0;
};

// Returns the file in small chunks of odd, varying sizes, as a decompressor might.
class ChunkedReader : public io::Reader {
 public:
  explicit ChunkedReader(const std::string& path) : file_(path) {}
  Result<size_t> Read(std::span<std::byte> out) override {
    static constexpr size_t kSizes[] = {7, 4093, 65537, 1, 300001, 512, 131071};
    size_t n = std::min<uint64_t>({out.size(), kSizes[turn_++ % 7], file_.size() - pos_});
    if (n == 0) return size_t{0};
    VDISK_RETURN_IF_ERROR(file_.ReadAt(pos_, out.first(n)));
    pos_ += n;
    return n;
  }

 private:
  FileReader file_;
  uint64_t pos_ = 0;
  size_t turn_ = 0;
};

class FileWriter : public io::ImageWriter {
 public:
  FileWriter(const std::string& path, uint64_t capacity)
      : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644)), capacity_(capacity) {
    EXPECT_EQ(::ftruncate(fd_, capacity), 0);
  }
  ~FileWriter() override { ::close(fd_); }
  uint64_t capacity() const override { return capacity_; }
  Status WriteAt(uint64_t offset, std::span<const std::byte> data) override {
    if (offset > capacity_ || data.size() > capacity_ - offset) {
      return InvalidArgument("write past capacity");
    }
    if (::pwrite(fd_, data.data(), data.size(), offset) != static_cast<ssize_t>(data.size())) {
      return Internal("pwrite failed");
    }
    return Status::Ok();
  }
  Status Finish() override { return ::fsync(fd_) == 0 ? Status::Ok() : Internal("fsync"); }

 private:
  int fd_;
  uint64_t capacity_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::string data(std::filesystem::file_size(path), '\0');
  f.read(data.data(), data.size());
  return data;
}

class Qcow2Test : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/qcow2_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    raw_ = Path("source.raw");
    MakeSourceRaw();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  static void Run(const std::string& command) {
    ASSERT_EQ(std::system((command + " >/dev/null 2>&1").c_str()), 0) << command;
  }

  // 24 MiB + 1536 bytes (not a cluster multiple): random data, pattern data, zero-filled
  // regions and holes, in stretches of various alignments.
  void MakeSourceRaw() {
    constexpr uint64_t kSize = (uint64_t{24} << 20) + 1536;
    std::string data(kSize, '\0');
    std::mt19937_64 rng(42);
    auto fill_random = [&](uint64_t from, uint64_t len) {
      for (uint64_t i = from; i < from + len && i < kSize; ++i) data[i] = static_cast<char>(rng());
    };
    fill_random(0, 3 << 20);                        // incompressible
    for (uint64_t i = 4 << 20; i < (9 << 20); ++i)  // compressible text-like pattern
      data[i] = static_cast<char>('a' + (i / 7) % 26);
    fill_random((12 << 20) + 4096, 70000);  // unaligned small island
    fill_random((16 << 20) - 100, 200);     // straddles a cluster boundary
    fill_random((20 << 20) + 512, 512 * 9);
    fill_random(kSize - 1000, 1000);  // the partial last cluster
    std::ofstream(raw_, std::ios::binary).write(data.data(), data.size());
    // Make [9 MiB, 12 MiB) a hole rather than written zeros.
    int fd = ::open(raw_.c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 9 << 20, 3 << 20), 0);
    ::close(fd);
  }

  std::string MakeImage(const std::string& name, const std::string& convert_options) {
    std::string image = Path(name);
    Run("qemu-img convert -f raw -O qcow2 " + convert_options + " " + raw_ + " " + image);
    return image;
  }

  // Converts `image` both ways and compares each output with qemu-img's raw conversion.
  // `expect_scratch`: whether the stream must (not) need the scratch file; unset when that
  // depends on qemu's allocation order.
  void ExpectConvertsLikeQemu(const std::string& image,
                              std::optional<bool> expect_scratch = std::nullopt,
                              unsigned threads = 0) {
    SCOPED_TRACE(image);
    std::string expected_path = image + ".expected";
    Run("qemu-img convert -O raw " + image + " " + expected_path);
    std::string expected = ReadFile(expected_path);

    FileReader file(image);
    Result<ImageInfo> info = Probe(file);
    ASSERT_TRUE(info.ok()) << info.status().message();
    EXPECT_EQ(info->virtual_size, expected.size());

    io::Progress progress;
    ConvertOptions options;
    options.threads = threads;
    options.progress = &progress;
    {
      FileWriter out(Path("out.raw"), info->virtual_size);
      Status status = Convert(file, out, options);
      ASSERT_TRUE(status.ok()) << status.message();
      ASSERT_TRUE(out.Finish().ok());
    }
    EXPECT_TRUE(ReadFile(Path("out.raw")) == expected) << "Convert output differs";
    EXPECT_EQ(progress.total.load(), info->virtual_size);
    EXPECT_EQ(progress.done.load(), info->virtual_size);

    bool used_scratch = false;
    {
      FileWriter out(Path("stream.raw"), info->virtual_size);
      ChunkedReader in(image);
      Status status = ConvertStream(in, out, dir_, options, &used_scratch);
      ASSERT_TRUE(status.ok()) << status.message();
    }
    EXPECT_TRUE(ReadFile(Path("stream.raw")) == expected) << "ConvertStream output differs";
    if (expect_scratch) {
      EXPECT_EQ(used_scratch, *expect_scratch);
    }
    // The scratch file is gone.
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      EXPECT_THAT(entry.path().filename().string(), ::testing::Not(HasSubstr("scratch")));
    }
  }

  Status ConvertError(const std::string& image) {
    FileReader file(image);
    FileWriter out(Path("out.raw"), uint64_t{1} << 30);
    return Convert(file, out, {});
  }

  Status StreamError(const std::string& image) {
    ChunkedReader in(image);
    FileWriter out(Path("stream.raw"), uint64_t{1} << 30);
    return ConvertStream(in, out, dir_, {}, nullptr);
  }

  // Overwrites `bytes` big-endian bytes of `value` at `offset` of `path`.
  static void Patch(const std::string& path, uint64_t offset, uint64_t value, int bytes) {
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    for (int i = 0; i < bytes; ++i) {
      f.seekp(offset + i);
      f.put(static_cast<char>(value >> (8 * (bytes - 1 - i))));
    }
  }

  static uint64_t ReadBe(const std::string& path, uint64_t offset, int bytes) {
    std::ifstream f(path, std::ios::binary);
    f.seekg(offset);
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = v << 8 | static_cast<uint8_t>(f.get());
    return v;
  }

  // Probe and Convert must fail for `reason`, ConvertStream (which cannot know the file size
  // in advance) for `stream_reason`, by default the same.
  void ExpectRejected(const std::string& image, const std::string& reason,
                      std::string stream_reason = "") {
    FileReader file(image);
    Result<ImageInfo> info = Probe(file);
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(info.status().message(), HasSubstr(reason));
    Status status = ConvertError(image);
    EXPECT_THAT(status.message(), HasSubstr(reason));
    status = StreamError(image);
    EXPECT_THAT(status.message(), HasSubstr(stream_reason.empty() ? reason : stream_reason));
  }

  std::string dir_;
  std::string raw_;
};

TEST_F(Qcow2Test, DefaultImage) {
  std::string image = MakeImage("default.qcow2", "");
  FileReader file(image);
  Result<ImageInfo> info = Probe(file);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->version, 3u);
  EXPECT_EQ(info->cluster_bits, 16u);
  EXPECT_FALSE(info->extended_l2);
  EXPECT_EQ(info->compression, ImageInfo::Compression::kDeflate);
  EXPECT_GT(info->allocated_bytes, 0u);
  EXPECT_LE(info->allocated_bytes, file.size());
  ExpectConvertsLikeQemu(image, /*expect_scratch=*/false);
  ExpectConvertsLikeQemu(image, /*expect_scratch=*/false, /*threads=*/1);
}

TEST_F(Qcow2Test, Version2) {
  std::string image = MakeImage("v2.qcow2", "-o compat=0.10");
  FileReader file(image);
  ASSERT_EQ(Probe(file)->version, 2u);
  ExpectConvertsLikeQemu(image);
}

TEST_F(Qcow2Test, SmallestClusters) {
  std::string image = MakeImage("c512.qcow2", "-o cluster_size=512");
  FileReader file(image);
  ASSERT_EQ(Probe(file)->cluster_bits, 9u);
  ExpectConvertsLikeQemu(image);
}

TEST_F(Qcow2Test, LargestClusters) {
  ExpectConvertsLikeQemu(MakeImage("c2m.qcow2", "-o cluster_size=2M"));
}

TEST_F(Qcow2Test, DeflateCompressed) {
  std::string image = MakeImage("deflate.qcow2", "-c");
  ExpectConvertsLikeQemu(image);
  ExpectConvertsLikeQemu(image, std::nullopt, /*threads=*/1);
}

TEST_F(Qcow2Test, DeflateCompressedSmallAndLargeClusters) {
  ExpectConvertsLikeQemu(MakeImage("deflate512.qcow2", "-c -o cluster_size=512"));
  ExpectConvertsLikeQemu(MakeImage("deflate2m.qcow2", "-c -o cluster_size=2M"));
}

TEST_F(Qcow2Test, ZstdCompressed) {
  std::string image = MakeImage("zstd.qcow2", "-c -o compression_type=zstd");
  FileReader file(image);
  ASSERT_EQ(Probe(file)->compression, ImageInfo::Compression::kZstd);
  ExpectConvertsLikeQemu(image);
}

TEST_F(Qcow2Test, ExtendedL2) {
  std::string image = MakeImage("ext.qcow2", "-o extended_l2=on");
  FileReader file(image);
  ASSERT_TRUE(Probe(file)->extended_l2);
  ExpectConvertsLikeQemu(image);
}

TEST_F(Qcow2Test, ExtendedL2Subclusters) {
  // Subcluster-granular allocation and zeroing within 64 KiB clusters (2 KiB subclusters).
  std::string image = Path("sub.qcow2");
  Run("qemu-img create -f qcow2 -o extended_l2=on " + image + " 8M");
  Run("qemu-io -c 'write -P 0x11 2048 2048' -c 'write -P 0x22 8192 6144' "
      "-c 'write -P 0x33 65536 65536' -c 'write -z 69632 4096' -c 'write -P 0x44 7340032 100' "
      "-c 'write -z 4194304 2048' -c 'write -c -P 0x55 1048576 65536' " +
      image);
  ExpectConvertsLikeQemu(image);
}

TEST_F(Qcow2Test, ZeroClusters) {
  std::string image = MakeImage("zero.qcow2", "");
  Run("qemu-io -c 'write -z 0 1M' -c 'write -z -u 4M 2M' -c 'write -z 65536 4096' " + image);
  ExpectConvertsLikeQemu(image);
  std::string v2 = MakeImage("zero-v2.qcow2", "-o compat=0.10");
  Run("qemu-io -c 'write -z 0 1M' -c 'write -z 4M 2M' " + v2);
  ExpectConvertsLikeQemu(v2);
}

TEST_F(Qcow2Test, SnapshotsAreIgnored) {
  std::string image = MakeImage("snap.qcow2", "");
  Run("qemu-img snapshot -c first " + image);
  Run("qemu-io -c 'write -P 0x77 1M 3M' -c 'write -z 5M 1M' " + image);
  ExpectConvertsLikeQemu(image);
}

TEST_F(Qcow2Test, ShrunkImageWithOversizedL1) {
  std::string image = MakeImage("shrunk.qcow2", "-o cluster_size=512");
  Run("qemu-img resize --shrink " + image + " 10M");
  ExpectConvertsLikeQemu(image);
}

TEST_F(Qcow2Test, TablesAfterDataNeedScratch) {
  // Growing the image moves the L1 table to the end of the file, behind the data and the L2
  // tables: a stream must keep everything until the L1 table passes.
  for (const char* options : {"-o cluster_size=4096", "-c -o cluster_size=4096"}) {
    std::string image = MakeImage("grown.qcow2", options);
    Run("qemu-img resize " + image + " 32M");
    FileReader file(image);
    ASSERT_GT(ReadBe(image, 40, 8), file.size() / 2);  // the L1 table offset
    ExpectConvertsLikeQemu(image, /*expect_scratch=*/true);
  }
}

TEST_F(Qcow2Test, CancelAndCapacity) {
  std::string image = MakeImage("cancel.qcow2", "");
  FileReader file(image);
  std::stop_source stop;
  stop.request_stop();
  ConvertOptions options;
  options.stop = stop.get_token();
  {
    FileWriter out(Path("out.raw"), uint64_t{1} << 30);
    Status status = Convert(file, out, options);
    EXPECT_TRUE(IsCancelled(status)) << status.message();
    ChunkedReader in(image);
    status = ConvertStream(in, out, dir_, options, nullptr);
    EXPECT_TRUE(IsCancelled(status)) << status.message();
  }
  FileWriter small(Path("small.raw"), 4096);
  Status status = Convert(file, small, {});
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("capacity"));
}

TEST_F(Qcow2Test, RejectsBackingFile) {
  std::string base = MakeImage("base.qcow2", "");
  std::string image = Path("overlay.qcow2");
  Run("qemu-img create -f qcow2 -b " + base + " -F qcow2 " + image);
  ExpectRejected(image,
                 "qcow2 image has a backing file: " + base + "; images must be self-contained");
}

TEST_F(Qcow2Test, RejectsExternalDataFile) {
  std::string image = Path("external.qcow2");
  Run("qemu-img create -f qcow2 -o data_file=" + Path("external.data") + " " + image + " 16M");
  ExpectRejected(image, "external data file: " + Path("external.data"));
}

TEST_F(Qcow2Test, RejectsEncryption) {
  std::string image = Path("luks.qcow2");
  Run("qemu-img create --object secret,id=sec0,data=123456 -f qcow2 "
      "-o encrypt.format=luks,encrypt.key-secret=sec0 " +
      image + " 16M");
  ExpectRejected(image, "encrypted (LUKS)");
}

TEST_F(Qcow2Test, RejectsUnknownIncompatibleBits) {
  std::string image = MakeImage("bits.qcow2", "");
  Patch(image, 72, (uint64_t{1} << 40) | (uint64_t{1} << 9), 8);
  ExpectRejected(image, "unknown incompatible feature bits: 9, 40");
}

TEST_F(Qcow2Test, RejectsCorruptBitButAcceptsDirtyBit) {
  std::string image = MakeImage("corrupt.qcow2", "");
  Patch(image, 72, 1, 8);  // dirty
  ExpectConvertsLikeQemu(image);
  Patch(image, 72, 2, 8);  // corrupt
  ExpectRejected(image, "marked corrupt");
}

TEST_F(Qcow2Test, RejectsBadHeaderFields) {
  std::string image = MakeImage("header.qcow2", "");
  Patch(image, 0, 0x514649fa, 4);
  ExpectRejected(image, "bad magic");
  Patch(image, 0, kMagic, 4);
  Patch(image, 4, 4, 4);
  ExpectRejected(image, "unsupported qcow2 version 4");
  Patch(image, 4, 3, 4);
  Patch(image, 20, 22, 4);
  ExpectRejected(image, "cluster bits 22 outside");
  Patch(image, 20, 8, 4);
  ExpectRejected(image, "cluster bits 8 outside");
}

TEST_F(Qcow2Test, RejectsAbsurdL1Size) {
  std::string image = MakeImage("l1.qcow2", "");
  Patch(image, 36, 0x7fffffff, 4);
  ExpectRejected(image, "L1 table size 2147483647 entries is absurd");
  Patch(image, 36, 0, 4);
  ExpectRejected(image, "L1 table has 0 entries but the virtual size needs 1");
}

TEST_F(Qcow2Test, RejectsTablesPastEndOfFile) {
  std::string image = MakeImage("eof.qcow2", "");
  const uint64_t l1_offset = ReadBe(image, 40, 8);
  Patch(image, 40, uint64_t{1} << 40, 8);
  ExpectRejected(image, "L1 table at 0x10000000000 (8 bytes) reaches past the end of the file",
                 "truncated");
  Patch(image, 40, l1_offset, 8);

  const uint64_t refcount_offset = ReadBe(image, 48, 8);
  Patch(image, 48, uint64_t{1} << 40, 8);
  ExpectRejected(image, "refcount table at 0x10000000000", "truncated");
  Patch(image, 48, refcount_offset, 8);
  Patch(image, 56, 0x10000, 4);  // refcount_table_clusters
  ExpectRejected(image, "refcount table at", "truncated");
  Patch(image, 56, 1, 4);

  Patch(image, 112, 0x12345678, 4);  // a header extension longer than the first cluster
  Patch(image, 116, 0x20000, 4);
  ExpectRejected(image, "header extension 0x12345678");
  Patch(image, 112, 0, 8);

  const uint64_t l1_entry = ReadBe(image, l1_offset, 8);
  Patch(image, l1_offset, (uint64_t{1} << 63) | (uint64_t{1} << 40), 8);
  Status status = ConvertError(image);
  EXPECT_THAT(status.message(), HasSubstr("L2 table at 0x10000000000 (L1 entry 0) reaches past"));
  status = StreamError(image);
  EXPECT_THAT(status.message(), HasSubstr("truncated"));
  EXPECT_THAT(status.message(), HasSubstr("an L2 table"));
  Patch(image, l1_offset, l1_entry, 8);

  // An L2 entry pointing past the end of the file.
  const uint64_t l2_offset = l1_entry & 0x00fffffffffffe00;
  Patch(image, l2_offset, (uint64_t{1} << 63) | (uint64_t{1} << 40), 8);
  status = ConvertError(image);
  EXPECT_THAT(status.message(), HasSubstr("lies past the end of the file"));
  status = StreamError(image);
  EXPECT_THAT(status.message(), HasSubstr("truncated"));
}

TEST_F(Qcow2Test, RejectsTruncatedImages) {
  for (const char* options : {"", "-c"}) {
    std::string image = MakeImage("cut.qcow2", options);
    FileReader whole(image);
    ASSERT_EQ(::truncate(image.c_str(), whole.size() / 2), 0);
    Status status = ConvertError(image);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(status.message(), HasSubstr("truncated")) << options;
    status = StreamError(image);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(status.message(), HasSubstr("truncated")) << options;
  }
  std::string tiny = MakeImage("tiny.qcow2", "");
  ASSERT_EQ(::truncate(tiny.c_str(), 50), 0);
  ExpectRejected(tiny, "truncated");
}

TEST_F(Qcow2Test, RejectsCorruptCompressedData) {
  std::string image = MakeImage("badc.qcow2", "-c");
  // Garble the first compressed cluster of the text-like stretch at 4 MiB.
  const uint64_t l2 = ReadBe(image, ReadBe(image, 40, 8), 8) & 0x00fffffffffffe00;
  const uint64_t entry = ReadBe(image, l2 + 64 * 8, 8);
  ASSERT_TRUE(entry >> 62 & 1) << "not compressed";
  const uint64_t host = entry & ((uint64_t{1} << 54) - 1);  // 64 KiB clusters: 54 offset bits
  Patch(image, host, 0xffffffffffffffff, 8);
  Status status = ConvertError(image);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("compressed cluster"));
  status = StreamError(image);
  EXPECT_THAT(status.message(), HasSubstr("compressed cluster"));
}

// Writes all of `stream` to `path`, read in chunks of odd sizes; returns the bytes written.
uint64_t WriteStream(io::Reader& stream, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  std::vector<std::byte> buffer(300001);
  static constexpr size_t kSizes[] = {7, 65536, 4093, 300001, 512, 131072};
  uint64_t total = 0;
  for (size_t turn = 0;; ++turn) {
    auto n = stream.Read(std::span(buffer).first(kSizes[turn % 6]));
    EXPECT_TRUE(n.ok()) << n.status().message();
    if (!n.ok() || *n == 0) break;
    out.write(reinterpret_cast<const char*>(buffer.data()), static_cast<std::streamsize>(*n));
    total += *n;
  }
  return total;
}

TEST_F(Qcow2Test, SparseStreamSendsOnlyTheDataAsAValidQcow2) {
  auto stream = SparseStream::Open(raw_);
  ASSERT_TRUE(stream.ok()) << stream.status().message();
  const uint64_t raw_size = std::filesystem::file_size(raw_);
  EXPECT_EQ((*stream)->virtual_size(), raw_size);
  const uint64_t whole_clusters = (raw_size + 65535) / 65536 * 65536;
  EXPECT_LE((*stream)->data_bytes(), whole_clusters - (3 << 20));  // the hole is not sent
  std::string image = Path("sparse.qcow2");
  EXPECT_EQ(WriteStream(**stream, image), (*stream)->size());
  Run("qemu-img check -q " + image);  // consistent metadata and refcounts
  Run("qemu-img compare -q -f raw -F qcow2 " + raw_ + " " + image);
  // Tables come before the data they map: the streaming reader needs no scratch space.
  ExpectConvertsLikeQemu(image, /*expect_scratch=*/false);
}

TEST_F(Qcow2Test, SparseStreamAcrossSeveralL2Tables) {
  // 1.5 GiB with islands in each 512 MiB an L2 table maps, and an all-hole stretch between.
  std::string raw = Path("big.raw");
  Run("truncate -s 1536M " + raw);
  for (const char* seek_mib : {"0", "511", "1100", "1535"}) {
    Run("dd if=/dev/urandom of=" + raw + " bs=1M count=1 conv=notrunc seek=" + seek_mib);
  }
  auto stream = SparseStream::Open(raw);
  ASSERT_TRUE(stream.ok()) << stream.status().message();
  EXPECT_EQ((*stream)->data_bytes(), uint64_t{4} << 20);
  std::string image = Path("big.qcow2");
  EXPECT_EQ(WriteStream(**stream, image), (*stream)->size());
  Run("qemu-img check -q " + image);
  Run("qemu-img compare -q -f raw -F qcow2 " + raw + " " + image);
}

TEST_F(Qcow2Test, SparseStreamOfAnAllHoleFileAndBadFiles) {
  std::string empty = Path("empty.raw");
  Run("truncate -s 64M " + empty);
  auto stream = SparseStream::Open(empty);
  ASSERT_TRUE(stream.ok()) << stream.status().message();
  EXPECT_EQ((*stream)->data_bytes(), 0u);
  std::string image = Path("empty.qcow2");
  EXPECT_EQ(WriteStream(**stream, image), (*stream)->size());
  EXPECT_LT((*stream)->size(), uint64_t{1} << 20);
  Run("qemu-img check -q " + image);
  Run("qemu-img compare -q -f raw -F qcow2 " + empty + " " + image);

  std::string odd = Path("odd.raw");
  Run("truncate -s 1000 " + odd);
  auto refused = SparseStream::Open(odd);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("multiple of 512"));
  EXPECT_FALSE(SparseStream::Open(Path("missing.raw")).ok());
  EXPECT_FALSE(SparseStream::Open(dir_).ok());
}

}  // namespace
}  // namespace vdisk::qcow2
