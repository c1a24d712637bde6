// Checksum parsing and HashingReader (see checksum.h), hashing through OpenSSL EVP.
#include "dataplane/checksum.h"

#include <openssl/evp.h>

#include <array>
#include <cctype>
#include <optional>

namespace vdisk::dataplane {
namespace {

struct AlgorithmInfo {
  ChecksumAlgorithm algorithm;
  std::string_view name;
  size_t digest_bytes;
};

constexpr std::array<AlgorithmInfo, 4> kAlgorithms{{
    {ChecksumAlgorithm::kSha256, "sha256", 32},
    {ChecksumAlgorithm::kSha512, "sha512", 64},
    {ChecksumAlgorithm::kSha1, "sha1", 20},
    {ChecksumAlgorithm::kMd5, "md5", 16},
}};

const AlgorithmInfo& Info(ChecksumAlgorithm algorithm) {
  for (const AlgorithmInfo& info : kAlgorithms) {
    if (info.algorithm == algorithm) return info;
  }
  return kAlgorithms[0];
}

const EVP_MD* Digest(ChecksumAlgorithm algorithm) {
  switch (algorithm) {
    case ChecksumAlgorithm::kSha256:
      return EVP_sha256();
    case ChecksumAlgorithm::kSha512:
      return EVP_sha512();
    case ChecksumAlgorithm::kSha1:
      return EVP_sha1();
    case ChecksumAlgorithm::kMd5:
      return EVP_md5();
  }
  return EVP_sha256();
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string_view ChecksumAlgorithmName(ChecksumAlgorithm algorithm) { return Info(algorithm).name; }

std::string Checksum::ToString() const {
  return std::string(ChecksumAlgorithmName(algorithm)) + ":" + hex;
}

Result<Checksum> ParseChecksum(std::string_view text) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return InvalidArgument(
        "checksum must look like <algorithm>:<hex>, e.g. sha256:<64 hex digits>");
  }
  std::string name = Lower(text.substr(0, colon));
  std::string hex = Lower(text.substr(colon + 1));
  const AlgorithmInfo* info = nullptr;
  for (const AlgorithmInfo& candidate : kAlgorithms) {
    if (candidate.name == name) info = &candidate;
  }
  if (info == nullptr) {
    return InvalidArgument("unknown checksum algorithm \"" + name +
                           "\": expected sha256, sha512, sha1 or md5");
  }
  for (char c : hex) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return InvalidArgument(std::string(info->name) + " checksum must be hex digits only");
    }
  }
  if (hex.size() != info->digest_bytes * 2) {
    return InvalidArgument(std::string(info->name) + " checksum must have " +
                           std::to_string(info->digest_bytes * 2) + " hex digits, got " +
                           std::to_string(hex.size()));
  }
  return Checksum{info->algorithm, std::move(hex)};
}

struct HashingReader::Hasher {
  EVP_MD_CTX* ctx = nullptr;
  bool failed = false;            // OpenSSL could not set up or update the digest
  std::optional<Status> verdict;  // Verify's answer once the digest is final
  ~Hasher() { EVP_MD_CTX_free(ctx); }
};

HashingReader::HashingReader(io::Reader& in, Checksum expected)
    : in_(in), expected_(std::move(expected)), hasher_(std::make_unique<Hasher>()) {
  hasher_->ctx = EVP_MD_CTX_new();
  hasher_->failed = hasher_->ctx == nullptr ||
                    EVP_DigestInit_ex(hasher_->ctx, Digest(expected_.algorithm), nullptr) != 1;
}

HashingReader::~HashingReader() = default;

Result<size_t> HashingReader::Read(std::span<std::byte> out) {
  VDISK_ASSIGN_OR_RETURN(size_t n, in_.Read(out));
  if (n > 0 && !hasher_->failed) {
    hasher_->failed = EVP_DigestUpdate(hasher_->ctx, out.data(), n) != 1;
  }
  return n;
}

Status HashingReader::Verify() {
  if (!hasher_->verdict) hasher_->verdict = Finalize();
  return *hasher_->verdict;
}

Status HashingReader::Finalize() {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (hasher_->failed || EVP_DigestFinal_ex(hasher_->ctx, digest.data(), &size) != 1) {
    return Internal("computing the " + std::string(ChecksumAlgorithmName(expected_.algorithm)) +
                    " checksum failed");
  }
  static constexpr char kHexDigits[] = "0123456789abcdef";
  Checksum actual{expected_.algorithm, std::string(size * 2, '0')};
  for (unsigned int i = 0; i < size; ++i) {
    actual.hex[2 * i] = kHexDigits[digest[i] >> 4];
    actual.hex[2 * i + 1] = kHexDigits[digest[i] & 0xf];
  }
  if (actual != expected_) {
    return InvalidArgument("checksum mismatch: expected " + expected_.ToString() + ", got " +
                           actual.ToString());
  }
  return Status::Ok();
}

}  // namespace vdisk::dataplane
