// ProgressDisplay (see progress_display.h).
#include "cli/progress_display.h"

#include <algorithm>
#include <cmath>

namespace vdisk::cli {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kTerminalInterval = std::chrono::milliseconds(200);
constexpr auto kLogInterval = std::chrono::seconds(5);
constexpr int kBarWidth = 30;

std::string Duration(double seconds) {
  long s = std::lround(seconds);
  char text[32];
  if (s >= 3600) {
    std::snprintf(text, sizeof text, "%ldh%02ldm", s / 3600, s / 60 % 60);
  } else if (s >= 60) {
    std::snprintf(text, sizeof text, "%ldm%02lds", s / 60, s % 60);
  } else {
    std::snprintf(text, sizeof text, "%lds", s);
  }
  return text;
}

}  // namespace

std::string HumanBytes(double bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  size_t unit = 0;
  while (bytes >= 1024 && unit + 1 < std::size(kUnits)) {
    bytes /= 1024;
    ++unit;
  }
  char text[32];
  if (unit == 0) {
    std::snprintf(text, sizeof text, "%.0f B", bytes);
  } else {
    std::snprintf(text, sizeof text, "%.1f %s", bytes, kUnits[unit]);
  }
  return text;
}

ProgressDisplay::ProgressDisplay(std::FILE* out, bool terminal) : out_(out), terminal_(terminal) {}

void ProgressDisplay::Update(uint64_t done, std::optional<uint64_t> total) {
  done_ = done;
  total_ = total;
  Clock::time_point now = Clock::now();
  if (drawn_ && now - last_drawn_ < (terminal_ ? kTerminalInterval : kLogInterval)) return;
  if (!terminal_ && done == 0) return;  // nothing worth a log line yet
  last_drawn_ = now;
  drawn_ = true;
  std::fprintf(out_, terminal_ ? "\r%s\033[K" : "%s\n", Line(terminal_).c_str());
  std::fflush(out_);
}

void ProgressDisplay::Finish() {
  std::fprintf(out_, terminal_ ? "\r%s\033[K\n" : "%s\n", Line(terminal_).c_str());
  std::fflush(out_);
}

std::string ProgressDisplay::Line(bool terminal) const {
  double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
  double rate = seconds > 0 ? static_cast<double>(done_) / seconds : 0;
  std::string line;
  std::optional<double> fraction;
  if (total_ && *total_ > 0) {
    fraction = std::min(1.0, static_cast<double>(done_) / static_cast<double>(*total_));
  }
  if (terminal) {
    line = HumanBytes(static_cast<double>(done_));
    if (total_) line += " / " + HumanBytes(static_cast<double>(*total_));
    if (fraction) {
      int filled = static_cast<int>(*fraction * kBarWidth);
      line += " [" + std::string(filled, '=') + (filled < kBarWidth ? ">" : "") +
              std::string(std::max(0, kBarWidth - filled - 1), ' ') + "] " +
              std::to_string(static_cast<int>(*fraction * 100)) + "%";
    }
    line += "  " + HumanBytes(rate) + "/s";
  } else {
    line = "uploaded " + HumanBytes(static_cast<double>(done_));
    if (total_) line += " of " + HumanBytes(static_cast<double>(*total_));
    if (fraction) line += " (" + std::to_string(static_cast<int>(*fraction * 100)) + "%)";
    line += ", " + HumanBytes(rate) + "/s";
  }
  if (fraction && rate > 0 && *fraction < 1.0) {
    line +=
        (terminal ? "  ETA " : ", ETA ") + Duration(static_cast<double>(*total_ - done_) / rate);
  }
  return line;
}

}  // namespace vdisk::cli
