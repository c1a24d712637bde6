// HttpSource: option validation, the probe, and the readers built on a shared connection pool.
#include "transport/http_source.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <mutex>

#include "transport/curl_connection.h"
#include "transport/http_error.h"
#include "transport/http_range_reader.h"
#include "transport/http_stream.h"
#include "transport/retry.h"

namespace vdisk::transport {
namespace {

constexpr size_t kMaxExtraHeaders = 64;
constexpr size_t kMaxHeaderBytes = 16 * 1024;
constexpr size_t kMaxCaBundleBytes = 4 << 20;
constexpr size_t kMaxSystemCaBytes = 16 << 20;

std::string Lowercase(std::string_view s) {
  std::string result(s);
  for (char& c : result) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return result;
}

// User input quoted in a message: printable ASCII only, and not much of it.
std::string Quoted(std::string_view s) {
  std::string result = "\"";
  for (char c : s.substr(0, 32)) result += (c >= 0x20 && c < 0x7f) ? c : '?';
  return result + (s.size() > 32 ? "...\"" : "\"");
}

Status ValidateUrl(const std::string& url) {
  size_t separator = url.find("://");
  if (separator == std::string::npos) {
    return InvalidArgument("the URL has no scheme: only http:// and https:// are supported");
  }
  std::string scheme = Lowercase(std::string_view(url).substr(0, separator));
  if (scheme != "http" && scheme != "https") {
    return InvalidArgument("unsupported URL scheme " + Quoted(scheme) +
                           ": only http and https are supported");
  }
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> parsed(curl_url(), &curl_url_cleanup);
  if (!parsed) return Internal("cannot create a curl URL handle");
  // The URL itself is not quoted: it may hold credentials.
  if (CURLUcode code = curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0);
      code != CURLUE_OK) {
    return InvalidArgument(std::string("invalid URL: ") + curl_url_strerror(code));
  }
  return Status::Ok();
}

bool IsTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Builds curl's header list. Messages name a header by its position or its name, never its
// value (which may be a secret).
Result<std::unique_ptr<curl_slist, CurlSlistFree>> BuildHeaders(
    const std::vector<std::string>& lines) {
  if (lines.size() > kMaxExtraHeaders) {
    return InvalidArgument("more than " + std::to_string(kMaxExtraHeaders) + " extra headers");
  }
  std::unique_ptr<curl_slist, CurlSlistFree> list;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    std::string which = "extra header " + std::to_string(i + 1);
    if (line.size() > kMaxHeaderBytes) {
      return InvalidArgument(which + " is longer than " + std::to_string(kMaxHeaderBytes) +
                             " bytes");
    }
    if (line.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return InvalidArgument(which + " contains a line break or a NUL character");
    }
    size_t colon = line.find(':');
    std::string_view name = std::string_view(line).substr(0, colon);
    if (colon == std::string::npos || name.empty() ||
        !std::all_of(name.begin(), name.end(), IsTokenChar)) {
      return InvalidArgument(which + " is not a \"Name: value\" line");
    }
    if (Lowercase(name) == "range") {
      return InvalidArgument(which + " sets Range, which the importer sets itself");
    }
    curl_slist* extended = curl_slist_append(list.get(), line.c_str());
    if (!extended) return Internal("out of memory building the header list");
    list.release();
    list.reset(extended);
  }
  return list;
}

// Checks that `pem` is a sequence of PEM certificates and nothing else.
Status ValidateCaCertificates(const std::string& pem) {
  if (pem.size() > kMaxCaBundleBytes) {
    return InvalidArgument("the CA certificates are larger than " +
                           std::to_string(kMaxCaBundleBytes) + " bytes");
  }
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  if (!bio) return Internal("out of memory reading the CA certificates");
  ERR_clear_error();
  int certificates = 0;
  while (X509* certificate = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    X509_free(certificate);
    ++certificates;
  }
  // Running out of input shows as "no start line"; anything else is a damaged certificate.
  unsigned long error = ERR_peek_last_error();
  bool clean_end =
      ERR_GET_LIB(error) == ERR_LIB_PEM && ERR_GET_REASON(error) == PEM_R_NO_START_LINE;
  ERR_clear_error();
  if (!clean_end && error != 0) {
    return InvalidArgument(
        "the CA certificates (certConfigMap) contain a certificate that "
        "cannot be parsed");
  }
  if (certificates == 0) {
    return InvalidArgument("the CA certificates (certConfigMap) contain no PEM certificate");
  }
  return Status::Ok();
}

// The system CA bundle libcurl uses by default, so that extra certificates add to it rather
// than replace it. Empty when there is none to read.
std::string SystemCaCertificates() {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> easy(curl_easy_init(), &curl_easy_cleanup);
  char* path = nullptr;
  if (!easy || curl_easy_getinfo(easy.get(), CURLINFO_CAINFO, &path) != CURLE_OK || !path) {
    return "";
  }
  std::ifstream file(path, std::ios::binary);
  std::string text;
  char chunk[64 * 1024];
  while (file && text.size() < kMaxSystemCaBytes) {
    file.read(chunk, sizeof chunk);
    text.append(chunk, static_cast<size_t>(file.gcount()));
  }
  return text.size() < kMaxSystemCaBytes ? text : "";
}

Status ValidateOptions(const HttpOptions& options) {
  VDISK_RETURN_IF_ERROR(ValidateUrl(options.url));
  if (options.stall_timeout < std::chrono::seconds(1)) {
    return InvalidArgument("the stall timeout must be at least 1 s");
  }
  if (options.max_attempts < 1) return InvalidArgument("max_attempts must be at least 1");
  if (options.initial_backoff.count() < 0 || options.max_backoff < options.initial_backoff) {
    return InvalidArgument("the back-off must satisfy 0 <= initial_backoff <= max_backoff");
  }
  if (!options.ca_bundle_pem.empty()) {
    VDISK_RETURN_IF_ERROR(ValidateCaCertificates(options.ca_bundle_pem));
  }
  return Status::Ok();
}

struct ProbeResult {
  std::optional<uint64_t> size;
  bool supports_ranges = false;
};

bool IsHeadRefusal(const TransferOutcome& outcome) {
  long status = outcome.head.status;
  return outcome.end == TransferEnd::kErrorStatus &&
         (status == 400 || status == 403 || status == 405 || status == 501);
}

Result<ProbeResult> Probe(ConnectionPool& pool) {
  const RequestSettings& settings = pool.settings();
  const HttpOptions& options = settings.options;
  const std::string& url = settings.redacted_url;
  VDISK_ASSIGN_OR_RETURN(ConnectionPool::Lease connection, pool.Borrow());
  ProbeResult result;

  RetryBudget head_retry(options, options.stop);
  for (;;) {
    Request head{.head = true};
    TransferOutcome outcome = connection->Perform(head, options.stop);
    if (IsHeadRefusal(outcome)) break;  // the 0-0 GET below finds the size instead
    Status status = ClassifyTransfer(outcome, url, options.stall_timeout);
    if (status.ok()) {
      result.size = outcome.head.content_length;
      break;
    }
    VDISK_RETURN_IF_ERROR(head_retry.AfterFailure(status, false));
  }

  RetryBudget range_retry(options, options.stop);
  for (;;) {
    Request first_byte{.range_first = 0, .range_last = 0, .head_only = true};
    first_byte.check_head = [&](const ResponseHead& head) {
      const std::optional<ContentRange>& range = head.content_range;
      result.supports_ranges =
          head.status == 206 && range && range->satisfied && range->first == 0 && range->last == 0;
      if (result.supports_ranges && range->total) {
        result.size = range->total;
      } else if (head.status != 206 && head.content_length) {
        result.size = head.content_length;  // the whole body's length
      }
      return Status::Ok();
    };
    TransferOutcome outcome = connection->Perform(first_byte, options.stop);
    const std::optional<ContentRange>& range = outcome.head.content_range;
    if (outcome.end == TransferEnd::kErrorStatus && outcome.head.status == 416 && range &&
        !range->satisfied && range->total == 0u) {
      result.size = 0;  // an empty resource has no byte 0
      break;
    }
    Status status = ClassifyTransfer(outcome, url, options.stall_timeout);
    if (status.ok()) break;
    VDISK_RETURN_IF_ERROR(range_retry.AfterFailure(status, false));
  }
  return result;
}

}  // namespace

Result<std::unique_ptr<HttpSource>> HttpSource::Open(HttpOptions options) {
  static std::once_flag curl_initialized;
  std::call_once(curl_initialized, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });

  VDISK_RETURN_IF_ERROR(ValidateOptions(options));
  auto settings = std::make_shared<RequestSettings>();
  settings->redacted_url = RedactUrl(options.url);
  VDISK_ASSIGN_OR_RETURN(settings->headers, BuildHeaders(options.extra_headers));
  if (!options.ca_bundle_pem.empty()) {
    settings->ca_bundle = SystemCaCertificates() + "\n" + options.ca_bundle_pem;
  }
  settings->options = std::move(options);
  auto pool = std::make_shared<ConnectionPool>(std::move(settings));

  VDISK_ASSIGN_OR_RETURN(ProbeResult probe, Probe(*pool));
  spdlog::debug("probed {}: size {}, byte ranges {}", pool->settings().redacted_url,
                probe.size ? std::to_string(*probe.size) : "unknown",
                probe.supports_ranges ? "supported" : "not supported");
  return std::unique_ptr<HttpSource>(
      new HttpSource(std::move(pool), probe.size, probe.supports_ranges));
}

HttpSource::HttpSource(std::shared_ptr<ConnectionPool> pool, std::optional<uint64_t> size,
                       bool supports_ranges)
    : pool_(std::move(pool)), size_(size), supports_ranges_(supports_ranges) {}

HttpSource::~HttpSource() = default;

Result<std::unique_ptr<io::Reader>> HttpSource::OpenStream() {
  return StartHttpStream(pool_, supports_ranges_, size_);
}

Result<std::unique_ptr<io::RandomAccessReader>> HttpSource::OpenRandomAccess() {
  if (!supports_ranges_ || !size_) {
    return InvalidArgument("random access to " + pool_->settings().redacted_url +
                           " needs byte-range support and a known size");
  }
  return MakeHttpRangeReader(pool_, *size_);
}

}  // namespace vdisk::transport
