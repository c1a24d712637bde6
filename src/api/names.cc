#include "api/names.h"

#include <cstdint>

#include "common/utf8.h"

namespace vdisk::api {
namespace {

// Patterns and messages as k8s.io/apimachinery prints them (util/validation and, since 1.35, the
// api/validate/content package that label keys and values moved to: its length errors say
// "bytes" where the older DNS helpers say "characters").
constexpr char kDns1123LabelFormat[] = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
constexpr char kDns1123SubdomainFormat[] =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
constexpr char kDns1123LabelMessage[] =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character";
constexpr char kDns1123SubdomainMessage[] =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character";
constexpr char kLabelKeyFormat[] = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
constexpr char kLabelKeyMessage[] =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character";
constexpr char kLabelValueFormat[] = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
constexpr char kLabelValueMessage[] =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character";

constexpr size_t kDns1123LabelMaxLength = 63;
constexpr size_t kDns1123SubdomainMaxLength = 253;
constexpr size_t kLabelKeyNameMaxLength = 63;
constexpr size_t kLabelValueMaxLength = 63;
constexpr int64_t kTotalAnnotationSizeLimit = 256 * 1024;

// "msg (e.g. 'a',  or 'b', regex used for validation is 're')", double space included.
std::string RegexError(std::string message, std::string_view regex,
                       std::initializer_list<std::string_view> examples) {
  message += " (e.g. ";
  bool first = true;
  for (std::string_view example : examples) {
    if (!first) message += " or ";
    first = false;
    message += "'";
    message += example;
    message += "', ";
  }
  message += "regex used for validation is '";
  message += regex;
  message += "')";
  return message;
}

enum class LengthUnit { kCharacters, kBytes };

std::string MaxLengthError(size_t length, LengthUnit unit) {
  return "must be no more than " + std::to_string(length) +
         (unit == LengthUnit::kBytes ? " bytes" : " characters");
}

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }

// Hand-written matchers for the patterns above: linear time and no recursion on hostile input.
bool MatchesDns1123Label(std::string_view value) {
  if (value.empty() || !IsLowerAlnum(value.front()) || !IsLowerAlnum(value.back())) return false;
  for (char c : value) {
    if (!IsLowerAlnum(c) && c != '-') return false;
  }
  return true;
}

bool MatchesDns1123Subdomain(std::string_view value) {
  while (true) {
    const size_t dot = value.find('.');
    if (!MatchesDns1123Label(value.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    value.remove_prefix(dot + 1);
  }
}

bool MatchesLabelKeyName(std::string_view value) {
  if (value.empty() || !IsAlnum(value.front()) || !IsAlnum(value.back())) return false;
  for (char c : value) {
    if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

std::vector<std::string> SubdomainErrors(std::string_view value, LengthUnit unit) {
  std::vector<std::string> errors;
  if (value.size() > kDns1123SubdomainMaxLength) {
    errors.push_back(MaxLengthError(kDns1123SubdomainMaxLength, unit));
  }
  if (!MatchesDns1123Subdomain(value)) {
    errors.push_back(
        RegexError(kDns1123SubdomainMessage, kDns1123SubdomainFormat, {"example.com"}));
  }
  return errors;
}

std::string Lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string ChildPath(const std::string& path, std::string_view child) {
  return path.empty() ? std::string(child) : path + "." + std::string(child);
}

// A value to show in a FieldError: strings made safe to serialize, other values as they are.
nlohmann::json Shown(const nlohmann::json& value) {
  if (value.is_string()) return ValidUtf8(value.get_ref<const std::string&>());
  return value;
}

void ValidateLabels(const nlohmann::json& labels, const std::string& path, FieldErrors& errors) {
  for (const auto& [key, value] : labels.items()) {
    for (std::string& message : IsQualifiedName(key)) {
      errors.push_back(InvalidValue(path, ValidUtf8(key), std::move(message)));
    }
    if (!value.is_string()) {
      errors.push_back(InvalidValue(path, Shown(value), "must be a string"));
      continue;
    }
    for (std::string& message : IsValidLabelValue(value.get_ref<const std::string&>())) {
      errors.push_back(InvalidValue(path, Shown(value), std::move(message)));
    }
  }
}

void ValidateAnnotations(const nlohmann::json& annotations, const std::string& path,
                         FieldErrors& errors) {
  int64_t total_size = 0;
  for (const auto& [key, value] : annotations.items()) {
    // Annotation keys follow the label key rules, except that case does not matter.
    for (std::string& message : IsQualifiedName(Lowercase(key))) {
      errors.push_back(InvalidValue(path, ValidUtf8(key), std::move(message)));
    }
    total_size += static_cast<int64_t>(key.size());
    if (value.is_string()) {
      total_size += static_cast<int64_t>(value.get_ref<const std::string&>().size());
    } else {
      errors.push_back(InvalidValue(path, Shown(value), "must be a string"));
    }
  }
  if (total_size > kTotalAnnotationSizeLimit) {
    errors.push_back(TooLongValue(path, nullptr, kTotalAnnotationSizeLimit));
  }
}

}  // namespace

std::vector<std::string> IsDns1123Subdomain(std::string_view value) {
  return SubdomainErrors(value, LengthUnit::kCharacters);
}

std::vector<std::string> IsDns1123Label(std::string_view value) {
  std::vector<std::string> errors;
  if (value.size() > kDns1123LabelMaxLength) {
    errors.push_back(MaxLengthError(kDns1123LabelMaxLength, LengthUnit::kCharacters));
  }
  if (!MatchesDns1123Label(value)) {
    // A valid subdomain that is not a valid label, with the length checked already, has dots.
    if (MatchesDns1123Subdomain(value)) {
      errors.push_back("must not contain dots");
    } else {
      errors.push_back(
          RegexError(kDns1123LabelMessage, kDns1123LabelFormat, {"my-name", "123-abc"}));
    }
  }
  return errors;
}

std::vector<std::string> IsQualifiedName(std::string_view value) {
  std::vector<std::string> errors;
  std::string_view name = value;
  const size_t slash = value.find('/');
  if (slash != std::string_view::npos) {
    if (value.find('/', slash + 1) != std::string_view::npos) {
      errors.push_back(
          "a valid label key " +
          RegexError(kLabelKeyMessage, kLabelKeyFormat, {"MyName", "my.name", "123-abc"}) +
          " with an optional DNS subdomain prefix and '/' (e.g. "
          "'example.com/MyName')");
      return errors;
    }
    const std::string_view prefix = value.substr(0, slash);
    name = value.substr(slash + 1);
    if (prefix.empty()) {
      errors.push_back("prefix part must be non-empty");
    } else {
      for (std::string& message : SubdomainErrors(prefix, LengthUnit::kBytes)) {
        errors.push_back("prefix part " + message);
      }
    }
  }
  if (name.empty()) {
    errors.push_back("name part must be non-empty");
  } else if (name.size() > kLabelKeyNameMaxLength) {
    errors.push_back("name part " + MaxLengthError(kLabelKeyNameMaxLength, LengthUnit::kBytes));
  }
  if (!MatchesLabelKeyName(name)) {
    errors.push_back("name part " + RegexError(kLabelKeyMessage, kLabelKeyFormat,
                                               {"MyName", "my.name", "123-abc"}));
  }
  return errors;
}

std::vector<std::string> IsValidLabelValue(std::string_view value) {
  std::vector<std::string> errors;
  if (value.size() > kLabelValueMaxLength) {
    errors.push_back(MaxLengthError(kLabelValueMaxLength, LengthUnit::kBytes));
  }
  if (!value.empty() && !MatchesLabelKeyName(value)) {
    errors.push_back(
        RegexError(kLabelValueMessage, kLabelValueFormat, {"MyValue", "my_value", "12345"}));
  }
  return errors;
}

void ValidateLabelsAndAnnotations(const nlohmann::json& metadata, const std::string& path,
                                  FieldErrors& errors) {
  if (!metadata.is_object()) return;
  if (auto labels = metadata.find("labels"); labels != metadata.end() && !labels->is_null()) {
    const std::string labels_path = ChildPath(path, "labels");
    if (labels->is_object()) {
      ValidateLabels(*labels, labels_path, errors);
    } else {
      errors.push_back(InvalidValue(labels_path, Shown(*labels), "must be an object"));
    }
  }
  if (auto annotations = metadata.find("annotations");
      annotations != metadata.end() && !annotations->is_null()) {
    const std::string annotations_path = ChildPath(path, "annotations");
    if (annotations->is_object()) {
      ValidateAnnotations(*annotations, annotations_path, errors);
    } else {
      errors.push_back(InvalidValue(annotations_path, Shown(*annotations), "must be an object"));
    }
  }
}

}  // namespace vdisk::api
