// ApiClient: blocking JSON calls to a Kubernetes-compatible API server, authenticated as the
// kubeconfig says, over libcurl. Errors carry the server's Status message and map its HTTP code
// to a StatusCode (404 NotFound, 409 AlreadyExists/Conflict, 422 Invalid, ...); a server that
// cannot be reached, or answers 429/5xx, is Unavailable.
#pragma once

#include <curl/curl.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"
#include "kubeclient/kubeconfig.h"

namespace vdisk::kubeclient {

// Request headers for a curl transfer, freed with the object.
class CurlHeaders {
 public:
  void Add(const std::string& line) {
    list_.reset(curl_slist_append(list_.release(), line.c_str()));
  }
  curl_slist* get() const { return list_.get(); }

 private:
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> list_{nullptr, curl_slist_free_all};
};

// Sets what every request of this client does the same way: the URL, a 10 s connect timeout,
// no signals, `error` as the error buffer, and TLS (CA, verification, client certificate).
// `tls` and `error` must outlive the transfer (libcurl keeps pointers to them).
void ConfigureRequest(CURL* easy, const std::string& url, const TlsSettings& tls,
                      char (&error)[CURL_ERROR_SIZE]);
// Why a transfer failed: libcurl's detailed message when it left one, else the code's text.
std::string TransferError(CURLcode code, const char (&error)[CURL_ERROR_SIZE]);

class ApiClient {
 public:
  explicit ApiClient(ClusterAccess access);
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  const ClusterAccess& access() const { return access_; }

  // `path` starts with /api or /apis, e.g. /apis/cdi.kubevirt.io/v1beta1/namespaces/ns/datavolumes.
  Result<nlohmann::json> Get(const std::string& path);
  Result<nlohmann::json> Post(const std::string& path, const nlohmann::json& body);

 private:
  Result<nlohmann::json> Call(const char* method, const std::string& path, const std::string* body);

  ClusterAccess access_;
  CURL* easy_;  // reused, so that the connection is kept alive between calls
};

}  // namespace vdisk::kubeclient
