// Decoding and validation of qcow2 headers and L1/L2 tables (see format.h).
#include "qcow2/format.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <map>
#include <string>

namespace vdisk::qcow2 {
namespace {

constexpr uint64_t kIncompatDirty = 1u << 0;
constexpr uint64_t kIncompatCorrupt = 1u << 1;
constexpr uint64_t kIncompatDataFile = 1u << 2;
constexpr uint64_t kIncompatCompression = 1u << 3;
constexpr uint64_t kIncompatExtendedL2 = 1u << 4;
constexpr uint64_t kIncompatKnown = kIncompatDirty | kIncompatCorrupt | kIncompatDataFile |
                                    kIncompatCompression | kIncompatExtendedL2;

constexpr uint32_t kExtEnd = 0;
constexpr uint32_t kExtFeatureNames = 0x6803f857;
constexpr uint32_t kExtEncryption = 0x0537be77;
constexpr uint32_t kExtDataFile = 0x44415441;

// Bits 9-55 of L1 and standard L2 entries hold a host offset.
constexpr uint64_t kOffsetMask = 0x00fffffffffffe00;
constexpr uint64_t kL1ReservedMask = 0x7f000000000001ff;
constexpr uint64_t kL2StandardReservedMask = 0x3f000000000001fe;
constexpr uint64_t kL2Compressed = uint64_t{1} << 62;
constexpr uint64_t kL2ZeroFlag = 1;

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// A string from the image, made safe to show in an error message.
std::string Printable(std::span<const std::byte> bytes) {
  std::string s;
  for (std::byte b : bytes) {
    auto c = std::to_integer<unsigned char>(b);
    if (c == 0) break;
    s.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  return s;
}

// Whether [offset, offset + length) lies inside a file of `file_size` bytes, without overflow.
bool InsideFile(uint64_t offset, uint64_t length, uint64_t file_size) {
  return offset <= file_size && length <= file_size - offset;
}

struct Extensions {
  std::map<int, std::string> incompatible_feature_names;
  std::optional<std::string> data_file;
  bool encryption = false;
};

Result<Extensions> ParseExtensions(std::span<const std::byte> head, uint64_t start,
                                   bool head_is_whole_file) {
  Extensions ext;
  const char* where = head_is_whole_file ? "the end of the file" : "the first cluster";
  uint64_t pos = start;
  while (pos + 8 <= head.size()) {
    uint32_t type = LoadBe32(head.data() + pos);
    uint64_t length = LoadBe32(head.data() + pos + 4);
    if (type == kExtEnd) return ext;
    uint64_t data = pos + 8;
    if (length > head.size() - data) {
      return InvalidArgument("qcow2 header extension " + Hex(type) + " at offset " +
                             std::to_string(pos) + " with length " + std::to_string(length) +
                             " reaches past " + where);
    }
    auto body = head.subspan(data, length);
    switch (type) {
      case kExtFeatureNames:
        for (size_t i = 0; i + 48 <= body.size(); i += 48) {
          if (std::to_integer<uint8_t>(body[i]) == 0) {
            ext.incompatible_feature_names[std::to_integer<uint8_t>(body[i + 1])] =
                Printable(body.subspan(i + 2, 46));
          }
        }
        break;
      case kExtEncryption:
        ext.encryption = true;
        break;
      case kExtDataFile:
        ext.data_file = Printable(body);
        break;
      default:  // unknown extensions can be ignored safely
        break;
    }
    pos = data + ((length + 7) & ~uint64_t{7});
  }
  return ext;  // the area may fill the first cluster without an end marker
}

}  // namespace

Result<Layout> ParseHeader(std::span<const std::byte> head, std::optional<uint64_t> file_size) {
  if (head.size() < 4 || LoadBe32(head.data()) != kMagic) {
    return InvalidArgument("not a qcow2 image: bad magic (expected \"QFI\\xfb\")");
  }
  if (head.size() < kHeaderV2Size) {
    return InvalidArgument("qcow2 image is truncated: shorter than its 72-byte header");
  }
  const std::byte* h = head.data();
  Layout layout;
  ImageInfo& info = layout.info;
  info.version = LoadBe32(h + 4);
  if (info.version != 2 && info.version != 3) {
    return InvalidArgument("unsupported qcow2 version " + std::to_string(info.version) +
                           " (supported: 2 and 3)");
  }
  info.cluster_bits = LoadBe32(h + 20);
  if (info.cluster_bits < 9 || info.cluster_bits > 21) {
    return InvalidArgument("qcow2 cluster bits " + std::to_string(info.cluster_bits) +
                           " outside the supported range 9..21 (512 B .. 2 MiB clusters)");
  }
  layout.cluster_size = uint64_t{1} << info.cluster_bits;
  // `head` is the first cluster unless the file ends sooner.
  const bool head_is_whole_file = head.size() < layout.cluster_size;
  head = head.first(std::min<uint64_t>(head.size(), layout.cluster_size));

  uint64_t backing_offset = LoadBe64(h + 8);
  if (backing_offset != 0) {
    uint32_t backing_size = LoadBe32(h + 16);
    std::string name = "(name unreadable)";
    if (backing_size <= 1023 && InsideFile(backing_offset, backing_size, head.size())) {
      name = Printable(head.subspan(backing_offset, backing_size));
    }
    return InvalidArgument("qcow2 image has a backing file: " + name +
                           "; images must be self-contained");
  }

  uint64_t header_length = kHeaderV2Size;
  uint64_t incompatible = 0;
  uint32_t refcount_order = 4;
  uint8_t compression_type = 0;
  if (info.version == 3) {
    if (head.size() < kHeaderV3MinSize) {
      return InvalidArgument("qcow2 image is truncated: shorter than its 104-byte v3 header");
    }
    incompatible = LoadBe64(h + 72);
    refcount_order = LoadBe32(h + 96);
    header_length = LoadBe32(h + 100);
    if (header_length < kHeaderV3MinSize || header_length % 8 != 0 || header_length > head.size()) {
      return InvalidArgument("qcow2 header length " + std::to_string(header_length) +
                             " is invalid (must be a multiple of 8 from 104 up to the cluster "
                             "size and inside the file)");
    }
    if (header_length > 104) compression_type = std::to_integer<uint8_t>(h[104]);
  }
  VDISK_ASSIGN_OR_RETURN(Extensions ext, ParseExtensions(head, header_length, head_is_whole_file));

  uint32_t crypt_method = LoadBe32(h + 32);
  if (crypt_method != 0 || ext.encryption) {
    const char* method = crypt_method == 1 ? "AES" : crypt_method == 2 ? "LUKS" : "unknown";
    return InvalidArgument(std::string("qcow2 image is encrypted (") + method +
                           "); encrypted images are not supported");
  }
  if (incompatible & kIncompatDataFile || ext.data_file) {
    return InvalidArgument("qcow2 image uses an external data file" +
                           (ext.data_file ? ": " + *ext.data_file : std::string()) +
                           "; images must be self-contained");
  }
  if (uint64_t unknown = incompatible & ~kIncompatKnown) {
    std::string bits;
    for (int bit = 0; bit < 64; ++bit) {
      if (!(unknown >> bit & 1)) continue;
      if (!bits.empty()) bits += ", ";
      bits += std::to_string(bit);
      if (auto it = ext.incompatible_feature_names.find(bit);
          it != ext.incompatible_feature_names.end()) {
        bits += " (" + it->second + ")";
      }
    }
    return InvalidArgument("qcow2 image uses unknown incompatible feature bits: " + bits);
  }
  if (incompatible & kIncompatCorrupt) {
    return InvalidArgument(
        "qcow2 image is marked corrupt; repair it with 'qemu-img check -r all' first");
  }
  // The dirty bit only says refcounts may be stale; the reader never uses refcounts.
  if (refcount_order > 6) {
    return InvalidArgument("qcow2 refcount order " + std::to_string(refcount_order) + " exceeds 6");
  }
  if (incompatible & kIncompatCompression) {
    if (header_length <= 104 || compression_type == 0) {
      return InvalidArgument(
          "qcow2 compression type bit is set but the compression type field is missing");
    }
  } else if (compression_type != 0) {
    return InvalidArgument("qcow2 compression type " + std::to_string(compression_type) +
                           " is set without the compression type feature bit");
  }
  switch (compression_type) {
    case 0:
      info.compression = ImageInfo::Compression::kDeflate;
      break;
    case 1:
      info.compression = ImageInfo::Compression::kZstd;
      break;
    default:
      return InvalidArgument("unsupported qcow2 compression type " +
                             std::to_string(compression_type));
  }
  info.extended_l2 = (incompatible & kIncompatExtendedL2) != 0;

  info.virtual_size = LoadBe64(h + 24);
  if (info.virtual_size > kMaxVirtualSize) {
    return InvalidArgument("qcow2 virtual size " + std::to_string(info.virtual_size) +
                           " exceeds the supported maximum of 64 TiB");
  }
  layout.l2_entry_size = info.extended_l2 ? 16 : 8;
  layout.l2_entries = layout.cluster_size / layout.l2_entry_size;
  layout.guest_per_l2 = layout.l2_entries * layout.cluster_size;
  layout.l1_entries_used = (info.virtual_size + layout.guest_per_l2 - 1) / layout.guest_per_l2;

  // An L1 table longer than needed is legitimate (qemu keeps it after shrinking an image); the
  // extra entries are ignored. Beyond qemu's own limit it is absurd.
  uint64_t l1_size = LoadBe32(h + 36);
  layout.l1_offset = LoadBe64(h + 40);
  layout.l1_bytes = l1_size * 8;
  if (l1_size > kMaxL1Entries) {
    return InvalidArgument("qcow2 L1 table size " + std::to_string(l1_size) +
                           " entries is absurd (limit " + std::to_string(kMaxL1Entries) + ")");
  }
  if (l1_size < layout.l1_entries_used) {
    return InvalidArgument("qcow2 L1 table has " + std::to_string(l1_size) +
                           " entries but the virtual size needs " +
                           std::to_string(layout.l1_entries_used));
  }
  if (l1_size > 0) {
    if (layout.l1_offset % layout.cluster_size != 0 || layout.l1_offset == 0 ||
        layout.l1_offset > kMaxFileOffset) {
      return InvalidArgument("qcow2 L1 table offset " + Hex(layout.l1_offset) +
                             " is not a cluster boundary between the header and 64 PiB");
    }
    if (file_size && !InsideFile(layout.l1_offset, l1_size * 8, *file_size)) {
      return InvalidArgument(
          "qcow2 L1 table at " + Hex(layout.l1_offset) + " (" + std::to_string(l1_size * 8) +
          " bytes) reaches past the end of the file (" + std::to_string(*file_size) + " bytes)");
    }
  }

  layout.refcount_table_offset = LoadBe64(h + 48);
  layout.refcount_table_bytes = uint64_t{LoadBe32(h + 56)} * layout.cluster_size;
  if (layout.refcount_table_offset % layout.cluster_size != 0 ||
      layout.refcount_table_offset > kMaxFileOffset) {
    return InvalidArgument("qcow2 refcount table offset " + Hex(layout.refcount_table_offset) +
                           " is not cluster aligned below 64 PiB");
  }
  if (file_size &&
      !InsideFile(layout.refcount_table_offset, layout.refcount_table_bytes, *file_size)) {
    return InvalidArgument("qcow2 refcount table at " + Hex(layout.refcount_table_offset) + " (" +
                           std::to_string(layout.refcount_table_bytes) +
                           " bytes) reaches past the end of the file (" +
                           std::to_string(*file_size) + " bytes)");
  }

  if (file_size) {
    uint64_t metadata = layout.cluster_size + l1_size * 8 + layout.refcount_table_bytes;
    info.allocated_bytes = *file_size > metadata ? *file_size - metadata : 0;
  }
  return layout;
}

Result<std::vector<uint64_t>> DecodeL1(const Layout& layout, std::span<const std::byte> table,
                                       std::optional<uint64_t> file_size) {
  if (table.size() < layout.l1_entries_used * 8) {
    return InvalidArgument("qcow2 L1 table is truncated");
  }
  std::vector<uint64_t> l2_offsets(layout.l1_entries_used);
  for (uint64_t i = 0; i < layout.l1_entries_used; ++i) {
    uint64_t entry = LoadBe64(table.data() + i * 8);
    uint64_t offset = entry & kOffsetMask;
    if (entry & kL1ReservedMask || offset % layout.cluster_size != 0) {
      return InvalidArgument("qcow2 L1 entry " + std::to_string(i) + " (" + Hex(entry) +
                             ") is invalid: reserved bits set or L2 table not cluster aligned");
    }
    if (offset == 0) continue;
    if (file_size && !InsideFile(offset, layout.cluster_size, *file_size)) {
      return InvalidArgument("qcow2 L2 table at " + Hex(offset) + " (L1 entry " +
                             std::to_string(i) + ") reaches past the end of the file (" +
                             std::to_string(*file_size) + " bytes); the image is truncated");
    }
    l2_offsets[i] = offset;
  }
  return l2_offsets;
}

namespace {

// Appends a data run, merging it into the previous extent when both guest and host continue it.
Status AddData(const Layout& layout, uint64_t guest, uint64_t length, uint64_t host,
               std::optional<uint64_t> file_size, std::vector<Extent>& out) {
  if (guest >= layout.info.virtual_size) return Status::Ok();
  length = std::min(length, layout.info.virtual_size - guest);
  if (file_size) {
    if (host >= *file_size) {
      return InvalidArgument("qcow2 data for guest offset " + std::to_string(guest) + " at " +
                             Hex(host) + " lies past the end of the file (" +
                             std::to_string(*file_size) + " bytes); the image is truncated");
    }
    // Like qemu, read the part of a final cluster cut by the end of the file as zeros.
    length = std::min(length, *file_size - host);
  }
  if (!out.empty()) {
    Extent& last = out.back();
    if (last.kind == Extent::Kind::kData && last.guest + last.length == guest &&
        last.host + last.length == host) {
      last.length += length;
      last.host_length = last.length;
      return Status::Ok();
    }
  }
  out.push_back({Extent::Kind::kData, guest, length, host, length});
  return Status::Ok();
}

Status AddCompressed(const Layout& layout, uint64_t entry, uint64_t guest,
                     std::optional<uint64_t> file_size, std::vector<Extent>& out) {
  const uint32_t size_bits = layout.info.cluster_bits - 8;
  const uint32_t offset_bits = 62 - size_bits;
  uint64_t host = entry & ((uint64_t{1} << offset_bits) - 1);
  uint64_t extra_sectors = (entry >> offset_bits) & ((uint64_t{1} << size_bits) - 1);
  if (host >> 56 != 0 || host < layout.cluster_size) {
    return InvalidArgument("qcow2 compressed cluster for guest offset " + std::to_string(guest) +
                           " has an invalid host offset " + Hex(host));
  }
  uint64_t host_length = (extra_sectors + 1) * kSectorSize - host % kSectorSize;
  if (file_size) {
    if (host >= *file_size) {
      return InvalidArgument("qcow2 compressed data for guest offset " + std::to_string(guest) +
                             " at " + Hex(host) + " lies past the end of the file (" +
                             std::to_string(*file_size) + " bytes); the image is truncated");
    }
    // The last compressed cluster's final sector may be cut by the end of the file.
    host_length = std::min(host_length, *file_size - host);
  }
  uint64_t length = std::min(layout.cluster_size, layout.info.virtual_size - guest);
  out.push_back({Extent::Kind::kCompressed, guest, length, host, host_length});
  return Status::Ok();
}

Status CheckDataCluster(const Layout& layout, uint64_t entry, uint64_t guest) {
  uint64_t host = entry & kOffsetMask;
  if (entry & kL2StandardReservedMask || host % layout.cluster_size != 0 ||
      (host != 0 && host < layout.cluster_size)) {
    return InvalidArgument("qcow2 L2 entry " + Hex(entry) + " for guest offset " +
                           std::to_string(guest) +
                           " is invalid: reserved bits set or host cluster misplaced");
  }
  return Status::Ok();
}

}  // namespace

Status DecodeL2(const Layout& layout, std::span<const std::byte> table, uint64_t table_guest_base,
                uint64_t first_entry, uint64_t entry_count, std::optional<uint64_t> file_size,
                std::vector<Extent>& out) {
  if (first_entry > layout.l2_entries || entry_count > layout.l2_entries - first_entry ||
      table.size() < layout.cluster_size) {
    return InvalidArgument("qcow2 L2 table is truncated");
  }
  const uint64_t cluster = layout.cluster_size;
  const uint64_t subcluster = cluster / 32;
  for (uint64_t i = first_entry; i < first_entry + entry_count; ++i) {
    const uint64_t guest = table_guest_base + i * cluster;
    if (guest >= layout.info.virtual_size) break;
    const std::byte* p = table.data() + i * layout.l2_entry_size;
    const uint64_t entry = LoadBe64(p);
    if (entry & kL2Compressed) {
      VDISK_RETURN_IF_ERROR(AddCompressed(layout, entry, guest, file_size, out));
      continue;
    }
    const uint64_t host = entry & kOffsetMask;
    if (!layout.info.extended_l2) {
      if (entry & kL2ZeroFlag || host == 0) continue;  // reads as zeros
      VDISK_RETURN_IF_ERROR(CheckDataCluster(layout, entry, guest));
      VDISK_RETURN_IF_ERROR(AddData(layout, guest, cluster, host, file_size, out));
      continue;
    }
    const uint64_t bitmap = LoadBe64(p + 8);
    uint32_t allocated = static_cast<uint32_t>(bitmap);
    const uint32_t zero = static_cast<uint32_t>(bitmap >> 32);
    if (allocated & zero) {
      return InvalidArgument("qcow2 L2 entry for guest offset " + std::to_string(guest) +
                             " marks subclusters both allocated and zero");
    }
    if (allocated == 0) continue;
    if (host == 0) {
      return InvalidArgument("qcow2 L2 entry for guest offset " + std::to_string(guest) +
                             " allocates subclusters without a host cluster");
    }
    VDISK_RETURN_IF_ERROR(CheckDataCluster(layout, entry & ~kL2ZeroFlag, guest));
    while (allocated != 0) {  // one extent per run of allocated subclusters
      int first = std::countr_zero(allocated);
      int run = std::countr_one(allocated >> first);
      VDISK_RETURN_IF_ERROR(AddData(layout, guest + first * subcluster, run * subcluster,
                                    host + first * subcluster, file_size, out));
      allocated = run + first >= 32 ? 0 : allocated & ~((uint32_t{1} << (first + run)) - 1);
    }
  }
  return Status::Ok();
}

}  // namespace vdisk::qcow2
