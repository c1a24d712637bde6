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

#include "common/aligned_buffer.h"
#include "dataplane/file_reader.h"

namespace vdisk::dataplane {
namespace {

// Zero detection granularity: the page and filesystem block size, so a skipped block is a hole.
constexpr size_t kZeroBlockSize = 4096;
alignas(64) constexpr std::byte kZeroBlock[kZeroBlockSize]{};

// Direct I/O: aligned runs at least this long bypass the page cache; shorter ones and unaligned
// edges are written through it (a direct write of a few KiB costs a device round trip).
constexpr size_t kDirectAlignment = AlignedBuffer::kAlignment;
constexpr size_t kMinDirectWrite = 64 * 1024;
constexpr size_t kBounceBytes = 4 << 20;

// The calling thread's aligned buffer that direct writes of unaligned memory are copied into
// (writers may call WriteAt from several threads at once).
std::span<std::byte> BounceBuffer() {
  thread_local AlignedBuffer buffer(kBounceBytes);
  return buffer.span();
}

bool IsDirectAligned(const std::byte* p) {
  return reinterpret_cast<uintptr_t>(p) % kDirectAlignment == 0;
}

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
    writer->OpenDirect(options.path);
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
  writer->OpenDirect(partial);
  if (::ftruncate(fd, static_cast<off_t>(options.size)) != 0) {
    return ErrnoStatus("resize " + partial, errno);
  }
  if (options.preallocate && options.size > 0) {
    int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(options.size));
    if (rc != 0) return ErrnoStatus("preallocate " + partial, rc);
  }
  return writer;
}

void FileImageWriter::OpenDirect(const std::string& path) {
  // Not every file system takes O_DIRECT (tmpfs does not): then everything is buffered.
  direct_fd_ = ::open(path.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);
}

FileImageWriter::~FileImageWriter() {
  if (direct_fd_ >= 0) ::close(direct_fd_);
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
  // The aligned middle of a long run goes straight to the device; its edges are buffered.
  const uint64_t end = offset + data.size();
  const uint64_t direct_begin =
      (offset + kDirectAlignment - 1) / kDirectAlignment * kDirectAlignment;
  const uint64_t direct_end = end / kDirectAlignment * kDirectAlignment;
  if (direct_fd_ < 0 || direct_end <= direct_begin || direct_end - direct_begin < kMinDirectWrite) {
    return PwriteAll(fd_, offset, data);
  }
  VDISK_RETURN_IF_ERROR(PwriteAll(fd_, offset, data.first(direct_begin - offset)));
  // A device or file system that refuses a direct write still takes a buffered one.
  auto write_direct = [&](uint64_t at, std::span<const std::byte> aligned) -> Status {
    if (PwriteAll(direct_fd_, at, aligned).ok()) return Status::Ok();
    return PwriteAll(fd_, at, data.subspan(at - offset, aligned.size()));
  };
  std::span<const std::byte> middle =
      data.subspan(direct_begin - offset, direct_end - direct_begin);
  if (IsDirectAligned(middle.data())) {
    VDISK_RETURN_IF_ERROR(write_direct(direct_begin, middle));  // straight from the caller
  } else {
    std::span<std::byte> bounce = BounceBuffer();
    for (uint64_t at = direct_begin; at < direct_end;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(bounce.size(), direct_end - at));
      std::memcpy(bounce.data(), data.data() + (at - offset), n);
      VDISK_RETURN_IF_ERROR(write_direct(at, bounce.first(n)));
      at += n;
    }
  }
  return PwriteAll(fd_, direct_end, data.subspan(direct_end - offset));
}

Status FileImageWriter::PwriteAll(int fd, uint64_t offset, std::span<const std::byte> data) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("write " + options_.path, errno);
    if (n == 0) return Internal("write " + options_.path + ": no progress");
    offset += static_cast<uint64_t>(n);
    data = data.subspan(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status FileImageWriter::Finish() {
  if (::fsync(fd_) != 0) return ErrnoStatus("fsync " + options_.path, errno);
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
