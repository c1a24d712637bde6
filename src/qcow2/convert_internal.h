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

Status Cancelled();

// Decompresses one compressed cluster with this thread's decompressor and writes its first
// `length` bytes (the guest-visible part) at guest offset `guest`.
Status DecompressAndWrite(const Layout& layout, std::span<const std::byte> compressed,
                          uint64_t guest, uint64_t length, io::ImageWriter& out);

// Checks that `out` can take the whole virtual disk.
Status CheckCapacity(const Layout& layout, const io::ImageWriter& out);

}  // namespace vdisk::qcow2
