// Base64 (RFC 4648, standard alphabet, padded), as Kubernetes carries bytes in JSON: a Secret's
// data, protobuf `bytes` fields, a kubeconfig's certificates.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace vdisk {

std::string Base64Encode(std::string_view bytes);
// Decodes padded base64; nullopt when `text` is not valid base64 (wrong length, stray bytes,
// bad padding).
std::optional<std::string> Base64Decode(std::string_view text);

// The URL- and filename-safe variant (RFC 4648 section 5: '-' and '_', no padding), as tokens
// carry bytes.
std::string Base64UrlEncode(std::string_view bytes);
// nullopt unless `text` is unpadded base64url.
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace vdisk
