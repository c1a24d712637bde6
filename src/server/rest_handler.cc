#include "server/rest_handler.h"

#include "api/protobuf.h"
#include "api/schema.h"
#include "server/discovery.h"
#include "server/status_response.h"
#include "server/table.h"

namespace vdisk::server {
namespace {

using nlohmann::json;

// How long a watch runs when the client sets no timeoutSeconds; clients then re-watch.
constexpr int kDefaultWatchSeconds = 1800;

ApiResponse JsonResponse(int status, const json& body) {
  ApiResponse r;
  r.status = status;
  r.body = body.dump();
  return r;
}

ApiResponse ErrorResponse(const Status& status) {
  return JsonResponse(HttpCode(status.code()), StatusObject(status));
}

// kube-apiserver's answer for a path that names no resource it serves.
ApiResponse NoSuchResource() {
  return ErrorResponse(NotFound("the server could not find the requested resource"));
}

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

std::string Param(const ApiRequest& request, const std::string& name) {
  auto it = request.query.find(name);
  return it == request.query.end() ? std::string() : it->second;
}

bool WantsTable(const ApiRequest& request) {
  return request.accept.find("as=Table") != std::string::npos;
}

Result<WriteOptions> WriteOptionsOf(const ApiRequest& request) {
  WriteOptions options;
  std::string validation = Param(request, "fieldValidation");
  if (validation == "Strict")
    options.field_validation = FieldValidation::kStrict;
  else if (validation == "Ignore")
    options.field_validation = FieldValidation::kIgnore;
  else if (validation.empty() || validation == "Warn")
    options.field_validation = FieldValidation::kWarn;
  else
    return InvalidArgument("fieldValidation must be one of Strict, Warn or Ignore");
  std::string dry_run = Param(request, "dryRun");
  if (!dry_run.empty() && dry_run != "All") return InvalidArgument("dryRun must be All");
  options.dry_run = dry_run == "All";
  return options;
}

Result<json> ParseBody(const ApiRequest& request) {
  std::string media = request.content_type.substr(0, request.content_type.find(';'));
  // kubectl's typed clients (kubectl create namespace/configmap/secret) send protobuf.
  if (media == "application/vnd.kubernetes.protobuf") {
    return api::DecodeKubernetesProtobuf(request.body);
  }
  if (!media.empty() && media != "application/json" && media.find("+json") == std::string::npos) {
    return Status(StatusCode::kUnsupportedMedia,
                  "the body of the request was in an unknown format - accepted media types "
                  "include: application/json");
  }
  json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded()) {
    return InvalidArgument("the request body is not valid JSON");
  }
  return body;
}

std::string ListKind(const Kind& kind) { return kind.kind + "List"; }

}  // namespace

// What a resource URL names.
struct RestHandler::Target {
  const Kind* kind = nullptr;
  std::string ns;
  std::string name;         // empty for the collection
  std::string subresource;  // "", "status"
  bool watch_path = false;  // the legacy /watch/ prefix
};

ApiResponse RestHandler::Handle(const ApiRequest& request) {
  std::vector<std::string> parts = SplitPath(request.path);
  if (request.method == "GET") {
    if (request.path == "/version") return JsonResponse(200, VersionInfo());
    if (request.path == "/healthz" || request.path == "/livez" || request.path == "/readyz") {
      ApiResponse r;
      r.content_type = "text/plain";
      r.body = "ok";
      return r;
    }
    if (request.path == "/api") return JsonResponse(200, CoreApiVersions());
    if (request.path == "/apis") return JsonResponse(200, ApiGroupList());
    if (!parts.empty() && parts[0] == "openapi") {
      const auto& schemas = api::SchemaRegistry::Get();
      if (parts.size() == 2 && parts[1] == "v3") return JsonResponse(200, schemas.OpenApiV3Index());
      const json* doc = nullptr;
      if (parts.size() == 4 && parts[1] == "v3" && parts[2] == "api") {
        doc = schemas.OpenApiV3Document("", parts[3]);
      } else if (parts.size() == 5 && parts[1] == "v3" && parts[2] == "apis") {
        doc = schemas.OpenApiV3Document(parts[3], parts[4]);
      }
      if (doc) return JsonResponse(200, *doc);
      return NoSuchResource();
    }
    if (parts.size() == 2 && parts[0] == "api") {
      if (auto list = ApiResourceList("", parts[1])) return JsonResponse(200, *list);
    }
    if (parts.size() == 3 && parts[0] == "apis") {
      if (auto list = ApiResourceList(parts[1], parts[2])) return JsonResponse(200, *list);
    }
  }

  // Resource paths: /api/v1/... or /apis/<group>/<version>/...
  Target target;
  std::string group, version;
  size_t rest = 0;
  if (parts.size() >= 3 && parts[0] == "api") {
    version = parts[1];
    rest = 2;
  } else if (parts.size() >= 4 && parts[0] == "apis") {
    group = parts[1];
    version = parts[2];
    rest = 3;
  } else {
    return NoSuchResource();
  }
  std::vector<std::string> s(parts.begin() + rest, parts.end());
  if (!s.empty() && s[0] == "watch") {
    target.watch_path = true;
    s.erase(s.begin());
  }
  // namespaces/<ns>/<plural>/... is a namespaced resource, except the Namespace object's own
  // subresources (namespaces/<name>/status).
  if (s.size() >= 3 && s[0] == "namespaces" && !(s.size() == 3 && s[2] == "status")) {
    target.ns = s[1];
    s.erase(s.begin(), s.begin() + 2);
  }
  if (s.empty() || s.size() > 3) {
    return NoSuchResource();
  }
  target.kind = api::KindRegistry::Get().ByResource(group, version, s[0]);
  if (!target.kind) {
    return NoSuchResource();
  }
  if (s.size() >= 2) target.name = s[1];
  if (s.size() == 3) target.subresource = s[2];
  if (!target.subresource.empty() && !(target.subresource == "status" && target.kind->has_status)) {
    return NoSuchResource();
  }
  if (!target.kind->namespaced && !target.ns.empty()) {
    return NoSuchResource();
  }
  return HandleObject(request, target);
}

ApiResponse RestHandler::HandleObject(const ApiRequest& request, const Target& target) {
  const Kind& kind = *target.kind;
  const std::string& method = request.method;
  bool status_only = target.subresource == "status";
  auto verb_allowed = [&](const std::string& verb) {
    for (const auto& v : kind.verbs) {
      if (v == verb) return true;
    }
    return false;
  };

  if (target.name.empty()) {
    if (method == "GET") {
      std::string watch = Param(request, "watch");
      if (target.watch_path || watch == "true" || watch == "1") return Watch(request, target);
      ListOptions options{Param(request, "labelSelector"), Param(request, "fieldSelector")};
      if (WantsTable(request) && options.label_selector.empty() && options.field_selector.empty()) {
        // `kubectl get` of a whole kind: rows of unchanged objects come from the cache.
        auto stored = objects_.ListStored(kind, target.ns);
        if (!stored.ok()) return ErrorResponse(stored.status());
        auto text = table_rows_.Render(kind, stored->items, std::to_string(stored->revision),
                                       Param(request, "includeObject"));
        if (!text.ok()) return ErrorResponse(text.status());
        ApiResponse response;
        response.body = *std::move(text);
        return response;
      }
      auto listed = objects_.List(kind, target.ns, options);
      if (!listed.ok()) return ErrorResponse(listed.status());
      std::string rv = std::to_string(listed->revision);
      if (WantsTable(request)) {
        ApiResponse response;
        response.body = TableText(kind, listed->items, rv, Param(request, "includeObject"));
        return response;
      }
      json list = {{"kind", ListKind(kind)},
                   {"apiVersion", kind.ApiVersion()},
                   {"metadata", {{"resourceVersion", rv}}},
                   {"items", std::move(listed->items)}};
      return JsonResponse(200, list);
    }
    if (method == "POST" && verb_allowed("create")) {
      auto body = ParseBody(request);
      if (!body.ok()) return ErrorResponse(body.status());
      auto options = WriteOptionsOf(request);
      if (!options.ok()) return ErrorResponse(options.status());
      auto ephemeral = ephemeral_creates_.find(&kind);
      if (ephemeral != ephemeral_creates_.end()) options->dry_run = true;
      auto created = objects_.Create(kind, target.ns, std::move(body).value(), *options);
      if (created.ok() && ephemeral != ephemeral_creates_.end()) {
        auto answered = ephemeral->second(target.ns, std::move(created->object));
        if (!answered.ok()) return ErrorResponse(answered.status());
        created->object = std::move(*answered);
      }
      if (!created.ok()) return ErrorResponse(created.status());
      ApiResponse r = JsonResponse(201, created->object);
      r.warnings = std::move(created->warnings);
      return r;
    }
    if (method == "DELETE" && verb_allowed("deletecollection")) {
      return DeleteCollection(request, target);
    }
    return ErrorResponse({StatusCode::kMethodNotAllowed,
                          "the server does not allow this method on the requested resource"});
  }

  if (method == "GET") {
    auto object = objects_.Get(kind, target.ns, target.name);
    if (!object.ok()) return ErrorResponse(object.status());
    if (WantsTable(request)) {
      std::string rv = (*object)["metadata"].value("resourceVersion", "");
      return JsonResponse(200, ToTable(kind, {*object}, rv, Param(request, "includeObject")));
    }
    return JsonResponse(200, *object);
  }
  auto options = WriteOptionsOf(request);
  if (!options.ok()) return ErrorResponse(options.status());
  if (method == "PUT" && verb_allowed("update")) {
    auto body = ParseBody(request);
    if (!body.ok()) return ErrorResponse(body.status());
    auto updated = objects_.Update(kind, target.ns, target.name, std::move(body).value(),
                                   status_only, *options);
    if (!updated.ok()) return ErrorResponse(updated.status());
    ApiResponse r = JsonResponse(200, updated->object);
    r.warnings = std::move(updated->warnings);
    return r;
  }
  if (method == "PATCH" && verb_allowed("patch")) {
    std::string type = request.content_type.substr(0, request.content_type.find(';'));
    PatchType patch_type;
    if (type == "application/json-patch+json")
      patch_type = PatchType::kJson;
    else if (type == "application/merge-patch+json")
      patch_type = PatchType::kMerge;
    else if (type == "application/strategic-merge-patch+json")
      patch_type = PatchType::kStrategic;
    else {
      return ErrorResponse({StatusCode::kUnsupportedMedia,
                            "the body of the request was in an unknown format - accepted media "
                            "types include: application/json-patch+json, "
                            "application/merge-patch+json, "
                            "application/strategic-merge-patch+json"});
    }
    auto body = ParseBody(request);
    if (!body.ok()) return ErrorResponse(body.status());
    auto patched =
        objects_.Patch(kind, target.ns, target.name, patch_type, *body, status_only, *options);
    if (!patched.ok()) return ErrorResponse(patched.status());
    ApiResponse r = JsonResponse(200, patched->object);
    r.warnings = std::move(patched->warnings);
    return r;
  }
  if (method == "DELETE" && verb_allowed("delete") && !status_only) {
    DeleteOptions delete_options;
    if (!request.body.empty()) {
      auto body = ParseBody(request);
      if (!body.ok()) return ErrorResponse(body.status());
      delete_options.propagation_policy = body->value("propagationPolicy", "");
      if (body->contains("preconditions") && (*body)["preconditions"].is_object()) {
        const json& pre = (*body)["preconditions"];
        delete_options.precondition_uid = pre.value("uid", "");
        delete_options.precondition_resource_version = pre.value("resourceVersion", "");
      }
    }
    if (std::string p = Param(request, "propagationPolicy"); !p.empty()) {
      delete_options.propagation_policy = p;
    }
    const std::string& policy = delete_options.propagation_policy;
    if (!policy.empty() && policy != "Background" && policy != "Foreground" && policy != "Orphan") {
      return ErrorResponse(
          InvalidArgument("propagationPolicy must be one of Background, Foreground or Orphan"));
    }
    delete_options.dry_run = options->dry_run;
    auto deleted = objects_.Delete(kind, target.ns, target.name, delete_options);
    if (!deleted.ok()) return ErrorResponse(deleted.status());
    if ((*deleted)["metadata"].contains("deletionTimestamp")) return JsonResponse(200, *deleted);
    return JsonResponse(200, SuccessStatus({{"name", target.name},
                                            {"group", kind.group},
                                            {"kind", kind.plural},
                                            {"uid", (*deleted)["metadata"].value("uid", "")}}));
  }
  return ErrorResponse({StatusCode::kMethodNotAllowed,
                        "the server does not allow this method on the requested resource"});
}

ApiResponse RestHandler::DeleteCollection(const ApiRequest& request, const Target& target) {
  ListOptions options{Param(request, "labelSelector"), Param(request, "fieldSelector")};
  auto listed = objects_.List(*target.kind, target.ns, options);
  if (!listed.ok()) return ErrorResponse(listed.status());
  json deleted = json::array();
  for (const auto& object : listed->items) {
    const json& meta = object["metadata"];
    auto result =
        objects_.Delete(*target.kind, meta.value("namespace", ""), meta.value("name", ""));
    if (!result.ok() && result.status().code() != StatusCode::kNotFound) {
      return ErrorResponse(result.status());
    }
    if (result.ok()) deleted.push_back(*result);
  }
  return JsonResponse(200, {{"kind", ListKind(*target.kind)},
                            {"apiVersion", target.kind->ApiVersion()},
                            {"metadata", json::object()},
                            {"items", deleted}});
}

ApiResponse RestHandler::Watch(const ApiRequest& request, const Target& target) {
  ListOptions options{Param(request, "labelSelector"), Param(request, "fieldSelector")};
  if (!target.name.empty()) {
    options.field_selector = "metadata.name=" + target.name +
                             (options.field_selector.empty() ? "" : "," + options.field_selector);
  }
  auto watch = objects_.Watch(*target.kind, target.ns, options, Param(request, "resourceVersion"));
  if (!watch.ok()) return ErrorResponse(watch.status());

  int timeout_seconds = kDefaultWatchSeconds;
  if (std::string t = Param(request, "timeoutSeconds"); !t.empty()) {
    timeout_seconds = std::clamp(std::atoi(t.c_str()), 1, kDefaultWatchSeconds);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  bool table = WantsTable(request);
  std::string include_object = Param(request, "includeObject");
  const Kind* kind = target.kind;
  std::shared_ptr<ObjectWatch> shared(std::move(watch).value());
  bool first_table = true;
  const std::atomic<bool>* closing = &closing_;

  ApiResponse r;
  // The stream=watch parameter, as kube-apiserver sends it, also keeps the HTTP library from
  // gzip-buffering the stream, which would hold events back.
  r.content_type = "application/json;stream=watch";
  r.stream = [=](const std::function<bool(std::string_view)>& write) mutable {
    while (std::chrono::steady_clock::now() < deadline && !*closing) {
      auto event = shared->Next(std::chrono::milliseconds(500));
      if (!event.ok()) {
        // Events were lost: tell the client to list again, as kube-apiserver does.
        json error = {{"type", "ERROR"}, {"object", StatusObject(event.status())}};
        write(error.dump() + "\n");
        return false;
      }
      if (!event->has_value()) return true;  // nothing yet; the transport checks the client
      json object = std::move((*event)->object);
      if (table) {
        object = ToTable(*kind, {object}, object["metadata"].value("resourceVersion", ""),
                         include_object, first_table);
        first_table = false;
      }
      json line = {{"type", (*event)->type}, {"object", std::move(object)}};
      if (!write(line.dump() + "\n")) return false;
    }
    return false;
  };
  return r;
}

}  // namespace vdisk::server
