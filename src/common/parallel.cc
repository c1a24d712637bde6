// SplitForThreads and RunEach (see parallel.h).
#include "common/parallel.h"

#include <algorithm>
#include <thread>

namespace vdisk {

std::vector<IndexRange> SplitForThreads(size_t count, size_t min_per_range) {
  size_t cores = std::max(1u, std::thread::hardware_concurrency());
  size_t ranges = std::clamp<size_t>(count / std::max<size_t>(1, min_per_range), 1, cores);
  std::vector<IndexRange> result;
  for (size_t i = 0; i < ranges; ++i) {
    result.push_back({count * i / ranges, count * (i + 1) / ranges});
  }
  return result;
}

void RunEach(const std::vector<IndexRange>& ranges,
             const std::function<void(size_t index, IndexRange range)>& work) {
  std::vector<std::jthread> threads;
  for (size_t i = 1; i < ranges.size(); ++i) {
    threads.emplace_back([&work, &ranges, i] { work(i, ranges[i]); });
  }
  if (!ranges.empty()) work(0, ranges[0]);
}

}  // namespace vdisk
