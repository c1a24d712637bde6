// The kinds vdisk serves: their group, version, names, scope and printer columns.
//
// This table is the single source for discovery (/api, /apis), REST routing, OpenAPI paths and
// server-side Table output. Field schemas live in api/schema.h and per-kind rules in
// api/validation.h; both are keyed by the Kind found here.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace vdisk::api {

using Json = nlohmann::json;

// One column of `kubectl get` output (a meta.k8s.io/v1 TableColumnDefinition).
struct PrinterColumn {
  std::string name;  // as kubectl shows it upper-cased, e.g. "Phase"
  std::string type;  // string, integer, number, boolean, date
  std::string description;
  int priority = 0;       // 1: shown only with -o wide
  std::string json_path;  // simple JSONPath, see api/jsonpath.h; empty when `compute` is set
  std::function<Json(const Json& object)> compute;  // for cells a path cannot express
};

struct Kind {
  std::string group;  // "" for the core group
  std::string version;
  std::string kind;
  std::string plural;
  std::string singular;
  std::vector<std::string> short_names;
  bool namespaced = true;
  bool has_status = true;          // serves the /status subresource
  std::vector<std::string> verbs;  // discovery verbs; empty means the full set
  std::vector<std::string> categories;
  bool strategic_merge = false;        // core kinds accept strategic merge patches
  std::vector<PrinterColumn> columns;  // after NAME; "Age" is spelled out where upstream has it

  std::string ApiVersion() const { return group.empty() ? version : group + "/" + version; }
  // "datavolumes.cdi.kubevirt.io", or "persistentvolumeclaims" for the core group.
  std::string GroupResource() const { return group.empty() ? plural : plural + "." + group; }
  // How Kubernetes names a kind in messages: "DataVolume.cdi.kubevirt.io", "PersistentVolumeClaim".
  std::string QualifiedKind() const { return group.empty() ? kind : kind + "." + group; }
};

class KindRegistry {
 public:
  static const KindRegistry& Get();

  const std::vector<Kind>& All() const { return kinds_; }
  // Lookups return nullptr when nothing matches.
  const Kind* ByResource(std::string_view group, std::string_view version,
                         std::string_view plural) const;
  const Kind* ByKind(std::string_view group, std::string_view kind) const;
  const Kind* ByApiVersionKind(std::string_view api_version, std::string_view kind) const;

  // The group versions served, in discovery order: ("", "v1") first.
  std::vector<std::pair<std::string, std::string>> GroupVersions() const;

 private:
  KindRegistry();
  std::vector<Kind> kinds_;
};

}  // namespace vdisk::api
