#include "api/quantity.h"

#include <array>
#include <limits>
#include <optional>

namespace vdisk::api {
namespace {

using u128 = unsigned __int128;

// The messages upstream returns, so clients see the same text.
constexpr char kFormatWrongMessage[] =
    "quantities must match the regular expression "
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
constexpr char kNumericMessage[] = "unable to parse numeric part of quantity";
constexpr char kSuffixMessage[] = "unable to parse quantity's suffix";

// Bounds on hostile input. Upstream holds any size in arbitrary precision; nothing real needs
// more than these, and they keep every intermediate value inside __int128.
constexpr size_t kMaxTextLength = 128;
constexpr int kMaxExponent = 1000;
constexpr size_t kMaxSignificantDigits = 38;  // 10^38 < 2^127

constexpr int kNanoExponent = -9;  // precision finer than 1n is rounded up
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

enum class SuffixKind { kBinary, kDecimal, kExponent };

struct Suffix {
  SuffixKind kind;
  int exponent;  // a power of 2 for kBinary, of 10 otherwise
};

// The pieces of "<sign><integer>.<fraction><suffix>", integer without leading zeros.
struct Pieces {
  bool negative = false;
  std::string_view integer;
  std::string_view fraction;
  std::string_view suffix;
  bool has_digits = false;
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsSuffixLetter(char c) {
  for (char letter : std::string_view("eEinumkKMGTP")) {
    if (c == letter) return true;
  }
  return false;
}

// Splits text by the regular expression in kFormatWrongMessage. Its number part needs a digit or
// a dot; upstream's scanner also takes "+" or "Ki" as zero, against its own documented grammar.
std::optional<Pieces> Split(std::string_view text) {
  Pieces pieces;
  size_t pos = 0;
  if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    pieces.negative = text[pos] == '-';
    ++pos;
  }
  const size_t number_start = pos;
  while (pos < text.size() && text[pos] == '0') ++pos;
  const size_t integer_start = pos;
  while (pos < text.size() && IsDigit(text[pos])) ++pos;
  pieces.integer = text.substr(integer_start, pos - integer_start);
  if (pos < text.size() && text[pos] == '.') {
    const size_t fraction_start = ++pos;
    while (pos < text.size() && IsDigit(text[pos])) ++pos;
    pieces.fraction = text.substr(fraction_start, pos - fraction_start);
  }
  if (pos == number_start) return std::nullopt;
  pieces.has_digits = text.substr(number_start, pos - number_start).find_first_not_of('.') !=
                      std::string_view::npos;
  const size_t suffix_start = pos;
  while (pos < text.size() && IsSuffixLetter(text[pos])) ++pos;
  if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) ++pos;
  while (pos < text.size() && IsDigit(text[pos])) ++pos;
  if (pos != text.size()) return std::nullopt;
  pieces.suffix = text.substr(suffix_start);
  return pieces;
}

// Parses the exponent after 'e' or 'E' ("3", "+3", "-03"), as Go's strconv.ParseInt would,
// but within +-kMaxExponent. Sets *out_of_range when well formed but too large.
std::optional<int> ParseExponent(std::string_view text, bool* out_of_range) {
  bool negative = false;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  if (text.empty()) return std::nullopt;
  int value = 0;
  for (char c : text) {
    if (!IsDigit(c)) return std::nullopt;
    value = value * 10 + (c - '0');
    if (value > kMaxExponent) {
      *out_of_range = true;
      return std::nullopt;
    }
  }
  return negative ? -value : value;
}

Result<Suffix> InterpretSuffix(std::string_view suffix) {
  struct Entry {
    std::string_view text;
    Suffix suffix;
  };
  static constexpr std::array<Entry, 16> kTable = {{
      {"", {SuffixKind::kDecimal, 0}},
      {"n", {SuffixKind::kDecimal, -9}},
      {"u", {SuffixKind::kDecimal, -6}},
      {"m", {SuffixKind::kDecimal, -3}},
      {"k", {SuffixKind::kDecimal, 3}},
      {"M", {SuffixKind::kDecimal, 6}},
      {"G", {SuffixKind::kDecimal, 9}},
      {"T", {SuffixKind::kDecimal, 12}},
      {"P", {SuffixKind::kDecimal, 15}},
      {"E", {SuffixKind::kDecimal, 18}},
      {"Ki", {SuffixKind::kBinary, 10}},
      {"Mi", {SuffixKind::kBinary, 20}},
      {"Gi", {SuffixKind::kBinary, 30}},
      {"Ti", {SuffixKind::kBinary, 40}},
      {"Pi", {SuffixKind::kBinary, 50}},
      {"Ei", {SuffixKind::kBinary, 60}},
  }};
  for (const Entry& entry : kTable) {
    if (entry.text == suffix) return entry.suffix;
  }
  if (suffix.size() > 1 && (suffix[0] == 'e' || suffix[0] == 'E')) {
    bool out_of_range = false;
    std::optional<int> exponent = ParseExponent(suffix.substr(1), &out_of_range);
    if (exponent) return Suffix{SuffixKind::kExponent, *exponent};
    if (out_of_range) {
      return InvalidArgument("quantity exponents must be between -" + std::to_string(kMaxExponent) +
                             " and " + std::to_string(kMaxExponent));
    }
  }
  return InvalidArgument(kSuffixMessage);
}

// Whether upstream keeps the parsed text and prints it back verbatim. It does so when its int64
// fast path parses the text and the text looks canonical to a cheap check; reproducing that
// keeps round trips byte-identical with a real API server ("1.500" stays "1.500").
bool UpstreamKeepsText(const Pieces& pieces, const Suffix& suffix) {
  const std::string_view integer = pieces.integer.empty() ? "0" : pieces.integer;
  if (suffix.kind == SuffixKind::kBinary) {
    if (!pieces.fraction.empty()) return false;
    const int precision = 15 - static_cast<int>(integer.size()) - suffix.exponent * 3 / 10 - 1;
    if (precision < 0) return false;
    int64_t value = 0;  // at most 11 digits, by the precision test
    for (char c : integer) value = value * 10 + (c - '0');
    if (value > (kInt64Max >> suffix.exponent)) return false;
    return (value & 7) != 0;
  }
  if (integer.size() + pieces.fraction.size() > 18) return false;
  const int scale = suffix.exponent - static_cast<int>(pieces.fraction.size());
  if (scale < kNanoExponent) return false;
  std::string shifted(integer);
  shifted += pieces.fraction;
  const bool ends_in_000 = shifted.size() >= 3 && shifted.ends_with("000");
  return scale % 3 == 0 && !ends_in_000 && shifted[0] != '0';
}

// Arithmetic on unsigned decimal digit strings (most significant first), bounded by the input
// length, so values of any size are exact before they are rounded and checked.
void MultiplyDigits(std::string& digits, int factor) {
  int carry = 0;
  for (size_t i = digits.size(); i-- > 0;) {
    const int product = (digits[i] - '0') * factor + carry;
    digits[i] = static_cast<char>('0' + product % 10);
    carry = product / 10;
  }
  while (carry > 0) {
    digits.insert(digits.begin(), static_cast<char>('0' + carry % 10));
    carry /= 10;
  }
}

void IncrementDigits(std::string& digits) {
  for (size_t i = digits.size(); i-- > 0;) {
    if (digits[i] != '9') {
      ++digits[i];
      return;
    }
    digits[i] = '0';
  }
  digits.insert(digits.begin(), '1');
}

// Rounds digits * 10^exponent up (in magnitude) to a multiple of 10^-9.
void RoundUpToNano(std::string& digits, int64_t& exponent) {
  if (exponent >= kNanoExponent) return;
  const int64_t dropped = kNanoExponent - exponent;
  exponent = kNanoExponent;
  const size_t keep = dropped >= static_cast<int64_t>(digits.size()) ? 0 : digits.size() - dropped;
  const bool inexact = digits.find_first_not_of('0', keep) != std::string::npos;
  digits.resize(keep);
  if (inexact) IncrementDigits(digits);
}

u128 Pow10(int64_t exponent) {
  u128 result = 1;
  for (int64_t i = 0; i < exponent; ++i) result *= 10;
  return result;
}

int DigitCount(u128 value) {
  int count = 1;
  while (value >= 10) {
    value /= 10;
    ++count;
  }
  return count;
}

u128 DigitsToInt(std::string_view digits) {
  u128 value = 0;
  for (char c : digits) value = value * 10 + static_cast<unsigned>(c - '0');
  return value;
}

std::string IntToDigits(u128 value) {
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(value % 10)));
    value /= 10;
  } while (value != 0);
  return digits;
}

u128 Magnitude(__int128 value) {
  return value < 0 ? -static_cast<u128>(value) : static_cast<u128>(value);
}

// Whether digits * 10^exponent (exponent >= -9) exceeds 2^63-1, the cap on binary quantities.
bool ExceedsInt64(std::string_view digits, int64_t exponent) {
  const int64_t integer_digits = static_cast<int64_t>(digits.size()) + exponent;
  if (integer_digits > 20) return true;
  const u128 mantissa = DigitsToInt(digits);  // at most 29 digits here
  if (exponent >= 0) return mantissa * Pow10(exponent) > static_cast<u128>(kInt64Max);
  return mantissa > static_cast<u128>(kInt64Max) * Pow10(-exponent);
}

}  // namespace

Result<Quantity> Quantity::Parse(std::string_view text) {
  if (text.empty()) return InvalidArgument(kFormatWrongMessage);
  if (text.size() > kMaxTextLength) {
    return InvalidArgument("quantities must be at most " + std::to_string(kMaxTextLength) +
                           " characters");
  }
  std::optional<Pieces> pieces = Split(text);
  if (!pieces) return InvalidArgument(kFormatWrongMessage);
  if (!pieces->has_digits) return InvalidArgument(kNumericMessage);  // "." or "-.Ki"
  Result<Suffix> suffix = InterpretSuffix(pieces->suffix);
  if (!suffix.ok()) return suffix.status();

  Quantity quantity;
  switch (suffix->kind) {
    case SuffixKind::kBinary:
      quantity.format_ = Format::kBinarySI;
      break;
    case SuffixKind::kDecimal:
      quantity.format_ = Format::kDecimalSI;
      break;
    case SuffixKind::kExponent:
      quantity.format_ = Format::kDecimalExponent;
      break;
  }

  std::string digits(pieces->integer);
  digits += pieces->fraction;
  int64_t exponent = -static_cast<int64_t>(pieces->fraction.size());
  if (suffix->kind == SuffixKind::kBinary) {
    for (int power = 0; power < suffix->exponent; power += 10) MultiplyDigits(digits, 1024);
  } else {
    exponent += suffix->exponent;
  }
  RoundUpToNano(digits, exponent);

  const size_t first_nonzero = digits.find_first_not_of('0');
  if (first_nonzero == std::string::npos) return quantity;  // zero, in the suffix's format
  digits.erase(0, first_nonzero);

  if (quantity.format_ == Format::kBinarySI) {
    if (ExceedsInt64(digits, exponent)) {
      digits = std::to_string(kInt64Max);
      exponent = 0;
    }
    // Fractions of a byte print in decimal ("2n", not "0Ki").
    if (static_cast<int64_t>(digits.size()) + exponent <= 0) quantity.format_ = Format::kDecimalSI;
  }

  const size_t last_nonzero = digits.find_last_not_of('0');
  exponent += static_cast<int64_t>(digits.size() - 1 - last_nonzero);
  digits.resize(last_nonzero + 1);
  if (digits.size() > kMaxSignificantDigits) {
    return InvalidArgument("quantities may have at most " + std::to_string(kMaxSignificantDigits) +
                           " significant digits");
  }

  const u128 magnitude = DigitsToInt(digits);
  quantity.mantissa_ =
      pieces->negative ? -static_cast<__int128>(magnitude) : static_cast<__int128>(magnitude);
  quantity.exponent10_ = static_cast<int32_t>(exponent);  // |exponent| <= 1000 + 128 + 19
  if (text == "0" || UpstreamKeepsText(*pieces, *suffix)) quantity.verbatim_ = std::string(text);
  return quantity;
}

Quantity Quantity::FromBytes(int64_t bytes) {
  Quantity quantity;
  quantity.format_ = Format::kBinarySI;
  quantity.mantissa_ = bytes;
  while (quantity.mantissa_ != 0 && quantity.mantissa_ % 10 == 0) {
    quantity.mantissa_ /= 10;
    ++quantity.exponent10_;
  }
  return quantity;
}

int64_t Quantity::ScaledValue(int extra_exponent) const {
  if (mantissa_ == 0) return 0;
  const bool negative = mantissa_ < 0;
  const u128 magnitude = Magnitude(mantissa_);
  const int64_t exponent = static_cast<int64_t>(exponent10_) + extra_exponent;
  const u128 limit = static_cast<u128>(kInt64Max) + (negative ? 1 : 0);
  u128 result;
  if (exponent >= 0) {
    if (DigitCount(magnitude) + exponent > 20) return negative ? -kInt64Max - 1 : kInt64Max;
    result = magnitude * Pow10(exponent);
  } else if (-exponent > static_cast<int64_t>(kMaxSignificantDigits)) {
    result = 1;  // a nonzero fraction of one rounds away from zero
  } else {
    const u128 divisor = Pow10(-exponent);
    result = magnitude / divisor + (magnitude % divisor != 0 ? 1 : 0);
  }
  if (result > limit) return negative ? -kInt64Max - 1 : kInt64Max;
  if (negative) return result == limit ? -kInt64Max - 1 : -static_cast<int64_t>(result);
  return static_cast<int64_t>(result);
}

int64_t Quantity::Value() const { return ScaledValue(0); }

int64_t Quantity::MilliValue() const { return ScaledValue(3); }

bool Quantity::IsNegative() const { return mantissa_ < 0; }

std::string Quantity::ToString() const {
  if (!verbatim_.empty()) return verbatim_;
  return CanonicalString();
}

std::string Quantity::CanonicalString() const {
  if (mantissa_ == 0) return "0";
  const std::string sign = mantissa_ < 0 ? "-" : "";
  const u128 magnitude = Magnitude(mantissa_);

  // Whole numbers of at least 1024 print with the largest binary suffix that divides them.
  if (format_ == Format::kBinarySI && exponent10_ >= 0 &&
      DigitCount(magnitude) + exponent10_ <= 20) {
    u128 value = magnitude * Pow10(exponent10_);
    if (value >= 1024) {
      static constexpr std::array<std::string_view, 7> kBinarySuffixes = {"",   "Ki", "Mi", "Gi",
                                                                          "Ti", "Pi", "Ei"};
      size_t power = 0;
      while (value % 1024 == 0 && power + 1 < kBinarySuffixes.size()) {
        value /= 1024;
        ++power;
      }
      return sign + IntToDigits(value) + std::string(kBinarySuffixes[power]);
    }
  }

  // Otherwise the exponent goes down to a multiple of three: 1.5e4 prints as 15e3 or 15k.
  std::string digits = IntToDigits(magnitude);
  int64_t exponent = exponent10_;
  const int64_t excess = ((exponent % 3) + 3) % 3;
  digits.append(static_cast<size_t>(excess), '0');
  exponent -= excess;
  if (format_ == Format::kDecimalExponent || exponent < kNanoExponent) {
    return sign + digits + (exponent == 0 ? "" : "e" + std::to_string(exponent));
  }
  // Upstream prints values past the largest suffix without any suffix, changing the value;
  // padding to "E" keeps it.
  if (exponent > 18) {
    digits.append(static_cast<size_t>(exponent - 18), '0');
    exponent = 18;
  }
  static constexpr std::array<std::string_view, 10> kDecimalSuffixes = {"n", "u", "m", "",  "k",
                                                                        "M", "G", "T", "P", "E"};
  return sign + digits + std::string(kDecimalSuffixes[(exponent - kNanoExponent) / 3]);
}

std::strong_ordering Quantity::operator<=>(const Quantity& other) const {
  const int sign = (mantissa_ > 0) - (mantissa_ < 0);
  const int other_sign = (other.mantissa_ > 0) - (other.mantissa_ < 0);
  if (sign != other_sign) return sign <=> other_sign;
  if (sign == 0) return std::strong_ordering::equal;

  u128 magnitude = Magnitude(mantissa_);
  u128 other_magnitude = Magnitude(other.mantissa_);
  // Compare orders of magnitude first; when equal, aligning the exponents cannot overflow.
  const int64_t order = DigitCount(magnitude) + static_cast<int64_t>(exponent10_);
  const int64_t other_order = DigitCount(other_magnitude) + static_cast<int64_t>(other.exponent10_);
  std::strong_ordering by_magnitude = order <=> other_order;
  if (by_magnitude == 0) {
    if (exponent10_ > other.exponent10_) {
      magnitude *= Pow10(static_cast<int64_t>(exponent10_) - other.exponent10_);
    } else {
      other_magnitude *= Pow10(static_cast<int64_t>(other.exponent10_) - exponent10_);
    }
    by_magnitude = magnitude < other_magnitude   ? std::strong_ordering::less
                   : magnitude > other_magnitude ? std::strong_ordering::greater
                                                 : std::strong_ordering::equal;
  }
  if (sign > 0) return by_magnitude;
  return 0 <=> by_magnitude;
}

}  // namespace vdisk::api
