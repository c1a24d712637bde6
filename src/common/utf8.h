// UTF-8 decoding for untrusted text. API values end up in JSON, and nlohmann::json::dump
// throws on invalid UTF-8, so every string taken from raw bytes passes through here first.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vdisk {

struct DecodedRune {
  uint32_t code_point = 0;
  size_t length = 1;  // bytes consumed; 1 for a byte that does not start valid UTF-8
  bool valid = false;
};

// Decodes the sequence at text[pos] (pos < text.size()). Overlong forms, surrogates and code
// points above U+10FFFF are invalid.
DecodedRune DecodeUtf8(std::string_view text, size_t pos);

// `text` with every byte that does not start valid UTF-8 replaced by U+FFFD, as Go's JSON
// encoder writes it.
std::string ValidUtf8(std::string_view text);

}  // namespace vdisk
