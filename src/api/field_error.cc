#include "api/field_error.h"

namespace vdisk::api {
namespace {

// Kubernetes quotes strings and prints other values as they are.
std::string Show(const nlohmann::json& v) {
  // Values come from users: invalid UTF-8 is shown replaced, never thrown on.
  constexpr auto kReplace = nlohmann::json::error_handler_t::replace;
  if (v.is_string()) return nlohmann::json(v.get<std::string>()).dump(-1, ' ', false, kReplace);
  return v.dump(-1, ' ', false, kReplace);
}

}  // namespace

std::string FieldError::Reason() const {
  switch (type) {
    case Type::kInvalid:
      return "FieldValueInvalid";
    case Type::kRequired:
      return "FieldValueRequired";
    case Type::kNotSupported:
      return "FieldValueNotSupported";
    case Type::kForbidden:
      return "FieldValueForbidden";
    case Type::kDuplicate:
      return "FieldValueDuplicate";
    case Type::kTooLong:
      return "FieldValueTooLong";
  }
  return "FieldValueInvalid";
}

std::string FieldError::Message() const {
  std::string m;
  switch (type) {
    case Type::kInvalid:
      m = "Invalid value: " + Show(bad_value);
      break;
    case Type::kRequired:
      m = "Required value";
      break;
    case Type::kForbidden:
      m = "Forbidden";
      break;
    case Type::kDuplicate:
      m = "Duplicate value: " + Show(bad_value);
      break;
    case Type::kTooLong:
      m = "Too long: " + Show(bad_value);
      break;
    case Type::kNotSupported: {
      m = "Unsupported value: " + Show(bad_value);
      if (!supported.empty()) {
        m += ": supported values: ";
        for (size_t i = 0; i < supported.size(); ++i) {
          if (i) m += ", ";
          m += nlohmann::json(supported[i]).dump();
        }
      }
      return m;
    }
  }
  if (!detail.empty()) m += ": " + detail;
  return m;
}

FieldError InvalidValue(std::string field, nlohmann::json value, std::string detail) {
  return {FieldError::Type::kInvalid, std::move(field), std::move(value), std::move(detail), {}};
}
FieldError RequiredValue(std::string field, std::string detail) {
  return {FieldError::Type::kRequired, std::move(field), nullptr, std::move(detail), {}};
}
FieldError NotSupportedValue(std::string field, nlohmann::json value,
                             std::vector<std::string> supported) {
  return {FieldError::Type::kNotSupported, std::move(field), std::move(value), "",
          std::move(supported)};
}
FieldError ForbiddenField(std::string field, std::string detail) {
  return {FieldError::Type::kForbidden, std::move(field), nullptr, std::move(detail), {}};
}
FieldError DuplicateValue(std::string field, nlohmann::json value) {
  return {FieldError::Type::kDuplicate, std::move(field), std::move(value), "", {}};
}
FieldError TooLongValue(std::string field, nlohmann::json value, size_t max_length) {
  return {FieldError::Type::kTooLong,
          std::move(field),
          std::move(value),
          "may not be more than " + std::to_string(max_length) + " bytes",
          {}};
}

}  // namespace vdisk::api
