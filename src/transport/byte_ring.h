// A bounded single-producer single-consumer byte buffer between a transfer thread and a reader.
// Bytes are copied in and out without holding the lock; the lock only guards the positions.
// Wake-ups are batched: a waiting reader is woken once a quarter of the ring (at most 1 MiB) is
// filled or the stream ends, a waiting writer once that much room is free, and either looks again
// every 10 ms regardless. Waking the other thread for every few KiB costs more than moving them.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <stop_token>

#include "common/status.h"

namespace vdisk::transport {

class ByteRing {
 public:
  explicit ByteRing(size_t capacity);

  // Producer: copies all of `data` in, waiting for room (back-pressure). False when `stop` was
  // requested first.
  bool Write(std::span<const std::byte> data, const std::stop_token& stop);
  // Producer: nothing more will be written. OK marks the end of the stream; an error is returned
  // by Read once the bytes before it are drained.
  void Finish(Status status);

  // Consumer: waits for bytes and copies up to out.size() of them. 0 at the end of the stream;
  // the producer's error after the bytes written before it; Cancelled() when `stop` is requested.
  Result<size_t> Read(std::span<std::byte> out, const std::stop_token& stop);

 private:
  const size_t capacity_;
  const size_t batch_;  // bytes worth waking the other side for
  std::unique_ptr<std::byte[]> buffer_;
  std::mutex mutex_;
  std::condition_variable_any readable_;
  std::condition_variable_any writable_;
  // Total bytes written and read: the ring holds written_ - read_ bytes.
  uint64_t written_ = 0;
  uint64_t read_ = 0;
  bool finished_ = false;
  bool reader_waiting_ = false;
  bool writer_waiting_ = false;
  Status final_status_;
};

}  // namespace vdisk::transport
