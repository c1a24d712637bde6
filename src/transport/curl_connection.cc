// Driving libcurl: one easy handle per connection, each inside its own multi handle.
#include "transport/curl_connection.h"

#include <algorithm>

#include "common/version.h"

namespace vdisk::transport {
namespace {

// curl's receive buffer: large reads keep the per-chunk overhead small at multi-GB/s.
constexpr long kReceiveBufferBytes = 512 * 1024;
constexpr int kMaxRedirects = 5;
// A body this small is cheaper to read than a new connection.
constexpr uint64_t kSmallBodyBytes = 64 * 1024;
// How often a transfer waiting for data looks at its stall deadline.
constexpr std::chrono::milliseconds kMaxPollInterval{250};

using Clock = std::chrono::steady_clock;

}  // namespace

struct CurlConnection::Transfer {
  explicit Transfer(const Request& request) : request(request) {}
  const Request& request;
  TransferOutcome outcome;
  Clock::time_point last_activity = Clock::now();
  bool head_seen = false;
};

Result<std::unique_ptr<CurlConnection>> CurlConnection::Create(
    std::shared_ptr<const RequestSettings> settings) {
  CURL* easy = curl_easy_init();
  CURLM* multi = curl_multi_init();
  // Owned from here on, so that the destructor frees whichever was created.
  std::unique_ptr<CurlConnection> connection(new CurlConnection(std::move(settings), easy, multi));
  if (!easy || !multi) return Internal("cannot create a curl handle");
  VDISK_RETURN_IF_ERROR(connection->Configure());
  return connection;
}

CurlConnection::CurlConnection(std::shared_ptr<const RequestSettings> settings, CURL* easy,
                               CURLM* multi)
    : settings_(std::move(settings)), easy_(easy), multi_(multi) {}

CurlConnection::~CurlConnection() {
  if (multi_) curl_multi_cleanup(multi_);
  if (easy_) curl_easy_cleanup(easy_);
}

Status CurlConnection::Configure() {
  const HttpOptions& options = settings_->options;
  CURLcode code = CURLE_OK;
  auto set = [&](CURLoption option, auto value) {
    if (code == CURLE_OK) code = curl_easy_setopt(easy_, option, value);
  };
  set(CURLOPT_URL, options.url.c_str());
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  set(CURLOPT_FOLLOWLOCATION, 1L);
  set(CURLOPT_MAXREDIRS, long{kMaxRedirects});
  set(CURLOPT_HTTPHEADER, settings_->headers.get());
  if (options.basic_auth) {
    set(CURLOPT_HTTPAUTH, long{CURLAUTH_BASIC});
    set(CURLOPT_USERNAME, options.basic_auth->first.c_str());
    set(CURLOPT_PASSWORD, options.basic_auth->second.c_str());
  }
  if (!settings_->ca_bundle.empty()) {
    curl_blob blob{const_cast<char*>(settings_->ca_bundle.data()), settings_->ca_bundle.size(),
                   CURL_BLOB_COPY};
    set(CURLOPT_CAINFO_BLOB, &blob);
  }
  // One request at a time per connection: HTTP/2 multiplexing would gain nothing and its flow
  // control slows down large downloads.
  set(CURLOPT_HTTP_VERSION, long{CURL_HTTP_VERSION_1_1});
  set(CURLOPT_BUFFERSIZE, kReceiveBufferBytes);
  set(CURLOPT_CONNECTTIMEOUT_MS,
      static_cast<long>(std::chrono::milliseconds(options.stall_timeout).count()));
  set(CURLOPT_TCP_KEEPALIVE, 1L);
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_USERAGENT, (std::string("vdisk-importer/") + kVdiskVersion).c_str());
  set(CURLOPT_ERRORBUFFER, error_);
  set(CURLOPT_WRITEFUNCTION, &CurlConnection::OnBody);
  set(CURLOPT_WRITEDATA, this);
  set(CURLOPT_HEADERFUNCTION, &CurlConnection::OnHeader);
  set(CURLOPT_HEADERDATA, this);
  if (code != CURLE_OK) {
    return Internal(std::string("cannot configure curl: ") + curl_easy_strerror(code));
  }
  return Status::Ok();
}

TransferOutcome CurlConnection::Perform(const Request& request, const std::stop_token& stop) {
  Transfer transfer(request);
  TransferOutcome& outcome = transfer.outcome;
  if (stop.stop_requested()) {
    outcome.end = TransferEnd::kCancelled;
    return outcome;
  }

  CURLcode code = CURLE_OK;
  if (request.head) {
    code = curl_easy_setopt(easy_, CURLOPT_NOBODY, 1L);
  } else {
    code = curl_easy_setopt(easy_, CURLOPT_HTTPGET, 1L);  // also clears NOBODY
  }
  std::string range;
  if (request.range_first) {
    range = std::to_string(*request.range_first) + "-";
    if (request.range_last) range += std::to_string(*request.range_last);
  }
  if (code == CURLE_OK) {
    code = curl_easy_setopt(easy_, CURLOPT_RANGE, range.empty() ? nullptr : range.c_str());
  }
  if (code != CURLE_OK || curl_multi_add_handle(multi_, easy_) != CURLM_OK) {
    outcome.curl_code = code != CURLE_OK ? code : CURLE_FAILED_INIT;
    return outcome;
  }

  transfer_ = &transfer;
  error_[0] = '\0';
  const auto stall_timeout = settings_->options.stall_timeout;
  const auto poll_interval = std::min<std::chrono::milliseconds>(
      kMaxPollInterval, std::chrono::milliseconds(stall_timeout) / 4);
  bool finished = false;
  {
    std::stop_callback wake(stop, [this] { curl_multi_wakeup(multi_); });
    for (;;) {
      int running = 0;
      CURLMcode multi_code = curl_multi_perform(multi_, &running);
      if (multi_code == CURLM_OK && running == 0) {
        finished = true;
        break;
      }
      if (stop.stop_requested()) {
        outcome.end = TransferEnd::kCancelled;
        break;
      }
      if (Clock::now() - transfer.last_activity >= stall_timeout) {
        outcome.end = TransferEnd::kStalled;
        break;
      }
      if (multi_code == CURLM_OK) {
        multi_code =
            curl_multi_poll(multi_, nullptr, 0, static_cast<int>(poll_interval.count()), nullptr);
      }
      if (multi_code != CURLM_OK) {
        outcome.curl_code = CURLE_FAILED_INIT;
        outcome.curl_detail = curl_multi_strerror(multi_code);
        break;
      }
    }
  }
  if (finished) {
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
      if (message->msg == CURLMSG_DONE) code = message->data.result;
    }
  }
  // Removing an unfinished transfer closes its connection; a finished one stays alive for reuse.
  curl_multi_remove_handle(multi_, easy_);
  transfer_ = nullptr;

  if (finished && outcome.end == TransferEnd::kCurl) {
    outcome.curl_code = code;
    outcome.curl_detail = error_;
    if (code == CURLE_OK && !transfer.head_seen) {
      // An empty body or a HEAD: the head is checked now that the response is complete.
      transfer_ = &transfer;
      AcceptHead();
      transfer_ = nullptr;
    } else if (!transfer.head_seen) {
      curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &outcome.head.status);
    }
  }
  return outcome;
}

ResponseHead CurlConnection::ReadHead() {
  ResponseHead head;
  curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &head.status);
  curl_off_t length = -1;
  if (curl_easy_getinfo(easy_, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK &&
      length >= 0) {
    head.content_length = static_cast<uint64_t>(length);
  }
  curl_header* header = nullptr;
  // Several Content-Range headers are ambiguous and count as none.
  if (curl_easy_header(easy_, "Content-Range", 0, CURLH_HEADER, -1, &header) == CURLHE_OK &&
      header->amount == 1) {
    head.content_range = ParseContentRange(header->value);
  }
  return head;
}

bool CurlConnection::AcceptHead() {
  Transfer& transfer = *transfer_;
  TransferOutcome& outcome = transfer.outcome;
  transfer.head_seen = true;
  outcome.head = ReadHead();
  if (outcome.head.status < 200 || outcome.head.status > 299) {
    outcome.end = TransferEnd::kErrorStatus;
    return false;
  }
  if (transfer.request.check_head) {
    Status verdict = transfer.request.check_head(outcome.head);
    if (!verdict.ok()) {
      outcome.end = TransferEnd::kRejected;
      outcome.rejection = std::move(verdict);
      return false;
    }
  }
  if (transfer.request.head_only) {
    // A small body is read to its end so that the connection stays usable; a large one is
    // dropped with its connection.
    if (outcome.head.content_length && *outcome.head.content_length <= kSmallBodyBytes) {
      return true;
    }
    outcome.end = TransferEnd::kHeadOnly;
    return false;
  }
  return true;
}

size_t CurlConnection::OnBody(char* data, size_t size, size_t count, void* self) {
  auto* connection = static_cast<CurlConnection*>(self);
  Transfer& transfer = *connection->transfer_;
  const size_t length = size * count;
  transfer.last_activity = Clock::now();
  if (!transfer.head_seen && !connection->AcceptHead()) return CURL_WRITEFUNC_ERROR;
  if (length == 0 || !transfer.request.on_body || transfer.request.head_only) return length;
  Status taken = transfer.request.on_body(
      std::span<const std::byte>(reinterpret_cast<const std::byte*>(data), length));
  if (!taken.ok()) {
    transfer.outcome.end = TransferEnd::kRejected;
    transfer.outcome.rejection = std::move(taken);
    return CURL_WRITEFUNC_ERROR;
  }
  // The consumer may have held the transfer up: that time is not a stall.
  transfer.last_activity = Clock::now();
  return length;
}

size_t CurlConnection::OnHeader(char*, size_t size, size_t count, void* self) {
  static_cast<CurlConnection*>(self)->transfer_->last_activity = Clock::now();
  return size * count;
}

Result<ConnectionPool::Lease> ConnectionPool::Borrow() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      std::unique_ptr<CurlConnection> connection = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(connection));
    }
  }
  VDISK_ASSIGN_OR_RETURN(std::unique_ptr<CurlConnection> connection,
                         CurlConnection::Create(settings_));
  return Lease(this, std::move(connection));
}

void ConnectionPool::Return(std::unique_ptr<CurlConnection> connection) {
  std::lock_guard lock(mutex_);
  if (idle_.size() < kMaxIdle) idle_.push_back(std::move(connection));
}

}  // namespace vdisk::transport
