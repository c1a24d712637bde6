// ProgressDisplay: how far a transfer is, for a person watching. On a terminal, one line redrawn
// in place: "1.2 GiB / 4.0 GiB [=====>      ] 30%  251.3 MiB/s  ETA 11s". Otherwise (a log, a
// pipe) a plain line every few seconds: "uploaded 1.2 GiB of 4.0 GiB (30%), 251.3 MiB/s, ETA 11s".
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

namespace vdisk::cli {

// "512 B", "1.5 KiB", "251.3 MiB", "4.0 GiB".
std::string HumanBytes(double bytes);

class ProgressDisplay {
 public:
  // `out` is a terminal when `terminal` is set.
  ProgressDisplay(std::FILE* out, bool terminal);
  // Bytes done so far of `total` (nullopt when unknown). Cheap to call often.
  void Update(uint64_t done, std::optional<uint64_t> total);
  // Draws the final state and ends the line.
  void Finish();

 private:
  std::string Line(bool terminal) const;

  std::FILE* out_;
  bool terminal_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_drawn_{};
  uint64_t done_ = 0;
  std::optional<uint64_t> total_;
  bool drawn_ = false;
};

}  // namespace vdisk::cli
