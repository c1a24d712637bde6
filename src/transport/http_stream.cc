// HttpStream: the body of an HTTP resource as an io::Reader, with resumption after failures.
#include "transport/http_stream.h"

#include <optional>
#include <stop_token>
#include <thread>

#include "transport/byte_ring.h"
#include "transport/retry.h"

namespace vdisk::transport {
namespace {

// Enough to keep the transfer going while the consumer works on a few large reads.
constexpr size_t kBufferBytes = 8 << 20;

class HttpStream : public io::Reader {
 public:
  HttpStream(std::shared_ptr<ConnectionPool> pool, bool supports_ranges,
             std::optional<uint64_t> size)
      : pool_(std::move(pool)),
        supports_ranges_(supports_ranges),
        expected_size_(size),
        ring_(kBufferBytes),
        transfer_thread_([this](std::stop_token stop) { ring_.Finish(Transfer(stop)); }),
        caller_stop_(pool_->settings().options.stop,
                     StopRequester{transfer_thread_.get_stop_source()}) {}

  // Destroying the stream stops its transfer (std::jthread requests stop and joins).
  ~HttpStream() override = default;

  Result<size_t> Read(std::span<std::byte> out) override {
    return ring_.Read(out, transfer_thread_.get_stop_token());
  }

 private:
  struct StopRequester {
    std::stop_source source;
    void operator()() { source.request_stop(); }
  };

  // Downloads the body into ring_, resuming after transient failures; runs on transfer_thread_.
  Status Transfer(const std::stop_token& stop);

  std::shared_ptr<ConnectionPool> pool_;
  const bool supports_ranges_;
  const std::optional<uint64_t> expected_size_;
  ByteRing ring_;
  std::jthread transfer_thread_;
  // Forwards HttpOptions::stop to the transfer thread's stop source (and so to Read).
  std::stop_callback<StopRequester> caller_stop_;
};

Status HttpStream::Transfer(const std::stop_token& stop) {
  const RequestSettings& settings = pool_->settings();
  const std::string& url = settings.redacted_url;
  VDISK_ASSIGN_OR_RETURN(ConnectionPool::Lease connection, pool_->Borrow());
  RetryBudget retry(settings.options, stop);
  uint64_t offset = 0;  // bytes delivered to ring_
  std::optional<uint64_t> total = expected_size_;

  for (;;) {
    const uint64_t offset_at_start = offset;
    bool resume_refused = false;
    Request request;
    if (offset > 0) request.range_first = offset;
    request.check_head = [&](const ResponseHead& head) -> Status {
      if (offset == 0) {
        if (head.status == 206) return Unavailable("unrequested partial content from " + url);
        // The answer itself is more recent than the probe.
        if (head.content_length) total = head.content_length;
        return Status::Ok();
      }
      const std::optional<ContentRange>& range = head.content_range;
      if (head.status != 206 || !range || !range->satisfied || range->first != offset) {
        resume_refused = true;
        return Unavailable("cannot resume the transfer from " + url + " at byte " +
                           std::to_string(offset) + ": the server did not answer with that range");
      }
      if (range->total && total && *range->total != *total) {
        resume_refused = true;
        return Unavailable("the resource at " + url + " changed size during the transfer (" +
                           std::to_string(*total) + " -> " + std::to_string(*range->total) +
                           " bytes)");
      }
      if (range->total) total = range->total;
      return Status::Ok();
    };
    request.on_body = [&](std::span<const std::byte> data) -> Status {
      if (total && data.size() > *total - offset) {
        return InvalidArgument("the server sent more than the " + std::to_string(*total) +
                               " bytes it announced for " + url);
      }
      if (!ring_.Write(data, stop)) return Cancelled();
      offset += data.size();
      return Status::Ok();
    };

    TransferOutcome outcome = connection->Perform(request, stop);
    Status status = ClassifyTransfer(outcome, url, settings.options.stall_timeout);
    if (status.ok()) {
      if (!total || offset == *total) return Status::Ok();
      status = Unavailable("short body from " + url + ": " + std::to_string(offset) + " of " +
                           std::to_string(*total) + " bytes");
    } else if (IsTransient(status) && total && offset == *total) {
      return Status::Ok();  // every announced byte arrived before the failure
    }
    if (resume_refused) return status;
    if (IsTransient(status) && offset > 0 && !supports_ranges_) {
      return Unavailable("the transfer from " + url + " failed after " + std::to_string(offset) +
                         " bytes and cannot be resumed because the server does not support byte "
                         "ranges: " +
                         status.message());
    }
    VDISK_RETURN_IF_ERROR(retry.AfterFailure(status, offset > offset_at_start));
  }
}

}  // namespace

std::unique_ptr<io::Reader> StartHttpStream(std::shared_ptr<ConnectionPool> pool,
                                            bool supports_ranges, std::optional<uint64_t> size) {
  return std::make_unique<HttpStream>(std::move(pool), supports_ranges, size);
}

}  // namespace vdisk::transport
