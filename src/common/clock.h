// Wall-clock times as the Kubernetes API writes them, kubectl-style ages, and the waits of
// retry loops.
#pragma once

#include <chrono>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

namespace vdisk {

using SystemTime = std::chrono::system_clock::time_point;

// RFC 3339 in UTC with second precision: "2026-11-26T18:12:19Z".
std::string FormatRfc3339(SystemTime t);
std::string NowRfc3339();
// Accepts "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)"; nullopt for anything else.
std::optional<SystemTime> ParseRfc3339(std::string_view text);

// A short human duration as kubectl's AGE column shows it: "45s", "3m12s", "5h", "12d".
std::string HumanDuration(std::chrono::seconds d);

// The exponential back-off before retry `retry` (1 for the first): initial * 2^(retry-1), at
// most `max`.
std::chrono::milliseconds BackoffDelay(int retry, std::chrono::milliseconds initial,
                                       std::chrono::milliseconds max);
// Waits `delay` unless `stop` is requested first; returns false when it was.
bool SleepUnlessStopped(std::chrono::milliseconds delay, std::stop_token stop);

}  // namespace vdisk
