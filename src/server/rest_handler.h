// RestHandler: the Kubernetes REST API over ObjectService, independent of the HTTP library.
//
// Routes:
//   /version /healthz /livez /readyz             server information
//   /api /apis /api/v1 /apis/<g>/<v>             discovery (server/discovery.h)
//   /openapi/v3[/<api/v1|apis/g/v>]              OpenAPI v3 (api/schema.h)
//   /api/v1/[namespaces/<ns>/]<plural>[/<name>[/status]]        core kinds
//   /apis/<g>/<v>/[namespaces/<ns>/]<plural>[/<name>[/status]]  other groups
// with ?watch=true (or a /watch/ path prefix), label and field selectors, fieldValidation,
// dryRun, and Table output when the Accept header asks for it.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "server/object_service.h"
#include "server/table.h"

namespace vdisk::server {

struct ApiRequest {
  std::string method;
  std::string path;
  std::multimap<std::string, std::string> query;
  std::string accept;
  std::string content_type;
  std::string body;
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::string> warnings;
  // Set for a watch. The transport calls it repeatedly; it writes what is ready through
  // `write` (which returns false once the client is gone) and returns false at the end.
  std::function<bool(const std::function<bool(std::string_view)>& write)> stream;
};

class RestHandler {
 public:
  explicit RestHandler(ObjectService& objects) : objects_(objects) {}
  ApiResponse Handle(const ApiRequest& request);
  // Serves creates of `kind` without storing anything, as upstream's aggregated APIs do (e.g.
  // UploadTokenRequest): the object is validated and defaulted like a dry-run create, then
  // `answer` fills in what the response carries (its status).
  using EphemeralCreate = std::function<Result<Json>(const std::string& ns, Json object)>;
  void ServeEphemeralCreate(const Kind& kind, EphemeralCreate answer) {
    ephemeral_creates_[&kind] = std::move(answer);
  }
  // Ends every open watch stream soon after; used at shutdown.
  void CloseWatches() { closing_ = true; }

 private:
  struct Target;
  ApiResponse HandleObject(const ApiRequest& request, const Target& target);
  ApiResponse Watch(const ApiRequest& request, const Target& target);
  ApiResponse DeleteCollection(const ApiRequest& request, const Target& target);

  ObjectService& objects_;
  std::map<const Kind*, EphemeralCreate> ephemeral_creates_;  // set up before serving
  TableRowCache table_rows_;
  std::atomic<bool> closing_ = false;
};

}  // namespace vdisk::server
