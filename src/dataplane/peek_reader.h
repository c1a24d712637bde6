// PeekReader: look at the first bytes of a stream, then read the stream from byte 0 as if
// nothing had been looked at. The import pipeline uses it to detect a format from its magic
// bytes before choosing the decoder that consumes the very same bytes.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "common/io.h"

namespace vdisk::dataplane {

class PeekReader : public io::Reader {
 public:
  // `in` must outlive this reader.
  explicit PeekReader(io::Reader& in) : in_(in) {}

  // Reads (and keeps for replay) the first `size` bytes of the stream, or all of it when it is
  // shorter. Peeking again returns the same head, extended if a larger size is asked for; it
  // must not be called once Read has returned bytes.
  Result<std::span<const std::byte>> Peek(size_t size);

  // Replays the peeked head first, then continues with the underlying stream.
  Result<size_t> Read(std::span<std::byte> out) override;

 private:
  io::Reader& in_;
  std::vector<std::byte> head_;
  size_t replayed_ = 0;    // bytes of head_ already handed out by Read
  bool reading_ = false;   // Read has been called: no more peeking
  bool in_ended_ = false;  // `in_` returned end of stream while peeking
};

}  // namespace vdisk::dataplane
