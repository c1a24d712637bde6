// HostPathPool: a hostpath storage pool, i.e. a directory whose volumes are subdirectories.
//
//   <path>/csi/<pv-name>/            one volume (a Filesystem PV's directory)
//   <path>/csi/<pv-name>/disk.img    the VM disk: sparse raw unless preallocated
//   <path>/snapshots/<snapshot>/disk.img
//                                    a read-only snapshot: a reflink of a volume's disk.img
//
// Capacity comes from statfs. The pool never over-subscribes: space a sparse image could still
// grow into is counted as taken, so
//
//   free = f_bavail * f_bsize  -  sum over <path>/csi/*/disk.img of (apparent size - allocated)
//
// and a new or larger image is refused when its growth exceeds `free`. Volumes that have no
// image yet reserve nothing (an empty directory costs nothing to hand out). Snapshots never grow,
// so they reserve nothing either; the blocks they keep alive show in f_bavail.
//
// Every write is made durable: the image is fsync'ed, and so is each directory whose entries
// changed. Thread safety: methods may be called concurrently for different volumes; callers
// serialise work on one volume (one controller worker does).
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace vdisk::storage {

struct PoolCapacity {
  int64_t total = 0;      // f_blocks * f_bsize
  int64_t available = 0;  // f_bavail * f_bsize: what an unprivileged writer may still use
  int64_t reserved = 0;   // growth still possible for the sparse images in the pool
  int64_t free = 0;       // available - reserved, never negative: what new requests may take
};

class HostPathPool {
 public:
  // Opens the pool at `path`, creating the directory (and parents) if missing. A path that
  // exists and is not a directory (e.g. a regular file) is an Invalid error naming the path.
  static Result<HostPathPool> Open(std::string path);

  const std::string& path() const { return path_; }
  Result<PoolCapacity> Capacity() const;

  std::string VolumeDir(const std::string& volume) const;
  std::string ImagePath(const std::string& volume) const;

  // Creates <path>/csi/<volume>/ if missing, after checking that `capacity` bytes fit in the
  // pool's free space (a provisioner promise; nothing is allocated yet).
  Status CreateVolume(const std::string& volume, int64_t capacity);
  // Creates disk.img of `size` bytes: sparse (ftruncate) or, with `preallocate`, every block
  // allocated (fallocate, else zeros written). An existing image of exactly `size` is kept
  // (idempotent); one of another size is an error.
  Status CreateImage(const std::string& volume, int64_t size, bool preallocate);
  // Grows disk.img to `size`; never shrinks (a smaller size leaves it alone and is OK).
  Status GrowImage(const std::string& volume, int64_t size, bool preallocate);
  // Removes the volume's directory and everything in it; a missing volume is OK.
  Status DeleteVolume(const std::string& volume);
  bool VolumeExists(const std::string& volume) const;
  bool ImageExists(const std::string& volume) const;
  // OK when `growth` more bytes fit in the pool's free space; else Invalid, saying how much is
  // free and why.
  Status CheckFits(int64_t growth) const;

  // Whether the pool's file system can share blocks between files, which snapshots need.
  bool SupportsReflink() const;
  std::string SnapshotPath(const std::string& snapshot) const;  // .../snapshots/<snapshot>/disk.img
  // Reflinks the volume's disk.img into SnapshotPath(snapshot) (constant time, no data copied),
  // durable with its directories; returns the snapshot's size in bytes. Invalid, naming the pool,
  // when its file system cannot reflink. Idempotent: an existing snapshot of that name is kept
  // and its size returned. The snapshot appears whole or not at all.
  Result<int64_t> CreateSnapshot(const std::string& volume, const std::string& snapshot);
  // Removes the snapshot's directory; a missing snapshot is OK.
  Status DeleteSnapshot(const std::string& snapshot);
  bool SnapshotExists(const std::string& snapshot) const;

 private:
  explicit HostPathPool(std::string path) : path_(std::move(path)) {}
  std::string SnapshotDir(const std::string& snapshot) const;

  std::string path_;
};

// Creates (or, when it already has exactly `size` bytes, keeps) a raw image file outside any
// pool, e.g. in a static local PV's directory; refuses a size the file system cannot hold.
Status WriteImageFile(const std::string& file, int64_t size, bool preallocate);

// Bytes a file occupies on disk (st_blocks * 512), and its apparent size; -1 when missing.
int64_t AllocatedBytes(const std::string& file);
int64_t ApparentSize(const std::string& file);

}  // namespace vdisk::storage
