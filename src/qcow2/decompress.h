// Decompression of one qcow2 compressed cluster (raw deflate or zstd) into exactly one
// cluster of output.
#pragma once

#include <cstddef>
#include <memory>
#include <span>

#include "common/status.h"
#include "qcow2/qcow2.h"

namespace vdisk::qcow2 {

class Decompressor {
 public:
  explicit Decompressor(ImageInfo::Compression compression);
  ~Decompressor();
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;

  // Decompresses `in` until `out` (one cluster) is full. Input left over after that is ignored
  // (it is the padding of the last sector, or the next cluster's data); input that ends before
  // `out` is full, or is not valid, is an InvalidArgument error.
  Status DecompressCluster(std::span<const std::byte> in, std::span<std::byte> out);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace vdisk::qcow2
