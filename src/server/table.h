// Server-side printing: objects as a meta.k8s.io/v1 Table, which is what `kubectl get` asks
// for (Accept: application/json;as=Table;v=v1;g=meta.k8s.io) and prints column by column.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/kinds.h"

namespace vdisk::server {

// `include_object`: "None", "Metadata" (the default) or "Object", as ?includeObject= says.
nlohmann::json ToTable(const api::Kind& kind, const std::vector<nlohmann::json>& objects,
                       const std::string& resource_version, const std::string& include_object,
                       bool with_column_definitions = true);

// ToTable's result as JSON text, rendered row by row on several threads: what a list of
// thousands of objects is answered with.
std::string TableText(const api::Kind& kind, const std::vector<nlohmann::json>& objects,
                      const std::string& resource_version, const std::string& include_object);

}  // namespace vdisk::server
