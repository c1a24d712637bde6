// The streaming converter. The file's bytes pass once, in order; what is known to be needed
// from them is kept in "needs" ordered by file offset:
//
//   kL1, kL2     a table to decode once all its bytes have passed
//   kCompressed  a compressed cluster to decompress once all its bytes have passed
//   kData        plain data, written to the target piece by piece as it passes
//
// Tables and compressed clusters gather in a window buffer spanning the oldest unfinished
// one. While some L2 table is still unknown (not yet decoded), bytes that no need claims may
// be data that a later table maps, so they are spilled to a sparse scratch file at their file
// offset; a need that turns up for bytes that have already passed is served from there.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "common/aligned_buffer.h"
#include "common/fd.h"
#include "qcow2/convert_internal.h"
#include "qcow2/format.h"
#include "qcow2/qcow2.h"
#include "qcow2/work_queue.h"

namespace vdisk::qcow2 {
namespace {

constexpr size_t kChunkSize = size_t{2} << 20;  // at least one cluster, for the header
// Compressed clusters are handed to the workers in batches of about this many bytes.
constexpr size_t kCompressedBatchBytes = size_t{1} << 20;
// Bookkeeping bounds: needs for bytes still to come, and separate spilled ranges.
constexpr size_t kMaxPendingNeeds = size_t{2} << 20;
constexpr size_t kMaxSpilledRanges = size_t{1} << 20;

enum class NeedKind : uint8_t { kL1, kL2, kCompressed, kData };

struct Need {
  uint64_t start = 0;  // file range [start, end)
  uint64_t end = 0;
  uint64_t guest = 0;  // kData, kCompressed: guest offset; kL2: guest offset the table maps
  NeedKind kind = NeedKind::kData;
};

const char* Describe(NeedKind kind) {
  switch (kind) {
    case NeedKind::kL1:
      return "the L1 table";
    case NeedKind::kL2:
      return "an L2 table";
    case NeedKind::kCompressed:
      return "compressed data";
    case NeedKind::kData:
      return "data";
  }
  return "data";
}

// Orders the pending-needs heap so that the need starting first is on top.
bool StartsLater(const Need& a, const Need& b) { return a.start > b.start; }

class StreamConverter {
 public:
  StreamConverter(io::Reader& in, io::ImageWriter& out, const std::string& scratch_dir,
                  const ConvertOptions& options)
      : in_(in),
        out_(out),
        scratch_dir_(scratch_dir),
        options_(options),
        queue_(WorkerCount(options), kMemoryBudget) {}

  ~StreamConverter() {
    if (scratch_fd_ >= 0) ::close(scratch_fd_);
  }

  Status Run(bool* used_scratch) {
    Status status = Convert();
    if (!status.ok()) queue_.Fail(status);
    Status queued = queue_.Wait();
    if (used_scratch != nullptr) *used_scratch = used_scratch_;
    return queued.ok() ? status : queued;
  }

 private:
  Status Convert() {
    AlignedBuffer buffer(kChunkSize);
    std::span<std::byte> chunk = buffer.span();
    VDISK_ASSIGN_OR_RETURN(size_t length, Fill(chunk));
    auto first = std::span<const std::byte>(chunk).first(length);
    {
      VDISK_ASSIGN_OR_RETURN(Layout layout, ParseHeader(first, std::nullopt));
      layout_ = layout;
    }
    VDISK_RETURN_IF_ERROR(CheckCapacity(layout_, out_));
    if (options_.progress != nullptr) {
      options_.progress->total = layout_.info.virtual_size;
      options_.progress->done = 0;
    }
    if (layout_.l1_entries_used > 0) {
      VDISK_RETURN_IF_ERROR(Register(
          {layout_.l1_offset, layout_.l1_offset + layout_.l1_entries_used * 8, 0, NeedKind::kL1}));
    } else {
      l1_known_ = true;
    }
    while (length > 0) {
      if (options_.stop.stop_requested()) return Cancelled();
      if (queue_.failed()) return Status::Ok();  // Run() reports the error
      VDISK_RETURN_IF_ERROR(Process(chunk.first(length)));
      VDISK_ASSIGN_OR_RETURN(length, Fill(chunk));
    }
    VDISK_RETURN_IF_ERROR(FinishAtEnd());
    if (options_.progress != nullptr) options_.progress->done = layout_.info.virtual_size;
    return Status::Ok();
  }

  // Reads until `buffer` is full or the stream ends; returns the byte count.
  Result<size_t> Fill(std::span<std::byte> buffer) {
    size_t filled = 0;
    while (filled < buffer.size()) {
      VDISK_ASSIGN_OR_RETURN(size_t n, in_.Read(buffer.subspan(filled)));
      if (n == 0) break;
      if (n > buffer.size() - filled) return Internal("reader returned more bytes than asked");
      filled += n;
    }
    return filled;
  }

  // Handles the bytes [pos_, pos_ + chunk.size()) of the file, in segments that end where a
  // table ends: a table is decoded before the bytes after it are handled, so that data right
  // behind the table it maps is not mistaken for unclaimed bytes.
  Status Process(std::span<const std::byte> chunk) {
    while (!chunk.empty()) {
      const uint64_t chunk_end = pos_ + chunk.size();
      const bool window_was_empty = buffered_.empty();
      while (!pending_.empty() && pending_.front().start < chunk_end) {
        std::pop_heap(pending_.begin(), pending_.end(), StartsLater);
        Need need = pending_.back();
        pending_.pop_back();
        (need.kind == NeedKind::kData ? data_ : buffered_).push_back(need);
      }
      if (!buffered_.empty() && window_was_empty) {
        window_.clear();
        window_start_ = pos_;
      }
      uint64_t segment_end = chunk_end;
      for (const Need& need : buffered_) {
        if (need.kind != NeedKind::kCompressed) segment_end = std::min(segment_end, need.end);
      }
      const size_t length = segment_end - pos_;
      VDISK_RETURN_IF_ERROR(ProcessSegment(chunk.first(length)));
      chunk = chunk.subspan(length);
    }
    return Status::Ok();
  }

  Status ProcessSegment(std::span<const std::byte> segment) {
    const uint64_t begin = pos_;
    const uint64_t end = pos_ + segment.size();
    if (!l1_known_ || unresolved_l2_ > 0) VDISK_RETURN_IF_ERROR(SpillUnclaimed(segment, begin));

    uint64_t written = 0;
    for (const Need& need : data_) {
      uint64_t from = std::max(need.start, begin);
      uint64_t to = std::min(need.end, end);
      if (from >= to) continue;
      VDISK_RETURN_IF_ERROR(
          out_.WriteAt(need.guest + (from - need.start), segment.subspan(from - begin, to - from)));
      written += to - from;
    }
    AddProgress(written);
    std::erase_if(data_, [&](const Need& need) { return need.end <= end; });

    if (!buffered_.empty()) window_.insert(window_.end(), segment.begin(), segment.end());
    pos_ = end;
    return CompleteBuffered(end);
  }

  // Decodes or decompresses the buffered needs whose bytes have all arrived, then drops the
  // window bytes no remaining need covers.
  Status CompleteBuffered(uint64_t end) {
    std::vector<std::pair<Need, std::vector<std::byte>>> tables;
    for (const Need& need : buffered_) {
      if (need.end > end) continue;
      auto bytes = std::span<const std::byte>(window_).subspan(need.start - window_start_,
                                                               need.end - need.start);
      if (need.kind == NeedKind::kCompressed) {
        VDISK_RETURN_IF_ERROR(AddCompressed(need, bytes));
      } else {
        // Decoding a table registers needs, which may reshape the window: copy it out first.
        tables.emplace_back(need, std::vector<std::byte>(bytes.begin(), bytes.end()));
      }
    }
    std::erase_if(buffered_, [&](const Need& need) { return need.end <= end; });
    for (const auto& [need, bytes] : tables) VDISK_RETURN_IF_ERROR(Complete(need, bytes));
    TrimWindow();
    return Status::Ok();
  }

  void TrimWindow() {
    if (buffered_.empty()) {
      window_.clear();
      window_start_ = pos_;
      return;
    }
    uint64_t keep_from = pos_;
    for (const Need& need : buffered_) keep_from = std::min(keep_from, need.start);
    if (keep_from > window_start_) {
      window_.erase(window_.begin(), window_.begin() + (keep_from - window_start_));
      window_start_ = keep_from;
    }
  }

  Status Complete(const Need& need, std::span<const std::byte> bytes) {
    switch (need.kind) {
      case NeedKind::kL1: {
        VDISK_ASSIGN_OR_RETURN(std::vector<uint64_t> l2_offsets,
                               DecodeL1(layout_, bytes, std::nullopt));
        l1_known_ = true;
        // Count every table first: decoding one from the scratch file must not find the count
        // at zero while others are still to be registered.
        unresolved_l2_ = std::count_if(l2_offsets.begin(), l2_offsets.end(),
                                       [](uint64_t offset) { return offset != 0; });
        for (size_t i = 0; i < l2_offsets.size(); ++i) {
          uint64_t guest = i * layout_.guest_per_l2;
          if (l2_offsets[i] == 0) {
            AddProgress(std::min(layout_.guest_per_l2, layout_.info.virtual_size - guest));
            continue;
          }
          VDISK_RETURN_IF_ERROR(Register(
              {l2_offsets[i], l2_offsets[i] + layout_.cluster_size, guest, NeedKind::kL2}));
        }
        break;
      }
      case NeedKind::kL2: {
        std::vector<Extent> extents;
        VDISK_RETURN_IF_ERROR(
            DecodeL2(layout_, bytes, need.guest, 0, layout_.l2_entries, std::nullopt, extents));
        uint64_t mapped = 0;
        for (const Extent& e : extents) {
          mapped += e.length;
          NeedKind kind = e.kind == Extent::Kind::kData ? NeedKind::kData : NeedKind::kCompressed;
          VDISK_RETURN_IF_ERROR(Register({e.host, e.host + e.host_length, e.guest, kind}));
        }
        AddProgress(std::min(layout_.guest_per_l2, layout_.info.virtual_size - need.guest) -
                    mapped);
        --unresolved_l2_;
        if (l1_known_ && unresolved_l2_ == 0) DropScratch();
        break;
      }
      case NeedKind::kCompressed:
        return AddCompressed(need, bytes);
      case NeedKind::kData:
        return Internal("data needs are not buffered");
    }
    return Status::Ok();
  }

  // Takes note of a need: bytes still to come wait in pending_; bytes that have passed come
  // from the scratch file.
  Status Register(Need need) {
    if (need.end <= pos_) return FromScratch(need);
    if (need.start < pos_) {  // straddles the stream position
      if (need.kind == NeedKind::kData) {
        Need passed = need;
        passed.end = pos_;
        VDISK_RETURN_IF_ERROR(FromScratch(passed));
        need.guest += pos_ - need.start;
        need.start = pos_;
      } else {
        VDISK_RETURN_IF_ERROR(PrependToWindow(need));
        buffered_.push_back(need);
        return Status::Ok();
      }
    }
    if (pending_.size() >= kMaxPendingNeeds) {
      return InvalidArgument(
          "qcow2 stream maps too many clusters ahead of the stream position; convert the "
          "image from a random-access source instead");
    }
    pending_.push_back(need);
    std::push_heap(pending_.begin(), pending_.end(), StartsLater);
    return Status::Ok();
  }

  // Makes the window start no later than `need.start`, filling in from the scratch file.
  Status PrependToWindow(const Need& need) {
    if (buffered_.empty()) {
      window_.clear();
      window_start_ = pos_;
    }
    if (need.start >= window_start_) return Status::Ok();
    std::vector<std::byte> earlier(window_start_ - need.start);
    VDISK_RETURN_IF_ERROR(ReadScratch(need.start, earlier, need.kind));
    window_.insert(window_.begin(), earlier.begin(), earlier.end());
    window_start_ = need.start;
    return Status::Ok();
  }

  Status FromScratch(const Need& need) {
    if (need.kind != NeedKind::kData) {
      std::vector<std::byte> bytes(need.end - need.start);
      VDISK_RETURN_IF_ERROR(ReadScratch(need.start, bytes, need.kind));
      return Complete(need, bytes);
    }
    std::vector<std::byte> buffer(std::min<uint64_t>(need.end - need.start, kChunkSize));
    for (uint64_t at = need.start; at < need.end;) {
      auto piece =
          std::span<std::byte>(buffer).first(std::min<uint64_t>(buffer.size(), need.end - at));
      VDISK_RETURN_IF_ERROR(ReadScratch(at, piece, need.kind));
      VDISK_RETURN_IF_ERROR(out_.WriteAt(need.guest + (at - need.start), piece));
      AddProgress(piece.size());
      at += piece.size();
    }
    return Status::Ok();
  }

  // --- The scratch file.

  // Spills the parts of `chunk` (at file offset `begin`) that no known need claims. Compressed
  // clusters leave their first and last sectors unclaimed: a neighbouring compressed cluster,
  // possibly mapped by a table still to come, may share them.
  Status SpillUnclaimed(std::span<const std::byte> chunk, uint64_t begin) {
    const uint64_t end = begin + chunk.size();
    std::vector<std::pair<uint64_t, uint64_t>> claimed;
    for (const Need& need : data_) claimed.emplace_back(need.start, need.end);
    for (const Need& need : buffered_) {
      if (need.kind != NeedKind::kCompressed) continue;
      uint64_t from = (need.start + kSectorSize - 1) / kSectorSize * kSectorSize;
      uint64_t to = need.end > kSectorSize ? need.end - kSectorSize : 0;
      if (from < to) claimed.emplace_back(from, to);
    }
    std::sort(claimed.begin(), claimed.end());
    uint64_t at = begin;
    for (auto [from, to] : claimed) {
      from = std::clamp(from, begin, end);
      to = std::clamp(to, begin, end);
      if (from > at) VDISK_RETURN_IF_ERROR(Spill(at, chunk.subspan(at - begin, from - at)));
      at = std::max(at, to);
    }
    if (at < end) VDISK_RETURN_IF_ERROR(Spill(at, chunk.subspan(at - begin)));
    return Status::Ok();
  }

  Status Spill(uint64_t offset, std::span<const std::byte> bytes) {
    if (scratch_fd_ < 0) VDISK_RETURN_IF_ERROR(CreateScratch());
    if (int err = PwriteFully(scratch_fd_, bytes, offset); err != 0) {
      return Internal("writing the qcow2 scratch file in " + scratch_dir_ +
                      " failed: " + std::strerror(err));
    }
    // Record [offset, end), merged with the ranges it touches.
    uint64_t start = offset;
    uint64_t end = offset + bytes.size();
    auto it = spilled_.upper_bound(start);
    if (it != spilled_.begin() && std::prev(it)->second >= start) --it;
    while (it != spilled_.end() && it->first <= end) {
      start = std::min(start, it->first);
      end = std::max(end, it->second);
      it = spilled_.erase(it);
    }
    spilled_.emplace(start, end);
    if (spilled_.size() > kMaxSpilledRanges) {
      return InvalidArgument(
          "qcow2 stream layout is too fragmented to convert as a stream; convert the image "
          "from a random-access source instead");
    }
    return Status::Ok();
  }

  Status ReadScratch(uint64_t offset, std::span<std::byte> out, NeedKind kind) {
    auto it = spilled_.upper_bound(offset);
    if (it == spilled_.begin() || std::prev(it)->second < offset + out.size()) {
      return InvalidArgument(std::string("qcow2 stream needs ") + Describe(kind) +
                             " at file offset " + std::to_string(offset) +
                             " after it has passed, but those bytes were consumed as something "
                             "else; convert the image from a random-access source instead");
    }
    used_scratch_ = true;
    for (size_t done = 0; done < out.size();) {
      ssize_t n = ::pread(scratch_fd_, out.data() + done, out.size() - done,
                          static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0)
        return Internal(std::string("reading the qcow2 scratch file failed: ") +
                        std::strerror(errno));
      if (n == 0) {  // a spilled range ending in a hole of the sparse file
        std::fill(out.begin() + done, out.end(), std::byte{0});
        break;
      }
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  Status CreateScratch() {
    std::string path =
        (scratch_dir_.empty() ? std::string(".") : scratch_dir_) + "/.vdisk-qcow2-scratch-XXXXXX";
    scratch_fd_ = ::mkostemp(path.data(), O_CLOEXEC);
    if (scratch_fd_ < 0) {
      return Internal("cannot create a qcow2 scratch file in " + scratch_dir_ + ": " +
                      std::strerror(errno));
    }
    ::unlink(path.c_str());  // deleted once closed, however the conversion ends
    return Status::Ok();
  }

  // Once every L2 table is known, nothing more can be needed from the scratch file.
  void DropScratch() {
    spilled_.clear();
    if (scratch_fd_ >= 0) ::close(scratch_fd_);
    scratch_fd_ = -1;
  }

  // --- Compressed clusters, decompressed by the workers in batches.

  Status AddCompressed(const Need& need, std::span<const std::byte> bytes) {
    uint64_t length = std::min(layout_.cluster_size, layout_.info.virtual_size - need.guest);
    batch_extents_.push_back(
        {Extent::Kind::kCompressed, need.guest, length, batch_bytes_.size(), bytes.size()});
    batch_bytes_.insert(batch_bytes_.end(), bytes.begin(), bytes.end());
    if (batch_bytes_.size() >= kCompressedBatchBytes) FlushCompressed();
    return Status::Ok();
  }

  void FlushCompressed() {
    if (batch_extents_.empty()) return;
    struct Batch {
      std::vector<std::byte> bytes;
      std::vector<Extent> extents;
    };
    auto batch = std::make_shared<Batch>(Batch{std::move(batch_bytes_), std::move(batch_extents_)});
    batch_bytes_.clear();
    batch_extents_.clear();
    uint64_t cost = batch->bytes.size() + DecompressBufferBytes(layout_);
    queue_.Submit(cost, [this, batch]() -> Status {
      if (queue_.failed()) return Status::Ok();
      VDISK_RETURN_IF_ERROR(WriteExtents(layout_, batch->bytes, 0, batch->extents, out_));
      uint64_t written = 0;
      for (const Extent& e : batch->extents) written += e.length;
      AddProgress(written);
      return Status::Ok();
    });
  }

  // At the end of the stream: compressed clusters cut by it are decompressed from what
  // arrived (the last one's final sector may be cut); anything else still needed is missing.
  Status FinishAtEnd() {
    for (const Need& need : buffered_) {
      if (need.kind != NeedKind::kCompressed) return Truncated(need);
    }
    std::vector<Need> cut = std::move(buffered_);
    buffered_.clear();
    for (Need need : cut) {
      need.end = pos_;
      auto bytes = std::span<const std::byte>(window_).subspan(need.start - window_start_,
                                                               need.end - need.start);
      VDISK_RETURN_IF_ERROR(Complete(need, bytes));
    }
    if (!pending_.empty()) {
      std::pop_heap(pending_.begin(), pending_.end(), StartsLater);
      return Truncated(pending_.back());
    }
    // The tables that were not needed must still lie inside the file, as Probe checks.
    if (layout_.l1_offset > pos_ || layout_.l1_bytes > pos_ - layout_.l1_offset) {
      return Truncated(
          Need{layout_.l1_offset, layout_.l1_offset + layout_.l1_bytes, 0, NeedKind::kL1});
    }
    if (layout_.refcount_table_offset > pos_ ||
        layout_.refcount_table_bytes > pos_ - layout_.refcount_table_offset) {
      return InvalidArgument(
          "qcow2 image is truncated: the stream ended after " + std::to_string(pos_) +
          " bytes but the refcount table lies at file offset " +
          std::to_string(layout_.refcount_table_offset) + ".." +
          std::to_string(layout_.refcount_table_offset + layout_.refcount_table_bytes));
    }
    data_.clear();  // data cut by the end of the stream reads as zeros, as in qemu
    FlushCompressed();
    return Status::Ok();
  }

  Status Truncated(const Need& need) {
    return InvalidArgument("qcow2 image is truncated: the stream ended after " +
                           std::to_string(pos_) + " bytes but " + Describe(need.kind) +
                           " lies at file offset " + std::to_string(need.start) + ".." +
                           std::to_string(need.end));
  }

  void AddProgress(uint64_t bytes) {
    if (options_.progress != nullptr) options_.progress->done += bytes;
  }

  io::Reader& in_;
  io::ImageWriter& out_;
  const std::string scratch_dir_;
  const ConvertOptions& options_;
  Layout layout_;

  uint64_t pos_ = 0;  // file offset of the next byte to arrive
  bool l1_known_ = false;
  uint64_t unresolved_l2_ = 0;  // L2 tables the L1 table maps that are not decoded yet

  std::vector<Need> pending_;   // min-heap by start: needs whose bytes are all to come
  std::vector<Need> data_;      // data needs whose bytes are arriving
  std::vector<Need> buffered_;  // other needs whose bytes are arriving, kept in window_
  std::vector<std::byte> window_;
  // The window holds the file bytes [window_start_, pos_) while buffered_ is not empty; every
  // buffered need starts inside it.
  uint64_t window_start_ = 0;

  int scratch_fd_ = -1;
  std::map<uint64_t, uint64_t> spilled_;  // start -> end of the ranges in the scratch file
  bool used_scratch_ = false;

  std::vector<std::byte> batch_bytes_;
  std::vector<Extent> batch_extents_;  // host = offset in batch_bytes_

  WorkQueue queue_;  // declared last: its workers stop before the members they use go away
};

}  // namespace

Status ConvertStream(io::Reader& in, io::ImageWriter& out, const std::string& scratch_dir,
                     const ConvertOptions& options, bool* used_scratch) {
  if (used_scratch != nullptr) *used_scratch = false;
  return StreamConverter(in, out, scratch_dir, options).Run(used_scratch);
}

}  // namespace vdisk::qcow2
