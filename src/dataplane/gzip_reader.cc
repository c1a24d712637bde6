// GzipReader (see decompress.h): ISA-L igzip inflate in ISAL_GZIP mode, which parses each
// member's header and verifies its CRC-32 and length trailer itself.
#include <isa-l/igzip_lib.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "dataplane/decompress.h"

namespace vdisk::dataplane {
namespace {

constexpr size_t kInputBufferSize = 1 << 20;
constexpr size_t kMinInflateInput = 256 << 10;

std::string InflateError(int code) {
  switch (code) {
    case ISAL_INVALID_BLOCK:
      return "gzip data is corrupt: invalid deflate block";
    case ISAL_INVALID_SYMBOL:
      return "gzip data is corrupt: invalid deflate symbol";
    case ISAL_INVALID_LOOKBACK:
      return "gzip data is corrupt: invalid back-reference distance";
    case ISAL_INVALID_WRAPPER:
      return "gzip data is corrupt: invalid gzip header";
    case ISAL_UNSUPPORTED_METHOD:
      return "gzip data is corrupt: unsupported compression method";
    case ISAL_INCORRECT_CHECKSUM:
      return "gzip data is corrupt: CRC-32 or length mismatch";
    case ISAL_NEED_DICT:
      return "gzip data is corrupt: a preset dictionary is required";
    default:
      return "gzip data is corrupt: inflate error " + std::to_string(code);
  }
}

}  // namespace

struct GzipReader::State {
  inflate_state inflate{};  // zeroed: isal_inflate_init leaves its buffers as they are
  std::vector<uint8_t> input = std::vector<uint8_t>(kInputBufferSize);
  bool input_ended = false;   // the underlying reader is at its end
  bool member_ended = false;  // the current member's trailer has been read
  bool stream_ended = false;  // no member follows
};

GzipReader::GzipReader(io::Reader& in) : in_(in), state_(std::make_unique<State>()) {
  isal_inflate_init(&state_->inflate);
  state_->inflate.crc_flag = ISAL_GZIP;
  state_->inflate.avail_in = 0;
}

GzipReader::~GzipReader() = default;

// Tops up the compressed input. ISA-L 2.30 can fail valid streams with "invalid lookback" when a
// call gets only a few input bytes (it may then decode leftover bits straight into an output
// buffer that lacks the history), so every call but those at the very end of the stream gets at
// least kMinInflateInput bytes, however small the source's reads are.
Status GzipReader::Refill() {
  inflate_state& inflate = state_->inflate;
  if (inflate.avail_in >= kMinInflateInput || state_->input_ended) return Status::Ok();
  if (inflate.avail_in > 0) std::memmove(state_->input.data(), inflate.next_in, inflate.avail_in);
  size_t filled = inflate.avail_in;
  while (filled < kMinInflateInput) {
    auto free_space = std::as_writable_bytes(std::span(state_->input)).subspan(filled);
    VDISK_ASSIGN_OR_RETURN(size_t n, in_.Read(free_space));
    if (n == 0) {
      state_->input_ended = true;
      break;
    }
    filled += n;
  }
  inflate.next_in = state_->input.data();
  inflate.avail_in = static_cast<uint32_t>(filled);
  return Status::Ok();
}

Result<bool> GzipReader::StartNextMember() {
  inflate_state& inflate = state_->inflate;
  // Zero padding after a member (tape blocks, fixed-size uploads) is not another member.
  while (true) {
    VDISK_RETURN_IF_ERROR(Refill());
    if (inflate.avail_in == 0) return false;
    while (inflate.avail_in > 0 && *inflate.next_in == 0) {
      ++inflate.next_in;
      --inflate.avail_in;
    }
    if (inflate.avail_in > 0) break;
  }
  if (*inflate.next_in != 0x1f) {
    return InvalidArgument("gzip data is corrupt: unexpected data after the end of the stream");
  }
  uint8_t* next_in = inflate.next_in;
  uint32_t avail_in = inflate.avail_in;
  isal_inflate_reset(&inflate);
  inflate.crc_flag = ISAL_GZIP;
  inflate.next_in = next_in;
  inflate.avail_in = avail_in;
  state_->member_ended = false;
  return true;
}

Result<size_t> GzipReader::Read(std::span<std::byte> out) {
  inflate_state& inflate = state_->inflate;
  // avail_out is 32-bit; a shorter read is always allowed.
  const uint32_t capacity = static_cast<uint32_t>(std::min<size_t>(out.size(), 1u << 30));
  inflate.next_out = reinterpret_cast<uint8_t*>(out.data());
  inflate.avail_out = capacity;
  while (inflate.avail_out == capacity && !state_->stream_ended && capacity > 0) {
    if (state_->member_ended) {
      VDISK_ASSIGN_OR_RETURN(bool more, StartNextMember());
      if (!more) {
        state_->stream_ended = true;
        break;
      }
    }
    VDISK_RETURN_IF_ERROR(Refill());
    const uint32_t avail_in_before = inflate.avail_in;
    int rc = isal_inflate(&inflate);
    if (rc != ISAL_DECOMP_OK) return InvalidArgument(InflateError(rc));
    if (inflate.block_state == ISAL_BLOCK_FINISH) {
      state_->member_ended = true;
      continue;
    }
    const bool progressed = inflate.avail_out != capacity || inflate.avail_in != avail_in_before;
    if (!progressed && inflate.avail_in == 0 && state_->input_ended) {
      return InvalidArgument("gzip stream is truncated");
    }
    if (!progressed && inflate.avail_in > 0) {
      return Internal("gzip decoder made no progress");
    }
  }
  return static_cast<size_t>(capacity - inflate.avail_out);
}

}  // namespace vdisk::dataplane
