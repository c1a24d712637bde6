// Test fixture shared by the storage tests: a real XFS file system with reflinks, on a
// loop-mounted image file, for the code paths only such a file system takes.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace vdisk::storage {

// An XFS file system with reflink=1 on a loop-mounted image file under `base`, removed again
// by the destructor. Mounting needs root; `skip_reason()` says why it is unavailable.
class XfsMount {
 public:
  explicit XfsMount(const std::string& base) : image_(base + "/xfs.img"), dir_(base + "/xfs") {
    if (::geteuid() != 0) {
      skip_reason_ = "mounting a loop device needs root";
      return;
    }
    if (std::system("command -v mkfs.xfs >/dev/null 2>&1") != 0) {
      skip_reason_ = "mkfs.xfs is not installed";
      return;
    }
    std::filesystem::create_directories(dir_);
    std::ofstream(image_).close();
    std::filesystem::resize_file(image_, 512 << 20);  // XFS wants at least 300 MiB
    mounted_ =
        Run("mkfs.xfs -q -m reflink=1 " + image_) && Run("mount -o loop " + image_ + " " + dir_);
  }
  ~XfsMount() {
    if (mounted_) Run("umount " + dir_);
    std::error_code ec;
    std::filesystem::remove(image_, ec);
  }
  XfsMount(const XfsMount&) = delete;
  XfsMount& operator=(const XfsMount&) = delete;

  const std::string& skip_reason() const { return skip_reason_; }
  bool mounted() const { return mounted_; }
  const std::string& dir() const { return dir_; }

 private:
  static bool Run(const std::string& command) {
    int status = std::system(command.c_str());
    EXPECT_EQ(status, 0) << command;
    return status == 0;
  }

  std::string image_, dir_, skip_reason_;
  bool mounted_ = false;
};

}  // namespace vdisk::storage
