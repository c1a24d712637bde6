// Image checksums: parsing "<algorithm>:<hex>" as a user writes it in a DataVolume source, and a
// Reader wrapper that hashes a stream as it passes so that the download is verified without a
// second read.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/io.h"
#include "common/status.h"

namespace vdisk::dataplane {

enum class ChecksumAlgorithm { kSha256, kSha512, kSha1, kMd5 };

// "sha256", "sha512", "sha1", "md5".
std::string_view ChecksumAlgorithmName(ChecksumAlgorithm algorithm);

struct Checksum {
  ChecksumAlgorithm algorithm = ChecksumAlgorithm::kSha256;
  std::string hex;  // lower-case hex digest of the algorithm's exact length

  // "sha256:<hex>".
  std::string ToString() const;
  bool operator==(const Checksum&) const = default;
};

// Parses "sha256:<hex>", "sha512:<hex>", "sha1:<hex>" or "md5:<hex>". The algorithm name and the
// hex digits are case-insensitive; the digest must have the algorithm's length. Errors are
// InvalidArgument naming the reason ("unknown checksum algorithm \"crc32\"", "sha256 checksum
// must have 64 hex digits, got 63", ...).
Result<Checksum> ParseChecksum(std::string_view text);

// Passes a stream through unchanged while hashing it. Verify() compares the digest of
// everything read so far with the expected checksum; call it once the stream is at its end.
class HashingReader : public io::Reader {
 public:
  // `in` must outlive this reader.
  HashingReader(io::Reader& in, Checksum expected);
  ~HashingReader() override;

  Result<size_t> Read(std::span<std::byte> out) override;

  // OK when the digest matches; otherwise InvalidArgument
  // "checksum mismatch: expected sha256:<hex>, got sha256:<hex>".
  Status Verify();

 private:
  struct Hasher;
  Status Finalize();

  io::Reader& in_;
  Checksum expected_;
  std::unique_ptr<Hasher> hasher_;
};

}  // namespace vdisk::dataplane
