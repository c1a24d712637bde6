// HttpServer: serves a RestHandler over HTTPS with bearer-token authentication.
//
// Requests run on a pool of threads; a watch holds its thread while it streams, so the pool is
// sized for many concurrent watches. Request bodies are bounded (`max_body_bytes`).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/status.h"
#include "server/pki.h"
#include "server/rest_handler.h"

namespace httplib {
class SSLServer;
}

namespace vdisk::server {

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
