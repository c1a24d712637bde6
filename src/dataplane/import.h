// The import pipeline: from a source's bytes to a complete disk image on a volume.
//
//   source ─► [count progress] ─► [hash] ─► detect ─► [gunzip | unxz | unzstd] ─► detect
//          ─► raw/iso: copy, or qcow2: convert ─► FileImageWriter (sparse, atomic) ─► commit
//
// A qcow2 served with random access (a local file, HTTP with Range) and no checksum to verify is
// converted by random access, several reads in flight. Everything else is streamed once, front
// to back: compressed images, raw images, checksummed downloads, and qcow2 without random access
// (qcow2::ConvertStream, which may spill to scratch space when the image's layout requires it).
//
// The target always ends up with the volume's usable size: a smaller image is grown with zeros,
// as CDI does. An image that does not fit is refused before anything is written when its size
// is known up front (a qcow2 header, a Content-Length); otherwise the copy stops with an error
// at the volume's end, which is also what stops a decompression bomb. On any failure, including
// cancellation, a Filesystem target is left without its image file (no half-written disk.img).
//
// Memory is bounded: two 4 MiB copy buffers, the decoders' buffers and windows (xz at most
// XzReader::kMemoryLimit) and the qcow2 converter's own bound.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>

#include "common/io.h"
#include "common/status.h"
#include "dataplane/checksum.h"
#include "dataplane/format.h"

namespace vdisk::dataplane {

struct ImportSource {
  // Always set: opens the body from byte 0. Called once (or not at all for a qcow2 imported by
  // random access).
  std::function<Result<std::unique_ptr<io::Reader>>()> open_stream;
  // Empty when the source has no random access (e.g. an HTTP server without Range support).
  std::function<Result<std::unique_ptr<io::RandomAccessReader>>()> open_random_access;
  // The source's size in bytes (Content-Length) when known.
  std::optional<uint64_t> size;
};

struct ImportTarget {
  // Filesystem volume: the image file (disk.img); Block volume: the device.
  std::string path;
  // The bytes of the volume a disk may use: the image file's size (Filesystem), or an upper
  // bound on the device size (Block; 0 for the whole device).
  uint64_t usable_size = 0;
  bool preallocate = false;
  bool block = false;
  // Where a streamed qcow2 may spill clusters that arrive before their mapping.
  std::string scratch_dir;
};

struct ImportOptions {
  // Verified over every byte of the source before the image is committed.
  std::optional<Checksum> checksum;
  // Decoder and converter threads; 0 means std::thread::hardware_concurrency().
  unsigned threads = 0;
  // Once requested, the import stops promptly with Cancelled() (common/status.h) and removes
  // its partial file.
  std::stop_token stop;
  // Streams: done = source bytes consumed, total = the source size (0 when unknown). A qcow2
  // imported by random access: as qcow2::Convert reports it (guest bytes of the virtual size).
  io::Progress* progress = nullptr;
};

struct ImportResult {
  Format format = Format::kRaw;        // of the source: e.g. kXz for disk.qcow2.xz
  Format inner_format = Format::kRaw;  // the disk image inside: kRaw, kIso or kQcow2
  uint64_t virtual_size = 0;           // the image's guest-visible size
  bool used_scratch = false;           // a streamed qcow2 needed scratch space
  uint64_t bytes_read = 0;             // bytes consumed from the source
};

// Imports the image `source` serves into `target`. Errors say why in words meant for the user:
// "unsupported image format: vmdk", "A larger PVC is required: image virtual size ...",
// "image is larger than the volume: ...", "gzip stream is truncated", "checksum mismatch: ...".
Result<ImportResult> ImportImage(const ImportSource& source, const ImportTarget& target,
                                 const ImportOptions& options);

}  // namespace vdisk::dataplane
