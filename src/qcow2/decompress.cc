// Cluster decompression with ISA-L (raw deflate) and libzstd, reusing one context per object.
#include "qcow2/decompress.h"

#include <isa-l/igzip_lib.h>
#include <zstd.h>

#include <climits>
#include <memory>
#include <string>

namespace vdisk::qcow2 {
namespace {

std::string DescribeInflateError(int rc) {
  switch (rc) {
    case ISAL_INVALID_BLOCK:
      return "invalid block";
    case ISAL_INVALID_SYMBOL:
      return "invalid symbol";
    case ISAL_INVALID_LOOKBACK:
      return "distance too far back";
    default:
      return "error " + std::to_string(rc);
  }
}

}  // namespace

struct Decompressor::State {
  ImageInfo::Compression compression;
  // About 90 KiB, hence allocated only for deflate-compressed images.
  std::unique_ptr<inflate_state> deflate;
  ZSTD_DCtx* zstd = nullptr;

  ~State() { ZSTD_freeDCtx(zstd); }
};

Decompressor::Decompressor(ImageInfo::Compression compression) : state_(std::make_unique<State>()) {
  state_->compression = compression;
}

Decompressor::~Decompressor() = default;

Status Decompressor::DecompressCluster(std::span<const std::byte> in, std::span<std::byte> out) {
  State& s = *state_;
  if (s.compression == ImageInfo::Compression::kDeflate) {
    if (in.size() > UINT_MAX || out.size() > UINT_MAX) {
      return InvalidArgument("qcow2 compressed cluster is too large");
    }
    if (!s.deflate) s.deflate = std::make_unique<inflate_state>();
    inflate_state& d = *s.deflate;
    isal_inflate_init(&d);
    d.crc_flag = ISAL_DEFLATE;  // a raw deflate stream without header or checksum
    d.hist_bits = 0;            // the full 32 KiB window
    d.next_in = reinterpret_cast<uint8_t*>(const_cast<std::byte*>(in.data()));
    d.avail_in = static_cast<uint32_t>(in.size());
    d.next_out = reinterpret_cast<uint8_t*>(out.data());
    d.avail_out = static_cast<uint32_t>(out.size());
    // One call decodes the whole cluster. Filling the output (even when the stream would go
    // on) is success; input left over is ignored.
    int rc = isal_inflate_stateless(&d);
    const bool decoded = rc == ISAL_DECOMP_OK || rc == ISAL_END_INPUT || rc == ISAL_OUT_OVERFLOW;
    if (decoded && d.avail_out == 0) return Status::Ok();
    if (decoded) {
      return InvalidArgument("qcow2 compressed cluster decompresses to " +
                             std::to_string(out.size() - d.avail_out) +
                             " bytes instead of one cluster (" + std::to_string(out.size()) + ")");
    }
    return InvalidArgument("qcow2 compressed cluster is not valid deflate data: " +
                           DescribeInflateError(rc));
  }

  if (s.zstd == nullptr) {
    s.zstd = ZSTD_createDCtx();
    if (s.zstd == nullptr) return Internal("ZSTD_createDCtx failed");
    // A cluster is at most 2 MiB: refuse frames that ask for an absurd window.
    ZSTD_DCtx_setParameter(s.zstd, ZSTD_d_windowLogMax, 23);
  } else {
    ZSTD_DCtx_reset(s.zstd, ZSTD_reset_session_only);
  }
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  ZSTD_outBuffer output{out.data(), out.size(), 0};
  // The data may be several frames; stop as soon as one cluster has been produced.
  while (output.pos < output.size) {
    size_t before_in = input.pos;
    size_t before_out = output.pos;
    size_t rc = ZSTD_decompressStream(s.zstd, &output, &input);
    if (ZSTD_isError(rc)) {
      return InvalidArgument(std::string("qcow2 compressed cluster is not valid zstd data: ") +
                             ZSTD_getErrorName(rc));
    }
    if (input.pos == before_in && output.pos == before_out) {
      return InvalidArgument("qcow2 compressed cluster decompresses to " +
                             std::to_string(output.pos) + " bytes instead of one cluster (" +
                             std::to_string(out.size()) + ")");
    }
  }
  return Status::Ok();
}

}  // namespace vdisk::qcow2
