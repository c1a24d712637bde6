// Quantity: a Kubernetes resource quantity such as "2Gi", "500Mi", "1.5G", "250m" or "1e3".
//
// Grammar and canonical form follow k8s.io/apimachinery/pkg/api/resource: binary suffixes
// (Ki Mi Gi Ti Pi Ei), decimal suffixes (n u m "" k M G T P E) and decimal exponents (e3, E-2).
// Values are held exactly as a scaled integer; like upstream, precision finer than 1n is rounded
// up (away from zero) and binary-suffixed values are capped at 2^63-1 in magnitude.
//
// Unlike upstream, absurd input is rejected instead of being held in arbitrary precision: text
// longer than 128 characters, exponents beyond +-1000 and more than 38 significant digits.
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

  // The value rounded up (away from zero) to a whole number (bytes for storage). Saturates at
  // INT64_MAX, or INT64_MIN for negative values.
  int64_t Value() const;
  // The value in thousandths, rounded up (CPU millicores). Saturates like Value().
  int64_t MilliValue() const;
  bool IsNegative() const;

  // Text as Kubernetes prints it: "2Gi" stays "2Gi", "1.5Gi" becomes "1536Mi", "1.5G" becomes
  // "1500M", "0.5" becomes "500m", "1000" becomes "1k". Like upstream, some parsed text that
  // is already short is echoed verbatim even when not strictly canonical ("1.500", "+1Ki").
  // Unlike upstream, decimal values past 999E keep their value ("1000E", where upstream says "1").
  std::string ToString() const;

  std::strong_ordering operator<=>(const Quantity& other) const;
  bool operator==(const Quantity& other) const { return (*this <=> other) == 0; }

 private:
  enum class Format { kBinarySI, kDecimalSI, kDecimalExponent };

  std::string CanonicalString() const;
  // The value times 10^extra_exponent, rounded away from zero and saturated to int64.
  int64_t ScaledValue(int extra_exponent) const;

  // value = mantissa_ * 10^exponent10_, with trailing zeros of the mantissa moved into the
  // exponent; |mantissa_| has at most 38 digits and exponent10_ >= -9 for parsed values.
  __int128 mantissa_ = 0;
  int32_t exponent10_ = 0;
  Format format_ = Format::kDecimalSI;
  // The parsed text when upstream would echo it back instead of re-formatting; else empty.
  std::string verbatim_;
};

}  // namespace vdisk::api
