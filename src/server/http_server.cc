#include "server/http_server.h"

#include <httplib.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <limits>
#include <set>

#include "server/status_response.h"
#include "server/tls_body_reader.h"

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

std::string PathPattern(const std::string& path) {
  std::string pattern;
  for (char c : path) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '/') pattern += '\\';
    pattern += c;
  }
  return pattern;
}

RawRequest ToRawRequest(const httplib::Request& req) {
  RawRequest request;
  request.method = req.method;
  request.path = req.path;
  request.header = [&req](const std::string& name) { return req.get_header_value(name); };
  if (req.has_header("Content-Length")) {
    request.content_length = req.get_header_value<uint64_t>("Content-Length");
  }
  request.multipart = req.is_multipart_form_data();
  return request;
}

// Whether the request carries a body (RFC 9112 6.3: chunked, or a Content-Length above 0).
bool HasBody(const httplib::Request& req) {
  return req.has_header("Transfer-Encoding") ||
         req.get_header_value<uint64_t>("Content-Length") > 0;
}

// How long a read waits for a client that sends nothing.
constexpr std::chrono::seconds kReadTimeout{60};

// How long a connection being closed waits for the client to stop sending (see Linger).
constexpr std::chrono::seconds kLingerTime{2};

// Called once the answer is written and before the connection closes: sends FIN, then reads and
// drops what the client still sends until it closes its side (or kLingerTime passes). Closing a
// socket with unread bytes resets the connection, and a client still sending its body would get
// the reset (a "broken pipe") in place of the answer.
void Linger(int fd) {
  if (fd < 0 || ::shutdown(fd, SHUT_WR) != 0) return;
  const auto deadline = std::chrono::steady_clock::now() + kLingerTime;
  char dropped[16 << 10];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd readable{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&readable, 1, static_cast<int>(left.count())) <= 0) return;
    ssize_t n = ::recv(fd, dropped, sizeof dropped, 0);
    if (n == 0 || (n < 0 && errno != EINTR)) return;
  }
}

// Answers and then closes the connection: for a request whose body was not read to its end,
// whose rest would otherwise be parsed as the next request on the kept-alive connection.
// cpp-httplib keeps a connection open whatever the response's headers say; it closes one when
// writing the response fails, so the body goes out through a content provider that writes all
// of it, lingers, and then reports a failure.
void SendAndClose(const httplib::Request& req, int status, std::string body,
                  const std::string& content_type, httplib::Response& res) {
  const int fd = req.ssl != nullptr ? SSL_get_fd(req.ssl) : -1;
  res.status = status;
  res.set_header("Connection", "close");
  res.set_header("Content-Length", std::to_string(body.size()));
  res.set_content_provider(content_type,
                           [fd, body = std::move(body)](size_t, httplib::DataSink& sink) {
                             if (body.empty() || sink.write(body.data(), body.size())) Linger(fd);
                             return false;
                           });
}

void SendRaw(const httplib::Request& req, const RawResponse& response, httplib::Response& res,
             bool body_unread) {
  if (body_unread) {
    SendAndClose(req, response.status, response.body, response.content_type, res);
    return;
  }
  res.status = response.status;
  res.set_content(response.body, response.content_type.c_str());
}

// Mounts `route` for GET/HEAD (no body) and POST/PUT (the body read as a stream).
void Mount(httplib::SSLServer& http, const RawRoute& route) {
  const std::string pattern = PathPattern(route.path);
  auto handler = route.handler;
  http.Get(pattern, [handler](const httplib::Request& req, httplib::Response& res) {
    RawRequest request = ToRawRequest(req);
    request.read_body = [](const auto&) { return true; };
    request.read_multipart = [](const auto&, const auto&) { return true; };
    SendRaw(req, handler(request), res,
            /*body_unread=*/HasBody(req));  // a GET's body is never read
  });
  auto with_body = [handler](const httplib::Request& req, httplib::Response& res,
                             const httplib::ContentReader& content) {
    RawRequest request = ToRawRequest(req);
    // True once a reader ran to the body's end: the connection can then serve another request.
    bool body_read = !HasBody(req);
    request.read_body = [&req, &content,
                         &body_read](const std::function<bool(std::string_view)>& on_data) {
      // A Transfer-Encoding overrides Content-Length (RFC 9112 6.3): the library decodes it.
      if (req.ssl != nullptr && !req.has_header("Transfer-Encoding") &&
          req.has_header("Content-Length")) {
        // The library hands the session out const; reading the body is what it would do.
        body_read =
            ReadTlsBody(const_cast<SSL*>(req.ssl), req.get_header_value<uint64_t>("Content-Length"),
                        kReadTimeout, on_data);
      } else {
        body_read = content([&](const char* data, size_t size) { return on_data({data, size}); });
      }
      return body_read;
    };
    request.read_multipart = [&content, &body_read](
                                 const std::function<bool(const std::string&)>& on_part,
                                 const std::function<bool(std::string_view)>& on_data) {
      body_read =
          content([&](const httplib::MultipartFormData& part) { return on_part(part.name); },
                  [&](const char* data, size_t size) {
                    return on_data({data, size});
                  });
      return body_read;
    };
    RawResponse response = handler(request);  // before body_read is looked at
    SendRaw(req, response, res, !body_read);
  };
  http.Post(pattern, with_body);
  http.Put(pattern, with_body);
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
  // Raw routes stream bodies of any size; everything else is held to max_body_bytes here,
  // before the library would read a body into memory.
  http.set_payload_max_length(std::numeric_limits<size_t>::max());
  std::set<std::string> raw_paths;
  for (const auto& route : options.routes) raw_paths.insert(route.path);
  http.set_pre_routing_handler([raw_paths, limit = options.max_body_bytes](
                                   const httplib::Request& req, httplib::Response& res) {
    if (raw_paths.contains(req.path) || !HasBody(req)) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    // The library would read a body of any length into memory; only a declared length within
    // the limit is let through. Bodies refused here are left unread.
    if (!req.has_header("Content-Length")) {
      SendAndClose(req, 411,
                   StatusObject(Status(StatusCode::kInvalidArgument,
                                       "Length Required: send the body with a Content-Length"))
                       .dump(),
                   "application/json", res);
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.get_header_value<uint64_t>("Content-Length") <= limit) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    SendAndClose(
        req, 413,
        StatusObject(Status(StatusCode::kInvalidArgument, "Request entity too large")).dump(),
        "application/json", res);
    return httplib::Server::HandlerResponse::Handled;
  });
  http.set_tcp_nodelay(true);
  http.set_keep_alive_max_count(100000);
  http.set_read_timeout(kReadTimeout);

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
  for (const auto& route : options.routes) Mount(http, route);  // before the catch-all
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
