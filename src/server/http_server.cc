#include "server/http_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "server/status_response.h"

namespace vdisk::server {
namespace {

// Paths anyone may read, as kube-apiserver allows them to unauthenticated clients.
bool IsPublicPath(const std::string& path) {
  return path == "/version" || path == "/healthz" || path == "/livez" || path == "/readyz";
}

// cpp-httplib compresses a response whose Content-Type is exactly "application/json" when the
// client accepts it, and picks brotli at its highest quality if offered: seconds of CPU for one
// large list, which any client could ask for. Naming the charset keeps responses uncompressed.
std::string Uncompressed(const std::string& content_type) {
  return content_type == "application/json" ? "application/json;charset=utf-8" : content_type;
}

void Send(const ApiResponse& response, httplib::Response& res) {
  res.status = response.status;
  for (const auto& warning : response.warnings) {
    res.headers.emplace("Warning", "299 - " + nlohmann::json(warning).dump());
  }
  if (!response.stream) {
    res.set_content(response.body, Uncompressed(response.content_type).c_str());
    return;
  }
  auto stream = response.stream;
  res.set_chunked_content_provider(response.content_type, [stream](size_t,
                                                                   httplib::DataSink& sink) {
    bool client_alive = true;
    auto write = [&](std::string_view chunk) {
      client_alive = client_alive && sink.is_writable() && sink.write(chunk.data(), chunk.size());
      return client_alive;
    };
    bool more = stream(write) && client_alive && sink.is_writable();
    if (!more) sink.done();
    return client_alive;
  });
}

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::Start(RestHandler& handler, const ServingPki& pki,
                                                      const Options& options) {
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->server_ =
      std::make_unique<httplib::SSLServer>(pki.server_cert.c_str(), pki.server_key.c_str());
  httplib::SSLServer& http = *server->server_;
  if (!http.is_valid())
    return Internal("cannot load the serving certificate " + pki.server_cert.string());
  size_t threads = options.threads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(options.max_body_bytes);
  http.set_tcp_nodelay(true);
  http.set_keep_alive_max_count(100000);
  http.set_read_timeout(std::chrono::seconds(60));

  auto serve = [&handler, pki, metrics = options.metrics](const httplib::Request& req,
                                                          httplib::Response& res) {
    if (!IsPublicPath(req.path) && !IsAdminBearer(req.get_header_value("Authorization"), pki)) {
      Status denied(StatusCode::kUnauthorized, "Unauthorized");
      res.status = 401;
      res.set_content(StatusObject(denied).dump(), "application/json");
      return;
    }
    if (metrics && req.method == "GET" && req.path == "/metrics") {
      res.set_content(metrics(), "text/plain; version=0.0.4; charset=utf-8");
      return;
    }
    ApiRequest request{req.method,
                       req.path,
                       {req.params.begin(), req.params.end()},
                       req.get_header_value("Accept"),
                       req.get_header_value("Content-Type"),
                       req.body};
    Send(handler.Handle(request), res);
  };
  http.Get(".*", serve);
  http.Post(".*", serve);
  http.Put(".*", serve);
  http.Patch(".*", serve);
  http.Delete(".*", serve);
  http.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr error) {
        std::string what = "unknown error";
        try {
          if (error) std::rethrow_exception(error);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::error("{} {}: {}", req.method, req.path, what);
        res.status = 500;
        res.set_content(StatusObject(Internal(what)).dump(), "application/json");
      });

  if (options.port == 0) {
    server->port_ = http.bind_to_any_port(options.host);
  } else if (http.bind_to_port(options.host, options.port)) {
    server->port_ = options.port;
  } else {
    server->port_ = -1;
  }
  if (server->port_ <= 0) {
    return Unavailable("cannot listen on " + options.host + ":" + std::to_string(options.port) +
                       " (address in use or not available)");
  }
  server->thread_ = std::thread([s = server.get()] { s->server_->listen_after_bind(); });
  return server;
}

void HttpServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

HttpServer::~HttpServer() { Stop(); }

}  // namespace vdisk::server
