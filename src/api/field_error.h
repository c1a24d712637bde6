// FieldError: one reason an object failed validation, in the Kubernetes vocabulary.
//
// The API server turns a list of these into a 422 Invalid Status whose message kubectl prints,
// e.g. `spec.source.http.url: Invalid value: "example.com": must be an http or https URL`.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace vdisk::api {

struct FieldError {
  enum class Type { kInvalid, kRequired, kNotSupported, kForbidden, kDuplicate, kTooLong };

  Type type = Type::kInvalid;
  std::string field;                   // dotted path with list indexes, e.g. "spec.accessModes[0]"
  nlohmann::json bad_value;            // the offending value; null when there is none to show
  std::string detail;                  // why it is wrong
  std::vector<std::string> supported;  // for kNotSupported

  // The Status cause reason, e.g. "FieldValueInvalid".
  std::string Reason() const;
  // The message without the field, e.g. `Invalid value: "x": must be ...`.
  std::string Message() const;
  // "field: message", as kubectl prints it.
  std::string ToString() const { return field + ": " + Message(); }
};

using FieldErrors = std::vector<FieldError>;

FieldError InvalidValue(std::string field, nlohmann::json value, std::string detail);
FieldError RequiredValue(std::string field, std::string detail = "");
FieldError NotSupportedValue(std::string field, nlohmann::json value,
                             std::vector<std::string> supported);
FieldError ForbiddenField(std::string field, std::string detail);
FieldError DuplicateValue(std::string field, nlohmann::json value);
FieldError TooLongValue(std::string field, nlohmann::json value, size_t max_length);

}  // namespace vdisk::api
