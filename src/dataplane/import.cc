// The import pipeline (see import.h).
#include "dataplane/import.h"

#include <algorithm>
#include <atomic>
#include <future>
#include <vector>

#include "common/aligned_buffer.h"
#include "dataplane/decompress.h"
#include "dataplane/file_image_writer.h"
#include "dataplane/peek_reader.h"
#include "qcow2/qcow2.h"

namespace vdisk::dataplane {
namespace {

// Large enough that a pwrite and a decoder call each do a lot of work per call, small enough
// that two of them are a modest share of the memory budget.
constexpr size_t kCopyChunkSize = 4 << 20;

// Counts the bytes read through it and publishes the count as progress.
class CountingReader : public io::Reader {
 public:
  CountingReader(io::Reader& in, io::Progress* progress) : in_(in), progress_(progress) {}

  Result<size_t> Read(std::span<std::byte> out) override {
    VDISK_ASSIGN_OR_RETURN(size_t n, in_.Read(out));
    uint64_t total = count_.fetch_add(n, std::memory_order_relaxed) + n;
    if (progress_ != nullptr) progress_->done.store(total, std::memory_order_relaxed);
    return n;
  }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  io::Reader& in_;
  io::Progress* progress_;
  std::atomic<uint64_t> count_{0};
};

// Counts the bytes read by offset, for ImportResult::bytes_read.
class CountingRandomAccessReader : public io::RandomAccessReader {
 public:
  explicit CountingRandomAccessReader(io::RandomAccessReader& in) : in_(in) {}
  uint64_t size() const override { return in_.size(); }
  Status ReadAt(uint64_t offset, std::span<std::byte> out) override {
    VDISK_RETURN_IF_ERROR(in_.ReadAt(offset, out));
    count_.fetch_add(out.size(), std::memory_order_relaxed);
    return Status::Ok();
  }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  io::RandomAccessReader& in_;
  std::atomic<uint64_t> count_{0};
};

// Fills `out` unless the stream ends first; returns the bytes read.
Result<size_t> ReadFull(io::Reader& in, std::span<std::byte> out) {
  size_t done = 0;
  while (done < out.size()) {
    VDISK_ASSIGN_OR_RETURN(size_t n, in.Read(out.subspan(done)));
    if (n == 0) break;
    done += n;
  }
  return done;
}

Status ImageTooLarge(uint64_t image_size, uint64_t usable_size) {
  return InvalidArgument("A larger PVC is required: image virtual size " +
                         std::to_string(image_size) + " exceeds the volume's usable size " +
                         std::to_string(usable_size));
}

// Copies a raw image stream to `out` from offset 0 and returns its size. The next chunk is read
// (decompressed, downloaded) on another thread while the current one is written. An image with
// more bytes than out.capacity() fails as soon as the excess arrives.
Result<uint64_t> CopyRaw(io::Reader& in, io::ImageWriter& out, std::stop_token stop) {
  AlignedBuffer buffers[2] = {AlignedBuffer(kCopyChunkSize), AlignedBuffer(kCopyChunkSize)};
  auto read_into = [&in](AlignedBuffer& buffer) { return ReadFull(in, buffer.span()); };
  std::future<Result<size_t>> pending =
      std::async(std::launch::async, read_into, std::ref(buffers[0]));
  uint64_t offset = 0;
  for (size_t current = 0;; current ^= 1) {
    Result<size_t> n = pending.get();
    if (!n.ok()) return n.status();
    const bool more = *n == kCopyChunkSize;
    // The future's destructor waits for a read in flight, so returning early below never
    // leaves a thread writing into a freed buffer.
    if (more) pending = std::async(std::launch::async, read_into, std::ref(buffers[current ^ 1]));
    if (stop.stop_requested()) return Cancelled();
    if (*n > out.capacity() - offset) {
      return InvalidArgument("image is larger than the volume: it holds more than the volume's " +
                             std::to_string(out.capacity()) + " usable bytes");
    }
    VDISK_RETURN_IF_ERROR(out.WriteAt(offset, buffers[current].span().first(*n)));
    offset += *n;
    if (!more) return offset;
  }
}

// Reads `in` to its end, discarding the bytes, so a checksum covers all of the source.
Status Drain(io::Reader& in, std::stop_token stop) {
  std::vector<std::byte> buffer(1 << 20);
  while (true) {
    if (stop.stop_requested()) return Cancelled();
    VDISK_ASSIGN_OR_RETURN(size_t n, in.Read(buffer));
    if (n == 0) return Status::Ok();
  }
}

class Importer {
 public:
  Importer(const ImportSource& source, const ImportTarget& target, const ImportOptions& options,
           uint64_t capacity)
      : source_(source), target_(target), options_(options), capacity_(capacity) {}

  // Converts a qcow2 by random access. Returns nullopt without touching the target when the
  // source is not a bare qcow2, having noted the source size for the streamed import.
  Result<std::optional<ImportResult>> Qcow2ByRandomAccess();
  Result<ImportResult> Streamed();

 private:
  FileImageWriter::Options WriterOptions() const {
    return {target_.path, target_.usable_size, target_.preallocate, target_.block};
  }
  Status CheckFits(uint64_t image_size) const {
    return image_size <= capacity_ ? Status::Ok() : ImageTooLarge(image_size, capacity_);
  }
  qcow2::ConvertOptions ConvertOptions(io::Progress* progress) const {
    return {options_.threads, options_.stop, progress};
  }

  const ImportSource& source_;
  const ImportTarget& target_;
  const ImportOptions& options_;
  const uint64_t capacity_;
  std::optional<uint64_t> source_size_ = source_.size;
};

Result<std::optional<ImportResult>> Importer::Qcow2ByRandomAccess() {
  VDISK_ASSIGN_OR_RETURN(std::unique_ptr<io::RandomAccessReader> opened,
                         source_.open_random_access());
  CountingRandomAccessReader file(*opened);
  std::vector<std::byte> head(std::min<uint64_t>(kFormatHeadSize, file.size()));
  VDISK_RETURN_IF_ERROR(file.ReadAt(0, head));
  const Format format = DetectFormat(head);
  VDISK_RETURN_IF_ERROR(CheckSupported(format));
  if (format != Format::kQcow2) {
    if (!source_size_) source_size_ = file.size();
    return std::optional<ImportResult>();
  }

  VDISK_ASSIGN_OR_RETURN(qcow2::ImageInfo info, qcow2::Probe(file));
  VDISK_RETURN_IF_ERROR(CheckFits(info.virtual_size));
  if (options_.stop.stop_requested()) return Cancelled();
  VDISK_ASSIGN_OR_RETURN(std::unique_ptr<FileImageWriter> writer,
                         FileImageWriter::Create(WriterOptions()));
  VDISK_RETURN_IF_ERROR(qcow2::Convert(file, *writer, ConvertOptions(options_.progress)));
  if (options_.stop.stop_requested()) return Cancelled();
  VDISK_RETURN_IF_ERROR(writer->Commit());
  return std::optional<ImportResult>(
      ImportResult{Format::kQcow2, Format::kQcow2, info.virtual_size, false, file.count()});
}

Result<ImportResult> Importer::Streamed() {
  VDISK_ASSIGN_OR_RETURN(std::unique_ptr<io::Reader> body, source_.open_stream());
  if (options_.progress != nullptr) {
    options_.progress->total.store(source_size_.value_or(0));
    options_.progress->done.store(0);
  }
  CountingReader counted(*body, options_.progress);
  std::optional<HashingReader> hashing;
  if (options_.checksum) hashing.emplace(counted, *options_.checksum);
  PeekReader outer(hashing ? static_cast<io::Reader&>(*hashing) : counted);

  ImportResult result;
  VDISK_ASSIGN_OR_RETURN(std::span<const std::byte> outer_head, outer.Peek(kFormatHeadSize));
  result.format = DetectFormat(outer_head);
  VDISK_RETURN_IF_ERROR(CheckSupported(result.format));
  if (outer_head.empty()) return InvalidArgument("the image is empty");

  // The disk image: the source itself, or what one layer of decompression yields.
  io::Reader* image = &outer;
  std::span<const std::byte> image_head = outer_head;
  std::optional<uint64_t> known_image_size;  // a lower bound of the raw image's size, if known
  std::unique_ptr<io::Reader> decompressor;
  std::optional<PeekReader> decompressed;
  if (IsCompression(result.format)) {
    if (result.format == Format::kZstd) known_image_size = ZstdFirstFrameContentSize(outer_head);
    VDISK_ASSIGN_OR_RETURN(decompressor, NewDecompressor(result.format, outer, options_.threads));
    decompressed.emplace(*decompressor);
    VDISK_ASSIGN_OR_RETURN(image_head, decompressed->Peek(kFormatHeadSize));
    image = &*decompressed;
    result.inner_format = DetectFormat(image_head);
    if (IsCompression(result.inner_format)) {
      return InvalidArgument(
          "unsupported image format: " + std::string(FormatName(result.inner_format)) + " inside " +
          std::string(FormatName(result.format)) + " (only one compression layer is supported)");
    }
    VDISK_RETURN_IF_ERROR(CheckSupported(result.inner_format));
  } else {
    result.inner_format = result.format;
    known_image_size = source_size_;
  }

  std::optional<uint64_t> qcow2_size;
  if (result.inner_format == Format::kQcow2) {
    qcow2_size = Qcow2HeaderVirtualSize(image_head);
    if (qcow2_size) VDISK_RETURN_IF_ERROR(CheckFits(*qcow2_size));
  } else if (known_image_size) {
    VDISK_RETURN_IF_ERROR(CheckFits(*known_image_size));
  }
  if (options_.stop.stop_requested()) return Cancelled();

  VDISK_ASSIGN_OR_RETURN(std::unique_ptr<FileImageWriter> writer,
                         FileImageWriter::Create(WriterOptions()));
  if (result.inner_format == Format::kQcow2) {
    VDISK_RETURN_IF_ERROR(qcow2::ConvertStream(*image, *writer, target_.scratch_dir,
                                               ConvertOptions(/*progress=*/nullptr),
                                               &result.used_scratch));
    result.virtual_size = qcow2_size.value_or(0);
  } else {
    VDISK_ASSIGN_OR_RETURN(result.virtual_size, CopyRaw(*image, *writer, options_.stop));
  }
  if (hashing) {
    // What the image did not need (bytes after a qcow2's last cluster) is still part of the file
    // the checksum is about.
    VDISK_RETURN_IF_ERROR(Drain(outer, options_.stop));
    VDISK_RETURN_IF_ERROR(hashing->Verify());
  }
  if (options_.stop.stop_requested()) return Cancelled();
  VDISK_RETURN_IF_ERROR(writer->Commit());
  result.bytes_read = counted.count();
  return result;
}

}  // namespace

Result<ImportResult> ImportImage(const ImportSource& source, const ImportTarget& target,
                                 const ImportOptions& options) {
  if (!source.open_stream) return InvalidArgument("import source has no stream to read");
  VDISK_ASSIGN_OR_RETURN(uint64_t capacity,
                         FileImageWriter::CapacityOf(
                             {target.path, target.usable_size, target.preallocate, target.block}));
  Importer importer(source, target, options, capacity);
  if (source.open_random_access && !options.checksum) {
    VDISK_ASSIGN_OR_RETURN(std::optional<ImportResult> result, importer.Qcow2ByRandomAccess());
    if (result) return *std::move(result);
  }
  return importer.Streamed();
}

}  // namespace vdisk::dataplane
