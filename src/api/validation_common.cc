// Helpers shared by the per-group validation files; see validation_internal.h.

#include <algorithm>
#include <set>

#include "api/names.h"
#include "api/validation_internal.h"

namespace vdisk::api::internal {

// ---- Untrusted JSON access -------------------------------------------------------------------

const Json* Get(const Json* object, std::string_view key) {
  if (object == nullptr || !object->is_object()) return nullptr;
  auto it = object->find(std::string(key));
  if (it == object->end() || it->is_null()) return nullptr;
  return &*it;
}

const Json* GetObject(const Json* object, std::string_view key) {
  const Json* v = Get(object, key);
  return v != nullptr && v->is_object() ? v : nullptr;
}

const Json* GetArray(const Json* object, std::string_view key) {
  const Json* v = Get(object, key);
  return v != nullptr && v->is_array() ? v : nullptr;
}

std::string GetString(const Json* object, std::string_view key) {
  const Json* v = Get(object, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

bool HasString(const Json* object, std::string_view key) { return !GetString(object, key).empty(); }

void SetDefault(Json& object, std::string_view key, Json value) {
  if (!object.is_object()) return;
  Json& slot = object[std::string(key)];
  if (slot.is_null()) slot = std::move(value);
}

Json* EnsureObject(Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  Json& slot = object[std::string(key)];
  if (slot.is_null()) slot = Json::object();
  return slot.is_object() ? &slot : nullptr;
}

// ---- Field paths ---------------------------------------------------------------------------

std::string Child(const std::string& path, std::string_view name) {
  if (path.empty()) return std::string(name);
  return path + "." + std::string(name);
}

std::string Key(const std::string& path, std::string_view key) {
  return path + "[" + std::string(key) + "]";
}

std::string Index(const std::string& path, size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

// ---- Common rules --------------------------------------------------------------------------

const std::vector<std::string> kAccessModes = {"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce",
                                               "ReadWriteOncePod"};
const std::vector<std::string> kVolumeModes = {"Block", "Filesystem"};

namespace {

bool Contains(const std::vector<std::string>& values, const std::string& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// Non-string enum values are reported as they are; kubectl shows them the same way.
bool IsSupported(const Json& value, const std::vector<std::string>& supported) {
  return value.is_string() && Contains(supported, value.get<std::string>());
}

void AppendNameErrors(const std::vector<std::string>& problems, const std::string& path,
                      const Json& value, FieldErrors& errors) {
  for (const std::string& problem : problems) errors.push_back(InvalidValue(path, value, problem));
}

}  // namespace

void CheckEnum(const Json* value, const std::string& path,
               const std::vector<std::string>& supported, FieldErrors& errors) {
  if (value == nullptr || IsSupported(*value, supported)) return;
  errors.push_back(NotSupportedValue(path, *value, supported));
}

void CheckBool(const Json* value, const std::string& path, FieldErrors& errors) {
  if (value == nullptr || value->is_boolean()) return;
  errors.push_back(InvalidValue(path, *value, "must be a boolean"));
}

void CheckDns1123Subdomain(const Json* value, const std::string& path, FieldErrors& errors) {
  if (value == nullptr || !value->is_string() || value->get<std::string>().empty()) return;
  AppendNameErrors(IsDns1123Subdomain(value->get<std::string>()), path, *value, errors);
}

void CheckDns1123Label(const Json* value, const std::string& path, FieldErrors& errors) {
  if (value == nullptr || !value->is_string() || value->get<std::string>().empty()) return;
  AppendNameErrors(IsDns1123Label(value->get<std::string>()), path, *value, errors);
}

void CheckAccessModes(const Json* modes, const std::string& path, bool required,
                      const std::string& required_detail, FieldErrors& errors) {
  bool empty = modes == nullptr || !modes->is_array() || modes->empty();
  if (empty) {
    if (required) errors.push_back(RequiredValue(path, required_detail));
    return;
  }
  bool read_write_once_pod = false;
  bool other_mode = false;
  for (const Json& mode : *modes) {
    if (!IsSupported(mode, kAccessModes)) {
      // Upstream names the list, not the element.
      errors.push_back(NotSupportedValue(path, mode, kAccessModes));
      continue;
    }
    (mode == "ReadWriteOncePod" ? read_write_once_pod : other_mode) = true;
  }
  if (read_write_once_pod && other_mode) {
    errors.push_back(ForbiddenField(path, "may not use ReadWriteOncePod with other access modes"));
  }
}

std::optional<Quantity> CheckQuantity(const Json* value, const std::string& path,
                                      FieldErrors& errors) {
  if (value == nullptr) return std::nullopt;
  std::string text;
  if (value->is_string()) {
    text = value->get<std::string>();
  } else if (value->is_number()) {
    text = value->dump();  // YAML `storage: 5` arrives as a number, which Kubernetes accepts
  } else {
    errors.push_back(InvalidValue(path, *value, "must be a quantity, e.g. \"2Gi\""));
    return std::nullopt;
  }
  Result<Quantity> parsed = Quantity::Parse(text);
  if (!parsed.ok()) {
    errors.push_back(InvalidValue(path, *value, parsed.status().message()));
    return std::nullopt;
  }
  return std::move(parsed).value();
}

bool IsPositive(const Quantity& q) { return q > Quantity::FromBytes(0); }

void CheckResourceList(const Json* list, const std::string& path, FieldErrors& errors) {
  if (list == nullptr || !list->is_object()) return;
  for (const auto& [name, value] : list->items()) {
    std::string item_path = Key(path, name);
    std::optional<Quantity> q = CheckQuantity(&value, item_path, errors);
    if (q && q->IsNegative()) {
      errors.push_back(InvalidValue(item_path, value, "must be greater than or equal to 0"));
    }
  }
}

void CheckResourceRequirements(const Json* requirements, const std::string& path,
                               FieldErrors& errors) {
  CheckResourceList(Get(requirements, "requests"), Child(path, "requests"), errors);
  CheckResourceList(Get(requirements, "limits"), Child(path, "limits"), errors);
}

namespace {

// The length of a list of values, 0 when it is not a list.
size_t ValueCount(const Json* values) {
  return values != nullptr && values->is_array() ? values->size() : 0;
}

void CheckLabelKey(const Json* key, const std::string& path, FieldErrors& errors) {
  std::string text = key != nullptr && key->is_string() ? key->get<std::string>() : "";
  AppendNameErrors(IsQualifiedName(text), path, key != nullptr ? *key : Json(""), errors);
}

void CheckLabelValues(const Json* values, const std::string& path, FieldErrors& errors) {
  if (values == nullptr || !values->is_array()) return;
  for (size_t i = 0; i < values->size(); ++i) {
    const Json& v = (*values)[i];
    if (!v.is_string()) continue;  // the schema reports the type
    AppendNameErrors(IsValidLabelValue(v.get<std::string>()), Index(path, i), v, errors);
  }
}

void CheckSelectorRequirement(const Json& requirement, const std::string& path, bool node_selector,
                              FieldErrors& errors) {
  std::string op = GetString(&requirement, "operator");
  const Json* values = Get(requirement, "values");
  std::string values_path = Child(path, "values");
  size_t count = ValueCount(values);
  if (op == "In" || op == "NotIn") {
    if (count == 0) {
      errors.push_back(
          RequiredValue(values_path, "must be specified when `operator` is 'In' or 'NotIn'"));
    }
  } else if (op == "Exists" || op == "DoesNotExist") {
    if (count > 0) {
      errors.push_back(ForbiddenField(
          values_path, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
    }
  } else if (node_selector && (op == "Gt" || op == "Lt")) {
    if (count != 1) {
      errors.push_back(RequiredValue(
          values_path, "must be specified single value when `operator` is 'Lt' or 'Gt'"));
    }
  } else {
    const Json* raw = Get(requirement, "operator");
    errors.push_back(InvalidValue(Child(path, "operator"), raw != nullptr ? *raw : Json(""),
                                  "not a valid selector operator"));
  }
  CheckLabelKey(Get(requirement, "key"), Child(path, "key"), errors);
  if (!(node_selector && (op == "Gt" || op == "Lt"))) CheckLabelValues(values, values_path, errors);
}

void CheckRequirements(const Json* list, const std::string& path, bool node_selector,
                       FieldErrors& errors) {
  if (list == nullptr || !list->is_array()) return;
  for (size_t i = 0; i < list->size(); ++i) {
    CheckSelectorRequirement((*list)[i], Index(path, i), node_selector, errors);
  }
}

}  // namespace

void CheckLabelSelector(const Json* selector, const std::string& path, FieldErrors& errors) {
  if (selector == nullptr || !selector->is_object()) return;
  if (const Json* labels = GetObject(selector, "matchLabels")) {
    std::string labels_path = Child(path, "matchLabels");
    for (const auto& [key, value] : labels->items()) {
      AppendNameErrors(IsQualifiedName(key), labels_path, Json(key), errors);
      if (value.is_string()) {
        AppendNameErrors(IsValidLabelValue(value.get<std::string>()), labels_path, value, errors);
      }
    }
  }
  CheckRequirements(Get(selector, "matchExpressions"), Child(path, "matchExpressions"), false,
                    errors);
}

void CheckNodeSelector(const Json* selector, const std::string& path, FieldErrors& errors) {
  std::string terms_path = Child(path, "nodeSelectorTerms");
  const Json* terms = GetArray(selector, "nodeSelectorTerms");
  if (terms == nullptr || terms->empty()) {
    errors.push_back(RequiredValue(terms_path, "must have at least one node selector term"));
    return;
  }
  for (size_t i = 0; i < terms->size(); ++i) {
    const Json& term = (*terms)[i];
    CheckRequirements(Get(term, "matchExpressions"),
                      Child(Index(terms_path, i), "matchExpressions"), true, errors);
  }
}

void CheckBooleanAnnotation(const Json& object, const std::string& annotation,
                            FieldErrors& errors) {
  const Json* value = Get(GetObject(&object, "metadata"), "annotations");
  value = Get(value, annotation);
  if (value == nullptr || *value == "true" || *value == "false") return;
  errors.push_back(InvalidValue(Key("metadata.annotations", annotation), *value,
                                "must be \"true\" or \"false\""));
}

// ---- Update helpers ------------------------------------------------------------------------

namespace {

// Drops what Semantic.DeepEqual would not see: nulls and empty lists inside objects.
Json Normalized(const Json& value) {
  if (value.is_object()) {
    Json out = Json::object();
    for (const auto& [key, member] : value.items()) {
      if (member.is_null() || (member.is_array() && member.empty())) continue;
      out[key] = Normalized(member);
    }
    return out;
  }
  if (value.is_array()) {
    Json out = Json::array();
    for (const Json& element : value) out.push_back(Normalized(element));
    return out;
  }
  return value;
}

Json NormalizedOrNull(const Json* value) {
  if (value == nullptr || (value->is_array() && value->empty())) return nullptr;
  return Normalized(*value);
}

std::string Abbreviated(const Json* value) {
  if (value == nullptr) return "<unset>";
  std::string text = value->dump();
  constexpr size_t kMax = 200;
  if (text.size() > kMax) text = text.substr(0, kMax) + "...";
  return text;
}

}  // namespace

bool SemanticEqual(const Json* a, const Json* b) {
  return NormalizedOrNull(a) == NormalizedOrNull(b);
}

void CheckImmutable(const Json* new_value, const Json* old_value, const std::string& path,
                    FieldErrors& errors) {
  if (SemanticEqual(new_value, old_value)) return;
  errors.push_back(
      InvalidValue(path, new_value != nullptr ? *new_value : Json(nullptr), "field is immutable"));
}

std::string DescribeChanges(const Json* old_object, const Json* new_object) {
  std::set<std::string> keys;
  for (const Json* object : {old_object, new_object}) {
    if (object == nullptr || !object->is_object()) continue;
    for (const auto& [key, value] : object->items()) keys.insert(key);
  }
  std::string out;
  for (const std::string& key : keys) {
    const Json* before = Get(old_object, key);
    const Json* after = Get(new_object, key);
    if (SemanticEqual(before, after)) continue;
    out += "\n  " + key + ": " + Abbreviated(before) + " -> " + Abbreviated(after);
  }
  return out;
}

}  // namespace vdisk::api::internal
