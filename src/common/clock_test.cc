#include "common/clock.h"

#include <gtest/gtest.h>

#include "common/random.h"

namespace vdisk {
namespace {

TEST(ClockTest, Rfc3339RoundTripsAndHonoursOffsets) {
  auto t = ParseRfc3339("2026-11-26T18:12:19Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(FormatRfc3339(*t), "2026-11-26T18:12:19Z");
  EXPECT_EQ(FormatRfc3339(*ParseRfc3339("2026-11-26T20:12:19.123+02:00")), "2026-11-26T18:12:19Z");
  EXPECT_FALSE(ParseRfc3339("yesterday").has_value());
  EXPECT_FALSE(ParseRfc3339("2026-11-26T18:12:19").has_value());
}

TEST(ClockTest, HumanDurationMatchesKubectl) {
  using std::chrono::seconds;
  EXPECT_EQ(HumanDuration(seconds(5)), "5s");
  EXPECT_EQ(HumanDuration(seconds(119)), "119s");
  EXPECT_EQ(HumanDuration(seconds(192)), "3m12s");
  EXPECT_EQ(HumanDuration(seconds(600)), "10m");
  EXPECT_EQ(HumanDuration(seconds(5 * 3600 + 60)), "5h1m");
  EXPECT_EQ(HumanDuration(seconds(30 * 3600)), "30h");
  EXPECT_EQ(HumanDuration(seconds(12 * 86400)), "12d");
}

TEST(RandomTest, UuidsAreVersion4AndDistinct) {
  std::string a = NewUuid(), b = NewUuid();
  EXPECT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '4');
  EXPECT_NE(a, b);
  EXPECT_EQ(RandomNameSuffix().size(), 5u);
}

TEST(BackoffTest, DoublesUpToTheMaximum) {
  using namespace std::chrono_literals;
  EXPECT_EQ(BackoffDelay(1, 500ms, 30s), 500ms);
  EXPECT_EQ(BackoffDelay(2, 500ms, 30s), 1000ms);
  EXPECT_EQ(BackoffDelay(5, 500ms, 30s), 8000ms);
  EXPECT_EQ(BackoffDelay(20, 500ms, 30s), 30s);
  EXPECT_EQ(BackoffDelay(1000, 500ms, 30s), 30s);
}

TEST(SleepUnlessStoppedTest, SleepsOrReturnsAtTheStop) {
  using namespace std::chrono_literals;
  EXPECT_TRUE(SleepUnlessStopped(1ms, std::stop_token()));
  std::stop_source stopped;
  stopped.request_stop();
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(SleepUnlessStopped(60s, stopped.get_token()));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

}  // namespace
}  // namespace vdisk
