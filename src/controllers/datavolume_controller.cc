#include "controllers/datavolume_controller.h"

#include <spdlog/spdlog.h>

#include <cstdio>

#include "api/quantity.h"
#include "common/base64.h"
#include "common/clock.h"
#include "controllers/datavolume_internal.h"
#include "controllers/volume_controller.h"
#include "storage/fs_overhead.h"
#include "storage/hostpath_pool.h"

namespace vdisk::controllers {

using namespace datavolume;  // NOLINT(build/namespaces): the controller's shared helpers

namespace {
using nlohmann::json;
using std::chrono::milliseconds;

bool NonEmptyArray(const json& value) { return value.is_array() && !value.empty(); }

// The claim property set a StorageProfile recommends: spec overrides status.
json PropertySet(const json& profile) {
  const json& from_spec = Field(Field(profile, "spec"), "claimPropertySets");
  if (NonEmptyArray(from_spec)) return from_spec[0];
  const json& from_status = Field(Field(profile, "status"), "claimPropertySets");
  return NonEmptyArray(from_status) ? from_status[0] : json();
}

const json& HttpSource(const json& dv) { return Field(Field(Field(dv, "spec"), "source"), "http"); }
const json& UploadSource(const json& dv) {
  return Field(Field(Field(dv, "spec"), "source"), "upload");
}

// The values of a Secret's data (base64) and stringData, by key.
std::map<std::string, std::string> SecretValues(const json& secret) {
  std::map<std::string, std::string> values;
  const json& data = Field(secret, "data");
  if (data.is_object()) {
    for (const auto& [key, value] : data.items()) {
      if (auto decoded = Base64Decode(Str(value))) values[key] = std::move(*decoded);
    }
  }
  const json& string_data = Field(secret, "stringData");
  if (string_data.is_object()) {
    for (const auto& [key, value] : string_data.items()) values[key] = Str(value);
  }
  return values;
}

bool OwnedBy(const json& pvc, const std::string& uid) {
  const json& refs = Field(Field(pvc, "metadata"), "ownerReferences");
  if (!refs.is_array()) return false;
  for (const auto& ref : refs) {
    if (Str(Field(ref, "uid")) == uid && Field(ref, "controller") == true) return true;
  }
  return false;
}

}  // namespace

Result<json> RenderClaimSpec(const json& dv, const json& profile, double overhead) {
  const json& spec = Field(dv, "spec");
  if (Field(spec, "pvc").is_object()) return Field(spec, "pvc");  // the PVC API: as written
  const json& storage_api = Field(spec, "storage");
  if (!storage_api.is_object()) return Invalid("DataVolume.spec must set pvc or storage");
  json claim = storage_api;
  json properties = PropertySet(profile);
  if (!NonEmptyArray(Field(claim, "accessModes"))) {
    if (!NonEmptyArray(Field(properties, "accessModes"))) {
      std::string class_name = MetaString(profile, "name");
      return Invalid(class_name.empty()
                         ? "no accessMode specified in DataVolume and no StorageProfile found"
                         : "no accessMode specified in DataVolume nor in StorageProfile \"" +
                               class_name + "\": set spec.claimPropertySets of the profile");
    }
    claim["accessModes"] = properties["accessModes"];
  }
  if (Str(Field(claim, "volumeMode")).empty()) {
    std::string mode = Str(Field(properties, "volumeMode"));
    claim["volumeMode"] = mode.empty() ? "Filesystem" : mode;
  }
  const json& request = Field(Field(Field(claim, "resources"), "requests"), "storage");
  // A clone may leave the size out: it takes its source's (see PrepareCloneClaim).
  if (claim["volumeMode"] == "Filesystem" && request.is_string()) {
    VDISK_ASSIGN_OR_RETURN(api::Quantity quantity,
                           api::Quantity::Parse(request.get<std::string>()));
    int64_t inflated = storage::RequiredSpace(quantity.Value(), overhead);
    claim["resources"]["requests"]["storage"] = api::Quantity::FromBytes(inflated).ToString();
  }
  return claim;
}

DataVolumeController::DataVolumeController(server::ObjectService& objects,
                                           DataVolumeOptions options)
    : Controller("datavolume", objects, DvKind()),
      options_(std::move(options)),
      events_(objects, "datavolume-controller"),
      imports_(std::make_unique<ImportRunner>(options_.imports,
                                              [this](const ObjectKey& key) { Enqueue(key); })),
      clones_(std::make_unique<CloneRunner>([this](const ObjectKey& key) { Enqueue(key); })) {
  Watches(PvcKind(), [](const json& pvc) { return OwnerKeys(pvc, "DataVolume"); });
  // A smart clone's temporary snapshot (in the source's namespace) names its DataVolume.
  Watches(KindOf("snapshot.storage.k8s.io", "VolumeSnapshot"), CloneTargetOf);
  // A profile filled in later lets a waiting DataVolume render its claim.
  if (const api::Kind* profile =
          api::KindRegistry::Get().ByKind("cdi.kubevirt.io", "StorageProfile")) {
    Watches(*profile, [this](const json&) {
      return KeysWhere(DvKind(), [](const json& dv) { return Phase(dv) != "Succeeded"; });
    });
  }
}

Result<Requeue> DataVolumeController::Reconcile(const ObjectKey& key) {
  auto dv = objects_.Get(DvKind(), key.ns, key.name);
  if (!dv.ok() || !Field(Field(*dv, "metadata"), "deletionTimestamp").is_null()) {
    if (!dv.ok() && dv.status().code() != StatusCode::kNotFound) return dv.status();
    imports_->Cancel(key);
    clones_->Cancel(key);
    if (options_.uploads) options_.uploads->Withdraw({key.ns, key.name}, "DataVolume");
    VDISK_RETURN_IF_ERROR(DeleteCloneSnapshots(key));
    return Requeue();
  }
  const json& source = Field(Field(*dv, "spec"), "source");
  bool upload = Field(source, "upload").is_object() && options_.uploads != nullptr;
  if (!Field(source, "blank").is_object() && !Field(source, "http").is_object() && !upload &&
      !IsClone(*dv)) {
    return Requeue();
  }
  auto pvc = objects_.Get(PvcKind(), key.ns, key.name);
  if (!pvc.ok()) {
    if (pvc.status().code() != StatusCode::kNotFound) return pvc.status();
    return EnsureClaim(*dv);
  }
  if (!OwnedBy(*pvc, MetaString(*dv, "uid"))) {
    std::string message =
        "Resource \"" + key.name + "\" already exists and is not managed by DataVolume";
    events_.Record(*dv, "Warning", "ErrResourceExists", message);
    VDISK_RETURN_IF_ERROR(SetStatus(
        *dv, "Pending", "N/A",
        Conditions(Condition("Bound", false, "ErrResourceExists", message),
                   Condition("Running", false, "", ""), Condition("Ready", false, "", ""))));
    return Requeue();
  }
  return FollowClaim(*dv, *pvc);
}

Result<std::string> DataVolumeController::ClassNameFor(const json& dv) {
  const json& spec = Field(dv, "spec");
  const json& claim = Field(spec, "pvc").is_object() ? Field(spec, "pvc") : Field(spec, "storage");
  if (Field(claim, "storageClassName").is_string()) return Str(Field(claim, "storageClassName"));
  VDISK_ASSIGN_OR_RETURN(server::ListResult classes,
                         objects_.List(KindOf("storage.k8s.io", "StorageClass"), "", {}));
  for (const auto& sc : classes.items) {
    if (Str(Field(Field(Field(sc, "metadata"), "annotations"), kAnnDefaultClass)) == "true") {
      return MetaString(sc, "name");
    }
  }
  return std::string();
}

double DataVolumeController::OverheadFor(const std::string& class_name) {
  auto config = objects_.Get(KindOf("cdi.kubevirt.io", "CDIConfig"), "", "config");
  return storage::FilesystemOverhead(config.ok() ? *config : json(), class_name);
}

bool DataVolumeController::PreallocationWanted(const json& dv) {
  const json& own = Field(Field(dv, "spec"), "preallocation");
  if (own.is_boolean()) return own.get<bool>();
  auto config = objects_.Get(KindOf("cdi.kubevirt.io", "CDIConfig"), "", "config");
  if (!config.ok()) return false;
  const json& effective = Field(Field(*config, "status"), "preallocation");
  if (effective.is_boolean()) return effective.get<bool>();
  return Field(Field(*config, "spec"), "preallocation") == true;
}

Result<Requeue> DataVolumeController::EnsureClaim(const json& dv) {
  const std::string ns = MetaString(dv, "namespace");
  const std::string name = MetaString(dv, "name");
  VDISK_ASSIGN_OR_RETURN(std::string class_name, ClassNameFor(dv));
  json profile;
  if (!class_name.empty()) {
    auto found = objects_.Get(KindOf("cdi.kubevirt.io", "StorageProfile"), "", class_name);
    if (found.ok()) profile = std::move(*found);
  }
  auto spec = RenderClaimSpec(dv, profile, OverheadFor(class_name));
  if (!spec.ok()) {
    const std::string& why = spec.status().message();
    events_.Record(dv, "Warning", "ErrClaimNotValid", why);
    VDISK_RETURN_IF_ERROR(
        SetStatus(dv, "Pending", "N/A",
                  Conditions(Condition("Bound", false, "ErrClaimNotValid", why),
                             Condition("Running", false, "", ""),
                             Condition("Ready", false, "ErrClaimNotValid", why))));
    return Requeue();
  }
  json pvc = {{"apiVersion", "v1"},
              {"kind", "PersistentVolumeClaim"},
              {"metadata",
               {{"name", name},
                {"namespace", ns},
                {"labels", {{"app", "containerized-data-importer"}}},
                {"annotations",
                 {{kAnnBindImmediate, "true"},
                  {"cdi.kubevirt.io/storage.contentType", "kubevirt"},
                  {kAnnPreallocationRequested, PreallocationWanted(dv) ? "true" : "false"}}},
                {"ownerReferences", json::array({{{"apiVersion", DvKind().ApiVersion()},
                                                  {"kind", "DataVolume"},
                                                  {"name", name},
                                                  {"uid", MetaString(dv, "uid")},
                                                  {"controller", true},
                                                  {"blockOwnerDeletion", true}}})}}},
              {"spec", std::move(*spec)}};
  if (IsClone(dv)) {
    if (Phase(dv) == "Failed") return Requeue();
    VDISK_ASSIGN_OR_RETURN(bool ready, PrepareCloneClaim(dv, pvc));
    if (!ready) return Requeue(kCloneWait);
  }
  auto created = objects_.Create(PvcKind(), ns, std::move(pvc));
  if (!created.ok()) {
    if (created.status().code() == StatusCode::kAlreadyExists) return Requeue(milliseconds(0));
    std::string why = created.status().message();
    events_.Record(dv, "Warning", "ErrClaimNotValid", why);
    VDISK_RETURN_IF_ERROR(SetStatus(
        dv, "Pending", "N/A",
        Conditions(Condition("Bound", false, "ErrClaimNotValid", why),
                   Condition("Running", false, "", ""), Condition("Ready", false, "", ""))));
    return Requeue();
  }
  events_.Record(dv, "Normal", "Pending", "PVC " + name + " Pending");
  return FollowClaim(dv, created->object);
}

Result<Requeue> DataVolumeController::FollowClaim(const json& dv, const json& pvc) {
  const std::string name = MetaString(pvc, "name");
  if (Phase(dv) == "Succeeded" && UploadSource(dv).is_object()) {
    options_.uploads->MarkDone({MetaString(pvc, "namespace"), name}, MetaString(dv, "uid"),
                               "DataVolume");
  }
  if (Phase(dv) == "Succeeded" || Phase(dv) == "Failed") return Requeue();
  if (IsClone(dv)) return PopulateByClone(dv, pvc);
  if (Phase(pvc) != "Bound") {
    VDISK_RETURN_IF_ERROR(SetStatus(
        dv, "Pending", "N/A",
        Conditions(Condition("Bound", false, "Pending", "PVC " + name + " Pending"),
                   Condition("Running", false, "", ""), Condition("Ready", false, "", ""))));
    return Requeue();
  }
  if (HttpSource(dv).is_object()) return PopulateByImport(dv, pvc);
  if (UploadSource(dv).is_object()) return PopulateByUpload(dv, pvc);
  if (Phase(dv) != "PVCBound") {
    events_.Record(dv, "Normal", "Bound", "PVC " + name + " Bound");
    VDISK_RETURN_IF_ERROR(SetStatus(
        dv, "PVCBound", "N/A",
        Conditions(Condition("Bound", true, "Bound", "PVC " + name + " Bound"),
                   Condition("Running", false, "", ""), Condition("Ready", false, "", ""))));
  }
  return PopulateBlank(dv, pvc);
}

Result<Requeue> DataVolumeController::PopulateBlank(const json& dv, const json& pvc) {
  const std::string name = MetaString(pvc, "name");
  const std::string pv_name = Str(Field(Field(pvc, "spec"), "volumeName"));
  VDISK_ASSIGN_OR_RETURN(json pv, objects_.Get(KindOf("", "PersistentVolume"), "", pv_name));
  bool block = Str(Field(Field(pv, "spec"), "volumeMode")) == "Block";
  bool preallocate = PreallocationWanted(dv);
  if (!block) {
    std::string class_name = Str(Field(Field(pvc, "spec"), "storageClassName"));
    int64_t size = storage::UsableSpace(ClaimRequest(pvc), OverheadFor(class_name));
    Status written;
    if (auto pool = PoolOfVolume(pv); pool.ok()) {
      written = pool->CreateImage(pv_name, size, preallocate);  // through the pool's ledger
    } else if (auto path = VolumeImagePath(pv); path.ok()) {
      written = storage::WriteImageFile(*path, size, preallocate);
    } else {
      written = path.status();
    }
    if (!written.ok()) {
      events_.Record(dv, "Warning", "Error", written.message());
      VDISK_RETURN_IF_ERROR(
          SetStatus(dv, "PVCBound", "N/A",
                    Conditions(Condition("Bound", true, "Bound", "PVC " + name + " Bound"),
                               Condition("Running", false, "Error", written.message()),
                               Condition("Ready", false, "", ""))));
      return Requeue(kPopulateRetry);
    }
  }
  VDISK_RETURN_IF_ERROR(MarkPopulated(dv, pvc, preallocate && !block));
  events_.Record(dv, "Normal", "ImportSucceeded", "Successfully imported into PVC " + name);
  VDISK_RETURN_IF_ERROR(SetStatus(
      dv, "Succeeded", "100.0%",
      Conditions(Condition("Bound", true, "Bound", "PVC " + name + " Bound"),
                 Condition("Running", false, "Completed", ""), Condition("Ready", true, "", ""))));
  return Requeue();
}

// Records on the claim that its data is in place (CDI's pod-phase annotation) and whether it
// was preallocated.
Status DataVolumeController::MarkPopulated(const json& dv, const json& pvc, bool preallocated) {
  json annotations = {{kAnnPodPhase, "Succeeded"}};
  if (preallocated) annotations[kAnnPreallocationApplied] = "true";
  VDISK_RETURN_IF_ERROR(Annotate(objects_, PvcKind(), SelfKey(pvc)[0], annotations));
  if (preallocated) events_.Record(dv, "Normal", "PreallocationApplied", "Preallocation applied");
  return Status::Ok();
}

Result<Requeue> DataVolumeController::PopulateByImport(const json& dv, const json& pvc) {
  const ObjectKey key{MetaString(dv, "namespace"), MetaString(dv, "name")};
  auto state = imports_->State(key, MetaString(dv, "uid"));
  if (!state) return SubmitImport(dv, pvc);
  const std::string claim = MetaString(pvc, "name");
  json bound = Condition("Bound", true, "Bound", "PVC " + claim + " Bound");
  switch (state->phase) {
    case ImportState::Phase::kQueued:
      VDISK_RETURN_IF_ERROR(SetStatus(dv, "ImportScheduled", "N/A",
                                      Conditions(bound,
                                                 Condition("Running", false, "ImportScheduled",
                                                           "waiting for a free import slot"),
                                                 Condition("Ready", false, "", "")),
                                      state->restarts));
      return Requeue(kProgressInterval);
    case ImportState::Phase::kRunning: {
      if (Phase(dv) != "ImportInProgress") {
        events_.Record(dv, "Normal", "ImportInProgress", "Import into " + claim + " in progress");
      }
      json running = state->last_error.empty()
                         ? Condition("Running", true, "", "")
                         : Condition("Running", true, "Restarted",
                                     "last transient error: " + state->last_error);
      VDISK_RETURN_IF_ERROR(
          SetStatus(dv, "ImportInProgress", PercentText(state->percent),
                    Conditions(bound, std::move(running), Condition("Ready", false, "", "")),
                    state->restarts));
      return Requeue(kProgressInterval);
    }
    case ImportState::Phase::kSucceeded: {
      const dataplane::ImportResult& result = state->result;
      bool preallocated =
          PreallocationWanted(dv) && Str(Field(Field(pvc, "spec"), "volumeMode")) != "Block";
      VDISK_RETURN_IF_ERROR(MarkPopulated(dv, pvc, preallocated));
      std::string message;
      if (result.used_scratch) {
        message =
            "Import used scratch space: the compressed qcow2 image's data came before its tables";
        events_.Record(dv, "Normal", "ScratchSpaceUsed", message);
      }
      events_.Record(dv, "Normal", "ImportSucceeded", "Successfully imported into PVC " + claim);
      VDISK_RETURN_IF_ERROR(
          SetStatus(dv, "Succeeded", "100.0%",
                    Conditions(bound, Condition("Running", false, "Completed", message),
                               Condition("Ready", true, "", "")),
                    state->restarts));
      imports_->Cancel(key);  // done: forget the job
      return Requeue();
    }
    case ImportState::Phase::kFailed:
      events_.Record(dv, "Warning", "ImportFailed", state->last_error);
      VDISK_RETURN_IF_ERROR(
          SetStatus(dv, "Failed", Str(Field(Field(dv, "status"), "progress")),
                    Conditions(bound, Condition("Running", false, "Error", state->last_error),
                               Condition("Ready", false, "Error", state->last_error)),
                    state->restarts));
      imports_->Cancel(key);
      return Requeue();
  }
  return Requeue();
}

Result<Requeue> DataVolumeController::SubmitImport(const json& dv, const json& pvc) {
  json bound = Condition("Bound", true, "Bound", "PVC " + MetaString(pvc, "name") + " Bound");
  auto job = ImportJobFor(dv, pvc);
  if (!job.ok()) {
    // Most often a Secret or ConfigMap not created yet: say so and look again later.
    const std::string& why = job.status().message();
    events_.Record(dv, "Warning", "Error", why);
    VDISK_RETURN_IF_ERROR(SetStatus(dv, "ImportScheduled", "N/A",
                                    Conditions(bound, Condition("Running", false, "Error", why),
                                               Condition("Ready", false, "", ""))));
    return Requeue(kPopulateRetry);
  }
  const json& restart_count = Field(Field(dv, "status"), "restartCount");
  job->restarts_before = restart_count.is_number_integer() ? restart_count.get<int>() : 0;
  // The server stopped while this import ran: starting again is a restart.
  if (Phase(dv) == "ImportInProgress") ++job->restarts_before;
  int restarts = job->restarts_before;
  imports_->Submit(std::move(*job));
  if (Phase(dv) != "ImportScheduled") {
    events_.Record(dv, "Normal", "ImportScheduled",
                   "Import into " + MetaString(pvc, "name") + " scheduled");
  }
  VDISK_RETURN_IF_ERROR(SetStatus(
      dv, "ImportScheduled", "N/A",
      Conditions(bound, Condition("Running", false, "", ""), Condition("Ready", false, "", "")),
      restarts));
  return Requeue(kProgressInterval);
}

Result<ImportJob> DataVolumeController::ImportJobFor(const json& dv, const json& pvc) {
  const std::string ns = MetaString(dv, "namespace");
  const json& http = HttpSource(dv);
  ImportJob job;
  job.owner = {ns, MetaString(dv, "name")};
  job.uid = MetaString(dv, "uid");
  job.http.url = Str(Field(http, "url"));
  const json& headers = Field(http, "extraHeaders");
  if (headers.is_array()) {
    for (const auto& header : headers) job.http.extra_headers.push_back(Str(header));
  }
  auto secret_of = [&](const std::string& name, const char* field) -> Result<json> {
    auto secret = objects_.Get(KindOf("", "Secret"), ns, name);
    if (secret.ok()) return std::move(*secret);
    return Invalid("spec.source.http." + std::string(field) + ": secret \"" + name +
                   "\" not found in namespace " + ns + ": " + secret.status().message());
  };
  const json& header_secrets = Field(http, "secretExtraHeaders");
  if (header_secrets.is_array()) {
    for (const auto& name : header_secrets) {
      VDISK_ASSIGN_OR_RETURN(json secret, secret_of(Str(name), "secretExtraHeaders"));
      for (auto& [key, value] : SecretValues(secret)) job.http.extra_headers.push_back(value);
    }
  }
  if (std::string name = Str(Field(http, "secretRef")); !name.empty()) {
    VDISK_ASSIGN_OR_RETURN(json secret, secret_of(name, "secretRef"));
    auto values = SecretValues(secret);
    if (!values.contains("accessKeyId") || !values.contains("secretKey")) {
      return Invalid("spec.source.http.secretRef: secret \"" + name +
                     "\" must hold the keys accessKeyId and secretKey");
    }
    job.http.basic_auth = {values["accessKeyId"], values["secretKey"]};
  }
  if (std::string name = Str(Field(http, "certConfigMap")); !name.empty()) {
    auto config_map = objects_.Get(KindOf("", "ConfigMap"), ns, name);
    if (!config_map.ok()) {
      return Invalid("spec.source.http.certConfigMap: config map \"" + name +
                     "\" not found in namespace " + ns);
    }
    const json& data = Field(*config_map, "data");
    if (data.is_object()) {
      for (const auto& [key, pem] : data.items()) job.http.ca_bundle_pem += Str(pem) + "\n";
    }
  }
  if (std::string checksum = Str(Field(http, "checksum")); !checksum.empty()) {
    auto parsed = dataplane::ParseChecksum(checksum);
    if (!parsed.ok()) return Invalid("spec.source.http.checksum: " + parsed.status().message());
    job.checksum = std::move(*parsed);
  }

  std::string class_name = Str(Field(Field(pvc, "spec"), "storageClassName"));
  VDISK_ASSIGN_OR_RETURN(
      job.target, VolumeTargetOf(objects_, pvc, OverheadFor(class_name), PreallocationWanted(dv),
                                 options_.scratch_dir + "/" + job.uid));
  return job;
}

Result<dataplane::ImportTarget> VolumeTargetOf(server::ObjectService& objects, const json& pvc,
                                               double overhead, bool preallocate,
                                               std::string scratch_dir) {
  const std::string pv_name = Str(Field(Field(pvc, "spec"), "volumeName"));
  VDISK_ASSIGN_OR_RETURN(json pv, objects.Get(KindOf("", "PersistentVolume"), "", pv_name));
  dataplane::ImportTarget target;
  target.block = Str(Field(Field(pv, "spec"), "volumeMode")) == "Block";
  target.preallocate = preallocate;
  target.scratch_dir = std::move(scratch_dir);
  if (target.block) {
    target.path = Str(Field(Field(Field(pv, "spec"), "local"), "path"));
    if (target.path.empty()) return Invalid("block volume " + pv_name + " has no local path");
  } else {
    VDISK_ASSIGN_OR_RETURN(target.path, VolumeImagePath(pv));
    int64_t usable = storage::UsableSpace(ClaimRequest(pvc), overhead);
    target.usable_size = static_cast<uint64_t>(std::max<int64_t>(usable, 0));
  }
  return target;
}

Result<Requeue> DataVolumeController::PopulateByUpload(const json& dv, const json& pvc) {
  const upload::ClaimKey key{MetaString(pvc, "namespace"), MetaString(pvc, "name")};
  const std::string uid = MetaString(dv, "uid");
  json bound = Condition("Bound", true, "Bound", "PVC " + key.name + " Bound");
  json not_ready = Condition("Ready", false, "", "");
  auto state = options_.uploads->State(key, uid);
  if (!state) {
    std::string class_name = Str(Field(Field(pvc, "spec"), "storageClassName"));
    auto target = VolumeTargetOf(objects_, pvc, OverheadFor(class_name), PreallocationWanted(dv),
                                 options_.scratch_dir + "/" + uid);
    if (!target.ok()) {
      const std::string& why = target.status().message();
      events_.Record(dv, "Warning", "Error", why);
      VDISK_RETURN_IF_ERROR(
          SetStatus(dv, "UploadScheduled", "N/A",
                    Conditions(bound, Condition("Running", false, "Error", why), not_ready)));
      return Requeue(kPopulateRetry);
    }
    if (Phase(dv) != "UploadScheduled") {
      events_.Record(dv, "Normal", "UploadScheduled", "Upload Scheduled");
    }
    VDISK_RETURN_IF_ERROR(
        SetStatus(dv, "UploadScheduled", "N/A",
                  Conditions(bound, Condition("Running", false, "", ""), not_ready)));
    options_.uploads->Offer(key, uid, std::move(*target), "DataVolume");
    return Requeue(milliseconds(0));
  }
  switch (state->phase) {
    case upload::UploadState::Phase::kReady: {
      if (Str(Field(Field(Field(pvc, "metadata"), "annotations"), kAnnPodReady)) != "true") {
        VDISK_RETURN_IF_ERROR(Annotate(objects_, PvcKind(), {key.ns, key.name},
                                       {{kAnnPodPhase, "Running"}, {kAnnPodReady, "true"}}));
      }
      if (Phase(dv) != "UploadReady") events_.Record(dv, "Normal", "UploadReady", "Upload Ready");
      json running = state->last_error.empty()
                         ? Condition("Running", true, "Pod is running", "")
                         : Condition("Running", true, "UploadFailed",
                                     "the last upload failed: " + state->last_error);
      VDISK_RETURN_IF_ERROR(SetStatus(dv, "UploadReady", "N/A",
                                      Conditions(bound, std::move(running), not_ready),
                                      state->failures));
      return Requeue();
    }
    case upload::UploadState::Phase::kUploading:
      VDISK_RETURN_IF_ERROR(
          SetStatus(dv, "UploadReady", PercentText(state->percent),
                    Conditions(bound, Condition("Running", true, "Uploading", ""), not_ready),
                    state->failures));
      return Requeue(kProgressInterval);
    case upload::UploadState::Phase::kSucceeded: {
      bool preallocated =
          PreallocationWanted(dv) && Str(Field(Field(pvc, "spec"), "volumeMode")) != "Block";
      VDISK_RETURN_IF_ERROR(MarkPopulated(dv, pvc, preallocated));
      VDISK_RETURN_IF_ERROR(
          Annotate(objects_, PvcKind(), {key.ns, key.name}, {{kAnnPodReady, "false"}}));
      events_.Record(dv, "Normal", "UploadSucceeded", "Successfully uploaded into PVC " + key.name);
      VDISK_RETURN_IF_ERROR(
          SetStatus(dv, "Succeeded", "100.0%",
                    Conditions(bound, Condition("Running", false, "Completed", ""),
                               Condition("Ready", true, "", "")),
                    state->failures));
      return Requeue();
    }
  }
  return Requeue();
}

Status DataVolumeController::SetStatus(const json& dv, const std::string& phase,
                                       const std::string& progress, const json& conditions,
                                       std::optional<int> restart_count) {
  const json& old_status = Field(dv, "status");
  const json& old_conditions = Field(old_status, "conditions");
  std::string now = NowRfc3339();
  json merged = json::array();
  bool changed = Phase(dv) != phase || Str(Field(old_status, "progress")) != progress ||
                 (restart_count && Field(old_status, "restartCount") != *restart_count);
  for (json condition : conditions) {
    condition["lastTransitionTime"] = now;
    condition["lastHeartbeatTime"] = now;
    bool same = false;
    if (old_conditions.is_array()) {
      for (const auto& old : old_conditions) {
        if (Field(old, "type") != condition["type"]) continue;
        same = Field(old, "status") == condition["status"] &&
               Field(old, "reason") == condition["reason"] &&
               Field(old, "message") == condition["message"];
        if (Field(old, "status") == condition["status"] && old.contains("lastTransitionTime")) {
          condition["lastTransitionTime"] = old["lastTransitionTime"];
        }
        if (same) condition["lastHeartbeatTime"] = Field(old, "lastHeartbeatTime");
      }
    }
    changed = changed || !same;
    merged.push_back(std::move(condition));
  }
  if (!changed) return Status::Ok();  // nothing new: no write, no watch event, no loop
  json status = {{"phase", phase},
                 {"progress", progress},
                 {"claimName", MetaString(dv, "name")},
                 {"conditions", std::move(merged)}};
  if (restart_count) status["restartCount"] = *restart_count;
  auto patched = objects_.Patch(DvKind(), MetaString(dv, "namespace"), MetaString(dv, "name"),
                                server::PatchType::kMerge, {{"status", status}},
                                /*status_only=*/true);
  return patched.ok() ? Status::Ok() : patched.status();
}

}  // namespace vdisk::controllers
