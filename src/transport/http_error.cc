// Classification of HTTP transfer failures and URL redaction for messages.
#include "transport/http_error.h"

#include <memory>
#include <string>

namespace vdisk::transport {
namespace {

// Standard reason phrases: the server's own phrase is untrusted text and is not repeated.
std::string_view ReasonPhrase(long status) {
  switch (status) {
    case 300:
      return "Multiple Choices";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 407:
      return "Proxy Authentication Required";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

Status ClassifyHttpStatus(long status, std::string_view url) {
  std::string what = "HTTP " + std::to_string(status);
  if (std::string_view phrase = ReasonPhrase(status); !phrase.empty()) {
    what += " ";
    what += phrase;
  }
  std::string message = what + " from " + std::string(url);
  switch (status) {
    case 404:
    case 410:
      return NotFound(std::move(message));
    case 401:
      return Status(StatusCode::kUnauthorized, std::move(message));
    case 403:
      return Forbidden(std::move(message));
    case 408:
    case 429:
      return Unavailable(std::move(message));
    default:
      break;
  }
  if (status >= 500 && status <= 599) return Unavailable(std::move(message));
  if (status >= 300 && status <= 399) return InvalidArgument(message + " (redirect not followed)");
  return InvalidArgument(std::move(message));
}

Status ClassifyCurlCode(CURLcode code, const std::string& detail, std::string_view url) {
  std::string reason = detail.empty() ? curl_easy_strerror(code) : detail;
  std::string from = std::string(url);
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
      return Unavailable("cannot resolve the host of " + from + ": " + reason);
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
      return Unavailable("transfer from " + from + " failed: " + reason);
    case CURLE_PARTIAL_FILE:
      return Unavailable("short body from " + from + ": " + reason);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      return InvalidArgument("the TLS certificate of " + from + " could not be verified (" +
                             reason +
                             "); if the server uses a private certificate authority, add its "
                             "certificate with certConfigMap");
    case CURLE_SSL_CACERT_BADFILE:
      return InvalidArgument("the CA certificates (certConfigMap) could not be loaded: " + reason);
    case CURLE_UNSUPPORTED_PROTOCOL:
      return InvalidArgument("unsupported protocol reached from " + from +
                             " (only http and https are followed): " + reason);
    case CURLE_TOO_MANY_REDIRECTS:
      return InvalidArgument("too many redirects from " + from + ": " + reason);
    case CURLE_URL_MALFORMAT:
      return InvalidArgument("malformed URL " + from + ": " + reason);
    case CURLE_OUT_OF_MEMORY:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_UNKNOWN_OPTION:
    case CURLE_NOT_BUILT_IN:
    case CURLE_FAILED_INIT:
    case CURLE_ABORTED_BY_CALLBACK:
    case CURLE_WRITE_ERROR:
      return Internal("transfer from " + from + " failed: " + reason);
    default:
      // Anything else is network or server trouble that a later attempt may not meet.
      return Unavailable("transfer from " + from + " failed: " + reason);
  }
}

}  // namespace

Status ClassifyTransfer(const TransferOutcome& outcome, std::string_view url,
                        std::chrono::seconds stall_timeout) {
  switch (outcome.end) {
    case TransferEnd::kCancelled:
      return Cancelled();
    case TransferEnd::kRejected:
      return outcome.rejection;
    case TransferEnd::kHeadOnly:
      return Status::Ok();
    case TransferEnd::kStalled:
      return Unavailable("no data from " + std::string(url) + " for " +
                         std::to_string(stall_timeout.count()) + " s");
    case TransferEnd::kErrorStatus:
      return ClassifyHttpStatus(outcome.head.status, url);
    case TransferEnd::kCurl:
      break;
  }
  if (outcome.curl_code != CURLE_OK) {
    return ClassifyCurlCode(outcome.curl_code, outcome.curl_detail, url);
  }
  // A non-2xx answer without a body (HEAD, or an empty error page) ends up here.
  if (outcome.head.status < 200 || outcome.head.status > 299) {
    return ClassifyHttpStatus(outcome.head.status, url);
  }
  return Status::Ok();
}

std::string RedactUrl(std::string_view url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> parsed(curl_url(), &curl_url_cleanup);
  if (!parsed) return "<unparsable URL>";
  std::string text(url);
  if (curl_url_set(parsed.get(), CURLUPART_URL, text.c_str(), CURLU_NON_SUPPORT_SCHEME) !=
      CURLUE_OK) {
    return "<unparsable URL>";
  }
  for (CURLUPart part : {CURLUPART_USER, CURLUPART_PASSWORD, CURLUPART_OPTIONS, CURLUPART_QUERY,
                         CURLUPART_FRAGMENT}) {
    curl_url_set(parsed.get(), part, nullptr, 0);
  }
  char* redacted = nullptr;
  if (curl_url_get(parsed.get(), CURLUPART_URL, &redacted, 0) != CURLUE_OK || !redacted) {
    return "<unparsable URL>";
  }
  std::string result(redacted);
  curl_free(redacted);
  return result;
}

}  // namespace vdisk::transport
