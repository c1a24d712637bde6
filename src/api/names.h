// Validation of object names, label keys and values, and annotations, with Kubernetes' rules
// and messages. Each returns the problems found (empty when valid) as human-readable details
// that the caller attaches to a field, e.g. FieldError "metadata.name: Invalid value: ...".
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "api/field_error.h"

namespace vdisk::api {

// RFC 1123 subdomain: most object names (max 253).
std::vector<std::string> IsDns1123Subdomain(std::string_view value);
// RFC 1123 label: namespace names (max 63).
std::vector<std::string> IsDns1123Label(std::string_view value);
// Qualified name: label and annotation keys, "[prefix/]name".
std::vector<std::string> IsQualifiedName(std::string_view value);
// Label value: empty or at most 63 characters [A-Za-z0-9_.-], alphanumeric at both ends.
std::vector<std::string> IsValidLabelValue(std::string_view value);

// Checks metadata.labels and metadata.annotations (keys, values, total annotation size 256 KiB),
// appending FieldErrors with paths under `path` (normally "metadata").
void ValidateLabelsAndAnnotations(const nlohmann::json& metadata, const std::string& path,
                                  FieldErrors& errors);

}  // namespace vdisk::api
