// The qcow2 on-disk format, decoded and validated: the header (with its extensions) into a
// Layout, and L1/L2 tables into the guest extents that carry data. Shared by the random-access
// and the streaming converters, which differ only in how they get the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/status.h"
#include "qcow2/qcow2.h"

namespace vdisk::qcow2 {

// Bounds beyond which an image is rejected as absurd rather than converted.
inline constexpr uint64_t kMaxVirtualSize = uint64_t{64} << 40;      // 64 TiB
inline constexpr uint64_t kMaxL1Entries = (uint64_t{32} << 20) / 8;  // qemu's 32 MiB L1 limit
inline constexpr uint64_t kSectorSize = 512;
// qcow2 offsets have 56 bits (64 PiB); larger ones in the header are invalid.
inline constexpr uint64_t kMaxFileOffset = uint64_t{1} << 56;

// The header's size; Probe reads at least this much before the first cluster.
inline constexpr size_t kHeaderV2Size = 72;
inline constexpr size_t kHeaderV3MinSize = 104;

struct Layout {
  ImageInfo info;
  uint64_t cluster_size = 0;
  uint64_t l2_entries = 0;     // entries per L2 table
  uint64_t l2_entry_size = 0;  // 8, or 16 with extended L2
  uint64_t guest_per_l2 = 0;   // guest bytes one L2 table maps
  uint64_t l1_offset = 0;
  uint64_t l1_entries_used = 0;  // entries that map the virtual size (<= l1_size)
  uint64_t l1_bytes = 0;         // the whole L1 table's size, l1_size * 8
  uint64_t refcount_table_offset = 0;
  uint64_t refcount_table_bytes = 0;
};

// Decodes the header from `head`, the file's first cluster (or the whole file when shorter;
// at least kHeaderV2Size bytes are needed to learn the cluster size). `file_size` is the file
// size when known (random access); without it, checks against the end of the file are left to
// the caller, who finds out when the stream ends.
Result<Layout> ParseHeader(std::span<const std::byte> head, std::optional<uint64_t> file_size);

// Decodes an L1 table (big-endian entries) into the L2 table offsets of the first
// layout.l1_entries_used entries; 0 means unallocated. Checks alignment and reserved bits, and
// with a known file size that each L2 table lies inside the file.
Result<std::vector<uint64_t>> DecodeL1(const Layout& layout, std::span<const std::byte> table,
                                       std::optional<uint64_t> file_size);

// A run of guest bytes whose contents come from the file.
struct Extent {
  enum class Kind : uint8_t { kData, kCompressed };
  Kind kind = Kind::kData;
  uint64_t guest = 0;        // guest offset
  uint64_t length = 0;       // guest bytes (the data bytes for kData; <= cluster for kCompressed)
  uint64_t host = 0;         // file offset of the data or the compressed stream
  uint64_t host_length = 0;  // kData: == length; kCompressed: the compressed range's length
};

// Decodes entries [first_entry, first_entry + entry_count) of the L2 table that maps guest
// bytes from `table_guest_base` into `out`, in guest order: allocated data (contiguous runs
// merged) and compressed clusters. Zero and unallocated clusters/subclusters produce nothing.
// Guest ranges are clipped to the virtual size. With a known file size, data must start inside
// the file; data and compressed ranges are clipped to it (qemu reads past the end as zeros).
Status DecodeL2(const Layout& layout, std::span<const std::byte> table, uint64_t table_guest_base,
                uint64_t first_entry, uint64_t entry_count, std::optional<uint64_t> file_size,
                std::vector<Extent>& out);

inline uint32_t LoadBe32(const std::byte* p) {
  return (uint32_t{std::to_integer<uint8_t>(p[0])} << 24) |
         (uint32_t{std::to_integer<uint8_t>(p[1])} << 16) |
         (uint32_t{std::to_integer<uint8_t>(p[2])} << 8) | uint32_t{std::to_integer<uint8_t>(p[3])};
}
inline uint64_t LoadBe64(const std::byte* p) {
  return (uint64_t{LoadBe32(p)} << 32) | LoadBe32(p + 4);
}

}  // namespace vdisk::qcow2
