// The stream buffer between the HTTP transfer thread and Reader::Read.
#include "transport/byte_ring.h"

#include <algorithm>
#include <cstring>

#include "transport/http_error.h"

namespace vdisk::transport {

namespace {

// A side that found nothing to do looks again this often even without a wake-up, so a stream
// trickling in less than a batch at a time still flows.
constexpr auto kRecheck = std::chrono::milliseconds(10);

}  // namespace

ByteRing::ByteRing(size_t capacity)
    : capacity_(capacity),
      batch_(std::max<size_t>(1, std::min<size_t>(capacity / 4, 1 << 20))),
      buffer_(std::make_unique<std::byte[]>(capacity)) {}

bool ByteRing::Write(std::span<const std::byte> data, const std::stop_token& stop) {
  while (!data.empty()) {
    size_t position = 0;
    size_t room = 0;
    {
      std::unique_lock lock(mutex_);
      while (written_ - read_ == capacity_) {
        writer_waiting_ = true;
        writable_.wait_for(lock, stop, kRecheck,
                           [&] { return capacity_ - (written_ - read_) >= batch_; });
        writer_waiting_ = false;
        if (stop.stop_requested()) return false;
      }
      position = written_ % capacity_;
      room = capacity_ - (written_ - read_);
    }
    // Only the producer writes to the free part, so the copy needs no lock.
    size_t chunk = std::min({data.size(), room, capacity_ - position});
    std::memcpy(buffer_.get() + position, data.data(), chunk);
    data = data.subspan(chunk);
    bool wake = false;
    {
      std::lock_guard lock(mutex_);
      written_ += chunk;
      wake = reader_waiting_ && written_ - read_ >= batch_;
    }
    if (wake) readable_.notify_one();
  }
  return true;
}

void ByteRing::Finish(Status status) {
  {
    std::lock_guard lock(mutex_);
    finished_ = true;
    final_status_ = std::move(status);
  }
  readable_.notify_one();
}

Result<size_t> ByteRing::Read(std::span<std::byte> out, const std::stop_token& stop) {
  if (out.empty()) return InvalidArgument("stream read into an empty buffer");
  size_t position = 0;
  size_t available = 0;
  {
    std::unique_lock lock(mutex_);
    while (written_ == read_ && !finished_) {
      reader_waiting_ = true;
      readable_.wait_for(lock, stop, kRecheck,
                         [&] { return written_ - read_ >= batch_ || finished_; });
      reader_waiting_ = false;
      if (stop.stop_requested()) return Cancelled();
    }
    if (written_ == read_) {
      if (!final_status_.ok()) return final_status_;
      return size_t{0};
    }
    position = read_ % capacity_;
    available = written_ - read_;
  }
  // Only the consumer reads the filled part, so the copy needs no lock. It may wrap around.
  size_t chunk = std::min(out.size(), available);
  size_t before_wrap = std::min(chunk, capacity_ - position);
  std::memcpy(out.data(), buffer_.get() + position, before_wrap);
  std::memcpy(out.data() + before_wrap, buffer_.get(), chunk - before_wrap);
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    read_ += chunk;
    wake = writer_waiting_ && capacity_ - (written_ - read_) >= batch_;
  }
  if (wake) writable_.notify_one();
  return chunk;
}

}  // namespace vdisk::transport
