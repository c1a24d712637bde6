#include "controllers/volume_controller.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "api/quantity.h"
#include "api/selector.h"
#include "common/clock.h"
#include "controllers/snapshot_controller.h"
#include "storage/fs_overhead.h"
#include "storage/mounts.h"
#include "storage/volume_copy.h"

namespace vdisk::controllers {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// How long a claim waits before provisioning is tried again after a failure (the pool may
// have been given space meanwhile): 10 s, doubling with each failure in a row, at most 5 min,
// so that thousands of claims waiting for a full pool do not keep the controller busy.
constexpr milliseconds kProvisionRetry(10'000);
constexpr milliseconds kMaxProvisionRetry(300'000);
// How often a local PV's path is looked at again: a failed one waits for its path to come
// back, a healthy one may lose it.
constexpr milliseconds kMissingPathRecheck(5'000);
constexpr milliseconds kLocalPathRecheck(30'000);

const api::Kind& PvcKind() { return KindOf("", "PersistentVolumeClaim"); }
const api::Kind& PvKind() { return KindOf("", "PersistentVolume"); }
const api::Kind& ClassKind() { return KindOf("storage.k8s.io", "StorageClass"); }
const api::Kind& HppKind() {
  return KindOf("hostpathprovisioner.kubevirt.io", "HostPathProvisioner");
}

std::string Annotation(const json& object, const char* key) {
  return Str(Field(Field(Field(object, "metadata"), "annotations"), key));
}

int64_t VolumeCapacity(const json& pv) {
  return QuantityBytes(Field(Field(Field(pv, "spec"), "capacity"), "storage"));
}
std::string VolumeMode(const json& object) {
  std::string mode = Str(Field(Field(object, "spec"), "volumeMode"));
  return mode.empty() ? "Filesystem" : mode;
}
std::string Phase(const json& object) { return Str(Field(Field(object, "status"), "phase")); }
// The object a claim asks to be populated from: dataSourceRef, else dataSource; null if none.
const json& DataSourceOf(const json& pvc) {
  const json& ref = Field(Field(pvc, "spec"), "dataSourceRef");
  return ref.is_object() ? ref : Field(Field(pvc, "spec"), "dataSource");
}

bool IsDeleting(const json& object) {
  return !Field(Field(object, "metadata"), "deletionTimestamp").is_null();
}

bool AccessModesCovered(const json& pv, const json& pvc) {
  const json& have = Field(Field(pv, "spec"), "accessModes");
  const json& want = Field(Field(pvc, "spec"), "accessModes");
  if (!want.is_array()) return true;
  for (const auto& mode : want) {
    if (!have.is_array() || std::find(have.begin(), have.end(), mode) == have.end()) return false;
  }
  return true;
}

bool SelectorMatches(const json& pvc, const json& pv) {
  const json& selector = Field(Field(pvc, "spec"), "selector");
  if (selector.is_null()) return true;
  auto parsed = api::LabelSelector::FromJson(selector);
  return parsed.ok() && parsed->Matches(Field(Field(pv, "metadata"), "labels"));
}

// A PV free for this claim: no claimRef, or one naming this claim (pre-bound by a user).
bool AvailableFor(const json& pv, const json& pvc) {
  if (IsDeleting(pv)) return false;
  std::string phase = Phase(pv);
  if (phase == "Released" || phase == "Failed") return false;
  const json& ref = Field(Field(pv, "spec"), "claimRef");
  if (ref.is_null()) return true;
  std::string uid = Str(Field(ref, "uid"));
  return Str(Field(ref, "name")) == MetaString(pvc, "name") &&
         Str(Field(ref, "namespace")) == MetaString(pvc, "namespace") &&
         (uid.empty() || uid == MetaString(pvc, "uid"));
}

bool HasSelector(const json& pvc) { return !Field(Field(pvc, "spec"), "selector").is_null(); }

// A claim that selects by label and names no class takes a PV of any class.
bool ClassMatches(const json& pv, const json& pvc) {
  if (HasSelector(pvc) && !Field(pvc, "spec").contains("storageClassName")) return true;
  return Str(Field(Field(pv, "spec"), "storageClassName")) ==
         Str(Field(Field(pvc, "spec"), "storageClassName"));
}

bool VolumeFits(const json& pv, const json& pvc) {
  return AvailableFor(pv, pvc) && ClassMatches(pv, pvc) && AccessModesCovered(pv, pvc) &&
         VolumeMode(pv) == VolumeMode(pvc) && VolumeCapacity(pv) >= ClaimRequest(pvc) &&
         SelectorMatches(pvc, pv);
}

json ClaimRefOf(const json& pvc) {
  return {{"kind", "PersistentVolumeClaim"},
          {"apiVersion", "v1"},
          {"namespace", MetaString(pvc, "namespace")},
          {"name", MetaString(pvc, "name")},
          {"uid", MetaString(pvc, "uid")},
          {"resourceVersion", MetaString(pvc, "resourceVersion")}};
}

json NodeAffinity(const std::string& node) {
  return {{"required",
           {{"nodeSelectorTerms",
             json::array(
                 {{{"matchExpressions", json::array({{{"key", "kubernetes.io/hostname"},
                                                      {"operator", "In"},
                                                      {"values", json::array({node})}}})}}})}}}};
}

Status StatusOf(const Result<server::WriteResult>& result) {
  return result.ok() ? Status::Ok() : result.status();
}

Status PatchStatus(server::ObjectService& objects, const api::Kind& kind, const std::string& ns,
                   const std::string& name, const json& status) {
  return StatusOf(objects.Patch(kind, ns, name, server::PatchType::kMerge, {{"status", status}},
                                /*status_only=*/true));
}

// Puts a local PV whose path is missing into Failed (reason kReasonLocalPathMissing), with a
// Warning event naming the path.
Status FailForMissingPath(server::ObjectService& objects, EventRecorder& events, const json& pv,
                          const std::string& message) {
  events.Record(pv, "Warning", kReasonLocalPathMissing, message);
  const json& status = Field(pv, "status");
  if (Str(Field(status, "reason")) == kReasonLocalPathMissing &&
      Str(Field(status, "message")) == message) {
    return Status::Ok();
  }
  return PatchStatus(
      objects, PvKind(), "", MetaString(pv, "name"),
      {{"phase", "Failed"}, {"reason", kReasonLocalPathMissing}, {"message", message}});
}

bool ExpansionAllowed(const std::optional<json>& storage_class) {
  if (!storage_class) return false;
  const json& allowed = Field(*storage_class, "allowVolumeExpansion");
  return allowed.is_boolean() && allowed.get<bool>();
}

// The storage request of the claim as written ("2Gi"), for the PV's capacity.
std::string RequestText(const json& pvc) {
  const json& request = Field(Field(Field(Field(pvc, "spec"), "resources"), "requests"), "storage");
  return request.is_string() ? request.get<std::string>()
                             : api::Quantity::FromBytes(QuantityBytes(request)).ToString();
}

// The overhead disk.img leaves free in a Filesystem volume of class `class_name`.
double OverheadFor(server::ObjectService& objects, const std::string& class_name) {
  auto config = objects.Get(KindOf("cdi.kubevirt.io", "CDIConfig"), "", "config");
  return storage::FilesystemOverhead(config.ok() ? *config : json(), class_name);
}

}  // namespace

int64_t QuantityBytes(const json& value) {
  if (value.is_number_integer()) return value.get<int64_t>();  // JSON allows a bare number
  if (!value.is_string()) return 0;
  auto q = api::Quantity::Parse(value.get<std::string>());
  return q.ok() ? q->Value() : 0;
}

int64_t ClaimRequest(const json& pvc) {
  return QuantityBytes(Field(Field(Field(Field(pvc, "spec"), "resources"), "requests"), "storage"));
}

Result<storage::HostPathPool> PoolForClass(const storage::PoolRegistry& pools,
                                           const json& storage_class) {
  return pools.Open(Str(Field(Field(storage_class, "parameters"), "storagePool")));
}

std::string LocalPathProblem(const json& pv) {
  std::string path = Str(Field(Field(Field(pv, "spec"), "local"), "path"));
  if (path.empty()) return "";
  std::string found = storage::DescribePath(path);
  if (found == "missing") return "local path " + path + " does not exist";
  if (VolumeMode(pv) == "Block") {
    if (found == "a block device" || found == "a regular file") return "";
    return "local path " + path + " is " + found +
           ", not a block device or a regular file standing in for one";
  }
  if (found == "a directory" || found == "a block device") return "";
  return "local path " + path + " is " + found + ", not a directory";
}

Result<storage::HostPathPool> PoolOfVolume(const json& pv) {
  std::string path = Annotation(pv, kAnnPoolPath);
  if (path.empty()) return NotFound("volume " + MetaString(pv, "name") + " has no pool");
  return storage::HostPathPool::Open(path);
}

Result<std::string> VolumeImagePath(const json& pv) {
  const std::string pv_name = MetaString(pv, "name");
  const json& spec = Field(pv, "spec");
  if (VolumeMode(pv) == "Block") {
    std::string device = Str(Field(Field(spec, "local"), "path"));
    if (device.empty()) return Invalid("block volume " + pv_name + " has no local path");
    return device;
  }
  if (auto pool = PoolOfVolume(pv); pool.ok()) return pool->ImagePath(pv_name);
  std::string dir = Str(Field(Field(spec, "local"), "path"));
  if (dir.empty()) dir = Str(Field(Field(spec, "hostPath"), "path"));
  if (dir.empty()) return Invalid("volume " + pv_name + " has no local or hostPath path");
  return dir + "/disk.img";
}

// ---- ClaimBinder ---------------------------------------------------------------------------

ClaimBinder::ClaimBinder(server::ObjectService& objects, VolumeControllerOptions options,
                         const storage::PoolRegistry& pools)
    : Controller("volume-binder", objects, PvcKind()),
      options_(std::move(options)),
      pools_(pools),
      events_(objects, "persistentvolume-controller") {
  // A PV that names its claim wakes that claim; a free PV (or a class change) may let any
  // pending claim bind.
  Watches(PvKind(), [this](const json& pv) {
    const json& ref = Field(Field(pv, "spec"), "claimRef");
    if (!ref.is_null())
      return std::vector<ObjectKey>{{Str(Field(ref, "namespace")), Str(Field(ref, "name"))}};
    return PendingClaims();
  });
  // A class change may let pending claims provision, and changes what its bound claims may do.
  Watches(ClassKind(), [this](const json& sc) {
    std::vector<ObjectKey> keys = PendingClaims();
    for (auto& key : ClaimsOfClass(MetaString(sc, "name"))) keys.push_back(std::move(key));
    return keys;
  });
  // A pool that became ready (its CR's status changes) may take the claims waiting for it.
  Watches(HppKind(), [this](const json&) { return PendingClaims(); });
  KeepCache(PvKind());  // FindStaticVolume looks at every PV for every pending claim
}

std::vector<ObjectKey> ClaimBinder::ClaimsOfClass(const std::string& class_name) {
  std::vector<ObjectKey> keys;
  auto list = objects_.List(PvcKind(), "", {});
  if (!list.ok()) return keys;
  for (const auto& pvc : list->items) {
    if (Phase(pvc) == "Bound" && Str(Field(Field(pvc, "spec"), "storageClassName")) == class_name)
      keys.push_back(SelfKey(pvc)[0]);
  }
  return keys;
}

std::vector<ObjectKey> ClaimBinder::PendingClaims() {
  return KeysWhere(PvcKind(), [](const json& pvc) { return Phase(pvc) != "Bound"; });
}

Result<Requeue> ClaimBinder::Reconcile(const ObjectKey& key) {
  auto pvc = objects_.Get(PvcKind(), key.ns, key.name);
  if (!pvc.ok()) {
    if (pvc.status().code() == StatusCode::kNotFound) {
      std::lock_guard lock(failures_mu_);
      provision_failures_.erase(key);
      return Requeue();
    }
    return pvc.status();
  }
  if (IsDeleting(*pvc) || Phase(*pvc) == "Lost") return Requeue();
  if (Phase(*pvc) == "Bound") return ReconcileBound(*pvc);
  return ReconcilePending(std::move(*pvc));
}

Result<std::optional<json>> ClaimBinder::StorageClassOf(const json& pvc) {
  std::string name = Str(Field(Field(pvc, "spec"), "storageClassName"));
  if (name.empty()) return std::optional<json>();
  auto sc = objects_.Get(ClassKind(), "", name);
  if (sc.ok()) return std::optional<json>(std::move(*sc));
  if (sc.status().code() == StatusCode::kNotFound) return std::optional<json>();
  return sc.status();
}

Result<Requeue> ClaimBinder::ReconcilePending(json pvc) {
  const std::string& ns = MetaString(pvc, "namespace");
  const std::string& name = MetaString(pvc, "name");
  // A claim that names no class gets the default one, as the DefaultStorageClass admission
  // plugin (and the retroactive default assignment) do; unless it selects PVs by label, which
  // only a static PV of any class can answer (spec 9.20.12.1's clone to a labelled PV).
  if (!Field(pvc, "spec").contains("storageClassName") && !HasSelector(pvc)) {
    VDISK_ASSIGN_OR_RETURN(server::ListResult classes, objects_.List(ClassKind(), "", {}));
    for (const auto& sc : classes.items) {
      if (Annotation(sc, kAnnDefaultClass) != "true") continue;
      auto patched = objects_.Patch(PvcKind(), ns, name, server::PatchType::kMerge,
                                    {{"spec", {{"storageClassName", MetaString(sc, "name")}}}},
                                    /*status_only=*/false);
      VDISK_RETURN_IF_ERROR(StatusOf(patched));
      return Requeue(milliseconds(0));
    }
  }
  VDISK_ASSIGN_OR_RETURN(std::optional<json> storage_class, StorageClassOf(pvc));
  bool wait_for_consumer =
      storage_class && Str(Field(*storage_class, "volumeBindingMode")) == "WaitForFirstConsumer";
  if (wait_for_consumer && Annotation(pvc, kAnnBindImmediate) != "true" &&
      Annotation(pvc, kAnnSelectedNode).empty() && OwnerKeys(pvc, "DataVolume").empty()) {
    events_.Record(pvc, "Normal", "WaitForFirstConsumer",
                   "waiting for first consumer to be created before binding");
    return Requeue();
  }
  // A claim populated from a data source needs a new volume: a static one holds other data.
  std::optional<json> pv;
  if (DataSourceOf(pvc).is_null()) {
    VDISK_ASSIGN_OR_RETURN(pv, FindStaticVolume(pvc));
  }
  if (pv) {
    VDISK_RETURN_IF_ERROR(Bind(pvc, std::move(*pv)));
    return Requeue();
  }
  if (HasSelector(pvc)) {
    // As the external provisioners: a new volume cannot carry the labels a selector wants.
    events_.Record(pvc, "Normal", "FailedBinding",
                   "no persistent volume matches the claim's selector; provisioning does not "
                   "serve claims with a selector");
    return Requeue();
  }
  if (storage_class && Str(Field(*storage_class, "provisioner")) == kHostPathProvisioner) {
    return Provision(pvc, *storage_class);
  }
  std::string class_name = Str(Field(Field(pvc, "spec"), "storageClassName"));
  events_.Record(pvc, "Normal", "FailedBinding",
                 class_name.empty() || storage_class
                     ? "no persistent volumes available for this claim and no storage class is set"
                     : "storageclass.storage.k8s.io \"" + class_name + "\" not found");
  return Requeue();
}

Result<std::optional<json>> ClaimBinder::FindStaticVolume(const json& pvc) {
  std::string wanted = Str(Field(Field(pvc, "spec"), "volumeName"));
  auto candidate = [&](const json& pv) {
    if (!wanted.empty() && MetaString(pv, "name") != wanted) return false;
    // A claim pre-bound to a PV by spec.volumeName takes it whatever its size and class.
    return wanted.empty() ? VolumeFits(pv, pvc) : AvailableFor(pv, pvc);
  };
  std::optional<json> best;
  std::vector<json> unusable;  // fit, but their local path is not on this node
  for (auto& pv : Cached(PvKind(), candidate)) {
    if (!LocalPathProblem(pv).empty()) {
      unusable.push_back(std::move(pv));
    } else if (!best || VolumeCapacity(pv) < VolumeCapacity(*best)) {
      best = std::move(pv);
    }
  }
  if (!best) {
    // The claim would have bound to these: they fail instead of binding to nothing.
    for (const json& pv : unusable) {
      std::string message = LocalPathProblem(pv) + " on node " + options_.node_name;
      VDISK_RETURN_IF_ERROR(FailForMissingPath(objects_, events_, pv, message));
      events_.Record(pvc, "Warning", "FailedBinding",
                     "persistent volume " + MetaString(pv, "name") + " cannot be used: " + message);
    }
  }
  return best;
}

Result<Requeue> ClaimBinder::Provision(const json& pvc, const json& storage_class) {
  std::string pv_name = "pvc-" + MetaString(pvc, "uid");
  auto existing = objects_.Get(PvKind(), "", pv_name);
  if (existing.ok()) {  // provisioned before a crash or a conflict: just bind
    VDISK_RETURN_IF_ERROR(Bind(pvc, std::move(*existing)));
    return Requeue();
  }
  std::string class_name = MetaString(storage_class, "name");
  auto fail = [&](const Status& why) -> Result<Requeue> {
    events_.Record(
        pvc, "Warning", "ProvisioningFailed",
        "failed to provision volume with StorageClass \"" + class_name + "\": " + why.message());
    return Requeue(RetryDelay(SelfKey(pvc)[0]));
  };
  int64_t request = ClaimRequest(pvc);
  if (request <= 0) return fail(Invalid("the claim has no valid storage request"));
  auto pool = PoolForClass(pools_, storage_class);
  if (!pool.ok()) return fail(pool.status());
  Status created = pool->CreateVolume(pv_name, request);
  if (!created.ok()) return fail(created);
  bool block = VolumeMode(pvc) == "Block";
  auto source = PopulationSourceOf(pvc);
  if (!source.ok()) return fail(source.status());
  if (*source) {
    Status populated = Populate(pvc, **source, *pool, pv_name);
    if (!populated.ok()) {
      (void)pool->DeleteVolume(pv_name);  // a retry starts from an empty volume
      return fail(populated);
    }
  } else if (block) {
    // A Block volume is a regular file standing in for a device, of the full requested size.
    Status image = pool->CreateImage(pv_name, request, /*preallocate=*/false);
    if (!image.ok()) return fail(image);
  }
  std::string reclaim = Str(Field(storage_class, "reclaimPolicy"));
  json pv = {{"apiVersion", "v1"},
             {"kind", "PersistentVolume"},
             {"metadata",
              {{"name", pv_name},
               {"annotations",
                {{kAnnProvisionedBy, kHostPathProvisioner}, {kAnnPoolPath, pool->path()}}}}},
             {"spec",
              {{"capacity", {{"storage", RequestText(pvc)}}},
               {"accessModes", Field(Field(pvc, "spec"), "accessModes")},
               {"volumeMode", block ? "Block" : "Filesystem"},
               {"persistentVolumeReclaimPolicy", reclaim.empty() ? "Delete" : reclaim},
               {"storageClassName", class_name},
               {"local", {{"path", block ? pool->ImagePath(pv_name) : pool->VolumeDir(pv_name)}}},
               {"nodeAffinity", NodeAffinity(options_.node_name)},
               {"claimRef", ClaimRefOf(pvc)}}}};
  auto stored = objects_.Create(PvKind(), "", std::move(pv));
  if (!stored.ok()) return fail(stored.status());
  events_.Record(pvc, "Normal", "ProvisioningSucceeded",
                 "Successfully provisioned volume " + pv_name);
  VDISK_RETURN_IF_ERROR(Bind(pvc, std::move(stored->object)));
  return Requeue();
}

Result<std::optional<ClaimBinder::PopulationSource>> ClaimBinder::PopulationSourceOf(
    const json& pvc) {
  const json& ref = DataSourceOf(pvc);
  if (ref.is_null()) return std::optional<PopulationSource>();
  std::string kind = Str(Field(ref, "kind"));
  std::string group = Str(Field(ref, "apiGroup"));
  std::string name = Str(Field(ref, "name"));
  std::string ns = Str(Field(ref, "namespace"));
  if (ns.empty()) ns = MetaString(pvc, "namespace");
  PopulationSource source;
  if (kind == "VolumeSnapshot" && group == "snapshot.storage.k8s.io") {
    VDISK_ASSIGN_OR_RETURN(SnapshotImage snapshot, ReadySnapshotImage(objects_, ns, name));
    source.path = std::move(snapshot.path);
    source.min_size = snapshot.restore_size;
    source.what = "VolumeSnapshot " + ns + "/" + name;
    return std::optional<PopulationSource>(std::move(source));
  }
  if (kind == "PersistentVolumeClaim" && group.empty()) {
    source.what = "PersistentVolumeClaim " + ns + "/" + name;
    VDISK_ASSIGN_OR_RETURN(json claim, objects_.Get(PvcKind(), ns, name));
    if (Str(Field(Field(claim, "status"), "phase")) != "Bound") {
      return Unavailable("the source " + source.what + " is not bound yet");
    }
    VDISK_ASSIGN_OR_RETURN(
        json pv, objects_.Get(PvKind(), "", Str(Field(Field(claim, "spec"), "volumeName"))));
    if (Annotation(pv, kAnnProvisionedBy) != kHostPathProvisioner) {
      return Invalid("the source " + source.what + " was not provisioned by " +
                     kHostPathProvisioner + ", so it cannot be cloned by it");
    }
    VDISK_ASSIGN_OR_RETURN(source.path, VolumeImagePath(pv));
    source.min_size = ClaimRequest(claim);
    return std::optional<PopulationSource>(std::move(source));
  }
  return std::optional<PopulationSource>();  // someone else's populator: an empty volume
}

Status ClaimBinder::Populate(const json& pvc, const PopulationSource& source,
                             const storage::HostPathPool& pool, const std::string& pv_name) {
  int64_t request = ClaimRequest(pvc);
  if (request < source.min_size) {
    return Invalid("requested volume size " + std::to_string(request) + " is less than the size " +
                   std::to_string(source.min_size) + " of the " + source.what);
  }
  storage::CopyOptions copy;
  // A Block volume keeps the full size it was asked for; a Filesystem one holds the image as
  // it was (a DataVolume grows it to its usable space afterwards).
  if (VolumeMode(pvc) == "Block") copy.target_size = request;
  VDISK_ASSIGN_OR_RETURN(storage::CopyResult copied,
                         storage::CopyImage(source.path, pool.ImagePath(pv_name), copy));
  events_.Record(pvc, "Normal", "VolumePopulated",
                 "volume " + pv_name + " populated from " + source.what +
                     (copied.method == storage::CopyMethod::kReflink ? " by reflink"
                                                                     : " by copying its data"));
  return Status::Ok();
}

milliseconds ClaimBinder::RetryDelay(const ObjectKey& claim) {
  std::lock_guard lock(failures_mu_);
  return BackoffDelay(++provision_failures_[claim], kProvisionRetry, kMaxProvisionRetry);
}

Status ClaimBinder::Bind(const json& pvc, json pv) {
  const std::string pv_name = MetaString(pv, "name");
  const std::string ns = MetaString(pvc, "namespace");
  const std::string name = MetaString(pvc, "name");
  {
    std::lock_guard lock(failures_mu_);
    provision_failures_.erase({ns, name});
  }
  // 1. The PV names the claim, with its uid; Update (not Patch) so that two claims racing
  //    for one PV cannot both win: the loser gets a Conflict and looks again.
  const json& ref = Field(Field(pv, "spec"), "claimRef");
  if (Str(Field(ref, "uid")) != MetaString(pvc, "uid")) {
    pv["spec"]["claimRef"] = ClaimRefOf(pvc);
    VDISK_ASSIGN_OR_RETURN(server::WriteResult written,
                           objects_.Update(PvKind(), "", pv_name, pv, /*status_only=*/false));
    pv = std::move(written.object);
  }
  if (Phase(pv) != "Bound") {
    VDISK_RETURN_IF_ERROR(PatchStatus(objects_, PvKind(), "", pv_name, {{"phase", "Bound"}}));
  }
  // 2. The claim names the PV, then reports Bound with the PV's size and modes.
  json claim_patch = {{"metadata",
                       {{"annotations",
                         {{"pv.kubernetes.io/bind-completed", "yes"},
                          {"pv.kubernetes.io/bound-by-controller", "yes"}}}}},
                      {"spec", {{"volumeName", pv_name}}}};
  VDISK_ASSIGN_OR_RETURN(std::optional<json> storage_class, StorageClassOf(pvc));
  claim_patch["metadata"]["annotations"][kAnnAllowVolumeExpansion] =
      ExpansionAllowed(storage_class) ? "true" : "false";
  std::string provisioner = Annotation(pv, kAnnProvisionedBy);
  if (!provisioner.empty()) {
    claim_patch["metadata"]["annotations"]["volume.kubernetes.io/storage-provisioner"] =
        provisioner;
  }
  VDISK_RETURN_IF_ERROR(StatusOf(objects_.Patch(PvcKind(), ns, name, server::PatchType::kMerge,
                                                claim_patch, /*status_only=*/false)));
  VDISK_RETURN_IF_ERROR(PatchStatus(objects_, PvcKind(), ns, name,
                                    {{"phase", "Bound"},
                                     {"capacity", Field(Field(pv, "spec"), "capacity")},
                                     {"accessModes", Field(Field(pv, "spec"), "accessModes")}}));
  spdlog::info("volume-binder: bound {}/{} to {}", ns, name, pv_name);
  return Status::Ok();
}

Status ClaimBinder::MarkLost(const json& pvc) {
  events_.Record(pvc, "Warning", "ClaimLost",
                 "Bound claim has lost its PersistentVolume. Data on the volume is lost!");
  return PatchStatus(objects_, PvcKind(), MetaString(pvc, "namespace"), MetaString(pvc, "name"),
                     {{"phase", "Lost"}});
}

Status ClaimBinder::RecordExpansionAllowed(const json& pvc,
                                           const std::optional<json>& storage_class) {
  std::string allowed = ExpansionAllowed(storage_class) ? "true" : "false";
  if (Annotation(pvc, kAnnAllowVolumeExpansion) == allowed) return Status::Ok();
  return Annotate(objects_, PvcKind(), SelfKey(pvc)[0], {{kAnnAllowVolumeExpansion, allowed}});
}

Result<Requeue> ClaimBinder::ReconcileBound(const json& pvc) {
  auto pv = objects_.Get(PvKind(), "", Str(Field(Field(pvc, "spec"), "volumeName")));
  if (!pv.ok()) {
    if (pv.status().code() != StatusCode::kNotFound) return pv.status();
    VDISK_RETURN_IF_ERROR(MarkLost(pvc));
    return Requeue();
  }
  VDISK_ASSIGN_OR_RETURN(std::optional<json> storage_class, StorageClassOf(pvc));
  VDISK_RETURN_IF_ERROR(RecordExpansionAllowed(pvc, storage_class));
  int64_t request = ClaimRequest(pvc);
  int64_t capacity = QuantityBytes(Field(Field(Field(pvc, "status"), "capacity"), "storage"));
  if (request > capacity && capacity > 0) return Expand(pvc, request);
  return Requeue();
}

Result<Requeue> ClaimBinder::Expand(const json& pvc, int64_t request) {
  VDISK_ASSIGN_OR_RETURN(std::optional<json> storage_class, StorageClassOf(pvc));
  if (!ExpansionAllowed(storage_class)) {
    events_.Record(pvc, "Warning", "ExternalExpanding",
                   "the storage class does not allow volume expansion");
    return Requeue();
  }
  std::string pv_name = Str(Field(Field(pvc, "spec"), "volumeName"));
  VDISK_ASSIGN_OR_RETURN(json pv, objects_.Get(PvKind(), "", pv_name));
  auto pool = PoolOfVolume(pv);
  auto fail = [&](const Status& why) -> Result<Requeue> {
    events_.Record(pvc, "Warning", "VolumeResizeFailed",
                   "resize volume \"" + pv_name + "\" failed: " + why.message());
    return Requeue(kProvisionRetry);
  };
  if (!pool.ok()) return fail(pool.status());
  int64_t growth = request - VolumeCapacity(pv);
  bool block = VolumeMode(pv) == "Block";
  bool preallocated = Annotation(pvc, kAnnPreallocationApplied) == "true";
  if (pool->ImageExists(pv_name)) {
    // A Filesystem volume's disk.img takes the new usable size (less overhead); a Block
    // volume's backing file takes the full size.
    int64_t image_size =
        block ? request
              : storage::UsableSpace(request,
                                     OverheadFor(objects_, MetaString(*storage_class, "name")));
    Status grown = pool->GrowImage(pv_name, image_size, preallocated);
    if (!grown.ok()) return fail(grown);
  } else {
    Status fits = pool->CheckFits(growth);
    if (!fits.ok()) return fail(fits);
  }
  std::string text = RequestText(pvc);
  VDISK_RETURN_IF_ERROR(StatusOf(objects_.Patch(PvKind(), "", pv_name, server::PatchType::kMerge,
                                                {{"spec", {{"capacity", {{"storage", text}}}}}},
                                                /*status_only=*/false)));
  VDISK_RETURN_IF_ERROR(PatchStatus(objects_, PvcKind(), MetaString(pvc, "namespace"),
                                    MetaString(pvc, "name"), {{"capacity", {{"storage", text}}}}));
  events_.Record(pvc, "Normal", "VolumeResizeSuccessful",
                 "resize volume \"" + pv_name + "\" to " + text + " succeeded");
  return Requeue();
}

// ---- VolumeReclaimer -----------------------------------------------------------------------

VolumeReclaimer::VolumeReclaimer(server::ObjectService& objects, std::string node_name)
    : Controller("volume-reclaimer", objects, PvKind()),
      node_name_(std::move(node_name)),
      events_(objects, "persistentvolume-controller") {
  // A claim's changes (its deletion above all) concern the PV it is bound to.
  Watches(PvcKind(), [](const json& pvc) {
    std::string volume = Str(Field(Field(pvc, "spec"), "volumeName"));
    return std::vector<ObjectKey>{{"", volume}};
  });
}

Status VolumeReclaimer::SetPhase(const json& pv, const std::string& phase,
                                 const std::string& message) {
  if (Phase(pv) == phase) return Status::Ok();
  json status = {{"phase", phase}, {"reason", nullptr}};
  status["message"] = message.empty() ? json() : json(message);
  return PatchStatus(objects_, PvKind(), "", MetaString(pv, "name"), status);
}

Result<bool> VolumeReclaimer::CheckLocalPath(const json& pv) {
  bool failed_for_path = Str(Field(Field(pv, "status"), "reason")) == kReasonLocalPathMissing;
  std::string problem = LocalPathProblem(pv);
  if (problem.empty()) {
    // The path is back: the PV starts over and the normal flow finds its phase again.
    if (failed_for_path) {
      VDISK_RETURN_IF_ERROR(
          PatchStatus(objects_, PvKind(), "", MetaString(pv, "name"),
                      {{"phase", "Pending"}, {"reason", nullptr}, {"message", nullptr}}));
    }
    return false;
  }
  // A free PV is only failed when a claim would bind to it (the binder does that); one in use
  // fails as soon as its path is gone.
  const json& ref = Field(Field(pv, "spec"), "claimRef");
  if (ref.is_null() && !failed_for_path) return false;
  std::string message = problem + " on node " + node_name_;
  VDISK_RETURN_IF_ERROR(FailForMissingPath(objects_, events_, pv, message));
  // The claim that uses it is told too: its data is not where the PV says.
  if (!ref.is_null()) {
    auto claim = objects_.Get(PvcKind(), Str(Field(ref, "namespace")), Str(Field(ref, "name")));
    if (claim.ok() && MetaString(*claim, "uid") == Str(Field(ref, "uid"))) {
      events_.Record(*claim, "Warning", "VolumeFailed",
                     "persistent volume " + MetaString(pv, "name") + " failed: " + message);
    }
  }
  return true;
}

Result<Requeue> VolumeReclaimer::Reconcile(const ObjectKey& key) {
  auto pv = objects_.Get(PvKind(), "", key.name);
  if (!pv.ok()) {
    if (pv.status().code() == StatusCode::kNotFound) return Requeue();
    return pv.status();
  }
  if (IsDeleting(*pv)) return Requeue();
  bool local = !Str(Field(Field(Field(*pv, "spec"), "local"), "path")).empty();
  // A released volume is past caring where its data is: its reclaim policy applies.
  if (local && Phase(*pv) != "Released") {
    VDISK_ASSIGN_OR_RETURN(bool failed, CheckLocalPath(*pv));
    if (failed) return Requeue(kMissingPathRecheck);
  }
  VDISK_ASSIGN_OR_RETURN(Requeue next, ReconcileVolume(*pv));
  if (local && !next) next = kLocalPathRecheck;
  return next;
}

Result<Requeue> VolumeReclaimer::ReconcileVolume(const json& pv) {
  const std::string name = MetaString(pv, "name");
  const json& ref = Field(Field(pv, "spec"), "claimRef");
  if (ref.is_null()) {
    // Free (again): a Released PV whose claimRef an admin removed is reusable.
    if (Phase(pv) != "Failed") VDISK_RETURN_IF_ERROR(SetPhase(pv, "Available"));
    return Requeue();
  }
  std::string uid = Str(Field(ref, "uid"));
  auto claim = objects_.Get(PvcKind(), Str(Field(ref, "namespace")), Str(Field(ref, "name")));
  if (!claim.ok() && claim.status().code() != StatusCode::kNotFound) return claim.status();
  bool claim_exists = claim.ok() && (uid.empty() || MetaString(*claim, "uid") == uid);
  if (claim_exists || uid.empty()) {
    // Bound, or pre-bound and waiting for its claim: the binder finishes the binding.
    if (claim_exists && Str(Field(Field(*claim, "spec"), "volumeName")) == name) {
      VDISK_RETURN_IF_ERROR(SetPhase(pv, "Bound"));
    } else if (Phase(pv).empty() || Phase(pv) == "Pending") {
      VDISK_RETURN_IF_ERROR(SetPhase(pv, "Available"));
    }
    return Requeue();
  }
  // The claim is gone: the volume is released and its reclaim policy applies.
  if (Phase(pv) != "Released" && Phase(pv) != "Failed") {
    VDISK_RETURN_IF_ERROR(SetPhase(pv, "Released"));
    return Requeue(milliseconds(0));
  }
  return Phase(pv) == "Released" ? Reclaim(pv) : Result<Requeue>(Requeue());
}

Result<Requeue> VolumeReclaimer::Reclaim(const json& pv) {
  std::string policy = Str(Field(Field(pv, "spec"), "persistentVolumeReclaimPolicy"));
  if (policy != "Delete") {
    if (policy == "Recycle") {
      VDISK_RETURN_IF_ERROR(SetPhase(pv, "Failed", "recycling is not supported"));
    }
    return Requeue();  // Retain: data and PV stay until an admin acts
  }
  const std::string name = MetaString(pv, "name");
  if (Annotation(pv, kAnnProvisionedBy) != kHostPathProvisioner) {
    std::string message = "error getting deleter volume plugin for volume \"" + name +
                          "\": no deletable volume plugin matched";
    events_.Record(pv, "Warning", "VolumeFailedDelete", message);
    VDISK_RETURN_IF_ERROR(SetPhase(pv, "Failed", message));
    return Requeue();
  }
  VDISK_ASSIGN_OR_RETURN(storage::HostPathPool pool, PoolOfVolume(pv));
  VDISK_RETURN_IF_ERROR(pool.DeleteVolume(name));
  auto deleted = objects_.Delete(PvKind(), "", name);
  if (!deleted.ok() && deleted.status().code() != StatusCode::kNotFound) return deleted.status();
  spdlog::info("volume-reclaimer: deleted volume {} and {}", name, pool.VolumeDir(name));
  return Requeue();
}

// ---- VolumeController ----------------------------------------------------------------------

VolumeController::VolumeController(server::ObjectService& objects, VolumeControllerOptions options)
    : binder_(objects, options, pools_), reclaimer_(objects, options.node_name) {
  // A fresh registry: registering cannot conflict.
  (void)pools_.Register(
      {storage::kDefaultPoolName, options.data_dir + "/pools/default", "vdisk (built in)", ""});
}

}  // namespace vdisk::controllers
