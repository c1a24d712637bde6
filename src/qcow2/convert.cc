// Probe and the random-access converter: reads the L1 table, then each L2 table (a few ahead),
// turns slices of L2 entries into coalesced host reads sorted by file offset, and runs those
// reads, their decompression and their writes on a WorkQueue under a memory budget.
#include <algorithm>
#include <deque>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "common/aligned_buffer.h"
#include "qcow2/convert_internal.h"
#include "qcow2/decompress.h"
#include "qcow2/format.h"
#include "qcow2/qcow2.h"
#include "qcow2/work_queue.h"

namespace vdisk::qcow2 {

unsigned WorkerCount(const ConvertOptions& options) {
  constexpr unsigned kMaxWorkers = 64;
  if (options.threads != 0) return std::min(options.threads, kMaxWorkers);
  return std::clamp(std::thread::hardware_concurrency(), 4u, kMaxWorkers);
}

uint64_t DecompressBufferBytes(const Layout& layout) {
  return std::max(kMaxDecompressedWrite, layout.cluster_size);
}

Status WriteExtents(const Layout& layout, std::span<const std::byte> bytes, uint64_t host,
                    std::span<const Extent> extents, io::ImageWriter& out) {
  // One decompressor and one write buffer per worker thread, made when first needed and
  // reused across tasks.
  thread_local std::unique_ptr<Decompressor> decompressors[2];
  thread_local std::unique_ptr<std::byte[]> buffer;
  thread_local uint64_t buffer_size = 0;
  const uint64_t needed_size = DecompressBufferBytes(layout);

  uint64_t pending_guest = 0;  // the buffer holds guest bytes [pending_guest, + pending)
  uint64_t pending = 0;
  auto flush = [&]() -> Status {
    if (pending == 0) return Status::Ok();
    Status status = out.WriteAt(pending_guest, {buffer.get(), pending});
    pending = 0;
    return status;
  };
  for (const Extent& e : extents) {
    auto source = bytes.subspan(e.host - host, e.host_length);
    if (e.kind == Extent::Kind::kData) {
      VDISK_RETURN_IF_ERROR(flush());
      VDISK_RETURN_IF_ERROR(out.WriteAt(e.guest, source));
      continue;
    }
    auto& decompressor = decompressors[static_cast<int>(layout.info.compression)];
    if (!decompressor) decompressor = std::make_unique<Decompressor>(layout.info.compression);
    if (buffer_size < needed_size) {
      buffer.reset(new std::byte[needed_size]);  // left uninitialized: always written first
      buffer_size = needed_size;
    }
    const bool follows = pending > 0 && pending_guest + pending == e.guest;
    if (!follows || needed_size - pending < layout.cluster_size) {
      VDISK_RETURN_IF_ERROR(flush());
      pending_guest = e.guest;
    }
    VDISK_RETURN_IF_ERROR(
        decompressor->DecompressCluster(source, {buffer.get() + pending, layout.cluster_size}));
    pending += e.length;
  }
  return flush();
}

Status CheckCapacity(const Layout& layout, const io::ImageWriter& out) {
  if (out.capacity() < layout.info.virtual_size) {
    return InvalidArgument("qcow2 virtual size " + std::to_string(layout.info.virtual_size) +
                           " exceeds the target capacity " + std::to_string(out.capacity()));
  }
  return Status::Ok();
}

namespace {

// Reads of plain data are coalesced up to this size (a ReadAt may be an HTTP Range request);
// reads of compressed data stay smaller so that decompression spreads over all workers.
constexpr uint64_t kMaxDataRead = uint64_t{4} << 20;
constexpr uint64_t kMaxCompressedRead = uint64_t{1} << 20;
// Holes up to this size between two ranges are read through rather than split into two reads.
constexpr uint64_t kMaxReadGap = uint64_t{64} << 10;
// L2 entries turned into reads at once, and L2 tables read ahead of the one being planned.
constexpr uint64_t kEntriesPerSlice = 32768;
constexpr size_t kL2ReadAhead = 8;

Result<Layout> ReadLayout(io::RandomAccessReader& file) {
  const uint64_t file_size = file.size();
  std::vector<std::byte> head(std::min<uint64_t>(file_size, kHeaderV3MinSize));
  VDISK_RETURN_IF_ERROR(file.ReadAt(0, head));
  if (head.size() >= kHeaderV2Size && LoadBe32(head.data()) == kMagic) {
    uint32_t cluster_bits = LoadBe32(head.data() + 20);
    if (cluster_bits >= 9 && cluster_bits <= 21) {
      head.resize(std::min<uint64_t>(file_size, uint64_t{1} << cluster_bits));
      VDISK_RETURN_IF_ERROR(file.ReadAt(0, head));
    }
  }
  return ParseHeader(head, file_size);
}

// One host read and what to do with its bytes.
struct ReadJob {
  uint64_t host = 0;
  uint64_t length = 0;
  bool has_compressed = false;
  std::vector<Extent> extents;  // each inside [host, host + length)
};

class RandomAccessConverter {
 public:
  RandomAccessConverter(io::RandomAccessReader& file, io::ImageWriter& out, const Layout& layout,
                        const ConvertOptions& options)
      : file_(file),
        out_(out),
        layout_(layout),
        options_(options),
        queue_(WorkerCount(options), kMemoryBudget) {}

  Status Run() {
    std::vector<std::byte> l1_bytes(layout_.l1_entries_used * 8);
    VDISK_RETURN_IF_ERROR(file_.ReadAt(layout_.l1_offset, l1_bytes));
    VDISK_ASSIGN_OR_RETURN(std::vector<uint64_t> l2_offsets,
                           DecodeL1(layout_, l1_bytes, file_.size()));
    l1_bytes = {};

    Status status = ConvertTables(l2_offsets);
    if (!status.ok()) queue_.Fail(status);
    Status queued = queue_.Wait();  // the first error wins, wherever it happened
    return queued.ok() ? status : queued;
  }

 private:
  using TableFuture = std::future<Result<std::vector<std::byte>>>;

  Status ConvertTables(const std::vector<uint64_t>& l2_offsets) {
    std::deque<std::pair<size_t, TableFuture>> ahead;
    size_t next_to_read = 0;
    for (size_t index = 0; index < l2_offsets.size(); ++index) {
      if (options_.stop.stop_requested()) return Cancelled();
      if (queue_.failed()) return Status::Ok();
      while (next_to_read < l2_offsets.size() && ahead.size() < kL2ReadAhead) {
        if (l2_offsets[next_to_read] != 0) {
          VDISK_ASSIGN_OR_RETURN(TableFuture table, ReadTableAsync(l2_offsets[next_to_read]));
          ahead.emplace_back(next_to_read, std::move(table));
        }
        ++next_to_read;
      }
      const uint64_t guest_base = index * layout_.guest_per_l2;
      if (l2_offsets[index] == 0) {
        AddProgress(std::min(layout_.guest_per_l2, layout_.info.virtual_size - guest_base));
        continue;
      }
      Result<std::vector<std::byte>> table = ahead.front().second.get();
      ahead.pop_front();
      if (!table.ok()) return table.status();
      VDISK_RETURN_IF_ERROR(PlanTable(*table, guest_base));
    }
    return Status::Ok();
  }

  Result<TableFuture> ReadTableAsync(uint64_t offset) {
    auto promise = std::make_shared<std::promise<Result<std::vector<std::byte>>>>();
    TableFuture future = promise->get_future();
    bool queued = queue_.Submit(layout_.cluster_size, [this, offset, promise]() {
      std::vector<std::byte> table(layout_.cluster_size);
      Status status = file_.ReadAt(offset, table);
      if (status.ok()) {
        promise->set_value(std::move(table));
      } else {
        promise->set_value(std::move(status));
      }
      return Status::Ok();
    });
    if (!queued) return Internal("qcow2 conversion stopped after an error");
    return future;
  }

  // Turns one L2 table, a slice of entries at a time, into read jobs.
  Status PlanTable(std::span<const std::byte> table, uint64_t guest_base) {
    for (uint64_t first = 0; first < layout_.l2_entries; first += kEntriesPerSlice) {
      if (options_.stop.stop_requested()) return Cancelled();
      const uint64_t slice_guest = guest_base + first * layout_.cluster_size;
      if (slice_guest >= layout_.info.virtual_size) break;
      const uint64_t count = std::min(kEntriesPerSlice, layout_.l2_entries - first);
      std::vector<Extent> extents;
      VDISK_RETURN_IF_ERROR(
          DecodeL2(layout_, table, guest_base, first, count, file_.size(), extents));
      uint64_t slice_bytes =
          std::min(count * layout_.cluster_size, layout_.info.virtual_size - slice_guest);
      uint64_t mapped = 0;
      for (const Extent& e : extents) mapped += e.length;
      AddProgress(slice_bytes - mapped);
      VDISK_RETURN_IF_ERROR(SubmitReads(std::move(extents)));
    }
    return Status::Ok();
  }

  // Groups extents, sorted by file offset, into coalesced reads and queues them.
  Status SubmitReads(std::vector<Extent> extents) {
    std::sort(extents.begin(), extents.end(), [](const Extent& a, const Extent& b) {
      return a.host != b.host ? a.host < b.host : a.guest < b.guest;
    });
    ReadJob job;
    auto flush = [&]() -> Status {
      if (job.extents.empty()) return Status::Ok();
      Status status = Submit(std::move(job));
      job = ReadJob();
      return status;
    };
    for (const Extent& whole : extents) {
      // Long data runs are split so that no read exceeds kMaxDataRead.
      for (uint64_t done = 0; done < whole.host_length;) {
        Extent e = whole;
        if (e.kind == Extent::Kind::kData) {
          e.guest += done;
          e.host += done;
          e.length = e.host_length = std::min(kMaxDataRead, whole.length - done);
        }
        done += e.host_length;
        const bool compressed = e.kind == Extent::Kind::kCompressed;
        const uint64_t limit = job.has_compressed || compressed ? kMaxCompressedRead : kMaxDataRead;
        const uint64_t job_end = job.host + job.length;
        const bool fits = !job.extents.empty() && e.host <= job_end + kMaxReadGap &&
                          std::max(job_end, e.host + e.host_length) - job.host <= limit;
        if (!fits) {
          VDISK_RETURN_IF_ERROR(flush());
          job.host = e.host;
        }
        job.length = std::max(job.length, e.host + e.host_length - job.host);
        job.has_compressed |= compressed;
        job.extents.push_back(e);
      }
    }
    return flush();
  }

  Status Submit(ReadJob job) {
    uint64_t bytes = job.length + (job.has_compressed ? DecompressBufferBytes(layout_) : 0);
    auto shared = std::make_shared<ReadJob>(std::move(job));
    // When this is refused an error is already recorded, and Run() reports it.
    queue_.Submit(bytes, [this, shared] { return RunJob(*shared); });
    return Status::Ok();
  }

  Status RunJob(const ReadJob& job) {
    if (queue_.failed()) return Status::Ok();
    AlignedBuffer buffer(job.length);
    std::span<std::byte> bytes = buffer.span();
    VDISK_RETURN_IF_ERROR(file_.ReadAt(job.host, bytes));
    VDISK_RETURN_IF_ERROR(WriteExtents(layout_, bytes, job.host, job.extents, out_));
    uint64_t written = 0;
    for (const Extent& e : job.extents) written += e.length;
    AddProgress(written);
    return Status::Ok();
  }

  void AddProgress(uint64_t bytes) {
    if (options_.progress != nullptr) options_.progress->done += bytes;
  }

  io::RandomAccessReader& file_;
  io::ImageWriter& out_;
  const Layout& layout_;
  const ConvertOptions& options_;
  WorkQueue queue_;
};

}  // namespace

Result<ImageInfo> Probe(io::RandomAccessReader& file) {
  VDISK_ASSIGN_OR_RETURN(Layout layout, ReadLayout(file));
  return layout.info;
}

Status Convert(io::RandomAccessReader& file, io::ImageWriter& out, const ConvertOptions& options) {
  VDISK_ASSIGN_OR_RETURN(Layout layout, ReadLayout(file));
  VDISK_RETURN_IF_ERROR(CheckCapacity(layout, out));
  if (options.progress != nullptr) {
    options.progress->total = layout.info.virtual_size;
    options.progress->done = 0;
  }
  Status status = RandomAccessConverter(file, out, layout, options).Run();
  if (status.ok() && options.progress != nullptr) {
    options.progress->done = layout.info.virtual_size;
  }
  return status;
}

}  // namespace vdisk::qcow2
