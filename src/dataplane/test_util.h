// Helpers shared by the data plane tests: a scratch directory, running the real tools that build
// test inputs (gzip, xz, zstd, qemu-img), deterministic test images and in-memory readers.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "common/io.h"

namespace vdisk::dataplane::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it afterwards.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/vdisk-dataplane-XXXXXX";
    path_ = ::mkdtemp(pattern.data()) != nullptr ? pattern : "";
    EXPECT_FALSE(path_.empty()) << "mkdtemp failed";
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Runs a shell command and returns its exit status (-1 when it could not run).
inline int Sh(const std::string& command) {
  int rc = std::system(command.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

inline bool HaveTool(const std::string& tool) {
  return Sh("command -v " + tool + " >/dev/null 2>&1") == 0;
}

inline std::vector<std::byte> ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return {};
  std::vector<std::byte> bytes(static_cast<size_t>(in.tellg()));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return bytes;
}

inline void WriteFileBytes(const std::string& path, std::span<const std::byte> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// A deterministic disk-like image of `size` bytes: runs of pseudo-random data, compressible
// text and zeros, so that compressors and zero detection all have something to do.
inline std::vector<std::byte> MakeImage(size_t size, uint32_t seed = 1) {
  std::vector<std::byte> image(size);
  std::mt19937 rng(seed);
  size_t pos = 0;
  while (pos < size) {
    size_t run = std::min<size_t>(size - pos, 4096 * (1 + rng() % 64) + rng() % 4096);
    switch (rng() % 3) {
      case 0:
        for (size_t i = 0; i < run; ++i) image[pos + i] = static_cast<std::byte>(rng());
        break;
      case 1:
        for (size_t i = 0; i < run; ++i) {
          image[pos + i] = static_cast<std::byte>("the quick brown fox "[(pos + i) % 20]);
        }
        break;
      default:
        break;  // zeros
    }
    pos += run;
  }
  return image;
}

inline uint64_t FileSize(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// Bytes of the file actually allocated on disk.
inline uint64_t AllocatedBytes(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_blocks) * 512 : 0;
}

// Whether `path` holds exactly `expected` followed by zeros up to `size` bytes.
inline ::testing::AssertionResult HoldsImage(const std::string& path,
                                             std::span<const std::byte> expected, uint64_t size) {
  std::vector<std::byte> actual = ReadFileBytes(path);
  if (actual.size() != size) {
    return ::testing::AssertionFailure()
           << path << " has " << actual.size() << " bytes, expected " << size;
  }
  if (std::memcmp(actual.data(), expected.data(), expected.size()) != 0) {
    auto mismatch = std::mismatch(expected.begin(), expected.end(), actual.begin());
    return ::testing::AssertionFailure()
           << path << " differs from the image at offset " << (mismatch.first - expected.begin());
  }
  auto tail = std::span(actual).subspan(expected.size());
  if (auto nonzero =
          std::find_if(tail.begin(), tail.end(), [](std::byte b) { return b != std::byte{0}; });
      nonzero != tail.end()) {
    return ::testing::AssertionFailure() << path << " has a non-zero byte past the image at "
                                         << (expected.size() + (nonzero - tail.begin()));
  }
  return ::testing::AssertionSuccess();
}

// An io::Reader over bytes in memory that hands out at most `max_read` bytes per call, to
// exercise callers' handling of short reads.
class MemoryReader : public io::Reader {
 public:
  explicit MemoryReader(std::vector<std::byte> data, size_t max_read = SIZE_MAX)
      : data_(std::move(data)), max_read_(max_read) {}
  Result<size_t> Read(std::span<std::byte> out) override {
    size_t n = std::min({out.size(), data_.size() - pos_, max_read_});
    if (n > 0) std::memcpy(out.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  size_t position() const { return pos_; }

 private:
  std::vector<std::byte> data_;
  size_t pos_ = 0;
  size_t max_read_;
};

// Reads a Reader to its end.
inline Result<std::vector<std::byte>> ReadAll(io::Reader& reader, size_t chunk = 1 << 16) {
  std::vector<std::byte> out;
  std::vector<std::byte> buffer(chunk);
  while (true) {
    VDISK_ASSIGN_OR_RETURN(size_t n, reader.Read(buffer));
    if (n == 0) return out;
    out.insert(out.end(), buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(n));
  }
}

}  // namespace vdisk::dataplane::testing
