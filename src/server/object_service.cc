#include "server/object_service.h"

#include "api/schema.h"
#include "api/selector.h"
#include "api/validation.h"
#include "common/clock.h"
#include "common/parallel.h"
#include "common/random.h"
#include "json/patch.h"

namespace vdisk::server {
namespace {

// Conflicts a patch or an unconditional update retries before giving up; each retry re-reads.
constexpr int kMaxConflictRetries = 8;

const Kind& NamespaceKind() { return *api::KindRegistry::Get().ByKind("", "Namespace"); }

std::string Str(const Json& object, const char* field) {
  auto it = object.find(field);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Json& Metadata(Json& object) {
  Json& m = object["metadata"];
  if (!m.is_object()) m = Json::object();
  return m;
}

// The top-level fields that make up an object's desired state ("spec" for most kinds; data,
// provisioner, parameters, ... for kinds without a spec). A change in them bumps generation.
Json DesiredState(const Json& object) {
  Json out = Json::object();
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (it.key() != "metadata" && it.key() != "status" && it.key() != "kind" &&
        it.key() != "apiVersion") {
      out[it.key()] = it.value();
    }
  }
  return out;
}

bool HasPendingFinalizers(const Kind& kind, const Json& object) {
  const Json& m = object.value("metadata", Json::object());
  if (m.contains("finalizers") && m["finalizers"].is_array() && !m["finalizers"].empty()) {
    return true;
  }
  if (&kind == &NamespaceKind()) {
    const Json& spec = object.value("spec", Json::object());
    return spec.contains("finalizers") && spec["finalizers"].is_array() &&
           !spec["finalizers"].empty();
  }
  return false;
}

bool IsBeingDeleted(const Json& object) {
  return object.contains("metadata") && object["metadata"].is_object() &&
         object["metadata"].contains("deletionTimestamp");
}

void AddFinalizer(Json& object, const std::string& finalizer) {
  Json& finalizers = Metadata(object)["finalizers"];
  if (!finalizers.is_array()) finalizers = Json::array();
  for (const auto& f : finalizers) {
    if (f == finalizer) return;
  }
  finalizers.push_back(finalizer);
}

// The status a new object starts with, as the upstream registries set it on create.
void SetInitialStatus(const Kind& kind, Json& object) {
  if (!kind.has_status) return;
  object.erase("status");
  if (kind.group.empty()) {
    if (kind.kind == "Namespace") {
      object["status"] = {{"phase", "Active"}};
      object["spec"]["finalizers"] = Json::array({"kubernetes"});
    } else if (kind.kind == "PersistentVolumeClaim") {
      object["status"] = {{"phase", "Pending"}};
    } else if (kind.kind == "PersistentVolume") {
      object["status"] = {{"phase", "Available"}};
    }
  }
}

Status InvalidObject(const Kind& kind, const std::string& name, const api::FieldErrors& errors) {
  std::string summary;
  Json causes = Json::array();
  for (size_t i = 0; i < errors.size(); ++i) {
    if (i) summary += ", ";
    summary += errors[i].ToString();
    causes.push_back({{"reason", errors[i].Reason()},
                      {"message", errors[i].Message()},
                      {"field", errors[i].field}});
  }
  if (errors.size() > 1) summary = "[" + summary + "]";
  auto details = std::make_shared<const Json>(
      Json{{"name", name}, {"group", kind.group}, {"kind", kind.kind}, {"causes", causes}});
  return Invalid(kind.QualifiedKind() + " " + Json(name).dump() + " is invalid: " + summary)
      .WithDetails(std::move(details));
}

Status CannotDecode(const Kind& kind, const std::string& why) {
  return InvalidArgument(kind.kind + " in version " + Json(kind.version).dump() +
                         " cannot be handled as a " + kind.kind + ": " + why);
}

Result<int64_t> ParseResourceVersion(const std::string& text) {
  if (text.empty() || text.size() > 18) {
    return InvalidArgument("invalid resourceVersion " + Json(text).dump());
  }
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return InvalidArgument("invalid resourceVersion " + Json(text).dump());
    value = value * 10 + (c - '0');
  }
  return value;
}

class FilteredWatch final : public ObjectWatch {
 public:
  FilteredWatch(std::unique_ptr<store::Watch> watch, api::LabelSelector labels,
                api::FieldSelector fields, std::vector<Json> initial)
      : watch_(std::move(watch)), labels_(std::move(labels)), fields_(std::move(fields)) {
    for (auto& object : initial) initial_.push_back({"ADDED", std::move(object)});
  }

  Result<std::optional<WatchEvent>> Next(std::chrono::milliseconds timeout) override {
    if (!initial_.empty()) {
      WatchEvent event = std::move(initial_.front());
      initial_.pop_front();
      return std::optional<WatchEvent>(std::move(event));
    }
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() < 0) left = std::chrono::milliseconds(0);
      VDISK_ASSIGN_OR_RETURN(std::optional<store::WatchEvent> raw, watch_->Next(left));
      if (!raw) return std::optional<WatchEvent>();
      Json object = Json::parse(*raw->value, nullptr, false);
      if (!object.is_object()) continue;
      if (!labels_.Matches(object["metadata"].value("labels", Json())) ||
          !fields_.Matches(object)) {
        if (left.count() == 0) return std::optional<WatchEvent>();
        continue;
      }
      const char* type = raw->type == store::WatchEvent::Type::kAdded      ? "ADDED"
                         : raw->type == store::WatchEvent::Type::kModified ? "MODIFIED"
                                                                           : "DELETED";
      return std::optional<WatchEvent>(WatchEvent{type, std::move(object)});
    }
  }

 private:
  std::unique_ptr<store::Watch> watch_;
  api::LabelSelector labels_;
  api::FieldSelector fields_;
  std::deque<WatchEvent> initial_;
};

}  // namespace

ObjectService::ObjectService(store::Store& store) : store_(store) {}

std::string ObjectService::Prefix(const Kind& kind, const std::string& ns) {
  std::string prefix =
      "/" + (kind.group.empty() ? std::string("core") : kind.group) + "/" + kind.plural + "/";
  if (kind.namespaced && !ns.empty()) prefix += ns + "/";
  return prefix;
}

std::string ObjectService::Key(const Kind& kind, const std::string& ns, const std::string& name) {
  return Prefix(kind, kind.namespaced ? ns : "") + name;
}

Status ObjectService::NotFoundError(const Kind& kind, const std::string& name) {
  return NotFound(kind.GroupResource() + " " + Json(name).dump() + " not found");
}

Result<Json> ObjectService::Read(const Kind& kind, const std::string& ns, const std::string& name,
                                 int64_t* revision) {
  auto stored = store_.Get(Key(kind, ns, name));
  if (!stored.ok()) {
    if (stored.status().code() == StatusCode::kNotFound) return NotFoundError(kind, name);
    return stored.status();
  }
  if (revision) *revision = stored->revision;
  Json object = Json::parse(stored->value, nullptr, false);
  if (!object.is_object()) return Internal("stored object " + stored->key + " is corrupt");
  return object;
}

Result<Json> ObjectService::Get(const Kind& kind, const std::string& ns, const std::string& name) {
  return Read(kind, ns, name, nullptr);
}

Status ObjectService::CheckNamespaceAcceptsWrites(const Kind& kind, const std::string& ns) {
  if (!kind.namespaced) return Status::Ok();
  if (ns.empty()) return InvalidArgument("a namespace is required for " + kind.GroupResource());
  auto namespace_object = Read(NamespaceKind(), "", ns, nullptr);
  if (!namespace_object.ok()) return namespace_object.status();
  if (IsBeingDeleted(*namespace_object)) {
    return Forbidden(kind.GroupResource() +
                     " is forbidden: unable to create new content in "
                     "namespace " +
                     ns + " because it is being terminated");
  }
  return Status::Ok();
}

// Checks and completes the user-supplied part of an object: kind and apiVersion, unknown
// fields, the schema, defaults and the kind's own rules. `old` is null on create.
Status ObjectService::Prepare(const Kind& kind, Json& object, const Json* old,
                              const WriteOptions& options, std::vector<std::string>& warnings) {
  if (!object.is_object()) return CannotDecode(kind, "the body is not a JSON object");
  std::string api_version = Str(object, "apiVersion"), kind_name = Str(object, "kind");
  if (!api_version.empty() && api_version != kind.ApiVersion()) {
    return InvalidArgument("the API version in the data (" + api_version +
                           ") does not match the expected API version (" + kind.ApiVersion() + ")");
  }
  if (!kind_name.empty() && kind_name != kind.kind) {
    return InvalidArgument("the kind in the data (" + kind_name +
                           ") does not match the expected kind (" + kind.kind + ")");
  }
  object["apiVersion"] = kind.ApiVersion();
  object["kind"] = kind.kind;
  Metadata(object).erase("managedFields");

  const auto& schemas = api::SchemaRegistry::Get();
  if (options.field_validation == FieldValidation::kStrict) {
    auto unknown = schemas.UnknownFields(kind, object);
    if (!unknown.empty()) {
      std::string why = "strict decoding error: ";
      for (size_t i = 0; i < unknown.size(); ++i) {
        why += (i ? ", " : "") + std::string("unknown field ") + Json(unknown[i]).dump();
      }
      return CannotDecode(kind, why);
    }
  } else {
    for (const auto& field : schemas.PruneUnknownFields(kind, object)) {
      if (options.field_validation == FieldValidation::kWarn) {
        warnings.push_back("unknown field " + Json(field).dump());
      }
    }
  }
  std::string name = Str(Metadata(object), "name");
  if (auto errors = schemas.Validate(kind, object); !errors.empty()) {
    return InvalidObject(kind, name, errors);
  }
  api::ApplyDefaults(kind, object);
  auto errors = old ? api::ValidateUpdate(kind, object, *old) : api::ValidateCreate(kind, object);
  if (!errors.empty()) return InvalidObject(kind, name, errors);
  return Status::Ok();
}

Result<WriteResult> ObjectService::Store(const Kind& kind, const std::string& ns,
                                         const std::string& name, Json object,
                                         int64_t expected_revision,
                                         std::vector<std::string> warnings, bool dry_run) {
  using Op = store::Mutation::Op;
  Op op = expected_revision < 0 ? Op::kCreate : Op::kUpdate;
  if (dry_run) return WriteResult{std::move(object), std::move(warnings)};
  auto stored = store_.Apply(
      {op, Key(kind, ns, name), std::max<int64_t>(expected_revision, 0), std::move(object)});
  if (!stored.ok()) {
    switch (stored.status().code()) {
      case StatusCode::kAlreadyExists:
        return AlreadyExists(kind.GroupResource() + " " + Json(name).dump() + " already exists");
      case StatusCode::kNotFound:
        return NotFoundError(kind, name);
      case StatusCode::kConflict:
        return Conflict("Operation cannot be fulfilled on " + kind.GroupResource() + " " +
                        Json(name).dump() + ": " + stored.status().message());
      default:
        return stored.status();
    }
  }
  return WriteResult{Json::parse(stored->value), std::move(warnings)};
}

Result<WriteResult> ObjectService::Create(const Kind& kind, const std::string& ns, Json object,
                                          const WriteOptions& options) {
  if (!object.is_object()) return CannotDecode(kind, "the body is not a JSON object");
  Json& meta = Metadata(object);
  std::string body_ns = Str(meta, "namespace");
  if (kind.namespaced) {
    if (!body_ns.empty() && body_ns != ns) {
      return InvalidArgument(
          "the namespace of the provided object does not match the "
          "namespace sent on the request");
    }
    meta["namespace"] = ns;
  } else {
    meta.erase("namespace");
  }
  if (Str(meta, "name").empty() && !Str(meta, "generateName").empty()) {
    meta["name"] = Str(meta, "generateName") + RandomNameSuffix();
  }
  for (const char* system_field :
       {"uid", "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"}) {
    meta.erase(system_field);
  }
  meta["creationTimestamp"] = NowRfc3339();
  meta["uid"] = NewUuid();
  meta["generation"] = 1;
  SetInitialStatus(kind, object);

  std::vector<std::string> warnings;
  VDISK_RETURN_IF_ERROR(Prepare(kind, object, nullptr, options, warnings));
  VDISK_RETURN_IF_ERROR(CheckNamespaceAcceptsWrites(kind, ns));
  std::string name = Str(object["metadata"], "name");
  return Store(kind, ns, name, std::move(object), -1, std::move(warnings), options.dry_run);
}

Result<store::Store::ListResult> ObjectService::ListStored(const Kind& kind,
                                                           const std::string& ns) {
  return store_.List(Prefix(kind, ns));
}

Result<ListResult> ObjectService::List(const Kind& kind, const std::string& ns,
                                       const ListOptions& options) {
  VDISK_ASSIGN_OR_RETURN(auto labels, api::LabelSelector::Parse(options.label_selector));
  VDISK_ASSIGN_OR_RETURN(auto fields, api::FieldSelector::Parse(options.field_selector));
  VDISK_ASSIGN_OR_RETURN(auto listed, store_.List(Prefix(kind, ns)));
  // Parsing is most of a long list's cost, and each object parses on its own.
  std::vector<IndexRange> ranges = SplitForThreads(listed.items.size(), 1000);
  std::vector<std::vector<Json>> parts(ranges.size());
  std::vector<Status> problems(ranges.size());
  RunEach(ranges, [&](size_t part, IndexRange range) {
    for (size_t i = range.begin; i < range.end; ++i) {
      Json object = Json::parse(listed.items[i].value, nullptr, false);
      if (!object.is_object()) {
        problems[part] = Internal("stored object " + listed.items[i].key + " is corrupt");
        return;
      }
      if (labels.Matches(object["metadata"].value("labels", Json())) && fields.Matches(object)) {
        parts[part].push_back(std::move(object));
      }
    }
  });
  ListResult result;
  result.revision = listed.revision;
  for (size_t part = 0; part < parts.size(); ++part) {
    VDISK_RETURN_IF_ERROR(problems[part]);
    if (result.items.empty()) {
      result.items = std::move(parts[part]);
    } else {
      std::move(parts[part].begin(), parts[part].end(), std::back_inserter(result.items));
    }
  }
  return result;
}

Result<WriteResult> ObjectService::Update(const Kind& kind, const std::string& ns,
                                          const std::string& name, Json object, bool status_only,
                                          const WriteOptions& options) {
  if (!object.is_object()) return CannotDecode(kind, "the body is not a JSON object");
  if (status_only && !kind.has_status) {
    return NotFound(kind.GroupResource() + " has no status subresource");
  }
  std::string body_name = Str(Metadata(object), "name");
  if (!body_name.empty() && body_name != name) {
    return InvalidArgument("the name of the object (" + body_name +
                           ") does not match the name on the URL (" + name + ")");
  }
  std::string body_rv = Str(object["metadata"], "resourceVersion");
  int64_t client_revision = 0;
  if (!body_rv.empty()) {
    VDISK_ASSIGN_OR_RETURN(client_revision, ParseResourceVersion(body_rv));
  }

  for (int attempt = 0;; ++attempt) {
    int64_t revision = 0;
    VDISK_ASSIGN_OR_RETURN(Json old, Read(kind, ns, name, &revision));
    if (client_revision != 0 && client_revision != revision) {
      return Conflict("Operation cannot be fulfilled on " + kind.GroupResource() + " " +
                      Json(name).dump() +
                      ": the object has been modified; please apply your changes to the latest "
                      "version and try again");
    }
    Json updated;
    if (status_only) {
      updated = old;
      if (object.contains("status"))
        updated["status"] = object["status"];
      else
        updated.erase("status");
    } else {
      updated = object;
      if (kind.has_status) {
        if (old.contains("status"))
          updated["status"] = old["status"];
        else
          updated.erase("status");
      }
    }
    Json& meta = Metadata(updated);
    const Json& old_meta = old["metadata"];
    for (const char* system_field : {"uid", "creationTimestamp", "deletionTimestamp",
                                     "deletionGracePeriodSeconds", "generation", "namespace"}) {
      if (old_meta.contains(system_field))
        meta[system_field] = old_meta[system_field];
      else
        meta.erase(system_field);
    }
    meta["name"] = name;
    meta["resourceVersion"] = std::to_string(revision);

    std::vector<std::string> warnings;
    VDISK_RETURN_IF_ERROR(Prepare(kind, updated, &old, options, warnings));
    if (DesiredState(updated) != DesiredState(old)) {
      meta["generation"] = old_meta.value("generation", 1) + 1;
    }
    if (updated == old) return WriteResult{std::move(updated), std::move(warnings)};

    Result<WriteResult> written = Internal("update not attempted");
    if (IsBeingDeleted(updated) && !HasPendingFinalizers(kind, updated)) {
      // The last finalizer is gone: the deletion that was waiting for it completes now.
      if (options.dry_run) return WriteResult{std::move(updated), std::move(warnings)};
      auto deleted =
          store_.Apply({store::Mutation::Op::kDelete, Key(kind, ns, name), revision, {}});
      if (deleted.ok()) return WriteResult{Json::parse(deleted->value), std::move(warnings)};
      written = deleted.status();
    } else {
      written =
          Store(kind, ns, name, std::move(updated), revision, std::move(warnings), options.dry_run);
    }
    // Without a client resourceVersion, the update is unconditional: retry on a race.
    if (written.ok() || written.status().code() != StatusCode::kConflict || client_revision != 0 ||
        attempt >= kMaxConflictRetries) {
      return written;
    }
  }
}

Result<WriteResult> ObjectService::Patch(const Kind& kind, const std::string& ns,
                                         const std::string& name, PatchType type, const Json& patch,
                                         bool status_only, const WriteOptions& options) {
  if (type == PatchType::kStrategic && !kind.strategic_merge) {
    return Status(
        StatusCode::kUnsupportedMedia,
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json");
  }
  for (int attempt = 0;; ++attempt) {
    int64_t revision = 0;
    VDISK_ASSIGN_OR_RETURN(Json old, Read(kind, ns, name, &revision));
    Result<Json> patched = Internal("unknown patch type");
    switch (type) {
      case PatchType::kJson:
        patched = json::ApplyJsonPatch(old, patch);
        break;
      case PatchType::kMerge:
        patched = json::ApplyMergePatch(old, patch);
        break;
      case PatchType::kStrategic:
        patched = json::ApplyStrategicMergePatch(old, patch,
                                                 api::SchemaRegistry::Get().ListStrategy(kind));
        break;
    }
    if (!patched.ok()) return patched.status();
    // A resourceVersion the patch itself sets is a precondition; otherwise pin the one we read.
    bool client_pinned = Str(patched->value("metadata", Json::object()), "resourceVersion") !=
                         std::to_string(revision);
    if (!client_pinned) (*patched)["metadata"]["resourceVersion"] = std::to_string(revision);
    auto written = Update(kind, ns, name, std::move(patched).value(), status_only, options);
    if (written.ok() || written.status().code() != StatusCode::kConflict || client_pinned ||
        attempt >= kMaxConflictRetries) {
      return written;
    }
  }
}

Result<Json> ObjectService::Delete(const Kind& kind, const std::string& ns, const std::string& name,
                                   const DeleteOptions& options) {
  for (int attempt = 0;; ++attempt) {
    int64_t revision = 0;
    VDISK_ASSIGN_OR_RETURN(Json object, Read(kind, ns, name, &revision));
    const Json& meta = object["metadata"];
    if (!options.precondition_uid.empty() && options.precondition_uid != Str(meta, "uid")) {
      return Conflict("Precondition failed: UID in precondition: " + options.precondition_uid +
                      ", UID in object meta: " + Str(meta, "uid"));
    }
    if (!options.precondition_resource_version.empty() &&
        options.precondition_resource_version != Str(meta, "resourceVersion")) {
      return Conflict("Precondition failed: ResourceVersion in precondition: " +
                      options.precondition_resource_version +
                      ", ResourceVersion in meta: " + Str(meta, "resourceVersion"));
    }
    Json updated = object;
    if (options.propagation_policy == "Foreground") AddFinalizer(updated, "foregroundDeletion");
    if (options.propagation_policy == "Orphan") AddFinalizer(updated, "orphan");

    Result<Json> result = Internal("delete not attempted");
    if (HasPendingFinalizers(kind, updated)) {
      // Finalizers hold the object: mark it and let their owners finish the deletion.
      if (!IsBeingDeleted(updated)) {
        Metadata(updated)["deletionTimestamp"] = NowRfc3339();
        Metadata(updated)["deletionGracePeriodSeconds"] = 0;
        if (&kind == &NamespaceKind()) updated["status"]["phase"] = "Terminating";
      }
      if (updated == object) return object;
      if (options.dry_run) return updated;
      auto stored = store_.Apply(
          {store::Mutation::Op::kUpdate, Key(kind, ns, name), revision, std::move(updated)});
      result = stored.ok() ? Result<Json>(Json::parse(stored->value)) : stored.status();
    } else {
      if (options.dry_run) return object;
      auto stored = store_.Apply({store::Mutation::Op::kDelete, Key(kind, ns, name), revision, {}});
      result = stored.ok() ? Result<Json>(Json::parse(stored->value)) : stored.status();
    }
    if (result.ok()) return result;
    if (result.status().code() == StatusCode::kNotFound) return NotFoundError(kind, name);
    if (result.status().code() != StatusCode::kConflict || attempt >= kMaxConflictRetries) {
      return result;
    }
  }
}

Result<std::unique_ptr<ObjectWatch>> ObjectService::Watch(const Kind& kind, const std::string& ns,
                                                          const ListOptions& options,
                                                          const std::string& resource_version) {
  VDISK_ASSIGN_OR_RETURN(auto labels, api::LabelSelector::Parse(options.label_selector));
  VDISK_ASSIGN_OR_RETURN(auto fields, api::FieldSelector::Parse(options.field_selector));
  std::vector<Json> initial;
  int64_t from = 0;
  if (resource_version.empty() || resource_version == "0") {
    VDISK_ASSIGN_OR_RETURN(ListResult listed, List(kind, ns, options));
    initial = std::move(listed.items);
    from = listed.revision;
  } else {
    VDISK_ASSIGN_OR_RETURN(from, ParseResourceVersion(resource_version));
  }
  VDISK_ASSIGN_OR_RETURN(auto watch, store_.WatchPrefix(Prefix(kind, ns), from));
  return std::unique_ptr<ObjectWatch>(new FilteredWatch(std::move(watch), std::move(labels),
                                                        std::move(fields), std::move(initial)));
}

const Kind* ObjectService::KindOf(const Json& object) {
  if (!object.is_object()) return nullptr;
  return api::KindRegistry::Get().ByApiVersionKind(Str(object, "apiVersion"), Str(object, "kind"));
}

Result<std::vector<ObjectService::AnyObject>> ObjectService::ListEverything(int64_t* revision) {
  VDISK_ASSIGN_OR_RETURN(auto listed, store_.List("/"));
  *revision = listed.revision;
  std::vector<AnyObject> out;
  for (auto& item : listed.items) {
    Json object = Json::parse(item.value, nullptr, false);
    if (const Kind* kind = KindOf(object)) out.push_back({kind, std::move(object)});
  }
  return out;
}

Result<std::unique_ptr<store::Watch>> ObjectService::WatchEverything(int64_t from_revision) {
  return store_.WatchPrefix("/", from_revision);
}

}  // namespace vdisk::server
