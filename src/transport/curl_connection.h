// One HTTP connection (a curl easy handle) and the pool that keeps connections alive between
// requests. A connection runs one request at a time, driven through its own curl multi handle so
// that a stop request from another thread wakes the transfer at once, and a stall (no byte for
// HttpOptions::stall_timeout) is noticed within a fraction of a second.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "common/status.h"
#include "transport/http_error.h"
#include "transport/http_response.h"
#include "transport/http_source.h"

namespace vdisk::transport {

struct CurlSlistFree {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

// Everything every request of one source shares, validated and prepared by HttpSource::Open.
struct RequestSettings {
  HttpOptions options;
  std::string redacted_url;  // for messages and logs
  std::unique_ptr<curl_slist, CurlSlistFree> headers;
  std::string ca_bundle;  // the system CAs plus options.ca_bundle_pem; empty when none given
};

struct Request {
  bool head = false;  // HEAD instead of GET
  // "Range: bytes=range_first-[range_last]" when set.
  std::optional<uint64_t> range_first = {};
  std::optional<uint64_t> range_last = {};
  // GET only the head of the response: its body is never passed to on_body, and a large one is
  // not downloaded (the transfer ends at its first byte).
  bool head_only = false;
  // Checks the head of a 2xx response before any of its body is accepted; an error rejects the
  // response and ends the transfer with that Status.
  std::function<Status(const ResponseHead&)> check_head = {};
  // Takes the body of an accepted response, piece by piece; an error ends the transfer with it.
  std::function<Status(std::span<const std::byte>)> on_body = {};
};

class CurlConnection {
 public:
  static Result<std::unique_ptr<CurlConnection>> Create(
      std::shared_ptr<const RequestSettings> settings);
  ~CurlConnection();
  CurlConnection(const CurlConnection&) = delete;
  CurlConnection& operator=(const CurlConnection&) = delete;

  // Runs `request` to its end and reports how it went (classify it with ClassifyTransfer).
  // Neither retries nor throws.
  TransferOutcome Perform(const Request& request, const std::stop_token& stop);

  const RequestSettings& settings() const { return *settings_; }

 private:
  struct Transfer;  // the state of the request in flight

  CurlConnection(std::shared_ptr<const RequestSettings> settings, CURL* easy, CURLM* multi);
  Status Configure();
  static size_t OnBody(char* data, size_t size, size_t count, void* self);
  static size_t OnHeader(char* data, size_t size, size_t count, void* self);
  ResponseHead ReadHead();
  // Runs the checks of a 2xx head once; false when the transfer is to end here.
  bool AcceptHead();

  std::shared_ptr<const RequestSettings> settings_;
  CURL* easy_;
  CURLM* multi_;
  Transfer* transfer_ = nullptr;
  char error_[CURL_ERROR_SIZE] = {};
};

// Idle connections kept for reuse (HTTP keep-alive); any number may be in use at once.
class ConnectionPool {
 public:
  explicit ConnectionPool(std::shared_ptr<const RequestSettings> settings)
      : settings_(std::move(settings)) {}

  // A connection borrowed from the pool, returned to it when destroyed.
  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<CurlConnection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    Lease(Lease&&) = default;
    ~Lease() {
      if (connection_) pool_->Return(std::move(connection_));
    }
    CurlConnection* operator->() const { return connection_.get(); }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<CurlConnection> connection_;
  };

  // An idle connection, or a new one when there is none.
  Result<Lease> Borrow();
  const RequestSettings& settings() const { return *settings_; }

 private:
  static constexpr size_t kMaxIdle = 8;
  void Return(std::unique_ptr<CurlConnection> connection);

  std::shared_ptr<const RequestSettings> settings_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<CurlConnection>> idle_;
};

}  // namespace vdisk::transport
