// Tests for checksum parsing and HashingReader (checksum.h), checked against sha256sum & co.
#include "dataplane/checksum.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "dataplane/test_util.h"

namespace vdisk::dataplane {
namespace {

using testing::MemoryReader;

std::vector<std::byte> Bytes(std::string_view text) {
  std::vector<std::byte> bytes(text.size());
  std::memcpy(bytes.data(), text.data(), text.size());
  return bytes;
}

TEST(ParseChecksum, AcceptsEachAlgorithm) {
  const std::string sha256(64, 'a');
  Result<Checksum> checksum = ParseChecksum("sha256:" + sha256);
  ASSERT_TRUE(checksum.ok()) << checksum.status().message();
  EXPECT_EQ(checksum->algorithm, ChecksumAlgorithm::kSha256);
  EXPECT_EQ(checksum->ToString(), "sha256:" + sha256);
  EXPECT_TRUE(ParseChecksum("sha512:" + std::string(128, '0')).ok());
  EXPECT_TRUE(ParseChecksum("sha1:" + std::string(40, 'f')).ok());
  EXPECT_TRUE(ParseChecksum("md5:" + std::string(32, '9')).ok());
}

TEST(ParseChecksum, NormalisesCase) {
  Result<Checksum> checksum = ParseChecksum("SHA256:" + std::string(64, 'A'));
  ASSERT_TRUE(checksum.ok());
  EXPECT_EQ(checksum->ToString(), "sha256:" + std::string(64, 'a'));
}

TEST(ParseChecksum, ErrorsNameTheReason) {
  EXPECT_EQ(ParseChecksum("sha256:" + std::string(63, 'a')).status().message(),
            "sha256 checksum must have 64 hex digits, got 63");
  EXPECT_EQ(ParseChecksum("md5:" + std::string(31, 'a') + "g").status().message(),
            "md5 checksum must be hex digits only");
  EXPECT_EQ(ParseChecksum("crc32:abcd").status().message(),
            "unknown checksum algorithm \"crc32\": expected sha256, sha512, sha1 or md5");
  Status no_colon = ParseChecksum(std::string(64, 'a')).status();
  EXPECT_EQ(no_colon.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_colon.message().find("<algorithm>:<hex>"), std::string::npos);
}

// The digest sha256sum & co. print for "hello world\n".
std::string ToolDigest(const std::string& tool) {
  std::string command = "printf 'hello world\\n' | " + tool + "sum";
  FILE* pipe = ::popen(command.c_str(), "r");
  char buffer[256] = {};
  size_t n = std::fread(buffer, 1, sizeof(buffer) - 1, pipe);
  ::pclose(pipe);
  std::string line(buffer, n);
  return line.substr(0, line.find(' '));
}

TEST(HashingReader, VerifiesEachAlgorithm) {
  for (std::string algorithm : {"sha256", "sha512", "sha1", "md5"}) {
    Result<Checksum> expected = ParseChecksum(algorithm + ":" + ToolDigest(algorithm));
    ASSERT_TRUE(expected.ok()) << algorithm;
    MemoryReader source(Bytes("hello world\n"), 3);
    HashingReader hashing(source, *expected);
    Result<std::vector<std::byte>> all = testing::ReadAll(hashing, 5);
    ASSERT_TRUE(all.ok());
    EXPECT_EQ(*all, Bytes("hello world\n"));
    EXPECT_TRUE(hashing.Verify().ok()) << algorithm;
    EXPECT_TRUE(hashing.Verify().ok()) << "a second Verify gives the same answer";
  }
}

TEST(HashingReader, MismatchNamesBothDigests) {
  Result<Checksum> expected = ParseChecksum("sha256:" + std::string(64, '0'));
  ASSERT_TRUE(expected.ok());
  MemoryReader source(Bytes("hello world\n"));
  HashingReader hashing(source, *expected);
  ASSERT_TRUE(testing::ReadAll(hashing).ok());
  Status status = hashing.Verify();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "checksum mismatch: expected sha256:" + std::string(64, '0') +
                                  ", got sha256:" + ToolDigest("sha256"));
}

}  // namespace
}  // namespace vdisk::dataplane
