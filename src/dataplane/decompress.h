// Streaming decompressors as io::Reader wrappers: gzip (ISA-L igzip), xz (liblzma, multi-threaded)
// and zstd (libzstd). Each reads compressed bytes from an underlying Reader and hands out the
// decompressed stream; memory is bounded (a few MiB of buffers, plus the format's own window or
// dictionary, capped below).
//
// Malformed input is an InvalidArgument error that says what is wrong: "gzip stream is
// truncated", "xz data is corrupt: ...", "zstd data is corrupt: ...". Errors of the underlying
// Reader are passed on unchanged.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "common/io.h"
#include "common/status.h"
#include "dataplane/format.h"

namespace vdisk::dataplane {

// gzip (RFC 1952) through ISA-L's igzip inflate, several times faster than zlib. Multi-member
// files (concatenated gzip, pigz --independent, bgzip) decode as one stream; zero padding after
// the last member is ignored, any other trailing byte is an error. Every member's CRC-32 and
// length are verified.
class GzipReader : public io::Reader {
 public:
  // `in` must outlive this reader.
  explicit GzipReader(io::Reader& in);
  ~GzipReader() override;
  Result<size_t> Read(std::span<std::byte> out) override;

 private:
  struct State;
  Status Refill();
  Result<bool> StartNextMember();  // false at the clean end of the stream
  io::Reader& in_;
  std::unique_ptr<State> state_;
};

// xz through liblzma's multi-threaded decoder: blocks of a multi-block stream (xz -T0, or
// --block-size) are decoded in parallel; single-block streams decode on one thread.
// Concatenated .xz streams are accepted.
class XzReader : public io::Reader {
 public:
  // Memory the decoder may use for parallel decoding; beyond it, it decodes with fewer threads.
  static constexpr uint64_t kThreadingMemoryLimit = 128ull << 20;
  // Memory the decoder may use at all: a stream that needs more (a dictionary larger than any
  // xz preset uses) is refused with an error instead of growing the importer without bound.
  static constexpr uint64_t kMemoryLimit = 256ull << 20;

  // threads = 0: std::thread::hardware_concurrency(). `in` must outlive the reader.
  static Result<std::unique_ptr<XzReader>> Create(io::Reader& in, unsigned threads = 0);
  ~XzReader() override;
  Result<size_t> Read(std::span<std::byte> out) override;

 private:
  struct State;
  XzReader(io::Reader& in, std::unique_ptr<State> state);
  io::Reader& in_;
  std::unique_ptr<State> state_;
};

// zstd through ZSTD_decompressStream. Several frames (pzstd, concatenated files) decode as one
// stream and skippable frames are skipped. The window is capped at 128 MiB (zstd's own default
// limit; --long=31 archives are refused).
class ZstdReader : public io::Reader {
 public:
  // `in` must outlive the reader.
  static Result<std::unique_ptr<ZstdReader>> Create(io::Reader& in);
  ~ZstdReader() override;
  Result<size_t> Read(std::span<std::byte> out) override;

 private:
  struct State;
  ZstdReader(io::Reader& in, std::unique_ptr<State> state);
  io::Reader& in_;
  std::unique_ptr<State> state_;
};

// The decompressor for `format` (gzip, xz or zstd) over `in`, which must outlive it.
// InvalidArgument for any other format.
Result<std::unique_ptr<io::Reader>> NewDecompressor(Format format, io::Reader& in,
                                                    unsigned threads = 0);

// The decompressed size the first zstd frame header in `head` declares. With several frames it
// is that of the first only, so it is a lower bound of the whole. nullopt when not declared.
std::optional<uint64_t> ZstdFirstFrameContentSize(std::span<const std::byte> head);

}  // namespace vdisk::dataplane
