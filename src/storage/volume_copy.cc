// CopyImage and SupportsReflink: see volume_copy.h for the contract.
#include "storage/volume_copy.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "common/fd.h"

namespace vdisk::storage {
namespace {

// Zero detection works on file-system blocks: a skipped block is a hole the size of one.
constexpr int64_t kBlockSize = 4096;
// Bytes per read. Reads of a few MiB measured markedly slower on a cold cache than 128-256 KiB
// ones, which stream behind the kernel's readahead instead of waiting for one big read each.
constexpr int64_t kChunkSize = 256 << 10;
// Chunks in flight between the reader and the writer.
constexpr int kChunksInFlight = 4;
// Bytes between two starts of writeback: starting it for every chunk measured slower.
constexpr int64_t kWritebackStep = 16 << 20;
// A long zeroing (BLKZEROOUT of a big hole) is split so a cancel is seen in time.
constexpr int64_t kZeroStep = int64_t{256} << 20;

alignas(kBlockSize) const char kZeros[kBlockSize] = {};

bool CancelRequested(const CopyOptions& options) {
  return options.cancel != nullptr && options.cancel->load(std::memory_order_relaxed);
}

Status CopyCancelled(const std::string& target) {
  return Status(StatusCode::kCancelled, "copying to " + target + " was cancelled");
}

bool IsZero(const char* data, int64_t length) {
  return std::memcmp(data, kZeros, static_cast<size_t>(length)) == 0;
}

// An opened image: a regular file or a block device, with its size in bytes.
struct Image {
  Fd fd;
  bool is_block_device = false;
  int64_t size = 0;
  dev_t dev = 0;
  ino_t ino = 0;
};

Status Describe(Image& image, const std::string& path) {
  struct stat st {};
  if (::fstat(image.fd.get(), &st) != 0) return ErrnoError("checking", path, errno);
  image.dev = st.st_dev;
  image.ino = st.st_ino;
  if (S_ISREG(st.st_mode)) {
    image.size = st.st_size;
    return Status::Ok();
  }
  if (!S_ISBLK(st.st_mode)) return Invalid(path + " is neither a regular file nor a block device");
  uint64_t size = 0;
  if (::ioctl(image.fd.get(), BLKGETSIZE64, &size) != 0) {
    return ErrnoError("reading the size of", path, errno);
  }
  if (size > static_cast<uint64_t>(INT64_MAX)) return Invalid(path + " is impossibly large");
  image.is_block_device = true;
  image.size = static_cast<int64_t>(size);
  image.dev = st.st_rdev;  // two paths to one device are the same target
  image.ino = 0;
  return Status::Ok();
}

Result<Image> OpenImage(const std::string& path, int flags, mode_t mode = 0) {
  Image image;
  image.fd = Fd(::open(path.c_str(), flags | O_CLOEXEC, mode));
  if (image.fd.get() < 0) return ErrnoError("opening", path, errno);
  VDISK_RETURN_IF_ERROR(Describe(image, path));
  return image;
}

Status PreadAll(int fd, const std::string& path, char* data, int64_t length, int64_t offset) {
  while (length > 0) {
    ssize_t n = ::pread(fd, data, static_cast<size_t>(length), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("reading", path, errno);
    if (n == 0) {
      return Internal("reading " + path + ": it ended at offset " + std::to_string(offset) +
                      ", before its size when the copy started");
    }
    data += n;
    length -= n;
    offset += n;
  }
  return Status::Ok();
}

Status PwriteAll(int fd, const std::string& path, const char* data, int64_t length,
                 int64_t offset) {
  int err = PwriteFully(fd, std::as_bytes(std::span(data, static_cast<size_t>(length))),
                        static_cast<uint64_t>(offset));
  return err == 0 ? Status::Ok() : ErrnoError("writing", path, err);
}

// The byte ranges of the source that may hold data, in order. A block device (or a file system
// without SEEK_DATA) reports everything as data; zero detection then keeps the copy sparse.
Result<std::vector<std::pair<int64_t, int64_t>>> DataRanges(const Image& source,
                                                            const std::string& path) {
  std::vector<std::pair<int64_t, int64_t>> ranges;
  if (source.is_block_device) {
    if (source.size > 0) ranges.emplace_back(0, source.size);
    return ranges;
  }
  for (int64_t pos = 0; pos < source.size;) {
    off_t data = ::lseek(source.fd.get(), pos, SEEK_DATA);
    if (data < 0 && errno == ENXIO) break;  // only a hole is left
    if (data < 0 && errno == EINVAL) {      // no SEEK_DATA here
      ranges.emplace_back(pos, source.size);
      break;
    }
    if (data < 0) return ErrnoError("looking for data in", path, errno);
    if (data >= source.size) break;
    off_t hole = ::lseek(source.fd.get(), data, SEEK_HOLE);
    if (hole < 0) return ErrnoError("looking for holes in", path, errno);
    int64_t end = std::min<int64_t>(std::max<int64_t>(hole, data + 1), source.size);
    ranges.emplace_back(data, end);
    pos = end;
  }
  return ranges;
}

// One piece of a data range, read into a buffer.
struct Chunk {
  int64_t offset = 0;
  int64_t length = 0;
  char* data = nullptr;
};

// Reads the data ranges chunk by chunk on its own thread, a few chunks ahead of the consumer,
// so the source device keeps streaming while the writer works.
class ChunkReader {
 public:
  ChunkReader(int fd, std::string path, std::vector<std::pair<int64_t, int64_t>> ranges)
      : fd_(fd),
        path_(std::move(path)),
        ranges_(std::move(ranges)),
        buffers_(std::make_unique<char[]>(kChunkSize * kChunksInFlight)) {
    for (int i = 0; i < kChunksInFlight; ++i) free_.push_back(buffers_.get() + i * kChunkSize);
    thread_ = std::thread([this] { Run(); });
  }
  ~ChunkReader() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }
  ChunkReader(const ChunkReader&) = delete;
  ChunkReader& operator=(const ChunkReader&) = delete;

  // The next chunk in file order; nullopt after the last. Hand each one back with Release.
  Result<std::optional<Chunk>> Next() {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [this] { return !ready_.empty() || finished_; });
    if (!ready_.empty()) {
      Chunk chunk = ready_.front();
      ready_.pop_front();
      return std::optional<Chunk>(chunk);
    }
    if (!error_.ok()) return error_;
    return std::optional<Chunk>();
  }
  void Release(const Chunk& chunk) {
    {
      std::lock_guard lock(mu_);
      free_.push_back(chunk.data);
    }
    changed_.notify_all();
  }

 private:
  void Run() {
    Status status = ReadAll();
    std::lock_guard lock(mu_);
    error_ = std::move(status);
    finished_ = true;
    changed_.notify_all();
  }

  Status ReadAll() {
    for (auto [begin, end] : ranges_) {
      for (int64_t offset = begin; offset < end;) {
        // Chunks end on multiples of the chunk size, so writes stay aligned.
        int64_t length = std::min(end, (offset / kChunkSize + 1) * kChunkSize) - offset;
        char* buffer = nullptr;
        {
          std::unique_lock lock(mu_);
          changed_.wait(lock, [this] { return !free_.empty() || stopping_; });
          if (stopping_) return Status::Ok();
          buffer = free_.front();
          free_.pop_front();
        }
        VDISK_RETURN_IF_ERROR(PreadAll(fd_, path_, buffer, length, offset));
        {
          std::lock_guard lock(mu_);
          ready_.push_back(Chunk{offset, length, buffer});
        }
        changed_.notify_all();
        offset += length;
      }
    }
    return Status::Ok();
  }

  const int fd_;
  const std::string path_;
  const std::vector<std::pair<int64_t, int64_t>> ranges_;
  std::unique_ptr<char[]> buffers_;

  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<char*> free_;
  std::deque<Chunk> ready_;
  bool stopping_ = false;
  bool finished_ = false;
  Status error_;
  std::thread thread_;  // last: started once everything above exists
};

// Makes [offset, offset + length) of a device target read as zeros.
Status ZeroDeviceRange(const Image& target, const std::string& path, int64_t offset,
                       int64_t length) {
  int fd = target.fd.get();
  if (target.is_block_device) {
    // BLKZEROOUT takes whole sectors; a ragged head or tail is written as zeros.
    int64_t begin = (offset + 511) / 512 * 512;
    int64_t end = (offset + length) / 512 * 512;
    if (end > begin) {
      uint64_t range[2] = {static_cast<uint64_t>(begin), static_cast<uint64_t>(end - begin)};
      if (::ioctl(fd, BLKZEROOUT, range) == 0) {
        VDISK_RETURN_IF_ERROR(PwriteAll(fd, path, kZeros, begin - offset, offset));
        return PwriteAll(fd, path, kZeros, offset + length - end, end);
      }
      if (errno != EOPNOTSUPP && errno != EINVAL && errno != ENOTTY) {
        return ErrnoError("zeroing a range of", path, errno);
      }
    }
  } else if (::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length) == 0) {
    return Status::Ok();
  } else if (errno != EOPNOTSUPP) {
    return ErrnoError("punching a hole in", path, errno);
  }
  for (int64_t done = 0; done < length;) {
    int64_t piece = std::min<int64_t>(kBlockSize, length - done);
    VDISK_RETURN_IF_ERROR(PwriteAll(fd, path, kZeros, piece, offset + done));
    done += piece;
  }
  return Status::Ok();
}

// Writes the source's non-zero blocks to the target in order. On a device target everything
// between them (holes and zero blocks alike) is zeroed, in as few calls as possible.
class SparseWriter {
 public:
  SparseWriter(const Image& target, const std::string& path, const CopyOptions& options)
      : target_(target), path_(path), options_(options) {}

  // Writes one chunk of source data, skipping its zero blocks.
  Status Write(const Chunk& chunk) {
    int64_t end = chunk.offset + chunk.length;
    int64_t run_start = -1;  // start of the current run of non-zero blocks
    for (int64_t pos = chunk.offset; pos < end;) {
      int64_t next = std::min(end, (pos / kBlockSize + 1) * kBlockSize);
      bool zero = IsZero(chunk.data + (pos - chunk.offset), next - pos);
      if (!zero && run_start < 0) run_start = pos;
      if (zero && run_start >= 0) {
        VDISK_RETURN_IF_ERROR(WriteRun(chunk, run_start, pos));
        run_start = -1;
      }
      pos = next;
    }
    if (run_start >= 0) VDISK_RETURN_IF_ERROR(WriteRun(chunk, run_start, end));
    return Status::Ok();
  }

  // Zeroes what is left after the last data on a device target.
  Status Finish(int64_t source_size) { return ZeroUpTo(source_size); }

  int64_t bytes_written() const { return bytes_written_; }

 private:
  Status WriteRun(const Chunk& chunk, int64_t begin, int64_t end) {
    VDISK_RETURN_IF_ERROR(ZeroUpTo(begin));
    VDISK_RETURN_IF_ERROR(PwriteAll(target_.fd.get(), path_, chunk.data + (begin - chunk.offset),
                                    end - begin, begin));
    bytes_written_ += end - begin;
    zeroed_up_to_ = end;
    return Status::Ok();
  }

  // A file target is fresh (truncated), so its gaps are holes already; a device's are zeroed.
  Status ZeroUpTo(int64_t offset) {
    if (!options_.target_is_device) return Status::Ok();
    while (zeroed_up_to_ < offset) {
      if (CancelRequested(options_)) return CopyCancelled(path_);
      int64_t length = std::min(offset - zeroed_up_to_, kZeroStep);
      VDISK_RETURN_IF_ERROR(ZeroDeviceRange(target_, path_, zeroed_up_to_, length));
      zeroed_up_to_ += length;
    }
    return Status::Ok();
  }

  const Image& target_;
  const std::string& path_;
  const CopyOptions& options_;
  int64_t zeroed_up_to_ = 0;  // everything before is written or zeroed
  int64_t bytes_written_ = 0;
};

// Starts the writeback of what the copy wrote, a few chunks at a time. Left to itself the kernel
// lets a gigabyte of dirty pages pile up, then throttles the writer, and the final fsync flushes
// everything at once; started early, writing back overlaps with reading. Errors surface at the
// fsync.
class WritebackStarter {
 public:
  explicit WritebackStarter(int fd) : fd_(fd) {}
  // Everything before `end` is written (or skipped).
  void Advance(int64_t end) {
    if (end - started_up_to_ < kWritebackStep) return;
    ::sync_file_range(fd_, started_up_to_, end - started_up_to_, SYNC_FILE_RANGE_WRITE);
    started_up_to_ = end;
  }

 private:
  const int fd_;
  int64_t started_up_to_ = 0;
};

Status CopyData(const Image& source, const std::string& source_path, const Image& target,
                const std::string& target_path, const CopyOptions& options, CopyResult& result) {
  VDISK_ASSIGN_OR_RETURN(auto ranges, DataRanges(source, source_path));
  ::posix_fadvise(source.fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  ChunkReader reader(source.fd.get(), source_path, std::move(ranges));
  SparseWriter writer(target, target_path, options);
  WritebackStarter writeback(target.fd.get());
  while (true) {
    if (CancelRequested(options)) return CopyCancelled(target_path);
    VDISK_ASSIGN_OR_RETURN(std::optional<Chunk> chunk, reader.Next());
    if (!chunk) break;
    Status written = writer.Write(*chunk);
    reader.Release(*chunk);
    VDISK_RETURN_IF_ERROR(written);
    writeback.Advance(chunk->offset + chunk->length);
    if (options.progress) options.progress(chunk->offset + chunk->length, source.size);
  }
  VDISK_RETURN_IF_ERROR(writer.Finish(source.size));
  result.bytes_written = writer.bytes_written();
  return Status::Ok();
}

// Clones the whole source into the (empty) target. Returns false when the file system cannot.
Result<bool> TryReflink(const Image& source, const std::string& source_path, const Image& target,
                        const std::string& target_path) {
  if (::ioctl(target.fd.get(), FICLONE, source.fd.get()) == 0) return true;
  int err = errno;
  if (err == EOPNOTSUPP || err == EXDEV || err == EINVAL || err == ENOTTY) return false;
  return ErrnoError("cloning " + source_path + " to", target_path, err);
}

Status SyncDir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoError("opening directory", dir, errno);
  if (::fsync(fd.get()) != 0) return ErrnoError("syncing directory", dir, errno);
  return Status::Ok();
}

std::string ParentDir(const std::string& path) {
  std::string parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? "." : parent;
}

Result<CopyResult> CopyToTarget(const Image& source, const std::string& source_path, Image& target,
                                const std::string& target_path, const CopyOptions& options) {
  CopyResult result;
  result.source_size = source.size;
  int fd = target.fd.get();
  bool reflinked = false;
  bool may_reflink = !options.target_is_device && !source.is_block_device;
  if (may_reflink && (options.allow_reflink || options.require_reflink)) {
    VDISK_ASSIGN_OR_RETURN(reflinked, TryReflink(source, source_path, target, target_path));
  }
  if (options.require_reflink && !reflinked) {
    return Invalid("cannot clone " + source_path + " to " + target_path +
                   ": the file system cannot share blocks between files");
  }
  if (reflinked) {
    result.method = CopyMethod::kReflink;
  } else {
    if (!options.target_is_device && ::ftruncate(fd, source.size) != 0) {
      return ErrnoError("resizing", target_path, errno);
    }
    VDISK_RETURN_IF_ERROR(CopyData(source, source_path, target, target_path, options, result));
  }
  if (!options.target_is_device) {
    int64_t final_size = std::max(source.size, options.target_size);
    if (final_size > source.size && ::ftruncate(fd, final_size) != 0) {
      return ErrnoError("resizing", target_path, errno);
    }
    if (options.preallocate && final_size > 0) {
      if (int err = ::posix_fallocate(fd, 0, final_size); err != 0) {
        return ErrnoError("allocating the blocks of", target_path, err);
      }
    }
  }
  if (::fsync(fd) != 0) return ErrnoError("syncing", target_path, errno);
  if (options.progress) options.progress(source.size, source.size);
  return result;
}

}  // namespace

Result<CopyResult> CopyImage(const std::string& source_path, const std::string& target_path,
                             const CopyOptions& options) {
  VDISK_ASSIGN_OR_RETURN(Image source, OpenImage(source_path, O_RDONLY));
  if (options.target_is_device) {
    VDISK_ASSIGN_OR_RETURN(Image target, OpenImage(target_path, O_WRONLY));
    if (target.dev == source.dev && target.ino == source.ino) {
      return Invalid("cannot copy " + source_path + " onto itself (" + target_path + ")");
    }
    if (source.size > target.size) {
      return Invalid("source " + source_path + " has " + std::to_string(source.size) +
                     " bytes, more than the " + std::to_string(target.size) + " bytes of " +
                     target_path);
    }
    return CopyToTarget(source, source_path, target, target_path, options);
  }

  struct stat existing {};
  bool created = ::stat(target_path.c_str(), &existing) != 0;
  if (!created && existing.st_dev == source.dev && existing.st_ino == source.ino) {
    return Invalid("cannot copy " + source_path + " onto itself (" + target_path + ")");
  }
  if (!created && !S_ISREG(existing.st_mode)) {
    return Invalid(target_path + " exists and is not a regular file");
  }
  Fd fd(::open(target_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) return ErrnoError("creating", target_path, errno);
  Image target;
  target.fd = std::move(fd);
  Result<CopyResult> result = CopyToTarget(source, source_path, target, target_path, options);
  if (!result.ok()) {
    // A half-written image must not pass for a copy; its old content is gone already.
    ::unlink(target_path.c_str());
    return result;
  }
  if (created) VDISK_RETURN_IF_ERROR(SyncDir(ParentDir(target_path)));
  return result;
}

bool SupportsReflink(const std::string& dir) {
  std::string source_path = dir + "/.reflink-probe-XXXXXX";
  std::string target_path = source_path;
  Fd source(::mkostemp(source_path.data(), O_CLOEXEC));
  if (source.get() < 0) return false;
  Fd target(::mkostemp(target_path.data(), O_CLOEXEC));
  bool cloned = target.get() >= 0 && ::pwrite(source.get(), "reflink probe", 13, 0) == 13 &&
                ::ioctl(target.get(), FICLONE, source.get()) == 0;
  ::unlink(source_path.c_str());
  if (target.get() >= 0) ::unlink(target_path.c_str());
  return cloned;
}

}  // namespace vdisk::storage
