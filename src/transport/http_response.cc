// Strict parsing of the response headers the transport relies on.
#include "transport/http_response.h"

#include <charconv>

namespace vdisk::transport {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A decimal number made of digits only (no sign, no spaces) that fits in uint64_t.
std::optional<uint64_t> ParseDecimal(std::string_view s) {
  uint64_t value = 0;
  if (s.empty()) return std::nullopt;
  auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (error != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? char(a[i] - 'A' + 'a') : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

}  // namespace

std::optional<ContentRange> ParseContentRange(std::string_view value) {
  value = Trim(value);
  size_t space = value.find(' ');
  if (space == std::string_view::npos || !EqualsIgnoringCase(value.substr(0, space), "bytes")) {
    return std::nullopt;
  }
  std::string_view spec = Trim(value.substr(space + 1));
  size_t slash = spec.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string_view range = spec.substr(0, slash);
  std::string_view total_text = spec.substr(slash + 1);

  ContentRange result;
  if (total_text != "*") {
    result.total = ParseDecimal(total_text);
    if (!result.total) return std::nullopt;
  }
  if (range == "*") {  // "bytes */total": the requested range was not satisfiable
    if (!result.total) return std::nullopt;
    return result;
  }
  size_t dash = range.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto first = ParseDecimal(range.substr(0, dash));
  auto last = ParseDecimal(range.substr(dash + 1));
  if (!first || !last || *first > *last) return std::nullopt;
  if (result.total && *last >= *result.total) return std::nullopt;
  result.satisfied = true;
  result.first = *first;
  result.last = *last;
  return result;
}

}  // namespace vdisk::transport
