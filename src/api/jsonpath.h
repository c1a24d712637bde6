// A small JSONPath evaluator for printer columns, the subset CRD additionalPrinterColumns use:
//   .status.phase   .spec.accessModes[0]   .status.conditions[?(@.type=="Ready")].status
// Returns null when the path does not resolve. Paths are compiled into the binary, never taken
// from users, but evaluation is still total: any object shape yields a value or null.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace vdisk::api {

nlohmann::json EvaluateJsonPath(const nlohmann::json& object, std::string_view path);

}  // namespace vdisk::api
