#include "common/utf8.h"

#include <gtest/gtest.h>

namespace vdisk {
namespace {

TEST(Utf8Test, DecodesValidSequences) {
  EXPECT_EQ(DecodeUtf8("a", 0).code_point, 'a');
  DecodedRune euro = DecodeUtf8("\xE2\x82\xAC", 0);
  EXPECT_TRUE(euro.valid);
  EXPECT_EQ(euro.code_point, 0x20ACu);
  EXPECT_EQ(euro.length, 3u);
}

TEST(Utf8Test, RejectsOverlongSurrogatesTruncatedAndOutOfRange) {
  for (std::string_view bad :
       {"\xC0\xAF", "\xED\xA0\x80", "\xE2\x82", "\xF4\x90\x80\x80", "\x80"}) {
    DecodedRune rune = DecodeUtf8(bad, 0);
    EXPECT_FALSE(rune.valid) << bad;
    EXPECT_EQ(rune.length, 1u);
  }
}

TEST(Utf8Test, ValidUtf8ReplacesEachBadByte) {
  EXPECT_EQ(ValidUtf8("ok"), "ok");
  EXPECT_EQ(ValidUtf8("a\xFF"
                      "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(ValidUtf8("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");
}

}  // namespace
}  // namespace vdisk
