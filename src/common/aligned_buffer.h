// AlignedBuffer: uninitialized heap memory that starts on a page, for the data plane's copy
// buffers: a std::vector would zero megabytes that are about to be overwritten.
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
