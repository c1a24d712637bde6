// Local files as data plane sources: a sequential io::Reader and an io::RandomAccessReader over
// a regular file or block device. Used for images already on the node (a scratch file, a
// source volume) and by tests and benchmarks to stand in for an HTTP source.
#pragma once

#include <memory>
#include <string>

#include "common/io.h"
#include "common/status.h"

namespace vdisk::dataplane {

// Reads a file by offset with pread; safe for concurrent ReadAt calls.
class FileRandomAccessReader : public io::RandomAccessReader {
 public:
  ~FileRandomAccessReader() override;
  uint64_t size() const override { return size_; }
  Status ReadAt(uint64_t offset, std::span<std::byte> out) override;

 private:
  friend Result<std::unique_ptr<FileRandomAccessReader>> OpenFileReader(const std::string& path);
  FileRandomAccessReader(int fd, uint64_t size) : fd_(fd), size_(size) {}
  int fd_;
  uint64_t size_;
};

// Reads a file front to back.
class FileStreamReader : public io::Reader {
 public:
  ~FileStreamReader() override;
  Result<size_t> Read(std::span<std::byte> out) override;

 private:
  friend Result<std::unique_ptr<FileStreamReader>> OpenFileStream(const std::string& path);
  explicit FileStreamReader(int fd) : fd_(fd) {}
  int fd_;
};

// Opens `path` (a regular file or a block device) read-only. NotFound when it does not exist.
Result<std::unique_ptr<FileRandomAccessReader>> OpenFileReader(const std::string& path);
Result<std::unique_ptr<FileStreamReader>> OpenFileStream(const std::string& path);

// An errno as a Status: NotFound for ENOENT, Internal otherwise, "<what>: <strerror>".
Status ErrnoStatus(const std::string& what, int error);

// The size of an open regular file (st_size) or block device (BLKGETSIZE64), and whether it is
// a block device. `path` only names it in errors.
struct FileSize {
  uint64_t bytes = 0;
  bool block_device = false;
};
Result<FileSize> SizeOfOpenFile(int fd, const std::string& path);

}  // namespace vdisk::dataplane
