// Volume copy primitives: copying a raw disk image (a file or a block device) to a file or a
// device, as clones and snapshot restores need, keeping the copy as sparse as the source.
//
// The copy path walks the source's data ranges (SEEK_DATA/SEEK_HOLE), reads them on one thread
// while another thread writes, and never writes an all-zero 4 KiB block: on a file target such a
// block stays a hole; on a device target it is zeroed in bulk (BLKZEROOUT or a punched hole),
// since the device may hold old data there. Where the file system can share blocks (XFS with
// reflink=1, btrfs), a whole file is cloned in constant time instead (FICLONE).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"

namespace vdisk::storage {

enum class CopyMethod { kReflink, kCopy };

struct CopyOptions {
  // Regular-file targets: the file's final size, grown with ftruncate after the data is in. The
  // final size is never smaller than the source's: 0 (or any smaller value) means the source's
  // size. Ignored for device targets.
  int64_t target_size = 0;
  // The target is a device (a block device, or an existing regular file standing in for one): it
  // must exist, keeps its size, must be at least as large as the source (else Invalid naming both
  // sizes, before anything is written), and the source's holes and zero blocks read back as
  // zeros there. Bytes past the source's size are left alone. Without it the target is a regular
  // file, created or replaced (O_TRUNC) in full; it is removed again when the copy fails.
  bool target_is_device = false;
  // Try FICLONE first (regular file -> regular file target only); fall back to copying when the
  // file system refuses (EOPNOTSUPP, EXDEV, EINVAL).
  bool allow_reflink = true;
  // Fail (Invalid) instead of copying when the clone is refused: for snapshots, whose point is
  // to cost nothing.
  bool require_reflink = false;
  // Regular-file targets: allocate every block afterwards (fallocate).
  bool preallocate = false;
  // When set, the copy stops at the next chunk and returns a kCancelled error.
  const std::atomic<bool>* cancel = nullptr;
  // Bytes of the source handled so far (holes included) out of the source's size; called after
  // every chunk and once with done == total at the end.
  std::function<void(int64_t done, int64_t total)> progress;
};

struct CopyResult {
  CopyMethod method = CopyMethod::kCopy;
  int64_t source_size = 0;    // bytes (file size, or device size via BLKGETSIZE64)
  int64_t bytes_written = 0;  // data bytes really written (0 for a reflink)
};

// Copies the disk image `source` (regular file or block device) to `target`; fsyncs the target
// (and its directory when a file was created) before returning. Sparse: holes in the source
// (SEEK_DATA/SEEK_HOLE on files) and all-zero 4 KiB blocks are never written, so holes stay
// holes. Errors name the path and the system's reason.
Result<CopyResult> CopyImage(const std::string& source, const std::string& target,
                             const CopyOptions& options);

// Whether files under directory `dir` can share blocks (FICLONE works there), probed by cloning
// a small temporary file in `dir`. Not cached: the probe costs a few microseconds and a cache
// keyed by device could outlive a file system remounted with other features.
bool SupportsReflink(const std::string& dir);

}  // namespace vdisk::storage
