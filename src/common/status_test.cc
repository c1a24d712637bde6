#include "common/status.h"

#include <gtest/gtest.h>

namespace vdisk {
namespace {

Result<int> Half(int n) {
  if (n % 2 != 0) return Invalid("odd number " + std::to_string(n));
  return n / 2;
}

Result<int> Quarter(int n) {
  VDISK_ASSIGN_OR_RETURN(int half, Half(n));
  VDISK_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

TEST(StatusTest, PropagatesTheFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalid);
  EXPECT_EQ(r.status().message(), "odd number 3");
}

}  // namespace
}  // namespace vdisk
