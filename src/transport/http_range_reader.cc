// HttpRangeReader: io::RandomAccessReader over HTTP Range requests.
#include "transport/http_range_reader.h"

#include <cstring>

#include "transport/retry.h"

namespace vdisk::transport {
namespace {

class HttpRangeReader : public io::RandomAccessReader {
 public:
  HttpRangeReader(std::shared_ptr<ConnectionPool> pool, uint64_t size)
      : pool_(std::move(pool)), size_(size) {}

  uint64_t size() const override { return size_; }

  Status ReadAt(uint64_t offset, std::span<std::byte> out) override {
    const RequestSettings& settings = pool_->settings();
    const std::string& url = settings.redacted_url;
    if (offset > size_ || out.size() > size_ - offset) {
      return InvalidArgument("read of " + std::to_string(out.size()) + " bytes at offset " +
                             std::to_string(offset) + " reaches past the end of " + url + " (" +
                             std::to_string(size_) + " bytes)");
    }
    if (out.empty()) return Status::Ok();
    const std::stop_token& stop = settings.options.stop;
    VDISK_ASSIGN_OR_RETURN(ConnectionPool::Lease connection, pool_->Borrow());
    RetryBudget retry(settings.options, stop);
    size_t done = 0;  // bytes of `out` filled

    for (;;) {
      const size_t done_at_start = done;
      const uint64_t first = offset + done;
      const uint64_t last = offset + out.size() - 1;
      bool range_refused = false;
      Request request;
      request.range_first = first;
      request.range_last = last;
      request.check_head = [&](const ResponseHead& head) -> Status {
        const std::optional<ContentRange>& range = head.content_range;
        if (head.status == 206 && range && range->satisfied && range->first == first &&
            range->last == last && (!range->total || *range->total == size_)) {
          return Status::Ok();
        }
        // Retrying would meet the same answer; the caller restarts and probes afresh.
        range_refused = true;
        return Unavailable("the server answered a request for bytes " + std::to_string(first) +
                           "-" + std::to_string(last) + " of " + url +
                           " with a different range (HTTP " + std::to_string(head.status) + ")");
      };
      request.on_body = [&](std::span<const std::byte> data) -> Status {
        if (data.size() > out.size() - done) {
          return InvalidArgument("the server sent more bytes than requested from " + url);
        }
        std::memcpy(out.data() + done, data.data(), data.size());
        done += data.size();
        return Status::Ok();
      };

      TransferOutcome outcome = connection->Perform(request, stop);
      Status status = ClassifyTransfer(outcome, url, settings.options.stall_timeout);
      if (status.ok()) {
        if (done == out.size()) return Status::Ok();
        status = Unavailable("short body from " + url + ": " + std::to_string(done) + " of " +
                             std::to_string(out.size()) + " bytes");
      }
      if (range_refused) return status;
      VDISK_RETURN_IF_ERROR(retry.AfterFailure(status, done > done_at_start));
    }
  }

 private:
  std::shared_ptr<ConnectionPool> pool_;
  const uint64_t size_;
};

}  // namespace

std::unique_ptr<io::RandomAccessReader> MakeHttpRangeReader(std::shared_ptr<ConnectionPool> pool,
                                                            uint64_t size) {
  return std::make_unique<HttpRangeReader>(std::move(pool), size);
}

}  // namespace vdisk::transport
