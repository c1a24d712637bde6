// Magic-byte format detection (see format.h).
#include "dataplane/format.h"

#include <cstring>
#include <string>

namespace vdisk::dataplane {
namespace {

// True when `head` holds `magic` at `offset`.
bool HasMagic(std::span<const std::byte> head, size_t offset, std::string_view magic) {
  return head.size() >= offset + magic.size() &&
         std::memcmp(head.data() + offset, magic.data(), magic.size()) == 0;
}

// Zstd frames start with 28 b5 2f fd; skippable frames (pzstd starts with one) with
// 5? 2a 4d 18, any low nibble in the first byte.
bool IsZstd(std::span<const std::byte> head) {
  if (HasMagic(head, 0, "\x28\xb5\x2f\xfd")) return true;
  return head.size() >= 4 && (static_cast<uint8_t>(head[0]) & 0xf0) == 0x50 &&
         HasMagic(head, 1, "\x2a\x4d\x18");
}

}  // namespace

Format DetectFormat(std::span<const std::byte> head) {
  using namespace std::string_view_literals;
  if (HasMagic(head, 0, "QFI\xfb")) return Format::kQcow2;
  if (HasMagic(head, 0, "\x1f\x8b\x08")) return Format::kGzip;
  if (HasMagic(head, 0,
               "\xfd"
               "7zXZ\0"sv))
    return Format::kXz;
  if (IsZstd(head)) return Format::kZstd;
  if (HasMagic(head, 0, "KDMV") || HasMagic(head, 0, "# Disk DescriptorFile")) return Format::kVmdk;
  if (HasMagic(head, 0, "vhdxfile")) return Format::kVhdx;
  if (HasMagic(head, 0, "conectix")) return Format::kVhd;
  if (HasMagic(head, 0, "<<< Oracle VM VirtualBox Disk Image >>>") ||
      HasMagic(head, 0x40, "\x7f\x10\xda\xbe")) {
    return Format::kVdi;
  }
  if (HasMagic(head, 0, "QED\0"sv)) return Format::kQed;
  if (HasMagic(head, 0, "BZh") && head.size() > 3 && static_cast<char>(head[3]) >= '1' &&
      static_cast<char>(head[3]) <= '9') {
    return Format::kBzip2;
  }
  if (HasMagic(head, 0, "\x04\x22\x4d\x18")) return Format::kLz4;
  if (HasMagic(head, 0x8001, "CD001")) return Format::kIso;
  return Format::kRaw;
}

std::string_view FormatName(Format format) {
  switch (format) {
    case Format::kRaw:
      return "raw";
    case Format::kIso:
      return "iso";
    case Format::kQcow2:
      return "qcow2";
    case Format::kGzip:
      return "gzip";
    case Format::kXz:
      return "xz";
    case Format::kZstd:
      return "zstd";
    case Format::kVmdk:
      return "vmdk";
    case Format::kVhdx:
      return "vhdx";
    case Format::kVhd:
      return "vhd";
    case Format::kVdi:
      return "vdi";
    case Format::kQed:
      return "qed";
    case Format::kBzip2:
      return "bzip2";
    case Format::kLz4:
      return "lz4";
  }
  return "unknown";
}

bool IsCompression(Format format) {
  return format == Format::kGzip || format == Format::kXz || format == Format::kZstd;
}

bool IsDiskImage(Format format) {
  return format == Format::kRaw || format == Format::kIso || format == Format::kQcow2;
}

Status CheckSupported(Format format) {
  if (IsCompression(format) || IsDiskImage(format)) return Status::Ok();
  return InvalidArgument("unsupported image format: " + std::string(FormatName(format)));
}

std::optional<uint64_t> Qcow2HeaderVirtualSize(std::span<const std::byte> head) {
  constexpr size_t kSizeOffset = 24;
  if (DetectFormat(head) != Format::kQcow2 || head.size() < kSizeOffset + 8) return std::nullopt;
  uint64_t size = 0;
  for (size_t i = 0; i < 8; ++i) size = (size << 8) | static_cast<uint8_t>(head[kSizeOffset + i]);
  return size;
}

}  // namespace vdisk::dataplane
