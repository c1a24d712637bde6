// HttpServer: serves a RestHandler over HTTPS with bearer-token authentication.
//
// Requests run on a pool of threads; a watch holds its thread while it streams, so the pool is
// sized for many concurrent watches. Request bodies of the REST API are bounded
// (`max_body_bytes`); raw routes (Options::routes, e.g. the upload endpoints) read theirs as a
// stream of any length and authenticate requests themselves.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "server/pki.h"
#include "server/rest_handler.h"

namespace httplib {
class SSLServer;
}

namespace vdisk::server {

// A request to a raw route. The body is not read until the handler asks for it.
struct RawRequest {
  std::string method;  // GET, HEAD, POST or PUT
  std::string path;
  std::function<std::string(const std::string& name)> header;  // "" when absent
  std::optional<uint64_t> content_length;
  bool multipart = false;  // Content-Type multipart/form-data
  // Streams a plain body to `on_data` chunk by chunk; false when the client went away, the body
  // was malformed, or `on_data` returned false.
  std::function<bool(const std::function<bool(std::string_view)>& on_data)> read_body;
  // Streams a multipart body: `on_part(field name)` before each part, then its bytes to
  // `on_data`. False as for read_body.
  std::function<bool(const std::function<bool(const std::string& field)>& on_part,
                     const std::function<bool(std::string_view)>& on_data)>
      read_multipart;
};

struct RawResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// An exact path served by `handler` for GET, HEAD, POST and PUT, outside the REST API.
struct RawRoute {
  std::string path;
  std::function<RawResponse(const RawRequest&)> handler;
};

class HttpServer {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    int port = 8443;  // 0 picks a free port
    size_t threads = 64;
    size_t max_body_bytes = 3 * 1024 * 1024;  // kube-apiserver's limit for API objects
    // Prometheus text served at GET /metrics to authenticated clients (`kubectl get --raw
    // /metrics`); no /metrics when unset.
    std::function<std::string()> metrics;
    std::vector<RawRoute> routes;
  };
  // Binds the listening socket and starts serving in the background.
  static Result<std::unique_ptr<HttpServer>> Start(RestHandler& handler, const ServingPki& pki,
                                                   const Options& options);
  ~HttpServer();

  int port() const { return port_; }
  // Stops accepting requests and ends open watches; returns when the serving thread is done.
  void Stop();

 private:
  HttpServer() = default;
  std::unique_ptr<httplib::SSLServer> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace vdisk::server
