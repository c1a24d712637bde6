// Image and compression format detection by magic bytes.
//
// The data plane never trusts a URL's suffix or a Content-Type: it looks at the first bytes of
// what arrives. Formats vdisk imports are raw (and ISO, which is raw for import purposes), qcow2,
// and one compression layer around them (gzip, xz, zstd). Formats it recognises but refuses
// (other hypervisors' images, other compressors) are named, so the user reads "unsupported image
// format: vmdk" instead of finding a VMDK container copied byte for byte as a raw disk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "common/status.h"

namespace vdisk::dataplane {

enum class Format {
  kRaw,  // anything not recognised below: a plain disk image
  kIso,  // ISO 9660 ("CD001" at 0x8001); imported as raw
  kQcow2,
  kGzip,
  kXz,
  kZstd,
  // Recognised and refused.
  kVmdk,
  kVhdx,
  kVhd,
  kVdi,
  kQed,
  kBzip2,
  kLz4,
};

// How many leading bytes DetectFormat wants to see: enough for the ISO 9660 volume descriptor
// at 0x8001 and for a qcow2 header with its extensions in the first cluster.
inline constexpr size_t kFormatHeadSize = 64 * 1024;

// Classifies a stream by its first bytes (up to kFormatHeadSize; fewer only for a short
// stream). Anything unrecognised is kRaw.
Format DetectFormat(std::span<const std::byte> head);

// "raw", "iso", "qcow2", "gzip", "xz", "zstd", "vmdk", ...
std::string_view FormatName(Format format);

bool IsCompression(Format format);  // gzip, xz, zstd: a layer to peel off
bool IsDiskImage(Format format);    // raw, iso, qcow2: what ends up on the volume

// OK for a format vdisk imports; otherwise InvalidArgument "unsupported image format: <name>".
Status CheckSupported(Format format);

// The virtual size field of a qcow2 header (big-endian at offset 24), so that a qcow2 arriving as
// a stream can be refused for being too large before anything is written. Nothing else of the
// header is checked here; qcow2::ConvertStream validates the image in full. nullopt when `head`
// is not a qcow2 header.
std::optional<uint64_t> Qcow2HeaderVirtualSize(std::span<const std::byte> head);

}  // namespace vdisk::dataplane
