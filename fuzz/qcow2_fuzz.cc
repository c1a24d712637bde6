// libFuzzer target for the qcow2 reader: Probe, Convert and ConvertStream over an in-memory
// image into bounded in-memory targets. Any write outside the target, any crash or sanitizer
// report, and any difference between what Convert and ConvertStream produce when both succeed
// is a finding.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "qcow2/qcow2.h"

namespace {

using namespace vdisk;

// Images bigger than this are skipped so that the fuzzer does not run out of memory.
constexpr uint64_t kMaxVirtualSize = uint64_t{8} << 20;

class MemoryFile : public io::RandomAccessReader {
 public:
  MemoryFile(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint64_t size() const override { return size_; }
  Status ReadAt(uint64_t offset, std::span<std::byte> out) override {
    if (offset > size_ || out.size() > size_ - offset) return InvalidArgument("past the end");
    if (!out.empty()) std::memcpy(out.data(), data_ + offset, out.size());
    return Status::Ok();
  }

 private:
  const uint8_t* data_;
  size_t size_;
};

// Hands the image out in small chunks of varying size, like a decompressor.
class MemoryStream : public io::Reader {
 public:
  MemoryStream(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  Result<size_t> Read(std::span<std::byte> out) override {
    size_t n = std::min({out.size(), size_ - pos_, size_t{1} + (turn_++ * 7919) % 70000});
    if (n > 0) std::memcpy(out.data(), data_ + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  size_t turn_ = 0;
};

class MemoryImage : public io::ImageWriter {
 public:
  explicit MemoryImage(uint64_t capacity) : bytes_(capacity) {}
  uint64_t capacity() const override { return bytes_.size(); }
  Status WriteAt(uint64_t offset, std::span<const std::byte> data) override {
    // The reader promises never to write outside the target: breaking that is a bug.
    if (offset > bytes_.size() || data.size() > bytes_.size() - offset) std::abort();
    if (!data.empty()) std::memcpy(bytes_.data() + offset, data.data(), data.size());
    return Status::Ok();
  }
  Status Finish() override { return Status::Ok(); }
  const std::vector<std::byte>& bytes() const { return bytes_; }

 private:
  std::vector<std::byte> bytes_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  MemoryFile file(data, size);
  Result<qcow2::ImageInfo> info = qcow2::Probe(file);
  if (!info.ok() || info->virtual_size > kMaxVirtualSize) return 0;

  qcow2::ConvertOptions options;
  options.threads = 2;
  MemoryImage converted(info->virtual_size);
  Status convert_status = qcow2::Convert(file, converted, options);

  MemoryStream stream(data, size);
  MemoryImage streamed(info->virtual_size);
  const char* tmp = std::getenv("TMPDIR");
  bool used_scratch = false;
  Status stream_status =
      qcow2::ConvertStream(stream, streamed, tmp ? tmp : "/tmp", options, &used_scratch);

  if (convert_status.ok() && stream_status.ok() && converted.bytes() != streamed.bytes()) {
    std::abort();  // the two readers disagree about a valid image
  }
  return 0;
}
