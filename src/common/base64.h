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

}  // namespace vdisk
