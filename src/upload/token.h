// Upload tokens: what an UploadTokenRequest returns and the upload endpoints accept.
//
// A token is `<payload>.<signature>`, both base64url without padding: the payload is JSON
// {"op":"Upload","ns":NS,"pvc":NAME,"exp":UNIX_SECONDS}, the signature HMAC-SHA256 over the
// payload's text with a 256-bit secret that only this server knows (DIR/pki/upload-token.key,
// mode 0600, created on first use). A token is good for one claim in one namespace until it
// expires (5 minutes, as upstream's; the environment variable VDISK_UPLOAD_TOKEN_TTL_SECONDS
// shortens it for tests).
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "common/status.h"

namespace vdisk::upload {

struct TokenScope {
  std::string ns;
  std::string pvc;
};

class TokenSigner {
 public:
  static constexpr std::chrono::seconds kDefaultLifetime{300};

  // Loads the secret from `key_path`, creating it when missing.
  static Result<TokenSigner> LoadOrCreate(const std::filesystem::path& key_path);
  // For tests: a signer with a given secret.
  TokenSigner(std::string secret, std::chrono::seconds lifetime);

  std::string Issue(const TokenScope& scope, std::chrono::system_clock::time_point now) const;
  // InvalidArgument for text that is not a token at all (HTTP 400); Unauthorized for a bad
  // signature or an expired token (HTTP 401).
  Result<TokenScope> Verify(std::string_view token,
                            std::chrono::system_clock::time_point now) const;

  std::chrono::seconds lifetime() const { return lifetime_; }

 private:
  std::string Sign(std::string_view payload) const;

  std::string secret_;
  std::chrono::seconds lifetime_;
};

// The lifetime the server uses: kDefaultLifetime unless VDISK_UPLOAD_TOKEN_TTL_SECONDS says
// otherwise (1..300).
std::chrono::seconds ConfiguredTokenLifetime();

}  // namespace vdisk::upload
