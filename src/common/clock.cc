#include "common/clock.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace vdisk {

std::string FormatRfc3339(SystemTime t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string NowRfc3339() { return FormatRfc3339(std::chrono::system_clock::now()); }

std::optional<SystemTime> ParseRfc3339(std::string_view text) {
  std::tm tm{};
  int consumed = 0;
  std::string s(text);
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
      consumed != 19) {
    return std::nullopt;
  }
  std::string_view rest = text.substr(19);
  if (!rest.empty() && rest.front() == '.') {
    size_t i = 1;
    while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') ++i;
    rest = rest.substr(i);
  }
  int offset_minutes = 0;
  if (rest == "Z" || rest == "z") {
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int hh = 0, mm = 0;
    if (std::sscanf(std::string(rest.substr(1)).c_str(), "%2d:%2d", &hh, &mm) != 2) {
      return std::nullopt;
    }
    offset_minutes = (rest[0] == '+' ? 1 : -1) * (hh * 60 + mm);
  } else {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::time_t t = timegm(&tm);
  if (t == -1) return std::nullopt;
  return std::chrono::system_clock::from_time_t(t) - std::chrono::minutes(offset_minutes);
}

std::string HumanDuration(std::chrono::seconds d) {
  long long s = d.count();
  if (s < -1) return "<invalid>";
  if (s < 0) return "0s";
  auto fmt = [](long long a, const char* ua, long long b, const char* ub) {
    return std::to_string(a) + ua + (b ? std::to_string(b) + ub : "");
  };
  const long long kMin = 60, kHour = 3600, kDay = 86400, kYear = 365 * kDay;
  if (s < 2 * kMin) return std::to_string(s) + "s";
  if (s < 10 * kMin) return fmt(s / kMin, "m", s % kMin, "s");
  if (s < 3 * kHour) return std::to_string(s / kMin) + "m";
  if (s < 8 * kHour) return fmt(s / kHour, "h", (s % kHour) / kMin, "m");
  if (s < 2 * kDay) return std::to_string(s / kHour) + "h";
  if (s < 8 * kDay) return fmt(s / kDay, "d", (s % kDay) / kHour, "h");
  if (s < 2 * kYear) return std::to_string(s / kDay) + "d";
  if (s < 8 * kYear) return fmt(s / kYear, "y", (s % kYear) / kDay, "d");
  return std::to_string(s / kYear) + "y";
}

std::chrono::milliseconds BackoffDelay(int retry, std::chrono::milliseconds initial,
                                       std::chrono::milliseconds max) {
  std::chrono::milliseconds delay = initial;
  for (int i = 1; i < retry && delay < max; ++i) delay *= 2;
  return std::min(delay, max);
}

bool SleepUnlessStopped(std::chrono::milliseconds delay, std::stop_token stop) {
  std::mutex mutex;
  std::condition_variable_any woken;
  std::unique_lock lock(mutex);
  return !woken.wait_for(lock, stop, delay, [&stop] { return stop.stop_requested(); });
}

}  // namespace vdisk
