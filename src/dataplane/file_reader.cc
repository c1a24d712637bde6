// Local file readers (see file_reader.h).
#include "dataplane/file_reader.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vdisk::dataplane {
namespace {

Result<int> OpenReadOnly(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open " + path, errno);
  return fd;
}

}  // namespace

Status ErrnoStatus(const std::string& what, int error) {
  std::string message = what + ": " + std::strerror(error);
  if (error == ENOENT) return NotFound(std::move(message));
  return Internal(std::move(message));
}

Result<FileSize> SizeOfOpenFile(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return ErrnoStatus("stat " + path, errno);
  if (!S_ISBLK(st.st_mode)) return FileSize{static_cast<uint64_t>(st.st_size), false};
  uint64_t bytes = 0;
  if (::ioctl(fd, BLKGETSIZE64, &bytes) != 0) return ErrnoStatus("size of " + path, errno);
  return FileSize{bytes, true};
}

Result<std::unique_ptr<FileRandomAccessReader>> OpenFileReader(const std::string& path) {
  VDISK_ASSIGN_OR_RETURN(int fd, OpenReadOnly(path));
  Result<FileSize> size = SizeOfOpenFile(fd, path);
  if (!size.ok()) {
    ::close(fd);
    return size.status();
  }
  return std::unique_ptr<FileRandomAccessReader>(new FileRandomAccessReader(fd, size->bytes));
}

FileRandomAccessReader::~FileRandomAccessReader() { ::close(fd_); }

Status FileRandomAccessReader::ReadAt(uint64_t offset, std::span<std::byte> out) {
  if (offset > size_ || out.size() > size_ - offset) {
    return InvalidArgument("read of " + std::to_string(out.size()) + " bytes at offset " +
                           std::to_string(offset) + " is past the end of the file (" +
                           std::to_string(size_) + " bytes)");
  }
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n =
        ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("read", errno);
    if (n == 0) return InvalidArgument("file shrank while being read");
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Result<std::unique_ptr<FileStreamReader>> OpenFileStream(const std::string& path) {
  VDISK_ASSIGN_OR_RETURN(int fd, OpenReadOnly(path));
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return std::unique_ptr<FileStreamReader>(new FileStreamReader(fd));
}

FileStreamReader::~FileStreamReader() { ::close(fd_); }

Result<size_t> FileStreamReader::Read(std::span<std::byte> out) {
  while (true) {
    ssize_t n = ::read(fd_, out.data(), out.size());
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return ErrnoStatus("read", errno);
  }
}

}  // namespace vdisk::dataplane
