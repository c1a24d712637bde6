#include "api/quantity.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace vdisk::api {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr char kFormatWrong[] =
    "quantities must match the regular expression "
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

Quantity MustParse(std::string_view text) {
  Result<Quantity> q = Quantity::Parse(text);
  EXPECT_TRUE(q.ok()) << text << ": " << q.status().message();
  return q.ok() ? *q : Quantity();
}

std::string Canonical(std::string_view text) {
  Result<Quantity> q = Quantity::Parse(text);
  if (!q.ok()) return "error: " + q.status().message();
  return q->ToString();
}

std::string ParseError(std::string_view text) {
  Result<Quantity> q = Quantity::Parse(text);
  return q.ok() ? "parsed as " + q->ToString() : q.status().message();
}

struct Case {
  const char* input;
  const char* printed;
};

// Expected text from k8s.io/apimachinery's ParseQuantity + String, run on each input; the inputs
// come from its quantity_test.go tables.
TEST(QuantityTest, PrintsAsUpstream) {
  const std::vector<Case> cases = {
      {"0", "0"},
      {"0n", "0"},
      {"0Ki", "0"},
      {"1", "1"},
      {"1Ki", "1Ki"},
      {"8Ki", "8Ki"},
      {"7Mi", "7Mi"},
      {"6Gi", "6Gi"},
      {"5Ti", "5Ti"},
      {"4Pi", "4Pi"},
      {"3Ei", "3Ei"},
      {"5n", "5n"},
      {"50k", "50k"},
      {"40T", "40T"},
      {"300T", "300T"},
      {"2P", "2P"},
      {"1E", "1E"},
      {"1E-3", "1E-3"},
      {"1e3", "1e3"},
      {"1E6", "1E6"},
      {"1e9", "1e9"},
      {"1E18", "1E18"},
      {"1e14", "100e12"},
      {"100.035k", "100.035k"},
      {"0.001", "1m"},
      {"0.0005k", "500m"},
      {"0.00050k", "500m"},
      {"0.00500", "5m"},
      {"0.5e0", "500e-3"},
      {"0.5e-1", "50e-3"},
      {"10.035M", "10.035M"},
      {"1.2e3", "1200"},
      {"1.3E+6", "1300e3"},
      {"1.40e9", "1400e6"},
      {"1.53E12", "1530e9"},
      {"1.7E18", "1700e15"},
      {"9.01", "9010m"},
      {"8.1k", "8100"},
      {"7.123456M", "7.123456M"},
      {"6.987654321G", "6.987654321G"},
      {"5.444T", "5.444T"},
      {"1.01E", "1010P"},
      {"3.001n", "4n"},
      {"1.1E-9", "2e-9"},
      {"0.0000000001", "1n"},
      {"0.00000000050", "1n"},
      {"0.5e-9", "1e-9"},
      {"0.9n", "1n"},
      {"0.00000012345", "124n"},
      {"9Ei", "9223372036854775807"},
      {"9223372036854775807Ki", "9223372036854775807"},
      {"12E", "12E"},
      {"100.035Ki", "102435840m"},
      {"0.5Mi", "512Ki"},
      {"0.05Gi", "53687091200m"},
      {"0.025Ti", "27487790694400m"},
      {"0.000000000001Ki", "2n"},
      {".001", "1m"},
      {".0001k", "100m"},
      {"1.", "1."},
      {"1.G", "1.G"},
      {"1024Mi", "1Gi"},
      {"1000M", "1G"},
      {".001Ki", "1024m"},
      {".000001Ki", "1024u"},
      {".000000001Ki", "1024n"},
      {"307200Ki", "300Mi"},
      {"1025024Mi", "1001Gi"},
      {"5000m", "5"},
      {"1080000000n", "1080m"},
      {"1.08", "1080m"},
      {"0.001T", "1G"},
      {".001e12", "1e9"},
      {"0.001e0", "1e-3"},
      {"1000e-12", "1e-9"},
      {"1000u", "1m"},
      {"1.5", "1500m"},
      {"1.5Gi", "1536Mi"},
      {"1.5G", "1500M"},
      {"0.5", "500m"},
      {"1000", "1k"},
      {"1.500", "1.500"},
      {"+1Ki", "+1Ki"},
      {"01Ki", "01Ki"},
      {"1.Ki", "1.Ki"},
      {"007", "007"},
      {"1E3", "1E3"},
      {"-1.5Gi", "-1536Mi"},
      {"-0.5", "-500m"},
      {"-9Ei", "-9223372036854775807"},
      {"999999999999999999.1", "999999999999999999100m"},
      {"9999999999999999999", "9999999999999999999"},
      {"1000000000000000000", "1E"},
      {"10000000000000000000000m", "10E"},
      {"9223372036854775808.1", "9223372036854775808100m"},
      {"-1.0000000000000000001E", "-1000000000000000000100m"},
      {"2048Ki", "2Mi"},
      {"1536Ki", "1536Ki"},
      {"1025", "1025"},
      {"1024", "1024"},
      {"-1024", "-1024"},
      {"1023", "1023"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Canonical(c.input), c.printed) << c.input;
  }
}

TEST(QuantityTest, ExamplesFromTheContract) {
  EXPECT_EQ(Canonical("2Gi"), "2Gi");
  EXPECT_EQ(Canonical("1.5Gi"), "1536Mi");
  EXPECT_EQ(Canonical("1.5G"), "1500M");
  EXPECT_EQ(Canonical("0.5"), "500m");
  EXPECT_EQ(Canonical("1e3"), "1e3");
  EXPECT_EQ(Canonical("1000"), "1k");
  EXPECT_EQ(Canonical("250m"), "250m");
  EXPECT_EQ(Canonical("500Mi"), "500Mi");
}

TEST(QuantityTest, NegativesPrintWithSign) {
  EXPECT_EQ(Canonical("-1.5Gi"), "-1536Mi");
  EXPECT_EQ(Canonical("-0.5"), "-500m");
  EXPECT_EQ(Canonical("-1024Mi"), "-1Gi");
  EXPECT_EQ(Canonical("-.000000000001Ki"), "-2n");
  EXPECT_EQ(Canonical("-0"), "0");
  EXPECT_EQ(Canonical("-0.0Ki"), "0");
  EXPECT_TRUE(MustParse("-1").IsNegative());
  EXPECT_FALSE(MustParse("-0").IsNegative());
  EXPECT_FALSE(MustParse("1").IsNegative());
}

// Upstream echoes parsed text back when its fast path judged it canonical, even with a sign,
// leading zeros, a trailing dot or fraction digits that the canonical form would rewrite.
TEST(QuantityTest, KeepsTextUpstreamKeeps) {
  for (const char* text : {"1.500", "+1Ki", "01Ki", "1.Ki", "007", "1.G", "1E3", "12.345", "+1",
                           "-1.500k", "1e-9", "80e-3"}) {
    EXPECT_EQ(Canonical(text), text);
  }
  // ... but not when it ends in 000, has a leading zero digit or an unaligned scale.
  EXPECT_EQ(Canonical("1.000"), "1");
  EXPECT_EQ(Canonical("0.5"), "500m");
  EXPECT_EQ(Canonical("1.5"), "1500m");
  EXPECT_EQ(Canonical("+1.5"), "1500m");
  EXPECT_EQ(Canonical("2048Ki"), "2Mi");
  EXPECT_EQ(Canonical("+2048Ki"), "2Mi");
  EXPECT_EQ(Canonical("1Pi"), "1Pi");
}

TEST(QuantityTest, RoundsUpToNanos) {
  EXPECT_EQ(Canonical("0.0000000001"), "1n");
  EXPECT_EQ(Canonical("3.001n"), "4n");
  EXPECT_EQ(Canonical("1.1E-9"), "2e-9");
  EXPECT_EQ(Canonical("0.00000012354"), "124n");
  EXPECT_EQ(Canonical("-0.1n"), "-1n");
  EXPECT_EQ(Canonical("0.999999999999"), "1");
  EXPECT_EQ(Canonical("1e-1000"), "1e-9");
  EXPECT_EQ(Canonical("0e-1000"), "0");
}

TEST(QuantityTest, CapsBinaryQuantitiesAtInt64Max) {
  EXPECT_EQ(Canonical("9Ei"), "9223372036854775807");
  EXPECT_EQ(Canonical("-9Ei"), "-9223372036854775807");
  EXPECT_EQ(Canonical("7Ei"), "7Ei");
  EXPECT_EQ(Canonical("8Ei"), "9223372036854775807");  // 2^63
  EXPECT_EQ(Canonical("99999999999999999999999999Ki"), "9223372036854775807");
  // Decimal quantities are not capped.
  EXPECT_EQ(Canonical("12E"), "12E");
  EXPECT_EQ(Canonical("1e30"), "1e30");
}

// Upstream prints DecimalSI values past 999E without a suffix ("1000E" becomes "1"); padding
// keeps the value.
TEST(QuantityTest, PadsDecimalSIBeyondExa) {
  EXPECT_EQ(Canonical("1000E"), "1000E");
  EXPECT_EQ(Canonical("1000000E"), "1000000E");
  EXPECT_EQ(Canonical("-10000E"), "-10000E");
  EXPECT_EQ(MustParse("1000E"), MustParse("1e21"));
}

TEST(QuantityTest, RejectsMalformedText) {
  for (const char* text :
       {"",       "1.1.M",   "1+1.0M", "0.1mi", "0.1am", "aoeu",  ".5i", "1i",
        "-3.01i", "-3.01e-", " 1",     "1 ",    "1K",    "1kk",   "1e",  "1e3.5",
        "1e3e3",  "1E+",     "1Ki5",   "0x10",  "1,000", "1_000", "∞",   "1\n"}) {
    EXPECT_FALSE(Quantity::Parse(text).ok()) << text;
  }
  EXPECT_FALSE(Quantity::Parse(std::string_view("1\0", 2)).ok());
}

TEST(QuantityTest, ErrorMessagesMatchUpstream) {
  EXPECT_EQ(ParseError(""), kFormatWrong);
  EXPECT_EQ(ParseError("1.1.M"), kFormatWrong);
  EXPECT_EQ(ParseError(" 1"), kFormatWrong);
  EXPECT_EQ(ParseError("1i"), "unable to parse quantity's suffix");
  EXPECT_EQ(ParseError("1kk"), "unable to parse quantity's suffix");
  EXPECT_EQ(ParseError("-3.01e-"), "unable to parse quantity's suffix");
  EXPECT_EQ(ParseError(".Pi"), "unable to parse numeric part of quantity");
}

// Upstream's scanner takes a missing number as zero ("Ki", "+", "m"), against its own grammar.
TEST(QuantityTest, RequiresANumber) {
  for (const char* text : {"Ki", "+", "-", "m", "e3", "k", ".", "-.", ".E-12"}) {
    EXPECT_FALSE(Quantity::Parse(text).ok()) << text;
  }
}

TEST(QuantityTest, RejectsAbsurdInputInsteadOfOverflowing) {
  EXPECT_EQ(ParseError(std::string(129, '1')), "quantities must be at most 128 characters");
  EXPECT_TRUE(Quantity::Parse("1" + std::string(127, '0')).ok());
  EXPECT_EQ(Canonical("1" + std::string(127, '0')), "1" + std::string(109, '0') + "E");
  EXPECT_EQ(ParseError("1e1001"), "quantity exponents must be between -1000 and 1000");
  EXPECT_EQ(ParseError("1e-1001"), "quantity exponents must be between -1000 and 1000");
  EXPECT_EQ(ParseError("1e99999999999999999999"),
            "quantity exponents must be between -1000 and 1000");
  EXPECT_EQ(ParseError("1e4294967299"), "quantity exponents must be between -1000 and 1000");
  EXPECT_EQ(Canonical("1e1000"), "10e999");
  EXPECT_EQ(Canonical("1e0001000"), "10e999");
  EXPECT_EQ(Canonical("1e999"), "1e999");
  EXPECT_EQ(Canonical(std::string(38, '9')), std::string(38, '9'));
  EXPECT_EQ(ParseError(std::string(39, '9')), "quantities may have at most 38 significant digits");
  EXPECT_EQ(ParseError("1234567890123456789012345678901234567.89"),
            "quantities may have at most 38 significant digits");
  // Digits past the nano position round away before the count.
  EXPECT_EQ(Canonical("0." + std::string(100, '0') + "1"), "1n");
  EXPECT_EQ(MustParse(std::string(60, '0') + "1"), MustParse("1"));
}

TEST(QuantityTest, ValueRoundsAwayFromZero) {
  EXPECT_EQ(MustParse("2Gi").Value(), int64_t{2} << 30);
  EXPECT_EQ(MustParse("1.5Gi").Value(), int64_t{1536} << 20);
  EXPECT_EQ(MustParse("0.5").Value(), 1);
  EXPECT_EQ(MustParse("1n").Value(), 1);
  EXPECT_EQ(MustParse("9.01").Value(), 10);
  EXPECT_EQ(MustParse("-9.01").Value(), -10);
  EXPECT_EQ(MustParse("-0.5").Value(), -1);
  EXPECT_EQ(MustParse("0").Value(), 0);
  EXPECT_EQ(MustParse("1e3").Value(), 1000);
  EXPECT_EQ(MustParse("1E").Value(), 1000000000000000000);
  EXPECT_EQ(MustParse("9223372036854775807").Value(), kMax);
  EXPECT_EQ(MustParse("-9223372036854775808").Value(), kMin);
}

TEST(QuantityTest, MilliValueRoundsUp) {
  EXPECT_EQ(MustParse("250m").MilliValue(), 250);
  EXPECT_EQ(MustParse("1").MilliValue(), 1000);
  EXPECT_EQ(MustParse("1.5").MilliValue(), 1500);
  EXPECT_EQ(MustParse("1n").MilliValue(), 1);
  EXPECT_EQ(MustParse("1001u").MilliValue(), 2);
  EXPECT_EQ(MustParse("-1001u").MilliValue(), -2);
  EXPECT_EQ(MustParse("1Ki").MilliValue(), 1024000);
}

TEST(QuantityTest, ValuesSaturate) {
  EXPECT_EQ(MustParse("9223372036854775808").Value(), kMax);
  EXPECT_EQ(MustParse("-9223372036854775809").Value(), kMin);
  EXPECT_EQ(MustParse("12E").Value(), kMax);
  EXPECT_EQ(MustParse("-12E").Value(), kMin);
  EXPECT_EQ(MustParse("1e1000").Value(), kMax);
  EXPECT_EQ(MustParse("-1e1000").MilliValue(), kMin);
  EXPECT_EQ(MustParse("9Ei").Value(), kMax);
  EXPECT_EQ(MustParse("8Ei").MilliValue(), kMax);
  EXPECT_EQ(MustParse("9223372036854775807").MilliValue(), kMax);
  EXPECT_EQ(MustParse("9223372036854775.807").MilliValue(), kMax);
  EXPECT_EQ(MustParse("9223372036854775.808").MilliValue(), kMax);
  EXPECT_EQ(MustParse("-9223372036854775.808").MilliValue(), kMin);
  EXPECT_EQ(MustParse(std::string(38, '9')).Value(), kMax);
}

TEST(QuantityTest, ComparesByValue) {
  struct Ordered {
    const char* a;
    const char* b;
    int expected;
  };
  const std::vector<Ordered> cases = {
      {"0", "0", 0},
      {"100m", "50m", 1},
      {"50m", "100m", -1},
      {"10000T", "100Gi", 1},
      {"1Gi", "1024Mi", 0},
      {"1G", "1000M", 0},
      {"1Gi", "1G", 1},
      {"0.5", "500m", 0},
      {"1e3", "1k", 0},
      {"-1", "1", -1},
      {"-2", "-1", -1},
      {"-1Ki", "-1k", -1},
      {"0", "-0", 0},
      {"0Ki", "0m", 0},
      {"1n", "0", 1},
      {"-1n", "0", -1},
      {"1e1000", "9Ei", 1},
      {"-1e1000", "-1e999", -1},
      {"9.01", "9010m", 0},
      {"900m", "901e-3", -1},
      {"1E", "1e18", 0},
      {"999999999999999999999999999999999999.99", "1e36", -1},
      {"99999999999999999999999999999999999999", "1e38", -1},
      {"1e-9", "0.000000001", 0},
  };
  for (const Ordered& c : cases) {
    const Quantity a = MustParse(c.a);
    const Quantity b = MustParse(c.b);
    const auto want = c.expected <=> 0;
    EXPECT_EQ(a <=> b, want) << c.a << " vs " << c.b;
    EXPECT_EQ(b <=> a, 0 <=> want) << c.b << " vs " << c.a;
    EXPECT_EQ(a == b, c.expected == 0) << c.a << " == " << c.b;
  }
}

TEST(QuantityTest, FromBytesUsesBinarySuffixWhenExact) {
  EXPECT_EQ(Quantity::FromBytes(0).ToString(), "0");
  EXPECT_EQ(Quantity::FromBytes(1024).ToString(), "1Ki");
  EXPECT_EQ(Quantity::FromBytes(int64_t{10} << 30).ToString(), "10Gi");
  EXPECT_EQ(Quantity::FromBytes(1536).ToString(), "1536");
  EXPECT_EQ(Quantity::FromBytes(1000).ToString(), "1k");  // below 1Ki prints in decimal
  EXPECT_EQ(Quantity::FromBytes(5).ToString(), "5");
  EXPECT_EQ(Quantity::FromBytes(-2048).ToString(), "-2Ki");
  EXPECT_EQ(Quantity::FromBytes(kMax).ToString(), "9223372036854775807");
  EXPECT_EQ(Quantity::FromBytes(kMin).ToString(), "-8Ei");
  EXPECT_EQ(Quantity::FromBytes(kMin).Value(), kMin);
  EXPECT_EQ(Quantity::FromBytes(kMax).Value(), kMax);
  EXPECT_EQ(Quantity::FromBytes(1000000).Value(), 1000000);
  EXPECT_EQ(Quantity::FromBytes(1 << 20), MustParse("1Mi"));
  EXPECT_EQ(Quantity::FromBytes(1000000), MustParse("1M"));
}

TEST(QuantityTest, DefaultIsZero) {
  const Quantity zero;
  EXPECT_EQ(zero.ToString(), "0");
  EXPECT_EQ(zero.Value(), 0);
  EXPECT_EQ(zero, MustParse("0"));
}

// Random text must never crash (the suite also runs under ASan/UBSan), and what parses must
// print as text that parses back to the same value.
TEST(QuantityTest, SurvivesRandomInputAndRoundTrips) {
  std::mt19937 rng(20240611);
  const std::string alphabet = "0123456789.+-eEinumkKMGTP";
  int parsed = 0;
  for (int i = 0; i < 50000; ++i) {
    std::string text;
    const int length = std::uniform_int_distribution<int>(0, i % 10 == 0 ? 140 : 12)(rng);
    for (int j = 0; j < length; ++j) {
      text += alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(rng)];
    }
    Result<Quantity> q = Quantity::Parse(text);
    if (!q.ok()) continue;
    ++parsed;
    (void)q->Value();
    (void)q->MilliValue();
    const std::string printed = q->ToString();
    Result<Quantity> again = Quantity::Parse(printed);
    ASSERT_TRUE(again.ok()) << text << " printed as " << printed;
    EXPECT_EQ(*again, *q) << text << " printed as " << printed;
    EXPECT_EQ(again->ToString(), printed) << text;
  }
  EXPECT_GT(parsed, 1000);
}

}  // namespace
}  // namespace vdisk::api
