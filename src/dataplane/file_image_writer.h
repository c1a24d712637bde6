// FileImageWriter: the sink of an import, writing a disk's guest-visible bytes into a volume.
//
// Two kinds of target:
//   - Filesystem volume: a regular file (disk.img). The image is built in "<path>.partial",
//     created sparse at the capacity, and only Commit() renames it to <path> (after fsync, and
//     with an fsync of the directory), so a crash or a failed import never leaves a <path> that
//     looks complete. Destroying the writer without Commit removes the partial file.
//   - Block volume: a block device, or a regular file standing in for one, written in place.
//     It is zeroed when the writer is created (BLKZEROOUT / punching holes), so that skipped
//     zero blocks read as zeros as on a fresh file.
//
// All-zero 4 KiB blocks are never written, which keeps files sparse (and thin-provisioned
// devices thin); the rest is written with pwrite, so concurrent WriteAt calls on disjoint ranges
// are safe.
//
// Writes go through the page cache and are pushed out in 64 MiB windows rather than all at the
// final fsync: once a window's worth is written, its writeback is started (sync_file_range,
// which does not wait), and the window before it is waited for and dropped from the cache
// (POSIX_FADV_DONTNEED). So the kernel keeps the device deeply queued with large requests while
// the import goes on, the writer's share of the page cache stays at about two windows however
// large the image, and the pages it writes into are ones it has written before.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "common/io.h"
#include "common/status.h"

namespace vdisk::dataplane {

// True when every byte of `data` is zero.
bool IsAllZero(std::span<const std::byte> data);

class FileImageWriter : public io::ImageWriter {
 public:
  struct Options {
    std::string path;
    // Filesystem: the capacity of the image file. Block: an upper bound on the capacity, which
    // is the device's (or stand-in file's) size; 0 means no bound.
    uint64_t size = 0;
    // Allocate every block up front (fallocate) instead of leaving zeros sparse.
    bool preallocate = false;
    bool block = false;
  };

  // Filesystem: removes a stale <path> (a failed re-import must not leave the old image looking
  // current), then creates <path>.partial at `size` bytes. Block: opens `path` (which must exist)
  // and zeroes it.
  static Result<std::unique_ptr<FileImageWriter>> Create(const Options& options);

  // The capacity a writer for `options` would have, found without touching the target: `size`
  // for a Filesystem target, the device or file size (bounded by `size`) for a Block target.
  static Result<uint64_t> CapacityOf(const Options& options);

  // "<path>.partial".
  static std::string PartialPath(const std::string& path);

  // Without Commit, removes the partial file (Filesystem targets).
  ~FileImageWriter() override;

  uint64_t capacity() const override { return capacity_; }
  Status WriteAt(uint64_t offset, std::span<const std::byte> data) override;
  // fsync.
  Status Finish() override;
  // Finish, then (Filesystem) rename <path>.partial to <path> and fsync the directory. After
  // Commit the image is durable and complete; the writer accepts no more writes.
  Status Commit();

 private:
  FileImageWriter(Options options, int fd, uint64_t capacity)
      : options_(std::move(options)), fd_(fd), capacity_(capacity) {}
  // Writes one run of data, then PushWriteback.
  Status WriteFully(uint64_t offset, std::span<const std::byte> data);
  // Counts [offset, offset + size) as written, and pushes a window out once there is one.
  void PushWriteback(uint64_t offset, uint64_t size);

  Options options_;
  int fd_;
  uint64_t capacity_;
  bool committed_ = false;

  struct Range {
    uint64_t begin = UINT64_MAX;
    uint64_t end = 0;
  };
  std::mutex writeback_mu_;
  Range unpushed_;  // spans what was written since the last push
  uint64_t unpushed_bytes_ = 0;
  Range in_flight_;  // pushed last time: waited for and dropped at the next push
};

}  // namespace vdisk::dataplane
