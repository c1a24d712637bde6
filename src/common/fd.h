// Fd: a file descriptor closed when it goes out of scope; ErrnoError: a system call's failure
// as a Status naming what was done, to which path, and the system's reason.
#pragma once

#include <unistd.h>

#include <cstring>
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

}  // namespace vdisk
