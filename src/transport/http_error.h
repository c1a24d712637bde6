// How the HTTP transport turns what happened to one request into a Status: which failures are
// transient (kUnavailable, retried with back-off) and which are final. ClassifyTransfer is the
// one place that decides it.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <string>
#include <string_view>

#include "common/status.h"
#include "transport/http_response.h"

namespace vdisk::transport {

// Why a transfer ended.
enum class TransferEnd {
  kCurl,         // curl finished it, successfully or with curl_code
  kErrorStatus,  // the final response was not 2xx; its body was not read
  kRejected,     // the caller's check refused the response or its body: see `rejection`
  kHeadOnly,     // the caller wanted the response head only and dropped the body
  kStalled,      // no byte arrived for the stall timeout
  kCancelled,    // the stop token was triggered
};

struct TransferOutcome {
  TransferEnd end = TransferEnd::kCurl;
  CURLcode curl_code = CURLE_OK;
  std::string curl_detail;  // curl's error buffer; may be empty
  ResponseHead head;
  Status rejection;
};

// The Status of a finished request to `url` (already redacted, see RedactUrl):
//   2xx, or only the head wanted                  OK
//   cancelled                                     Cancelled()
//   rejected by the caller                        the caller's Status
//   404, 410                                      NotFound  "HTTP 404 Not Found from <url>"
//   401 / 403                                     Unauthorized / Forbidden
//   408, 429, 5xx                                 Unavailable (transient)
//   other 3xx/4xx                                 InvalidArgument
//   stall, DNS failure, refused or reset connection, timeout, short body, TLS handshake
//   failure, HTTP/2 stream error, unknown network errors
//                                                 Unavailable (transient)
//   certificate verification failure              InvalidArgument: "the TLS certificate of <url>
//                                                 could not be verified ..." (suggests
//                                                 certConfigMap)
//   unusable CA certificates, unsupported protocol or too many redirects, malformed URL
//                                                 InvalidArgument
//   curl misuse, out of memory                    Internal
Status ClassifyTransfer(const TransferOutcome& outcome, std::string_view url,
                        std::chrono::seconds stall_timeout);

// Transient failures are the ones worth retrying.
inline bool IsTransient(const Status& status) { return status.code() == StatusCode::kUnavailable; }

// `url` without user name, password, query and fragment (a presigned URL's query is a
// credential): fit for messages and logs. "<unparsable URL>" when curl cannot parse it.
std::string RedactUrl(std::string_view url);

}  // namespace vdisk::transport
