// API discovery documents (/api, /apis, /api/v1, /apis/<group>/<version>, /version), built
// from the kind registry, so `kubectl api-resources` lists every kind vdisk serves.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace vdisk::server {

nlohmann::json CoreApiVersions();
nlohmann::json ApiGroupList();
// nullopt for a group version vdisk does not serve.
std::optional<nlohmann::json> ApiResourceList(const std::string& group, const std::string& version);
nlohmann::json VersionInfo();

}  // namespace vdisk::server
