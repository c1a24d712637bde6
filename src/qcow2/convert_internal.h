// Pieces shared by the random-access (convert.cc) and streaming (stream.cc) converters.
#pragma once

#include <cstdint>
#include <span>

#include "common/io.h"
#include "common/status.h"
#include "qcow2/format.h"
#include "qcow2/qcow2.h"

namespace vdisk::qcow2 {

// Bytes of buffers the converters keep queued or in work at once.
inline constexpr uint64_t kMemoryBudget = uint64_t{48} << 20;

// Worker threads for `options`: the requested count, or with 0 the core count but at least 4
// so that reads over a network stay several deep even on small machines.
unsigned WorkerCount(const ConvertOptions& options);

// Decompressed clusters that follow each other in the guest are gathered into one write of up
// to this many bytes (at least one cluster): fewer, larger writes contend less for the target.
inline constexpr uint64_t kMaxDecompressedWrite = uint64_t{1} << 20;

// The memory a worker needs to decompress and write the clusters of one task: its write buffer.
uint64_t DecompressBufferBytes(const Layout& layout);

// Writes `extents` to `out`, in order; their sources lie in `bytes`, which holds the file bytes
// from offset `host` on. Plain data is written straight from `bytes`; compressed clusters are
// decompressed with this thread's decompressor into this thread's write buffer, and only their
// guest-visible part (Extent::length) is written.
Status WriteExtents(const Layout& layout, std::span<const std::byte> bytes, uint64_t host,
                    std::span<const Extent> extents, io::ImageWriter& out);

// Checks that `out` can take the whole virtual disk.
Status CheckCapacity(const Layout& layout, const io::ImageWriter& out);

}  // namespace vdisk::qcow2
