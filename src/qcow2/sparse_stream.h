// SparseStream: a raw disk image file read as a qcow2 image that is built on the fly and maps
// only the file's data. The holes of a sparse file (found with SEEK_DATA / SEEK_HOLE) are not
// sent at all, so a 4 GiB disk holding 1 GiB travels as about 1 GiB.
//
// The stream's layout suits a reader that sees it once, front to back (qcow2::ConvertStream):
//
//   header | L1 table | refcount table | refcount blocks | L2 tables | data clusters
//
// every table before the data it maps, and the data clusters in guest order. It is a complete,
// consistent qcow2 v3 image (`qemu-img check` finds no error), 64 KiB clusters, refcounts of 1.
// Its size is known before the first byte is read.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/io.h"
#include "common/status.h"

namespace vdisk::qcow2 {

class SparseStream : public io::Reader {
 public:
  // Maps the data of the raw image at `path` (a regular file whose size is a multiple of 512).
  static Result<std::unique_ptr<SparseStream>> Open(const std::string& path);
  ~SparseStream() override;

  uint64_t size() const { return metadata_bytes_ + data_clusters_ * kClusterSize; }
  uint64_t virtual_size() const { return virtual_size_; }
  // Bytes of the file that are data (whole clusters), i.e. what is sent besides metadata.
  uint64_t data_bytes() const { return data_clusters_ * kClusterSize; }

  Result<size_t> Read(std::span<std::byte> out) override;

 private:
  static constexpr uint64_t kClusterBits = 16;
  static constexpr uint64_t kClusterSize = uint64_t{1} << kClusterBits;
  static constexpr uint64_t kL2Entries = kClusterSize / 8;
  static constexpr uint64_t kRefcountsPerBlock = kClusterSize / 2;  // 16-bit refcounts

  // Guest clusters [first, first + count) hold data; they are stored in the file from data
  // cluster `ordinal` on.
  struct Run {
    uint64_t first = 0;
    uint64_t count = 0;
    uint64_t ordinal = 0;
  };

  SparseStream(int fd, uint64_t virtual_size, std::vector<Run> runs);
  void PlanLayout();
  // Fills `cluster` with metadata cluster `index` (0 = header).
  void BuildMetadataCluster(uint64_t index, std::span<std::byte> cluster) const;
  uint64_t DataHostOffset(uint64_t ordinal) const {
    return metadata_bytes_ + ordinal * kClusterSize;
  }

  int fd_;
  uint64_t virtual_size_;
  std::vector<Run> runs_;
  uint64_t data_clusters_ = 0;
  // Layout, in clusters from the start of the image.
  uint64_t l1_entries_ = 0;
  uint64_t l1_first_ = 0, l1_clusters_ = 0;
  uint64_t refcount_table_first_ = 0, refcount_table_clusters_ = 0;
  uint64_t refcount_blocks_first_ = 0, refcount_blocks_ = 0;
  uint64_t l2_first_ = 0;
  std::vector<uint64_t> l2_of_l1_;  // per L1 entry: its L2 table's cluster index, 0 if none
  uint64_t total_clusters_ = 0;
  uint64_t metadata_bytes_ = 0;

  uint64_t position_ = 0;
  size_t run_cursor_ = 0;  // the run the data position is in or before
  std::vector<std::byte> cluster_buffer_;
  uint64_t buffered_cluster_ = UINT64_MAX;
};

}  // namespace vdisk::qcow2
