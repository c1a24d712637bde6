// Fd: a file descriptor closed when it goes out of scope; ErrnoError: a system call's failure
// as a Status naming what was done, to which path, and the system's reason; PwriteFully: a
// positioned write of a whole buffer.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <utility>

#include "common/status.h"

namespace vdisk {

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// "<what> <path>: <strerror>"; NotFound for ENOENT, else Internal.
inline Status ErrnoError(const std::string& what, const std::string& path, int err) {
  std::string message = what + " " + path + ": " + std::strerror(err);
  return err == ENOENT ? NotFound(std::move(message)) : Internal(std::move(message));
}

// Writes all of `data` at `offset`, going on after short writes and EINTR. Returns 0, or the
// errno of the failure (EIO for a write that made no progress), for the caller to word.
inline int PwriteFully(int fd, std::span<const std::byte> data, uint64_t offset) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return EIO;
    offset += static_cast<uint64_t>(n);
    data = data.subspan(static_cast<size_t>(n));
  }
  return 0;
}

}  // namespace vdisk
