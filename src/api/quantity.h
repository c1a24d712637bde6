// Quantity: a Kubernetes resource quantity such as "2Gi", "500Mi", "1.5G", "250m" or "1e3".
//
// Grammar and canonical form follow k8s.io/apimachinery/pkg/api/resource: binary suffixes
// (Ki Mi Gi Ti Pi Ei), decimal suffixes (n u m "" k M G T P E) and decimal exponents (e3, E-2).
// Values are held exactly as a rational scaled integer; sizes in bytes round up.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace vdisk::api {

class Quantity {
 public:
  // Parses untrusted text. Errors name the reason, e.g.
  // "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'".
  static Result<Quantity> Parse(std::string_view text);
  static Quantity FromBytes(int64_t bytes);  // formatted with a binary suffix when exact

  // The value rounded up to a whole number (bytes for storage). Saturates at INT64_MAX.
  int64_t Value() const;
  // The value in thousandths, rounded up (CPU millicores). Saturates at INT64_MAX.
  int64_t MilliValue() const;
  bool IsNegative() const;

  // Canonical text as Kubernetes prints it: "2Gi" stays "2Gi", "1.5Gi" becomes "1536Mi",
  // "1.5G" becomes "1500M", "0.5" becomes "500m".
  std::string ToString() const;

  std::strong_ordering operator<=>(const Quantity& other) const;
  bool operator==(const Quantity& other) const { return (*this <=> other) == 0; }

 private:
  // Implementation-defined exact representation; see quantity.cc.
  __int128 mantissa_ = 0;  // value = mantissa_ * 10^exponent10_ * 2^exponent2_
  int32_t exponent10_ = 0;
  int32_t exponent2_ = 0;
  enum class Format { kBinarySI, kDecimalSI, kDecimalExponent } format_ = Format::kDecimalSI;
};

}  // namespace vdisk::api
