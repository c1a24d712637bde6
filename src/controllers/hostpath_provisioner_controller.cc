// HostPathProvisionerController: see hostpath_provisioner_controller.h.
#include "controllers/hostpath_provisioner_controller.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "common/clock.h"
#include "controllers/volume_controller.h"
#include "storage/hostpath_pool.h"
#include "storage/mounts.h"

namespace vdisk::controllers {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// A pool that is not ready yet is looked at again soon; a ready one now and then, to keep its
// capacity current and to notice a path that went away.
constexpr milliseconds kNotReadyRetry(2'000);
constexpr milliseconds kRefresh(30'000);

const api::Kind& HppKind() {
  return KindOf("hostpathprovisioner.kubevirt.io", "HostPathProvisioner");
}
const api::Kind& PvcKind() { return KindOf("", "PersistentVolumeClaim"); }
const api::Kind& PvKind() { return KindOf("", "PersistentVolume"); }

std::string Owner(const std::string& cr_name) { return "HostPathProvisioner/" + cr_name; }

std::string Annotation(const json& object, const char* key) {
  return Str(Field(Field(Field(object, "metadata"), "annotations"), key));
}

std::string HumanBytes(int64_t bytes) {
  char text[32];
  if (bytes >= (int64_t{1} << 30)) {
    std::snprintf(text, sizeof text, "%.1fGi", static_cast<double>(bytes) / (1 << 30));
  } else {
    std::snprintf(text, sizeof text, "%lldMi", static_cast<long long>(bytes >> 20));
  }
  return text;
}

std::string Join(const std::vector<std::string>& parts, const char* separator) {
  std::string out;
  for (const auto& part : parts) out += (out.empty() ? "" : separator) + part;
  return out;
}

// One condition; its lastTransitionTime is kept from `previous` when the status did not change.
json Condition(const json& previous, const std::string& type, bool holds, const std::string& reason,
               const std::string& message) {
  std::string status = holds ? "True" : "False";
  std::string since = NowRfc3339();
  if (previous.is_array()) {
    for (const auto& old : previous) {
      if (Str(Field(old, "type")) == type && Str(Field(old, "status")) == status) {
        std::string kept = Str(Field(old, "lastTransitionTime"));
        if (!kept.empty()) since = kept;
      }
    }
  }
  return {{"type", type},
          {"status", status},
          {"reason", reason},
          {"message", message},
          {"lastTransitionTime", since}};
}

bool HasEntries(const std::string& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  return !ec && it != std::filesystem::directory_iterator();
}

}  // namespace

std::string PoolClaimName(const std::string& pool, const std::string& node) {
  std::string name = "hpp-pool-" + pool + "-" + node;
  for (char& c : name) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') c = '-';
  }
  if (name.size() > 253) name.resize(253);
  while (!name.empty() && !std::isalnum(static_cast<unsigned char>(name.back()))) name.pop_back();
  return name;
}

HostPathProvisionerController::HostPathProvisionerController(server::ObjectService& objects,
                                                             storage::PoolRegistry& pools,
                                                             HostPathProvisionerOptions options)
    : Controller("hostpath-provisioner", objects, HppKind()),
      pools_(pools),
      options_(std::move(options)),
      events_(objects, "hostpath-provisioner") {
  // A pool claim's progress (Bound at last) concerns the CR that made it.
  Watches(PvcKind(), [](const json& pvc) {
    std::string cr = Annotation(pvc, kAnnPoolProvisioner);
    return cr.empty() ? std::vector<ObjectKey>{} : std::vector<ObjectKey>{{"", cr}};
  });
}

Result<Requeue> HostPathProvisionerController::Reconcile(const ObjectKey& key) {
  auto cr = objects_.Get(HppKind(), "", key.name);
  if (!cr.ok()) {
    if (cr.status().code() != StatusCode::kNotFound) return cr.status();
    // Gone without our finalizer's help: still release what it had.
    VDISK_ASSIGN_OR_RETURN(bool removed, RemovePools(key.name, {}, nullptr));
    return removed ? Requeue() : Requeue(kNotReadyRetry);
  }
  const json& finalizers = Field(Field(*cr, "metadata"), "finalizers");
  bool has_finalizer =
      finalizers.is_array() && std::find(finalizers.begin(), finalizers.end(),
                                         kHostPathProvisionerFinalizer) != finalizers.end();
  if (!Field(Field(*cr, "metadata"), "deletionTimestamp").is_null()) {
    VDISK_ASSIGN_OR_RETURN(bool removed, RemovePools(key.name, {}, &*cr));
    if (!removed) return Requeue(kNotReadyRetry);
    if (has_finalizer) {
      json rest = json::array();
      for (const auto& f : finalizers) {
        if (f != kHostPathProvisionerFinalizer) rest.push_back(f);
      }
      auto patched = objects_.Patch(HppKind(), "", key.name, server::PatchType::kMerge,
                                    {{"metadata", {{"finalizers", rest}}}}, false);
      if (!patched.ok() && patched.status().code() != StatusCode::kNotFound)
        return patched.status();
    }
    return Requeue();
  }
  if (!has_finalizer) {
    json with = finalizers.is_array() ? finalizers : json::array();
    with.push_back(kHostPathProvisionerFinalizer);
    auto patched = objects_.Patch(HppKind(), "", key.name, server::PatchType::kMerge,
                                  {{"metadata", {{"finalizers", with}}}}, false);
    if (!patched.ok()) return patched.status();
    cr = std::move(patched->object);
  }

  const std::string owner = Owner(key.name);
  const json& spec = Field(*cr, "spec");
  std::vector<PoolState> states;
  std::set<std::string> keep, paths;
  const json& pools = Field(spec, "storagePools");
  for (const json& pool : pools.is_array() ? pools : json::array()) {
    std::string name = Str(Field(pool, "name"));
    std::string path = Str(Field(pool, "path"));
    PoolState state(name, path);
    if (name.empty() || path.empty() || path[0] != '/') {
      state.problem = "a storage pool needs a name and an absolute path";
    } else if (keep.count(name) || paths.count(path)) {
      state.problem = "another storage pool of this provisioner has the same name or path";
    } else if (Field(pool, "pvcTemplate").is_object()) {
      state = ReconcileTemplatePool(*cr, pool);
    } else {
      state = ReconcilePathPool(owner, name, path);
    }
    keep.insert(name);
    paths.insert(path);
    states.push_back(std::move(state));
  }
  std::string legacy_path = Str(Field(Field(spec, "pathConfig"), "path"));
  if (!legacy_path.empty()) {
    states.push_back(ReconcilePathPool(owner, storage::kLegacyPoolName, legacy_path));
    keep.insert(storage::kLegacyPoolName);
  }
  VDISK_ASSIGN_OR_RETURN(bool removed, RemovePools(key.name, keep, &*cr));

  for (const auto& state : states) {
    std::string pool = state.name.empty() ? "pathConfig" : state.name;
    if (!state.problem.empty()) {
      events_.Record(*cr, "Warning", "StoragePoolFailed",
                     "storage pool " + pool + ": " + state.problem);
    }
    if (!state.warning.empty()) {
      events_.Record(*cr, "Warning", "PoolOnRootFilesystem",
                     "storage pool " + pool + ": " + state.warning);
    }
  }
  VDISK_RETURN_IF_ERROR(WriteStatus(*cr, states));
  bool all_ready = removed && std::all_of(states.begin(), states.end(), [](const PoolState& s) {
                     return s.phase == "Ready" && s.problem.empty();
                   });
  return Requeue(all_ready ? kRefresh : kNotReadyRetry);
}

HostPathProvisionerController::PoolState HostPathProvisionerController::ReconcilePathPool(
    const std::string& owner, const std::string& name, const std::string& path) {
  PoolState state(name, path);
  // Open creates the directory (and its csi/) when missing, and refuses a path that is a file.
  auto pool = storage::HostPathPool::Open(path);
  if (!pool.ok()) {
    state.problem = pool.status().message();
    pools_.Unregister(name, owner);
    return state;
  }
  state.phase = "Ready";
  Serve(owner, state);
  return state;
}

HostPathProvisionerController::PoolState HostPathProvisionerController::ReconcileTemplatePool(
    const json& cr, const json& pool) {
  const std::string owner = Owner(MetaString(cr, "name"));
  PoolState state(Str(Field(pool, "name")), Str(Field(pool, "path")));
  const std::string& ns = options_.claim_namespace;
  const std::string claim_name = PoolClaimName(state.name, options_.node_name);
  const std::string claim_ref = ns + "/" + claim_name;
  auto claim = objects_.Get(PvcKind(), ns, claim_name);
  if (!claim.ok() && claim.status().code() == StatusCode::kNotFound) {
    json pvc = {{"apiVersion", "v1"},
                {"kind", "PersistentVolumeClaim"},
                {"metadata",
                 {{"name", claim_name},
                  {"namespace", ns},
                  {"labels", {{kLabelPoolClaim, "true"}}},
                  {"annotations",
                   {{kAnnPoolProvisioner, MetaString(cr, "name")},
                    {kAnnPoolName, state.name},
                    {kAnnPoolPath, state.path},
                    // The node itself consumes the claim: a WaitForFirstConsumer class binds.
                    {kAnnSelectedNode, options_.node_name}}}}},
                {"spec", Field(pool, "pvcTemplate")}};
    auto created = objects_.Create(PvcKind(), ns, std::move(pvc));
    if (created.ok()) {
      events_.Record(cr, "Normal", "PoolClaimCreated",
                     "created claim " + claim_ref + " for storage pool " + state.name);
      claim = std::move(created->object);
    } else {
      claim = created.status();
    }
  }
  if (!claim.ok()) {
    state.problem = "claim " + claim_ref + ": " + claim.status().message();
    return state;
  }
  state.claim_statuses.push_back({{"name", claim_name}, {"status", Field(*claim, "status")}});
  if (Str(Field(Field(*claim, "status"), "phase")) != "Bound") {
    // Known but not ready: claims for it wait with this reason.
    std::string waiting = "waiting for claim " + claim_ref + " to be bound";
    if (Status s = pools_.Register({state.name, state.path, owner, waiting}); !s.ok()) {
      state.problem = s.message();
    }
    return state;
  }

  state.phase = "Mounting";
  auto unavailable = [&](std::string problem) {
    state.problem = std::move(problem);
    (void)pools_.Register({state.name, state.path, owner, state.problem});
    return state;
  };
  std::string pv_name = Str(Field(Field(*claim, "spec"), "volumeName"));
  auto pv = objects_.Get(PvKind(), "", pv_name);
  if (!pv.ok()) return unavailable("volume " + pv_name + ": " + pv.status().message());
  std::string device = Str(Field(Field(Field(*pv, "spec"), "local"), "path"));
  if (Str(Field(Field(*pv, "spec"), "volumeMode")) != "Block" || device.empty()) {
    return unavailable("volume " + pv_name +
                       " is not a local Block volume; a pvcTemplate pool needs one "
                       "(volumeMode: Block, spec.local.path)");
  }
  if (std::string problem = LocalPathProblem(*pv); !problem.empty()) {
    return unavailable("volume " + pv_name + ": " + problem);
  }
  if (!storage::MountedAt(state.path)) {
    std::string found = storage::DescribePath(state.path);
    if (found != "missing" && found != "a directory") {
      return unavailable("pool path " + state.path + " exists and is " + found +
                         ", not a directory");
    }
    std::error_code ec;
    std::filesystem::create_directories(state.path, ec);
    if (ec) return unavailable("creating " + state.path + ": " + ec.message());
    auto fs_type = storage::FilesystemOn(device);
    if (!fs_type.ok()) return unavailable(fs_type.status().message());
    if (fs_type->empty()) {
      if (Status made = storage::MakeXfs(device); !made.ok()) return unavailable(made.message());
      events_.Record(cr, "Normal", "PoolFormatted",
                     "made an XFS file system on " + device + " for storage pool " + state.name);
      *fs_type = "xfs";
    }
    if (Status mounted = storage::MountVolume(device, state.path, *fs_type); !mounted.ok()) {
      return unavailable(mounted.message());
    }
    events_.Record(cr, "Normal", "PoolMounted",
                   "mounted " + device + " (" + *fs_type + ") at " + state.path +
                       " for storage pool " + state.name);
    spdlog::info("hostpath-provisioner: mounted {} at {}", device, state.path);
  }
  state.phase = "Ready";
  Serve(owner, state);
  return state;
}

void HostPathProvisionerController::Serve(const std::string& owner, PoolState& state) {
  auto pool = storage::HostPathPool::Open(state.path);
  auto capacity = pool.ok() ? pool->Capacity() : Result<storage::PoolCapacity>(pool.status());
  if (!capacity.ok()) {
    state.phase = "Preparing";
    state.problem = capacity.status().message();
    pools_.Unregister(state.name, owner);
    return;
  }
  if (Status s = pools_.Register({state.name, state.path, owner, ""}); !s.ok()) {
    state.phase = "Preparing";
    state.problem = s.message();
    return;
  }
  if (storage::OnSameFilesystem(state.path, options_.root)) {
    state.warning = state.path + " is on the same file system as " + options_.root +
                    " (the operating system's partition); filling the pool can make the node "
                    "unstable";
  }
  state.capacity = HumanBytes(capacity->free) + " free of " + HumanBytes(capacity->total);
}

Result<std::vector<json>> HostPathProvisionerController::PoolClaims(const std::string& cr_name) {
  server::ListOptions options;
  options.label_selector = std::string(kLabelPoolClaim) + "=true";
  VDISK_ASSIGN_OR_RETURN(server::ListResult list,
                         objects_.List(PvcKind(), options_.claim_namespace, options));
  std::vector<json> claims;
  for (auto& pvc : list.items) {
    if (Annotation(pvc, kAnnPoolProvisioner) == cr_name) claims.push_back(std::move(pvc));
  }
  return claims;
}

Result<bool> HostPathProvisionerController::RemovePools(const std::string& cr_name,
                                                        const std::set<std::string>& keep,
                                                        const json* cr) {
  const std::string owner = Owner(cr_name);
  bool done = true;
  VDISK_ASSIGN_OR_RETURN(std::vector<json> claims, PoolClaims(cr_name));
  for (const json& claim : claims) {
    std::string pool = Annotation(claim, kAnnPoolName);
    if (keep.count(pool)) continue;
    // No new volumes from here on; the ones it holds keep working until they are deleted.
    pools_.Unregister(pool, owner);
    std::string path = Annotation(claim, kAnnPoolPath);
    if (!path.empty() && storage::MountedAt(path)) {
      if (HasEntries(path + "/csi") || HasEntries(path + "/snapshots")) {
        if (cr != nullptr) {
          events_.Record(*cr, "Warning", "PoolInUse",
                         "storage pool " + pool + " still holds volumes or snapshots in " + path +
                             "; it is unmounted once they are deleted");
        }
        done = false;
        continue;
      }
      if (Status s = storage::UnmountVolume(path); !s.ok()) {
        if (cr != nullptr) events_.Record(*cr, "Warning", "PoolUnmountFailed", s.message());
        done = false;
        continue;
      }
      spdlog::info("hostpath-provisioner: unmounted storage pool {} from {}", pool, path);
    }
    auto deleted = objects_.Delete(PvcKind(), options_.claim_namespace, MetaString(claim, "name"));
    if (!deleted.ok() && deleted.status().code() != StatusCode::kNotFound) return deleted.status();
    if (cr != nullptr) {
      events_.Record(*cr, "Normal", "PoolRemoved",
                     "storage pool " + pool + " unmounted from " + path + " and its claim " +
                         MetaString(claim, "name") + " deleted");
    }
  }
  for (const auto& entry : pools_.OwnedBy(owner)) {
    if (!keep.count(entry.name)) pools_.Unregister(entry.name, owner);
  }
  return done;
}

Status HostPathProvisionerController::WriteStatus(const json& cr,
                                                  const std::vector<PoolState>& pools) {
  json statuses = json::array();
  std::vector<std::string> ready, waiting, problems;
  for (const auto& pool : pools) {
    std::string label = pool.name.empty() ? "pathConfig" : pool.name;
    if (!pool.problem.empty()) {
      problems.push_back("storage pool " + label + ": " + pool.problem);
    } else if (pool.phase == "Ready") {
      ready.push_back("storage pool " + label + " at " + pool.path + ": " + pool.capacity);
    } else {
      waiting.push_back("storage pool " + label + ": " + pool.phase);
    }
    if (!pool.warning.empty()) problems.push_back("storage pool " + label + ": " + pool.warning);
    if (pool.name.empty()) continue;  // the legacy pathConfig pool has no status entry
    bool is_ready = pool.phase == "Ready" && pool.problem.empty();
    json status = {{"name", pool.name},
                   {"phase", pool.phase},
                   {"desiredReady", 1},
                   {"currentReady", is_ready ? 1 : 0}};
    if (!pool.claim_statuses.empty()) status["claimStatuses"] = pool.claim_statuses;
    statuses.push_back(std::move(status));
  }
  const json& previous = Field(Field(cr, "status"), "conditions");
  bool available = !pools.empty() && waiting.empty() &&
                   std::none_of(pools.begin(), pools.end(),
                                [](const PoolState& p) { return !p.problem.empty(); });
  bool failed = std::any_of(pools.begin(), pools.end(),
                            [](const PoolState& p) { return !p.problem.empty(); });
  json conditions =
      json::array({Condition(previous, "Available", available, available ? "Complete" : "NotReady",
                             pools.empty() ? "no storage pools are defined" : Join(ready, "; ")),
                   Condition(previous, "Progressing", !waiting.empty(),
                             waiting.empty() ? "Complete" : "Preparing", Join(waiting, "; ")),
                   Condition(previous, "Degraded", !problems.empty(),
                             failed ? "StoragePoolFailed"
                                    : (problems.empty() ? "AsExpected" : "PoolOnRootFilesystem"),
                             Join(problems, "; "))});
  const json& current = Field(cr, "status");
  if (Field(current, "storagePoolStatuses") == statuses &&
      Field(current, "conditions") == conditions) {
    return Status::Ok();
  }
  auto patched =
      objects_.Patch(HppKind(), "", MetaString(cr, "name"), server::PatchType::kMerge,
                     {{"status", {{"storagePoolStatuses", statuses}, {"conditions", conditions}}}},
                     /*status_only=*/true);
  return patched.ok() ? Status::Ok() : patched.status();
}

}  // namespace vdisk::controllers
