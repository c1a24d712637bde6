// Mounts: what a pvcTemplate storage pool needs from the host to turn a block volume into a
// directory (spec 9.20.2.2):
//
//   FilesystemOn(device)   blkid -p: the file system already on it, "" when it is blank
//   MakeXfs(device)        mkfs.xfs, only ever called on a blank device
//   MountVolume(device, path, type)   mount(8), which also sets up a loop device when the
//                                     "device" is a regular file standing in for one
//   UnmountVolume(path)    umount(8), which detaches such a loop device again
//   MountedAt(path)        the mount whose mount point is `path`, from /proc/self/mountinfo
//
// The tools run through posix_spawn with an argument vector (never a shell), with a time limit,
// and their output (bounded) becomes the error message. Device paths come from PersistentVolumes
// and are untrusted: they must be absolute, so that none can pass for an option.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace vdisk::storage {

struct ToolResult {
  int exit_code = 0;   // the tool's exit status; 128 + N when killed by signal N
  std::string output;  // stdout and stderr together, at most 64 KiB
};

// Runs a host tool, found in PATH or the sbin directories. Error only when it cannot be run
// (not installed, spawn failure) or exceeds `limit` (then it is killed).
Result<ToolResult> RunTool(const std::vector<std::string>& argv,
                           std::chrono::seconds limit = std::chrono::seconds(120));

// The TYPE blkid finds on `device` ("xfs", "ext4"), "" when the device holds no signature at
// all. A partition table or other non-file-system signature is Invalid: such a device is in
// use and is never formatted.
Result<std::string> FilesystemOn(const std::string& device);
Status MakeXfs(const std::string& device);

struct MountEntry {
  std::string source;  // e.g. /dev/loop3
  std::string mount_point;
  std::string fs_type;
};
// The topmost mount at exactly `path` (no symlinks resolved), if any.
std::optional<MountEntry> MountedAt(const std::string& path);

Status MountVolume(const std::string& device, const std::string& path, const std::string& fs_type);
// Unmounting a path that is not a mount point is OK.
Status UnmountVolume(const std::string& path);

// Whether two existing paths are on the same file system (same st_dev), e.g. a pool directory
// and "/". False when either cannot be stat'ed.
bool OnSameFilesystem(const std::string& a, const std::string& b);

// "a block device", "a regular file", "a directory", ... or "missing" for what is at `path`,
// following symlinks; used for clear messages and to decide whether a path can back a volume.
std::string DescribePath(const std::string& path);

}  // namespace vdisk::storage
