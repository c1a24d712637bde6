// Splitting a loop over many independent items across the machine's cores: parsing or
// rendering thousands of stored objects for one list is the kind of work this is for.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

namespace vdisk {

struct IndexRange {
  size_t begin = 0;
  size_t end = 0;
};

// [0, count) as contiguous ranges, one per core but none shorter than `min_per_range` (short
// loops stay one range: a thread costs more than it saves).
std::vector<IndexRange> SplitForThreads(size_t count, size_t min_per_range);

// Runs work(i, ranges[i]) for every range, the first on the calling thread and the others on
// threads of their own; returns when all are done.
void RunEach(const std::vector<IndexRange>& ranges,
             const std::function<void(size_t index, IndexRange range)>& work);

}  // namespace vdisk
