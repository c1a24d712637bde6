// What the transport takes from an HTTP response's head: the status, Content-Length and
// Content-Range, each parsed strictly because servers are untrusted.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace vdisk::transport {

// A parsed "Content-Range: bytes first-last/total" ("bytes */total" when unsatisfied;
// total is absent for "/*").
struct ContentRange {
  bool satisfied = false;  // false for "bytes */total"
  uint64_t first = 0;
  uint64_t last = 0;
  std::optional<uint64_t> total;
};

// Parses a Content-Range value; nullopt unless it is well-formed with first <= last < total.
std::optional<ContentRange> ParseContentRange(std::string_view value);

struct ResponseHead {
  long status = 0;  // of the final response after redirects; 0 when none arrived
  std::optional<uint64_t> content_length;
  std::optional<ContentRange> content_range;
};

}  // namespace vdisk::transport
