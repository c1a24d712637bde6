// SparseStream (see sparse_stream.h).
#include "qcow2/sparse_stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "qcow2/format.h"
#include "qcow2/qcow2.h"

namespace vdisk::qcow2 {
namespace {

constexpr uint64_t kCopied = uint64_t{1} << 63;  // L1/L2 flag: refcount is exactly 1

uint64_t DivideRoundingUp(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

void StoreBe(std::byte* p, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    p[i] = std::byte(value & 0xff);
    value >>= 8;
  }
}

}  // namespace

Result<std::unique_ptr<SparseStream>> SparseStream::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFound("cannot open " + path + ": " + std::strerror(errno));
  auto fail = [fd](Status status) {
    ::close(fd);
    return status;
  };
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return fail(InvalidArgument(path + " is not a regular file"));
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size == 0 || size % kSectorSize != 0 || size > kMaxVirtualSize) {
    return fail(InvalidArgument(path + ": a raw image's size must be a non-zero multiple of 512"));
  }
  // The data extents, rounded out to whole clusters and merged.
  std::vector<Run> runs;
  uint64_t ordinal = 0;
  auto add = [&](uint64_t begin, uint64_t end) {
    uint64_t first = begin / kClusterSize;
    uint64_t last = (end - 1) / kClusterSize;
    if (!runs.empty() && first <= runs.back().first + runs.back().count) {
      uint64_t new_end = std::max(runs.back().first + runs.back().count, last + 1);
      ordinal += new_end - (runs.back().first + runs.back().count);
      runs.back().count = new_end - runs.back().first;
      return;
    }
    runs.push_back({first, last - first + 1, ordinal});
    ordinal += last - first + 1;
  };
  for (uint64_t offset = 0; offset < size;) {
    off_t data = ::lseek(fd, static_cast<off_t>(offset), SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // only a hole from here on
      add(offset, size);          // no SEEK_DATA on this file system: all of it is data
      break;
    }
    off_t hole = ::lseek(fd, data, SEEK_HOLE);
    uint64_t end = hole < 0 ? size : std::min<uint64_t>(static_cast<uint64_t>(hole), size);
    if (end <= static_cast<uint64_t>(data)) break;
    add(static_cast<uint64_t>(data), end);
    offset = end;
  }
  std::unique_ptr<SparseStream> stream(new SparseStream(fd, size, std::move(runs)));
  stream->PlanLayout();
  return stream;
}

SparseStream::SparseStream(int fd, uint64_t virtual_size, std::vector<Run> runs)
    : fd_(fd), virtual_size_(virtual_size), runs_(std::move(runs)), cluster_buffer_(kClusterSize) {
  for (const Run& run : runs_) data_clusters_ += run.count;
}

SparseStream::~SparseStream() { ::close(fd_); }

void SparseStream::PlanLayout() {
  const uint64_t guest_clusters = DivideRoundingUp(virtual_size_, kClusterSize);
  l1_entries_ = DivideRoundingUp(guest_clusters, kL2Entries);
  l1_clusters_ = DivideRoundingUp(l1_entries_ * 8, kClusterSize);
  l2_of_l1_.assign(l1_entries_, 0);
  uint64_t l2_tables = 0;
  for (const Run& run : runs_) {
    for (uint64_t e = run.first / kL2Entries; e <= (run.first + run.count - 1) / kL2Entries; ++e) {
      if (l2_of_l1_[e] == 0) {
        l2_of_l1_[e] = 1;  // numbered below, once the tables before them are sized
        ++l2_tables;
      }
    }
  }
  // The refcount blocks count every cluster, themselves included: grow until they cover all.
  refcount_table_clusters_ = 1;
  refcount_blocks_ = 1;
  while (true) {
    uint64_t total =
        1 + l1_clusters_ + refcount_table_clusters_ + refcount_blocks_ + l2_tables + data_clusters_;
    uint64_t blocks = DivideRoundingUp(total, kRefcountsPerBlock);
    uint64_t table = DivideRoundingUp(blocks * 8, kClusterSize);
    if (blocks == refcount_blocks_ && table == refcount_table_clusters_) {
      total_clusters_ = total;
      break;
    }
    refcount_blocks_ = std::max(blocks, refcount_blocks_);
    refcount_table_clusters_ = std::max(table, refcount_table_clusters_);
  }
  l1_first_ = 1;
  refcount_table_first_ = l1_first_ + l1_clusters_;
  refcount_blocks_first_ = refcount_table_first_ + refcount_table_clusters_;
  l2_first_ = refcount_blocks_first_ + refcount_blocks_;
  uint64_t next_l2 = l2_first_;
  for (uint64_t& l2 : l2_of_l1_) {
    if (l2 != 0) l2 = next_l2++;
  }
  metadata_bytes_ = next_l2 * kClusterSize;
}

void SparseStream::BuildMetadataCluster(uint64_t index, std::span<std::byte> cluster) const {
  std::fill(cluster.begin(), cluster.end(), std::byte{0});
  std::byte* p = cluster.data();
  if (index == 0) {
    StoreBe(p + 0, kMagic, 4);
    StoreBe(p + 4, 3, 4);  // version
    StoreBe(p + 20, kClusterBits, 4);
    StoreBe(p + 24, virtual_size_, 8);
    StoreBe(p + 36, l1_entries_, 4);
    StoreBe(p + 40, l1_first_ * kClusterSize, 8);
    StoreBe(p + 48, refcount_table_first_ * kClusterSize, 8);
    StoreBe(p + 56, refcount_table_clusters_, 4);
    StoreBe(p + 96, 4, 4);                  // refcount_order: 16-bit refcounts
    StoreBe(p + 100, kHeaderV3MinSize, 4);  // header_length; the extension area ends at once
    return;
  }
  if (index < refcount_table_first_) {  // L1 table
    uint64_t first_entry = (index - l1_first_) * kL2Entries;
    for (uint64_t i = 0; i < kL2Entries && first_entry + i < l1_entries_; ++i) {
      uint64_t l2 = l2_of_l1_[first_entry + i];
      if (l2 != 0) StoreBe(p + i * 8, (l2 * kClusterSize) | kCopied, 8);
    }
    return;
  }
  if (index < refcount_blocks_first_) {  // refcount table
    uint64_t first_entry = (index - refcount_table_first_) * kL2Entries;
    for (uint64_t i = 0; i < kL2Entries && first_entry + i < refcount_blocks_; ++i) {
      StoreBe(p + i * 8, (refcount_blocks_first_ + first_entry + i) * kClusterSize, 8);
    }
    return;
  }
  if (index < l2_first_) {  // a refcount block: every cluster of the image is used once
    uint64_t first_cluster = (index - refcount_blocks_first_) * kRefcountsPerBlock;
    for (uint64_t i = 0; i < kRefcountsPerBlock && first_cluster + i < total_clusters_; ++i) {
      StoreBe(p + i * 2, 1, 2);
    }
    return;
  }
  // An L2 table: the L1 entry it belongs to, and the data clusters it maps.
  auto owner = std::find(l2_of_l1_.begin(), l2_of_l1_.end(), index);
  uint64_t guest_base = static_cast<uint64_t>(owner - l2_of_l1_.begin()) * kL2Entries;
  auto run = std::upper_bound(runs_.begin(), runs_.end(), guest_base,
                              [](uint64_t g, const Run& r) { return g < r.first; });
  if (run != runs_.begin()) --run;
  for (; run != runs_.end() && run->first < guest_base + kL2Entries; ++run) {
    uint64_t begin = std::max(run->first, guest_base);
    uint64_t end = std::min(run->first + run->count, guest_base + kL2Entries);
    for (uint64_t g = begin; g < end; ++g) {
      StoreBe(p + (g - guest_base) * 8, DataHostOffset(run->ordinal + g - run->first) | kCopied, 8);
    }
  }
}

Result<size_t> SparseStream::Read(std::span<std::byte> out) {
  if (position_ >= size() || out.empty()) return size_t{0};
  if (position_ < metadata_bytes_) {
    uint64_t index = position_ / kClusterSize;
    if (buffered_cluster_ != index) {
      BuildMetadataCluster(index, cluster_buffer_);
      buffered_cluster_ = index;
    }
    size_t within = position_ % kClusterSize;
    size_t n = std::min<size_t>(out.size(), kClusterSize - within);
    std::memcpy(out.data(), cluster_buffer_.data() + within, n);
    position_ += n;
    return n;
  }
  // Data: the clusters of one run are consecutive in the file and in the stream.
  uint64_t ordinal = (position_ - metadata_bytes_) / kClusterSize;
  while (runs_[run_cursor_].ordinal + runs_[run_cursor_].count <= ordinal) ++run_cursor_;
  const Run& run = runs_[run_cursor_];
  uint64_t within = (position_ - metadata_bytes_) % kClusterSize;
  uint64_t guest = (run.first + ordinal - run.ordinal) * kClusterSize + within;
  uint64_t left_in_run = (run.ordinal + run.count - ordinal) * kClusterSize - within;
  size_t n = static_cast<size_t>(std::min<uint64_t>(out.size(), left_in_run));
  size_t from_file = guest >= virtual_size_
                         ? 0
                         : static_cast<size_t>(std::min<uint64_t>(n, virtual_size_ - guest));
  size_t got = 0;
  while (got < from_file) {
    ssize_t r = ::pread(fd_, out.data() + got, from_file - got, static_cast<off_t>(guest + got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Internal(std::string("cannot read the image: ") + std::strerror(errno));
    if (r == 0) return InvalidArgument("the image became shorter while it was being read");
    got += static_cast<size_t>(r);
  }
  std::fill(out.begin() + from_file, out.begin() + n, std::byte{0});  // the last cluster's tail
  position_ += n;
  return n;
}

}  // namespace vdisk::qcow2
