// The native qcow2 reader: probes a qcow2 image and converts its guest-visible contents into an
// io::ImageWriter, either by random access (a local file, an HTTP resource with Range support)
// or from a sequential stream (a qcow2 decompressed on the fly from qcow2.gz / qcow2.xz).
//
// Supported: qcow2 versions 2 and 3, cluster sizes 512 B .. 2 MiB, zero clusters, deflate and
// zstd compressed clusters, extended L2 entries (32 subclusters per cluster). Snapshots are
// ignored (only the active L1 table is read). Images that are not self-contained or not
// readable without secrets are rejected: backing files, external data files, encryption.
//
// Every offset and length in an image is untrusted: it is checked against the file size, the
// virtual size and the cluster layout before use, and violations are InvalidArgument errors.
#pragma once

#include <cstdint>
#include <stop_token>
#include <string>

#include "common/io.h"
#include "common/status.h"

namespace vdisk::qcow2 {

inline constexpr uint32_t kMagic = 0x514649fb;  // "QFI\xfb"

struct ImageInfo {
  uint32_t version = 0;       // 2 or 3
  uint64_t virtual_size = 0;  // guest-visible bytes
  uint32_t cluster_bits = 0;  // 9..21
  bool extended_l2 = false;   // 128-bit L2 entries with 32 subclusters
  enum class Compression { kDeflate, kZstd } compression = Compression::kDeflate;
  // An upper bound of the data bytes the file maps, for progress reporting: the file size
  // less its metadata as far as Probe knows it. 0 when unknown.
  uint64_t allocated_bytes = 0;
};

// Parses and checks the header and the table layout of a qcow2 image. Every rejection is an
// InvalidArgument error whose message names the reason: a bad magic, an unsupported version,
// cluster bits outside 9..21, a backing file ("qcow2 image has a backing file: <name>; images
// must be self-contained"), an external data file, encryption, unknown incompatible feature
// bits (named), the corrupt bit, an L1 table larger than the virtual size needs, a virtual
// size beyond 64 TiB, and tables (L1, refcount table, header extensions) that reach past the
// end of the file. The dirty bit is accepted: it only means refcounts may be stale, and the
// reader never uses refcounts. Snapshots are ignored.
Result<ImageInfo> Probe(io::RandomAccessReader& file);

struct ConvertOptions {
  // Worker threads for reading and decompressing; 0 means std::thread::hardware_concurrency().
  unsigned threads = 0;
  // Checked between batches of work; once requested the conversion stops and returns
  // Cancelled() (common/status.h).
  std::stop_token stop;
  // When set: total = the virtual size, done = guest bytes processed so far.
  io::Progress* progress = nullptr;
};

// Random-access conversion: probes the image, reads the L1 and L2 tables and copies every
// allocated guest cluster to `out`. Zero clusters and unallocated ranges are not written (`out`
// reads as zeros already). Contiguous host data is read in large coalesced requests, several
// in flight at once, and compressed clusters are decompressed in parallel; memory in flight is
// bounded (about 64 MiB). `out.capacity()` must be >= the virtual size. Does not call
// out.Finish(); the caller does.
Status Convert(io::RandomAccessReader& file, io::ImageWriter& out, const ConvertOptions& options);

// Streaming conversion of a qcow2 that arrives as a sequential stream starting at file offset
// 0 (e.g. decompressed from qcow2.gz / qcow2.xz). Parses the header and L1 table as they pass,
// then each L2 table as its offset passes; a data cluster whose L2 entry is already known is
// written straight to `out`; a cluster that arrives before the L2 table mapping it is spilled
// to a scratch file created in `scratch_dir` (deleted afterwards) and placed once its mapping
// is known. Sets *used_scratch (when not null) to whether anything was spilled. Metadata kept
// in memory is bounded by the virtual size (the L1 table and the mappings of L2 tables not yet
// seen); data is never buffered in memory beyond one chunk. Does not call out.Finish().
Status ConvertStream(io::Reader& in, io::ImageWriter& out, const std::string& scratch_dir,
                     const ConvertOptions& options, bool* used_scratch);

}  // namespace vdisk::qcow2
