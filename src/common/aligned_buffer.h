// AlignedBuffer: heap memory whose start is aligned for direct I/O. O_DIRECT wants the memory,
// the file offset and the length aligned to the device's block; a buffer that starts on a page
// lets data inside it at block-aligned offsets go to the device without a copy.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>
#include <span>

namespace vdisk {

class AlignedBuffer {
 public:
  static constexpr size_t kAlignment = 4096;

  explicit AlignedBuffer(size_t size)
      : size_(size),
        data_(static_cast<std::byte*>(
            std::aligned_alloc(kAlignment, (size + kAlignment - 1) / kAlignment * kAlignment))) {
    if (data_ == nullptr && size != 0) throw std::bad_alloc();
  }

  std::span<std::byte> span() { return {data_.get(), size_}; }
  std::span<const std::byte> span() const { return {data_.get(), size_}; }
  size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(std::byte* p) const { std::free(p); }
  };
  size_t size_;
  std::unique_ptr<std::byte, Free> data_;
};

}  // namespace vdisk
