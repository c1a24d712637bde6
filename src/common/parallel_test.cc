#include "common/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace vdisk {
namespace {

TEST(SplitForThreads, CoversEveryIndexOnceInOrder) {
  for (size_t count : {size_t{0}, size_t{1}, size_t{999}, size_t{1000}, size_t{10007}}) {
    std::vector<IndexRange> ranges = SplitForThreads(count, 1000);
    ASSERT_FALSE(ranges.empty());
    EXPECT_LE(ranges.size(), std::max(1u, std::thread::hardware_concurrency()));
    if (count < 2000) {
      EXPECT_EQ(ranges.size(), 1u);  // too short to be worth a thread
    }
    size_t next = 0;
    for (const IndexRange& range : ranges) {
      EXPECT_EQ(range.begin, next);
      next = range.end;
    }
    EXPECT_EQ(next, count);
  }
}

TEST(RunEach, RunsEveryRange) {
  std::vector<IndexRange> ranges = {{0, 10}, {10, 25}, {25, 26}};
  std::vector<size_t> seen(26, 0);
  std::atomic<int> calls = 0;
  RunEach(ranges, [&](size_t index, IndexRange range) {
    EXPECT_EQ(ranges[index].begin, range.begin);
    for (size_t i = range.begin; i < range.end; ++i) ++seen[i];
    ++calls;
  });
  EXPECT_EQ(calls, 3);
  for (size_t n : seen) EXPECT_EQ(n, 1u);
}

}  // namespace
}  // namespace vdisk
