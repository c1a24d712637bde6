#include "common/base64.h"

#include <gtest/gtest.h>

#include <vector>

namespace vdisk {
namespace {

TEST(Base64, RoundTripsEveryPaddingLength) {
  for (std::string bytes : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    EXPECT_EQ(Base64Decode(Base64Encode(bytes)), bytes);
  }
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  std::string binary("\x00\xff\x10\x80", 4);
  EXPECT_EQ(Base64Decode(Base64Encode(binary)), binary);
}

TEST(Base64, RejectsMalformedText) {
  EXPECT_FALSE(Base64Decode("Zm9"));       // not a multiple of 4
  EXPECT_FALSE(Base64Decode("Zm9v!mFy"));  // byte outside the alphabet
  EXPECT_FALSE(Base64Decode("Z=9v"));      // padding in the middle
  EXPECT_FALSE(Base64Decode("Zm8=Zm8="));  // padding before the end
  EXPECT_FALSE(Base64Decode("Z==="));      // too much padding
}

}  // namespace
TEST(Base64Url, RoundTripsWithoutPaddingInTheUrlAlphabet) {
  for (const std::string& bytes : std::vector<std::string>{"", "f", "fo", "foo", "\xfb\xff\xbf",
                                                           std::string("\0\xfe\x3f", 3)}) {
    std::string text = Base64UrlEncode(bytes);
    EXPECT_EQ(text.find_first_of("+/="), std::string::npos) << text;
    EXPECT_EQ(Base64UrlDecode(text), bytes);
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff\xbf"), "-_-_");
  EXPECT_FALSE(Base64UrlDecode("+/+/"));   // the standard alphabet's bytes
  EXPECT_FALSE(Base64UrlDecode("Zm8="));   // padding
  EXPECT_FALSE(Base64UrlDecode("Zm9vY"));  // a length no bytes encode to
  EXPECT_FALSE(Base64UrlDecode("Zm9v!"));
}

}  // namespace vdisk
