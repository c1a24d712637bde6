// The upload endpoints: token check, readiness, and the body streamed into the import pipeline.
#include "upload/endpoints.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <filesystem>
#include <regex>
#include <thread>

#include "transport/byte_ring.h"

namespace vdisk::upload {
namespace {

using server::RawRequest;
using server::RawResponse;

constexpr size_t kRingBytes = 16 << 20;
constexpr std::chrono::seconds kReadyWait{10};

RawResponse Answer(int status, std::string body) {
  RawResponse response;
  response.status = status;
  response.body = std::move(body);
  if (!response.body.empty() && response.body.back() != '\n') response.body += '\n';
  return response;
}

// The body as an io::Reader for the import, fed by the request's thread.
class RingReader : public io::Reader {
 public:
  RingReader(transport::ByteRing& ring, std::stop_token stop) : ring_(ring), stop_(stop) {}
  Result<size_t> Read(std::span<std::byte> out) override { return ring_.Read(out, stop_); }

 private:
  transport::ByteRing& ring_;
  std::stop_token stop_;
};

int HttpStatusOf(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kInvalid:
      return 400;
    case StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

// Streams the request's body (or its `file` part) into the lease's target.
RawResponse Receive(const RawRequest& request, bool form, UploadRegistry::Lease& lease) {
  if (form && !request.multipart) {
    return Answer(400, "expected a multipart/form-data body with a field named \"file\"");
  }
  const dataplane::ImportTarget& target = lease.target();
  std::error_code ec;
  if (!target.scratch_dir.empty()) std::filesystem::create_directories(target.scratch_dir, ec);

  transport::ByteRing ring(kRingBytes);
  std::stop_source producer_stop;
  std::atomic<bool> import_succeeded = false;
  Result<dataplane::ImportResult> result = Internal("the import did not run");
  std::optional<uint64_t> size = form ? std::nullopt : request.content_length;
  std::jthread importer([&] {
    dataplane::ImportSource source;
    source.open_stream = [&]() -> Result<std::unique_ptr<io::Reader>> {
      return std::unique_ptr<io::Reader>(std::make_unique<RingReader>(ring, lease.stop()));
    };
    source.size = size;
    dataplane::ImportOptions options;
    options.stop = lease.stop();
    options.progress = &lease.progress();
    result = dataplane::ImportImage(source, target, options);
    import_succeeded = result.ok();
    producer_stop.request_stop();  // a producer waiting for room gives up
  });

  // Bytes the import no longer wants (it finished) are read and dropped.
  auto push = [&](std::string_view data) {
    if (data.empty()) return true;
    if (ring.Write(std::as_bytes(std::span(data.data(), data.size())), producer_stop.get_token())) {
      return true;
    }
    return import_succeeded.load();
  };
  bool received = false;
  bool saw_file = false;
  if (form) {
    bool in_file = false;
    received = request.read_multipart(
        [&](const std::string& field) {
          in_file = field == "file" && !saw_file;
          saw_file = saw_file || in_file;
          return true;
        },
        [&](std::string_view data) { return !in_file || push(data); });
  } else {
    received = request.read_body(push);
  }
  if (form && received && !saw_file) {
    ring.Finish(InvalidArgument("the form has no field named \"file\""));
  } else {
    ring.Finish(received ? Status::Ok()
                         : Unavailable("the client stopped sending before the image's end"));
  }
  importer.join();
  if (!target.scratch_dir.empty()) std::filesystem::remove_all(target.scratch_dir, ec);
  lease.Finish(result);
  if (result.ok()) return Answer(200, "");
  return Answer(HttpStatusOf(result.status()), result.status().message());
}

RawResponse Handle(const RawRequest& request, bool form, UploadRegistry& registry,
                   const TokenSigner& signer) {
  if (request.method == "GET" || request.method == "HEAD") return Answer(200, "");
  static const std::regex kBearer(R"(^Bearer\s+([A-Za-z0-9\-\._~\+\/]+)$)", std::regex::icase);
  std::string authorization = request.header("Authorization");
  if (authorization.empty()) return Answer(400, "missing Authorization: Bearer <upload token>");
  std::smatch match;
  if (authorization.size() > 8192 || !std::regex_match(authorization, match, kBearer)) {
    return Answer(400, "malformed Authorization header: want Bearer <upload token>");
  }
  auto scope = signer.Verify(match[1].str(), std::chrono::system_clock::now());
  if (!scope.ok()) {
    return Answer(scope.status().code() == StatusCode::kInvalidArgument ? 400 : 401,
                  scope.status().message());
  }
  auto lease = registry.BeginWithin({scope->ns, scope->pvc}, kReadyWait);
  if (!lease.ok()) {
    return Answer(lease.status().code() == StatusCode::kConflict ? 409 : 503,
                  lease.status().message());
  }
  spdlog::info("upload into {}/{} started ({} {})", scope->ns, scope->pvc, request.method,
               request.path);
  RawResponse response = Receive(request, form, **lease);
  if (response.status == 200) {
    spdlog::info("upload into {}/{} succeeded", scope->ns, scope->pvc);
  } else {
    spdlog::warn("upload into {}/{} failed ({}): {}", scope->ns, scope->pvc, response.status,
                 response.body);
  }
  return response;
}

}  // namespace

std::vector<server::RawRoute> UploadRoutes(UploadRegistry& registry, const TokenSigner& signer) {
  std::vector<server::RawRoute> routes;
  for (const char* path : kUploadPaths) {
    bool form = std::string_view(path).find("-form") != std::string_view::npos;
    routes.push_back({path, [form, &registry, &signer](const RawRequest& request) {
                        return Handle(request, form, registry, signer);
                      }});
  }
  return routes;
}

Status PublishUploadProxyUrl(server::ObjectService& objects, const std::string& server_url) {
  const api::Kind* kind = api::KindRegistry::Get().ByKind("cdi.kubevirt.io", "CDIConfig");
  if (kind == nullptr) return Internal("CDIConfig is not a served kind");
  auto config = objects.Get(*kind, "", "config");
  if (!config.ok()) return config.status();
  std::string url = server_url;
  const auto& spec = config->value("spec", nlohmann::json::object());
  if (spec.is_object() && spec.contains("uploadProxyURLOverride") &&
      spec["uploadProxyURLOverride"].is_string() &&
      !spec["uploadProxyURLOverride"].get<std::string>().empty()) {
    url = spec["uploadProxyURLOverride"].get<std::string>();
  }
  auto patched = objects.Patch(*kind, "", "config", server::PatchType::kMerge,
                               {{"status", {{"uploadProxyURL", url}}}}, /*status_only=*/true);
  return patched.ok() ? Status::Ok() : patched.status();
}

}  // namespace vdisk::upload
