// XzReader (see decompress.h): liblzma's multi-threaded stream decoder.
#include <lzma.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/decompress.h"

namespace vdisk::dataplane {
namespace {

constexpr size_t kInputBufferSize = 1 << 20;

std::string LzmaError(lzma_ret rc) {
  switch (rc) {
    case LZMA_FORMAT_ERROR:
      return "xz data is corrupt: not an xz stream";
    case LZMA_OPTIONS_ERROR:
      return "xz data is corrupt: unsupported compression options";
    case LZMA_DATA_ERROR:
      return "xz data is corrupt: compressed data is invalid";
    case LZMA_BUF_ERROR:
      return "xz stream is truncated";
    case LZMA_MEMLIMIT_ERROR:
      return "xz stream needs more than " + std::to_string(XzReader::kMemoryLimit >> 20) +
             " MiB of memory to decode";
    case LZMA_MEM_ERROR:
      return "xz decoder ran out of memory";
    default:
      return "xz data is corrupt: liblzma error " + std::to_string(static_cast<int>(rc));
  }
}

}  // namespace

struct XzReader::State {
  lzma_stream stream = LZMA_STREAM_INIT;
  std::vector<uint8_t> input = std::vector<uint8_t>(kInputBufferSize);
  bool input_ended = false;
  bool stream_ended = false;
  // The last two non-zero input bytes. A complete .xz stream ends with the footer magic "YZ"
  // (then optional zero Stream Padding), so this tells a cut stream from a corrupt one: the
  // threaded decoder reports both as LZMA_DATA_ERROR.
  uint8_t tail[2] = {0, 0};
  ~State() { lzma_end(&stream); }

  void NoteTail(std::span<const uint8_t> chunk) {
    size_t end = chunk.size();
    while (end > 0 && chunk[end - 1] == 0) --end;
    if (end == 0) return;
    tail[0] = end >= 2 ? chunk[end - 2] : tail[1];
    tail[1] = chunk[end - 1];
  }
  bool LooksTruncated() const { return input_ended && !(tail[0] == 'Y' && tail[1] == 'Z'); }
};

Result<std::unique_ptr<XzReader>> XzReader::Create(io::Reader& in, unsigned threads) {
  auto state = std::make_unique<State>();
  lzma_mt options{};
  options.flags = LZMA_CONCATENATED | LZMA_FAIL_FAST;
  options.threads = threads != 0 ? threads : std::max(1u, std::thread::hardware_concurrency());
  options.timeout = 0;  // block until output is ready; Read is synchronous anyway
  options.memlimit_threading = kThreadingMemoryLimit;
  options.memlimit_stop = kMemoryLimit;
  lzma_ret rc = lzma_stream_decoder_mt(&state->stream, &options);
  if (rc != LZMA_OK) {
    return Internal("xz decoder setup failed: liblzma error " +
                    std::to_string(static_cast<int>(rc)));
  }
  return std::unique_ptr<XzReader>(new XzReader(in, std::move(state)));
}

XzReader::XzReader(io::Reader& in, std::unique_ptr<State> state)
    : in_(in), state_(std::move(state)) {}

XzReader::~XzReader() = default;

Result<size_t> XzReader::Read(std::span<std::byte> out) {
  lzma_stream& stream = state_->stream;
  stream.next_out = reinterpret_cast<uint8_t*>(out.data());
  stream.avail_out = out.size();
  while (stream.avail_out == out.size() && !state_->stream_ended && !out.empty()) {
    if (stream.avail_in == 0 && !state_->input_ended) {
      auto buffer = std::as_writable_bytes(std::span(state_->input));
      VDISK_ASSIGN_OR_RETURN(size_t n, in_.Read(buffer));
      state_->input_ended = n == 0;
      stream.next_in = state_->input.data();
      stream.avail_in = n;
      state_->NoteTail(std::span(state_->input).first(n));
    }
    // With LZMA_CONCATENATED the decoder only reports the end once told the input has ended;
    // a stream cut short then fails with LZMA_BUF_ERROR.
    lzma_ret rc = lzma_code(&stream, state_->input_ended ? LZMA_FINISH : LZMA_RUN);
    if (rc == LZMA_STREAM_END) {
      state_->stream_ended = true;
    } else if (rc != LZMA_OK) {
      const bool cut = (rc == LZMA_DATA_ERROR || rc == LZMA_BUF_ERROR) && state_->LooksTruncated();
      return InvalidArgument(cut ? "xz stream is truncated" : LzmaError(rc));
    }
  }
  return out.size() - stream.avail_out;
}

}  // namespace vdisk::dataplane
