// ApiClient over libcurl (see api_client.h).
#include "kubeclient/api_client.h"

#include <memory>

namespace vdisk::kubeclient {
namespace {

// API objects are small; an answer larger than kube-apiserver's own request limit is refused.
constexpr size_t kMaxResponseBytes = 8 << 20;

size_t AppendBounded(char* data, size_t size, size_t count, void* out) {
  auto* body = static_cast<std::string*>(out);
  size_t bytes = size * count;
  if (body->size() + bytes > kMaxResponseBytes) return 0;  // ends the transfer with an error
  body->append(data, bytes);
  return bytes;
}

StatusCode CodeOfHttp(long http, const std::string& reason) {
  switch (http) {
    case 400:
      return StatusCode::kInvalidArgument;
    case 401:
      return StatusCode::kUnauthorized;
    case 403:
      return StatusCode::kForbidden;
    case 404:
      return StatusCode::kNotFound;
    case 409:
      return reason == "AlreadyExists" ? StatusCode::kAlreadyExists : StatusCode::kConflict;
    case 410:
      return StatusCode::kGone;
    case 422:
      return StatusCode::kInvalid;
    case 429:
      return StatusCode::kUnavailable;
    default:
      return http >= 500 ? StatusCode::kUnavailable : StatusCode::kInternal;
  }
}

void ConfigureTls(CURL* easy, const TlsSettings& tls) {
  if (tls.insecure_skip_verify) {
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
  } else if (!tls.ca_pem.empty()) {
    curl_blob ca{const_cast<char*>(tls.ca_pem.data()), tls.ca_pem.size(), CURL_BLOB_NOCOPY};
    curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &ca);
  }
  if (!tls.client_cert_pem.empty()) {
    curl_blob cert{const_cast<char*>(tls.client_cert_pem.data()), tls.client_cert_pem.size(),
                   CURL_BLOB_NOCOPY};
    curl_blob key{const_cast<char*>(tls.client_key_pem.data()), tls.client_key_pem.size(),
                  CURL_BLOB_NOCOPY};
    curl_easy_setopt(easy, CURLOPT_SSLCERT_BLOB, &cert);
    curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(easy, CURLOPT_SSLKEY_BLOB, &key);
    curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
  }
}

}  // namespace

void ConfigureRequest(CURL* easy, const std::string& url, const TlsSettings& tls,
                      char (&error)[CURL_ERROR_SIZE]) {
  error[0] = '\0';
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);
  ConfigureTls(easy, tls);
}

std::string TransferError(CURLcode code, const char (&error)[CURL_ERROR_SIZE]) {
  return error[0] != '\0' ? std::string(error) : std::string(curl_easy_strerror(code));
}

ApiClient::ApiClient(ClusterAccess access) : access_(std::move(access)), easy_(curl_easy_init()) {}

ApiClient::~ApiClient() { curl_easy_cleanup(easy_); }

Result<nlohmann::json> ApiClient::Get(const std::string& path) {
  return Call("GET", path, nullptr);
}

Result<nlohmann::json> ApiClient::Post(const std::string& path, const nlohmann::json& body) {
  std::string text = body.dump();
  return Call("POST", path, &text);
}

Result<nlohmann::json> ApiClient::Call(const char* method, const std::string& path,
                                       const std::string* body) {
  if (easy_ == nullptr) return Internal("cannot initialise libcurl");
  curl_easy_reset(easy_);
  std::string url = access_.server + path;
  std::string response;
  char error[CURL_ERROR_SIZE];
  ConfigureRequest(easy_, url, access_.tls, error);
  curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(easy_, CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, AppendBounded);
  curl_easy_setopt(easy_, CURLOPT_WRITEDATA, &response);
  CurlHeaders headers;
  headers.Add("Accept: application/json");
  if (!access_.bearer_token.empty()) headers.Add("Authorization: Bearer " + access_.bearer_token);
  if (access_.basic_auth) {
    curl_easy_setopt(easy_, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(easy_, CURLOPT_USERNAME, access_.basic_auth->first.c_str());
    curl_easy_setopt(easy_, CURLOPT_PASSWORD, access_.basic_auth->second.c_str());
  }
  if (body != nullptr) {
    headers.Add("Content-Type: application/json");
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  }
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers.get());

  CURLcode code = curl_easy_perform(easy_);
  if (code != CURLE_OK) {
    return Status(
        code == CURLE_WRITE_ERROR ? StatusCode::kInternal : StatusCode::kUnavailable,
        "cannot reach the API server at " + access_.server + ": " + TransferError(code, error));
  }
  long http = 0;
  curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &http);
  nlohmann::json answer = nlohmann::json::parse(response, nullptr, /*allow_exceptions=*/false);
  if (http >= 200 && http < 300) {
    if (answer.is_discarded()) {
      return Internal(std::string(method) + " " + path + ": the answer is not JSON");
    }
    return answer;
  }
  std::string message, reason;
  if (answer.is_object()) {
    if (answer["message"].is_string()) message = answer["message"].get<std::string>();
    if (answer["reason"].is_string()) reason = answer["reason"].get<std::string>();
  }
  if (message.empty()) message = "HTTP " + std::to_string(http) + " from " + method + " " + path;
  return Status(CodeOfHttp(http, reason), message);
}

}  // namespace vdisk::kubeclient
