// Upload tokens: HMAC-SHA256 signed, scoped to one claim, short-lived.
#include "upload/token.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/base64.h"

namespace vdisk::upload {
namespace {

constexpr size_t kSecretBytes = 32;
constexpr size_t kMaxTokenLength = 4096;
}  // namespace

TokenSigner::TokenSigner(std::string secret, std::chrono::seconds lifetime)
    : secret_(std::move(secret)), lifetime_(lifetime) {}

Result<TokenSigner> TokenSigner::LoadOrCreate(const std::filesystem::path& key_path) {
  std::ifstream in(key_path, std::ios::binary);
  std::string secret((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (secret.size() != kSecretBytes) {
    secret.resize(kSecretBytes);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()), kSecretBytes) != 1) {
      return Internal("cannot draw random bytes for the upload token key");
    }
    std::filesystem::path temp = key_path;
    temp += ".tmp";
    int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return Internal("cannot write " + temp.string());
    bool written = write(fd, secret.data(), secret.size()) == static_cast<ssize_t>(secret.size());
    written = fsync(fd) == 0 && written;
    close(fd);
    std::error_code ec;
    if (written) std::filesystem::rename(temp, key_path, ec);
    if (!written || ec) return Internal("cannot write " + key_path.string());
  }
  return TokenSigner(std::move(secret), ConfiguredTokenLifetime());
}

std::string TokenSigner::Sign(std::string_view payload) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), mac, &size);
  return std::string(reinterpret_cast<char*>(mac), size);
}

std::string TokenSigner::Issue(const TokenScope& scope,
                               std::chrono::system_clock::time_point now) const {
  auto expires =
      std::chrono::duration_cast<std::chrono::seconds>((now + lifetime_).time_since_epoch())
          .count();
  nlohmann::json claims = {
      {"op", "Upload"}, {"ns", scope.ns}, {"pvc", scope.pvc}, {"exp", expires}};
  std::string payload = Base64UrlEncode(claims.dump());
  return payload + "." + Base64UrlEncode(Sign(payload));
}

Result<TokenScope> TokenSigner::Verify(std::string_view token,
                                       std::chrono::system_clock::time_point now) const {
  size_t dot = token.find('.');
  if (token.size() > kMaxTokenLength || dot == std::string_view::npos) {
    return InvalidArgument("malformed upload token");
  }
  std::string_view payload = token.substr(0, dot);
  auto signature = Base64UrlDecode(token.substr(dot + 1));
  auto claims_text = Base64UrlDecode(payload);
  if (!signature || !claims_text) return InvalidArgument("malformed upload token");
  std::string expected = Sign(payload);
  if (signature->size() != expected.size() ||
      CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0) {
    return Status(StatusCode::kUnauthorized, "invalid upload token");
  }
  nlohmann::json claims = nlohmann::json::parse(*claims_text, nullptr, false);
  if (!claims.is_object() || claims.value("op", "") != "Upload" || !claims["ns"].is_string() ||
      !claims["pvc"].is_string() || !claims["exp"].is_number_integer()) {
    return Status(StatusCode::kUnauthorized, "invalid upload token");
  }
  auto now_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (claims["exp"].get<int64_t>() <= now_seconds) {
    return Status(StatusCode::kUnauthorized, "upload token expired");
  }
  return TokenScope{claims["ns"].get<std::string>(), claims["pvc"].get<std::string>()};
}

std::chrono::seconds ConfiguredTokenLifetime() {
  const char* text = std::getenv("VDISK_UPLOAD_TOKEN_TTL_SECONDS");
  if (text == nullptr) return TokenSigner::kDefaultLifetime;
  long seconds = std::strtol(text, nullptr, 10);
  if (seconds < 1 || seconds > TokenSigner::kDefaultLifetime.count())
    return TokenSigner::kDefaultLifetime;
  return std::chrono::seconds(seconds);
}

}  // namespace vdisk::upload
