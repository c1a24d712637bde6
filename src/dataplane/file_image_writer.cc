// FileImageWriter (see file_image_writer.h).
#include "dataplane/file_image_writer.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "common/fd.h"
#include "dataplane/file_reader.h"

namespace vdisk::dataplane {
namespace {

// Zero detection granularity: the page and filesystem block size, so a skipped block is a hole.
constexpr size_t kZeroBlockSize = 4096;
alignas(64) constexpr std::byte kZeroBlock[kZeroBlockSize]{};

// Writeback: after this many bytes are written, their writeback is started and the window
// written before them is waited for and dropped from the page cache (see the header).
constexpr uint64_t kWritebackWindow = 64 << 20;

std::string DirectoryOf(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

Status FsyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open " + dir, errno);
  Status status = ::fsync(fd) == 0 ? Status::Ok() : ErrnoStatus("fsync " + dir, errno);
  ::close(fd);
  return status;
}

// Makes [0, size) of a Block target read as zeros; with `allocate`, also allocates it.
Status ZeroBlockTarget(int fd, const std::string& path, uint64_t size, bool block_device,
                       bool allocate) {
  if (size == 0) return Status::Ok();
  if (block_device) {
    uint64_t range[2] = {0, size};
    if (::ioctl(fd, BLKZEROOUT, range) != 0) return ErrnoStatus("zeroing " + path, errno);
    return Status::Ok();
  }
  int mode = allocate ? FALLOC_FL_ZERO_RANGE : (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
  if (::fallocate(fd, mode, 0, static_cast<off_t>(size)) != 0) {
    return ErrnoStatus("zeroing " + path, errno);
  }
  return Status::Ok();
}

}  // namespace

bool IsAllZero(std::span<const std::byte> data) {
  // memcmp against a zero block runs at memory speed and stops at the first non-zero byte,
  // which for real data is almost always within the first few bytes.
  while (data.size() >= kZeroBlockSize) {
    if (std::memcmp(data.data(), kZeroBlock, kZeroBlockSize) != 0) return false;
    data = data.subspan(kZeroBlockSize);
  }
  return data.empty() || std::memcmp(data.data(), kZeroBlock, data.size()) == 0;
}

std::string FileImageWriter::PartialPath(const std::string& path) { return path + ".partial"; }

Result<uint64_t> FileImageWriter::CapacityOf(const Options& options) {
  if (!options.block) return options.size;
  int fd = ::open(options.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open " + options.path, errno);
  Result<FileSize> size = SizeOfOpenFile(fd, options.path);
  ::close(fd);
  if (!size.ok()) return size.status();
  uint64_t capacity = options.size != 0 ? std::min(options.size, size->bytes) : size->bytes;
  // A device is zeroed and written in whole sectors.
  if (size->block_device) capacity &= ~uint64_t{511};
  return capacity;
}

Result<std::unique_ptr<FileImageWriter>> FileImageWriter::Create(const Options& options) {
  if (options.block) {
    VDISK_ASSIGN_OR_RETURN(uint64_t capacity, CapacityOf(options));
    int fd = ::open(options.path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open " + options.path, errno);
    std::unique_ptr<FileImageWriter> writer(new FileImageWriter(options, fd, capacity));
    VDISK_ASSIGN_OR_RETURN(FileSize size, SizeOfOpenFile(fd, options.path));
    VDISK_RETURN_IF_ERROR(
        ZeroBlockTarget(fd, options.path, capacity, size.block_device, options.preallocate));
    return writer;
  }

  if (::unlink(options.path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus("remove " + options.path, errno);
  }
  const std::string partial = PartialPath(options.path);
  int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("create " + partial, errno);
  // From here on the writer owns the partial file and removes it on any failure.
  std::unique_ptr<FileImageWriter> writer(new FileImageWriter(options, fd, options.size));
  if (::ftruncate(fd, static_cast<off_t>(options.size)) != 0) {
    return ErrnoStatus("resize " + partial, errno);
  }
  if (options.preallocate && options.size > 0) {
    int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(options.size));
    if (rc != 0) return ErrnoStatus("preallocate " + partial, rc);
  }
  return writer;
}

FileImageWriter::~FileImageWriter() {
  ::close(fd_);
  if (!committed_ && !options_.block) ::unlink(PartialPath(options_.path).c_str());
}

Status FileImageWriter::WriteAt(uint64_t offset, std::span<const std::byte> data) {
  if (committed_) return Internal("write to a committed image");
  if (offset > capacity_ || data.size() > capacity_ - offset) {
    return InvalidArgument("write of " + std::to_string(data.size()) + " bytes at offset " +
                           std::to_string(offset) + " is past the end of the volume (" +
                           std::to_string(capacity_) + " bytes)");
  }
  // Write each run of non-zero blocks with one pwrite; leave zero blocks as holes.
  size_t run_start = 0;
  bool in_run = false;
  for (size_t pos = 0; pos < data.size(); pos += kZeroBlockSize) {
    const size_t len = std::min(kZeroBlockSize, data.size() - pos);
    const bool zero = IsAllZero(data.subspan(pos, len));
    if (!zero && !in_run) {
      run_start = pos;
      in_run = true;
    } else if (zero && in_run) {
      VDISK_RETURN_IF_ERROR(
          WriteFully(offset + run_start, data.subspan(run_start, pos - run_start)));
      in_run = false;
    }
  }
  if (in_run) VDISK_RETURN_IF_ERROR(WriteFully(offset + run_start, data.subspan(run_start)));
  return Status::Ok();
}

Status FileImageWriter::WriteFully(uint64_t offset, std::span<const std::byte> data) {
  if (int err = PwriteFully(fd_, data, offset); err != 0) {
    return ErrnoStatus("write " + options_.path, err);
  }
  PushWriteback(offset, data.size());
  return Status::Ok();
}

void FileImageWriter::PushWriteback(uint64_t offset, uint64_t size) {
  std::lock_guard lock(writeback_mu_);
  unpushed_.begin = std::min(unpushed_.begin, offset);
  unpushed_.end = std::max(unpushed_.end, offset + size);
  unpushed_bytes_ += size;
  if (unpushed_bytes_ < kWritebackWindow) return;
  // Both calls are hints to the kernel: their failures are left to the final fsync, which is
  // what makes the image durable and reports any write error.
  ::sync_file_range(fd_, static_cast<off_t>(unpushed_.begin),
                    static_cast<off_t>(unpushed_.end - unpushed_.begin), SYNC_FILE_RANGE_WRITE);
  if (in_flight_.end > in_flight_.begin) {
    const off_t begin = static_cast<off_t>(in_flight_.begin);
    const off_t length = static_cast<off_t>(in_flight_.end - in_flight_.begin);
    ::sync_file_range(
        fd_, begin, length,
        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
    ::posix_fadvise(fd_, begin, length, POSIX_FADV_DONTNEED);
  }
  in_flight_ = unpushed_;
  unpushed_ = {};
  unpushed_bytes_ = 0;
}

Status FileImageWriter::Finish() {
  if (::fsync(fd_) != 0) return ErrnoStatus("fsync " + options_.path, errno);
  ::posix_fadvise(fd_, 0, 0, POSIX_FADV_DONTNEED);  // written out: nothing here needs the pages
  return Status::Ok();
}

Status FileImageWriter::Commit() {
  if (committed_) return Status::Ok();
  VDISK_RETURN_IF_ERROR(Finish());
  if (!options_.block) {
    const std::string partial = PartialPath(options_.path);
    if (::rename(partial.c_str(), options_.path.c_str()) != 0) {
      return ErrnoStatus("rename " + partial, errno);
    }
    committed_ = true;
    return FsyncDirectory(DirectoryOf(options_.path));
  }
  committed_ = true;
  return Status::Ok();
}

}  // namespace vdisk::dataplane
