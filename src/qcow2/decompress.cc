// Cluster decompression with zlib (raw deflate) and libzstd, reusing one context per object.
#include "qcow2/decompress.h"

#include <zlib.h>
#include <zstd.h>

#include <climits>

namespace vdisk::qcow2 {

struct Decompressor::State {
  ImageInfo::Compression compression;
  z_stream zlib{};
  bool zlib_ready = false;
  ZSTD_DCtx* zstd = nullptr;

  ~State() {
    if (zlib_ready) inflateEnd(&zlib);
    ZSTD_freeDCtx(zstd);
  }
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
    if (!s.zlib_ready) {
      // Negative window bits: a raw deflate stream without zlib header or checksum.
      if (inflateInit2(&s.zlib, -15) != Z_OK) return Internal("zlib inflateInit2 failed");
      s.zlib_ready = true;
    } else if (inflateReset(&s.zlib) != Z_OK) {
      return Internal("zlib inflateReset failed");
    }
    s.zlib.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
    s.zlib.avail_in = static_cast<uInt>(in.size());
    s.zlib.next_out = reinterpret_cast<Bytef*>(out.data());
    s.zlib.avail_out = static_cast<uInt>(out.size());
    int rc = inflate(&s.zlib, Z_FINISH);
    if ((rc == Z_STREAM_END || rc == Z_BUF_ERROR || rc == Z_OK) && s.zlib.avail_out == 0) {
      return Status::Ok();
    }
    if (rc == Z_STREAM_END || rc == Z_BUF_ERROR) {
      return InvalidArgument("qcow2 compressed cluster decompresses to " +
                             std::to_string(out.size() - s.zlib.avail_out) +
                             " bytes instead of one cluster (" + std::to_string(out.size()) + ")");
    }
    return InvalidArgument(std::string("qcow2 compressed cluster is not valid deflate data: ") +
                           (s.zlib.msg ? s.zlib.msg : "error " + std::to_string(rc)));
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
