#include "common/base64.h"

#include <gtest/gtest.h>

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
}  // namespace vdisk
