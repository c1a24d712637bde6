#include "storage/hostpath_pool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <system_error>
#include <vector>

#include "common/fd.h"
#include "storage/volume_copy.h"

namespace vdisk::storage {
namespace {

namespace fs = std::filesystem;

constexpr const char* kImageName = "disk.img";
// Snapshots live beside csi/, never in it: whatever lists csi/ sees volumes only.
constexpr const char* kSnapshotsDir = "snapshots";

// Makes a directory's entries durable (a new or removed child survives a crash).
Status SyncDir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoError("opening directory", dir, errno);
  if (::fsync(fd.get()) != 0) return ErrnoError("syncing directory", dir, errno);
  return Status::Ok();
}

Status MakeDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0) return SyncDir(fs::path(dir).parent_path().string());
  if (errno != EEXIST) return ErrnoError("creating directory", dir, errno);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return ErrnoError("checking", dir, errno);
  if (!S_ISDIR(st.st_mode)) return Invalid(dir + " exists and is not a directory");
  return Status::Ok();
}

// Allocates every block of [from, to): fallocate where the file system has it, else zeros.
Status Preallocate(int fd, const std::string& file, int64_t from, int64_t to) {
  if (to <= from) return Status::Ok();
  if (::posix_fallocate(fd, from, to - from) == 0) return Status::Ok();
  // No fallocate here: write zeros, but only into the holes, never over data.
  std::vector<char> zeros(1 << 20, 0);
  for (int64_t offset = from; offset < to;) {
    off_t hole = ::lseek(fd, offset, SEEK_HOLE);
    if (hole < 0 || hole >= to) break;
    off_t data = ::lseek(fd, hole, SEEK_DATA);
    int64_t hole_end = data < 0 ? to : std::min<int64_t>(data, to);
    for (offset = hole; offset < hole_end;) {
      size_t chunk = static_cast<size_t>(std::min<int64_t>(zeros.size(), hole_end - offset));
      int err = PwriteFully(fd, std::as_bytes(std::span(zeros.data(), chunk)),
                            static_cast<uint64_t>(offset));
      if (err != 0) return ErrnoError("writing zeros to", file, err);
      offset += static_cast<int64_t>(chunk);
    }
  }
  return Status::Ok();
}

// Sets the image's size (growing only) and allocates the new part when asked, then syncs.
Status ResizeImage(const std::string& file, int64_t size, bool preallocate, bool create) {
  int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0);
  Fd fd(::open(file.c_str(), flags, 0644));
  if (fd.get() < 0) return ErrnoError(create ? "creating" : "opening", file, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoError("checking", file, errno);
  int64_t old_size = st.st_size;
  if (size > old_size && ::ftruncate(fd.get(), size) != 0) {
    return ErrnoError("resizing", file, errno);
  }
  if (preallocate) VDISK_RETURN_IF_ERROR(Preallocate(fd.get(), file, 0, size));
  if (::fsync(fd.get()) != 0) return ErrnoError("syncing", file, errno);
  return Status::Ok();
}

// Growth the images under <pool>/csi could still claim: apparent size not yet allocated.
int64_t SparseReservation(const std::string& csi_dir) {
  int64_t reserved = 0;
  std::error_code ec;
  for (fs::directory_iterator it(csi_dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string image = (it->path() / kImageName).string();
    int64_t apparent = ApparentSize(image);
    int64_t allocated = AllocatedBytes(image);
    if (apparent > allocated && allocated >= 0) reserved += apparent - allocated;
  }
  return reserved;
}

// Walking every image costs a stat per volume, and provisioning N volumes would repeat the
// walk N times. The walk's result is kept per pool for a moment, and every image created or
// grown meanwhile in this process is added to it, so the figure never under-counts a promise.
// (A deletion is seen at the next walk: until then the pool looks fuller, never emptier.)
class ReservationLedger {
 public:
  static ReservationLedger& Get() {
    static ReservationLedger ledger;
    return ledger;
  }
  int64_t Reserved(const std::string& csi_dir) {
    std::lock_guard lock(mu_);
    auto now = std::chrono::steady_clock::now();
    auto it = entries_.find(csi_dir);
    if (it == entries_.end() || now - it->second.measured > kMaxAge) {
      it = entries_.insert_or_assign(csi_dir, Entry{now, SparseReservation(csi_dir)}).first;
    }
    return it->second.reserved;
  }
  void Add(const std::string& csi_dir, int64_t bytes) {
    std::lock_guard lock(mu_);
    if (auto it = entries_.find(csi_dir); it != entries_.end()) it->second.reserved += bytes;
  }

 private:
  static constexpr std::chrono::seconds kMaxAge{2};
  struct Entry {
    std::chrono::steady_clock::time_point measured;
    int64_t reserved;
  };
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

// Names become path components: refuse anything that is not exactly one.
Status CheckName(const char* kind, const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos) {
    return Invalid(std::string("invalid ") + kind + " name \"" + name + "\"");
  }
  return Status::Ok();
}

std::string FormatBytes(int64_t bytes) {
  return std::to_string(bytes) + " bytes (" + std::to_string(bytes >> 20) + " MiB)";
}

}  // namespace

int64_t AllocatedBytes(const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(st.st_blocks) * 512;
}

int64_t ApparentSize(const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return -1;
  return st.st_size;
}

Status WriteImageFile(const std::string& file, int64_t size, bool preallocate) {
  if (size <= 0) return Invalid("image size must be positive");
  int64_t existing = ApparentSize(file);
  if (existing == size) return preallocate ? ResizeImage(file, size, true, false) : Status::Ok();
  if (existing >= 0) {
    return Invalid(file + " already exists with size " + std::to_string(existing) + ", expected " +
                   std::to_string(size));
  }
  std::string dir = fs::path(file).parent_path().string();
  struct statfs sfs {};
  if (::statfs(dir.c_str(), &sfs) != 0) return ErrnoError("statfs", dir, errno);
  int64_t available = static_cast<int64_t>(sfs.f_bavail) * static_cast<int64_t>(sfs.f_bsize);
  if (size > available) {
    return Invalid(dir + " cannot hold " + FormatBytes(size) + ": only " + FormatBytes(available) +
                   " available");
  }
  VDISK_RETURN_IF_ERROR(ResizeImage(file, size, preallocate, /*create=*/true));
  return SyncDir(dir);
}

Result<HostPathPool> HostPathPool::Open(std::string path) {
  if (path.empty() || path[0] != '/') return Invalid("pool path \"" + path + "\" must be absolute");
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return Invalid("pool path " + path + " exists and is not a directory");
    }
  } else {
    std::error_code ec;
    fs::create_directories(path, ec);
    if (ec) return Internal("creating pool directory " + path + ": " + ec.message());
    VDISK_RETURN_IF_ERROR(SyncDir(fs::path(path).parent_path().string()));
  }
  HostPathPool pool(std::move(path));
  VDISK_RETURN_IF_ERROR(MakeDir(pool.path_ + "/csi"));
  return pool;
}

Result<PoolCapacity> HostPathPool::Capacity() const {
  struct statfs sfs {};
  if (::statfs(path_.c_str(), &sfs) != 0) return ErrnoError("statfs", path_, errno);
  PoolCapacity cap;
  cap.total = static_cast<int64_t>(sfs.f_blocks) * static_cast<int64_t>(sfs.f_bsize);
  cap.available = static_cast<int64_t>(sfs.f_bavail) * static_cast<int64_t>(sfs.f_bsize);
  cap.reserved = ReservationLedger::Get().Reserved(path_ + "/csi");
  cap.free = std::max<int64_t>(0, cap.available - cap.reserved);
  return cap;
}

std::string HostPathPool::VolumeDir(const std::string& volume) const {
  return path_ + "/csi/" + volume;
}

std::string HostPathPool::ImagePath(const std::string& volume) const {
  return VolumeDir(volume) + "/" + kImageName;
}

bool HostPathPool::VolumeExists(const std::string& volume) const {
  struct stat st {};
  return ::stat(VolumeDir(volume).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool HostPathPool::ImageExists(const std::string& volume) const {
  return ApparentSize(ImagePath(volume)) >= 0;
}

Status HostPathPool::CheckFits(int64_t growth) const {
  if (growth <= 0) return Status::Ok();
  VDISK_ASSIGN_OR_RETURN(PoolCapacity cap, Capacity());
  if (growth <= cap.free) return Status::Ok();
  return Invalid("storage pool " + path_ + " cannot hold " + FormatBytes(growth) + ": only " +
                 FormatBytes(cap.free) + " free (" + FormatBytes(cap.available) +
                 " available on the file system, " + FormatBytes(cap.reserved) +
                 " promised to sparse images)");
}

Status HostPathPool::CreateVolume(const std::string& volume, int64_t capacity) {
  if (volume.empty() || volume.find('/') != std::string::npos || volume[0] == '.') {
    return Invalid("invalid volume name \"" + volume + "\"");
  }
  if (VolumeExists(volume)) return Status::Ok();
  VDISK_RETURN_IF_ERROR(CheckFits(capacity));
  return MakeDir(VolumeDir(volume));
}

Status HostPathPool::CreateImage(const std::string& volume, int64_t size, bool preallocate) {
  if (size <= 0) return Invalid("image size must be positive");
  std::string image = ImagePath(volume);
  int64_t existing = ApparentSize(image);
  if (existing == size) {
    // Done before (a retried reconcile); finish a preallocation a crash may have cut short.
    return preallocate ? ResizeImage(image, size, true, false) : Status::Ok();
  }
  if (existing >= 0) {
    return Invalid(image + " already exists with size " + std::to_string(existing) + ", expected " +
                   std::to_string(size));
  }
  if (!VolumeExists(volume))
    return NotFound("volume directory " + VolumeDir(volume) + " is missing");
  VDISK_RETURN_IF_ERROR(CheckFits(size));
  VDISK_RETURN_IF_ERROR(ResizeImage(image, size, preallocate, /*create=*/true));
  if (!preallocate) ReservationLedger::Get().Add(path_ + "/csi", size);
  return SyncDir(VolumeDir(volume));
}

Status HostPathPool::GrowImage(const std::string& volume, int64_t size, bool preallocate) {
  std::string image = ImagePath(volume);
  int64_t existing = ApparentSize(image);
  if (existing < 0) return NotFound(image + " does not exist");
  if (size <= existing) return Status::Ok();
  VDISK_RETURN_IF_ERROR(CheckFits(size - existing));
  VDISK_RETURN_IF_ERROR(ResizeImage(image, size, preallocate, /*create=*/false));
  if (!preallocate) ReservationLedger::Get().Add(path_ + "/csi", size - existing);
  return Status::Ok();
}

Status HostPathPool::DeleteVolume(const std::string& volume) {
  if (volume.empty() || volume.find('/') != std::string::npos || volume[0] == '.') {
    return Invalid("invalid volume name \"" + volume + "\"");
  }
  std::error_code ec;
  fs::remove_all(VolumeDir(volume), ec);
  if (ec) return Internal("removing " + VolumeDir(volume) + ": " + ec.message());
  return SyncDir(path_ + "/csi");
}

bool HostPathPool::SupportsReflink() const { return storage::SupportsReflink(path_); }

std::string HostPathPool::SnapshotDir(const std::string& snapshot) const {
  return path_ + "/" + kSnapshotsDir + "/" + snapshot;
}

std::string HostPathPool::SnapshotPath(const std::string& snapshot) const {
  return SnapshotDir(snapshot) + "/" + kImageName;
}

bool HostPathPool::SnapshotExists(const std::string& snapshot) const {
  struct stat st {};
  return ::stat(SnapshotPath(snapshot).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<int64_t> HostPathPool::CreateSnapshot(const std::string& volume,
                                             const std::string& snapshot) {
  VDISK_RETURN_IF_ERROR(CheckName("volume", volume));
  VDISK_RETURN_IF_ERROR(CheckName("snapshot", snapshot));
  if (int64_t size = ApparentSize(SnapshotPath(snapshot)); size >= 0) return size;
  std::string image = ImagePath(volume);
  if (!ImageExists(volume)) return NotFound("volume image " + image + " does not exist");
  if (!SupportsReflink()) {
    return Invalid("storage pool " + path_ +
                   " does not support snapshots: its file system has no reflink (XFS with "
                   "reflink=1 or btrfs)");
  }
  VDISK_RETURN_IF_ERROR(MakeDir(path_ + "/" + kSnapshotsDir));
  std::string dir = SnapshotDir(snapshot);
  VDISK_RETURN_IF_ERROR(MakeDir(dir));
  // Cloned under a temporary name and renamed, so a crash never leaves a partial snapshot that
  // the idempotency check above would take for a finished one.
  std::string partial = dir + "/." + kImageName + ".partial";
  ::unlink(partial.c_str());  // left by a crash, possibly read-only already
  CopyOptions options;
  options.require_reflink = true;
  VDISK_ASSIGN_OR_RETURN(CopyResult copied, CopyImage(image, partial, options));
  if (::chmod(partial.c_str(), 0444) != 0) return ErrnoError("making read-only", partial, errno);
  if (::rename(partial.c_str(), SnapshotPath(snapshot).c_str()) != 0) {
    return ErrnoError("renaming", partial, errno);
  }
  VDISK_RETURN_IF_ERROR(SyncDir(dir));
  return copied.source_size;
}

Status HostPathPool::DeleteSnapshot(const std::string& snapshot) {
  VDISK_RETURN_IF_ERROR(CheckName("snapshot", snapshot));
  std::string dir = SnapshotDir(snapshot);
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 && errno == ENOENT) return Status::Ok();
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) return Internal("removing " + dir + ": " + ec.message());
  return SyncDir(path_ + "/" + kSnapshotsDir);
}

}  // namespace vdisk::storage
