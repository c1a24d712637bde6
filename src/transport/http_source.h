// HttpSource: an image offered over HTTP(S), as the importer reads it — a sequential stream from
// byte 0, or random access through Range requests when the server supports them.
//
//   HttpOptions options{.url = "https://example.com/disk.qcow2"};
//   VDISK_ASSIGN_OR_RETURN(auto source, HttpSource::Open(std::move(options)));
//   if (source->supports_ranges() && source->size()) { ... source->OpenRandomAccess() ... }
//   else { ... source->OpenStream() ... }
//
// Every request is retried on transient failures (5xx, 429, resets, timeouts, stalls, short
// bodies) with exponential back-off; see transport/http_error.h for how failures are classified
// and transport/retry.h for the back-off. Messages never contain credentials: URLs in them are
// stripped of user information and query strings, and header values are never echoed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "common/io.h"
#include "common/status.h"

namespace vdisk::transport {

class ConnectionPool;

struct HttpOptions {
  // http:// or https:// only; any other scheme is an InvalidArgument error naming it.
  std::string url;
  // "Name: value" lines sent with every request (CDI's extraHeaders and secretExtraHeaders).
  // Lines containing CR, LF or NUL, lines without a header name, and Range (which the transport
  // sets itself) are rejected. Values are treated as secrets and never appear in messages.
  std::vector<std::string> extra_headers;
  // HTTP Basic credentials: accessKeyId, secretKey. Sent to the URL's own host only, not to
  // hosts a redirect leads to.
  std::optional<std::pair<std::string, std::string>> basic_auth;
  // Extra CA certificates in PEM (certConfigMap), trusted in addition to the system's.
  // Empty: the system CAs only.
  std::string ca_bundle_pem;
  // No byte received for this long (connecting included) is a transient failure. At least 1 s.
  std::chrono::seconds stall_timeout{30};
  // Attempts per request, at least 1. A failure that made progress (received body bytes) starts
  // the count afresh, so a long transfer over a flaky link is not cut short.
  int max_attempts = 6;
  // Back-off before retry n is initial_backoff * 2^(n-1), at most max_backoff.
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{30000};
  // Cancels everything promptly: transfers in flight, back-off waits and blocked reads end with
  // Cancelled() (common/status.h).
  std::stop_token stop;
  // Called before each retry with the transient failure that caused it (a DataVolume's
  // restartCount counts them). Runs on the thread doing the transfer: for a stream that is the
  // stream's own transfer thread; for random access, the caller of ReadAt, so it may be called
  // from several threads at once.
  std::function<void(const Status& cause)> on_retry;
};

class HttpSource {
 public:
  // Validates `options` and probes the URL, following up to 5 redirects (http and https only):
  // a HEAD request gives the size (Content-Length); when HEAD is refused (400, 403, 405, 501)
  // a GET of bytes 0-0 gives it instead. Range support is established by that 0-0 GET: it
  // counts only when the answer is 206 with "Content-Range: bytes 0-0/<size>".
  // Errors: InvalidArgument for bad options, and the classified failure of the probe.
  static Result<std::unique_ptr<HttpSource>> Open(HttpOptions options);

  ~HttpSource();

  // The resource's size in bytes, when the server announced it.
  std::optional<uint64_t> size() const { return size_; }
  // Whether the server answers byte-range requests correctly.
  bool supports_ranges() const { return supports_ranges_; }

  // The body from byte 0 as a stream, downloaded by a transfer thread into a bounded buffer
  // (a few MiB) that Read() drains. A transient failure mid-body is retried with back-off: when
  // ranges work the transfer resumes with "Range: bytes=N-" (and checks that the 206 starts at
  // N and describes the same resource), otherwise Read() fails with Unavailable so that the
  // caller restarts the whole import. Each retry calls on_retry. The stream may outlive this
  // HttpSource; destroying it stops its transfer.
  Result<std::unique_ptr<io::Reader>> OpenStream();

  // Random access through Range requests; InvalidArgument unless supports_ranges() and size()
  // are known. ReadAt is thread-safe, reuses kept-alive connections from a small pool, checks
  // every 206's Content-Range against the request, and retries transient failures like the
  // stream does. The reader may outlive this HttpSource.
  Result<std::unique_ptr<io::RandomAccessReader>> OpenRandomAccess();

 private:
  HttpSource(std::shared_ptr<ConnectionPool> pool, std::optional<uint64_t> size,
             bool supports_ranges);

  std::shared_ptr<ConnectionPool> pool_;
  std::optional<uint64_t> size_;
  bool supports_ranges_;
};

}  // namespace vdisk::transport
