// ZstdReader (see decompress.h): ZSTD_decompressStream over any number of frames.
#include <zstd.h>

#include <string>
#include <vector>

#include "dataplane/decompress.h"

namespace vdisk::dataplane {
namespace {

constexpr int kMaxWindowLog = 27;  // 128 MiB, zstd's default limit

}  // namespace

struct ZstdReader::State {
  ZSTD_DCtx* ctx = nullptr;
  std::vector<std::byte> input = std::vector<std::byte>(ZSTD_DStreamInSize());
  ZSTD_inBuffer in{nullptr, 0, 0};
  bool input_ended = false;
  // Whether the last ZSTD_decompressStream call left a frame unfinished. A stream may only
  // end between frames.
  bool mid_frame = false;
  ~State() { ZSTD_freeDCtx(ctx); }
};

Result<std::unique_ptr<ZstdReader>> ZstdReader::Create(io::Reader& in) {
  auto state = std::make_unique<State>();
  state->ctx = ZSTD_createDCtx();
  if (state->ctx == nullptr) return Internal("zstd decoder setup failed");
  size_t rc = ZSTD_DCtx_setParameter(state->ctx, ZSTD_d_windowLogMax, kMaxWindowLog);
  if (ZSTD_isError(rc)) {
    return Internal(std::string("zstd decoder setup failed: ") + ZSTD_getErrorName(rc));
  }
  return std::unique_ptr<ZstdReader>(new ZstdReader(in, std::move(state)));
}

ZstdReader::ZstdReader(io::Reader& in, std::unique_ptr<State> state)
    : in_(in), state_(std::move(state)) {}

ZstdReader::~ZstdReader() = default;

Result<size_t> ZstdReader::Read(std::span<std::byte> out) {
  State& state = *state_;
  ZSTD_outBuffer output{out.data(), out.size(), 0};
  while (output.pos == 0 && !out.empty()) {
    if (state.in.pos == state.in.size && !state.input_ended) {
      VDISK_ASSIGN_OR_RETURN(size_t n, in_.Read(state.input));
      state.input_ended = n == 0;
      state.in = ZSTD_inBuffer{state.input.data(), n, 0};
    }
    // Called even without new input: the decoder may still hold output it could not flush.
    const size_t in_pos_before = state.in.pos;
    size_t rc = ZSTD_decompressStream(state.ctx, &output, &state.in);
    if (ZSTD_isError(rc)) {
      return InvalidArgument(std::string("zstd data is corrupt: ") + ZSTD_getErrorName(rc));
    }
    const bool progressed = output.pos > 0 || state.in.pos != in_pos_before;
    if (progressed) state.mid_frame = rc != 0;
    if (!progressed && state.input_ended) break;
  }
  if (output.pos == 0 && state.input_ended && state.mid_frame) {
    return InvalidArgument("zstd stream is truncated");
  }
  return output.pos;
}

std::optional<uint64_t> ZstdFirstFrameContentSize(std::span<const std::byte> head) {
  unsigned long long size = ZSTD_getFrameContentSize(head.data(), head.size());
  if (size == ZSTD_CONTENTSIZE_UNKNOWN || size == ZSTD_CONTENTSIZE_ERROR) return std::nullopt;
  return size;
}

}  // namespace vdisk::dataplane
