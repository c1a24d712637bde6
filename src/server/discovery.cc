#include "server/discovery.h"

#include "api/kinds.h"
#include "common/version.h"

namespace vdisk::server {

using nlohmann::json;

json CoreApiVersions() {
  return {
      {"kind", "APIVersions"}, {"versions", {"v1"}}, {"serverAddressByClientCIDRs", json::array()}};
}

json ApiGroupList() {
  json groups = json::array();
  for (const auto& [group, version] : api::KindRegistry::Get().GroupVersions()) {
    if (group.empty()) continue;
    json gv = {{"groupVersion", group + "/" + version}, {"version", version}};
    groups.push_back({{"name", group}, {"versions", {gv}}, {"preferredVersion", gv}});
  }
  return {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}};
}

std::optional<json> ApiResourceList(const std::string& group, const std::string& version) {
  json resources = json::array();
  for (const auto& kind : api::KindRegistry::Get().All()) {
    if (kind.group != group || kind.version != version) continue;
    json resource = {{"name", kind.plural},
                     {"singularName", kind.singular},
                     {"namespaced", kind.namespaced},
                     {"kind", kind.kind},
                     {"verbs", kind.verbs}};
    if (!kind.short_names.empty()) resource["shortNames"] = kind.short_names;
    if (!kind.categories.empty()) resource["categories"] = kind.categories;
    resources.push_back(std::move(resource));
    if (kind.has_status) {
      resources.push_back({{"name", kind.plural + "/status"},
                           {"singularName", ""},
                           {"namespaced", kind.namespaced},
                           {"kind", kind.kind},
                           {"verbs", {"get", "patch", "update"}}});
    }
  }
  if (resources.empty()) return std::nullopt;
  return json{{"kind", "APIResourceList"},
              {"apiVersion", "v1"},
              {"groupVersion", group.empty() ? version : group + "/" + version},
              {"resources", resources}};
}

json VersionInfo() {
  return {{"major", "1"},
          {"minor", "32"},
          {"gitVersion", std::string("v1.32.0+vdisk-") + kVdiskVersion},
          {"gitCommit", ""},
          {"gitTreeState", "clean"},
          {"buildDate", ""},
          {"goVersion", ""},
          {"compiler", "gcc"},
          {"platform", "linux/amd64"}};
}

}  // namespace vdisk::server
