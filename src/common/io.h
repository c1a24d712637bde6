// The byte interfaces the data plane is built from, so that a source (an HTTP body, a local
// file), a decoder (gzip, xz, zstd), an image format (raw, qcow2) and a sink (disk.img, a block
// device) can be composed freely:
//
//   Reader              a sequential stream: an HTTP body, a decompressor's output
//   RandomAccessReader  bytes by offset: a local file, an HTTP resource with Range support
//   ImageWriter         where a disk's guest-visible bytes go
//
// All sizes and offsets are untrusted until checked: implementations bound every read and
// write and report violations as errors, never as undefined behaviour.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/status.h"

namespace vdisk::io {

class Reader {
 public:
  virtual ~Reader() = default;
  // Reads up to out.size() bytes into out and returns how many were read. Returns 0 only at
  // the end of the stream (never for an empty `out` mid-stream).
  virtual Result<size_t> Read(std::span<std::byte> out) = 0;
};

class RandomAccessReader {
 public:
  virtual ~RandomAccessReader() = default;
  // The resource's size in bytes.
  virtual uint64_t size() const = 0;
  // Fills all of `out` from `offset`. A range reaching past size() is an InvalidArgument error:
  // a format pointing beyond its file is corrupt. Safe to call from several threads at once.
  virtual Status ReadAt(uint64_t offset, std::span<std::byte> out) = 0;
};

class ImageWriter {
 public:
  virtual ~ImageWriter() = default;
  // The guest-visible size of the target; nothing may be written at or past it.
  virtual uint64_t capacity() const = 0;
  // Writes `data` at guest `offset`. The target starts out reading as zeros, so writers skip
  // all-zero blocks and leave them sparse. A range past capacity() is an InvalidArgument error.
  // Safe to call from several threads at once for disjoint ranges.
  virtual Status WriteAt(uint64_t offset, std::span<const std::byte> data) = 0;
  // Makes everything written durable (fsync). Nothing counts as imported before this is OK.
  virtual Status Finish() = 0;
};

// How far a transfer has got, shared between the worker doing it and whoever reports it.
// `total` is 0 while unknown.
struct Progress {
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> total{0};
};

}  // namespace vdisk::io
