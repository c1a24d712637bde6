#include "api/schema.h"

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <set>
#include <type_traits>

namespace vdisk::api {

// Defined in embedded_schemas.cc, which the build generates from api/schemas/*.json.
namespace embedded {
extern const char* const kSchemaFileNames[];
extern const char* const kSchemaFileTexts[];
extern const std::size_t kSchemaFileCount;
}  // namespace embedded

namespace {

constexpr std::string_view kRefPrefix = "#/components/schemas/";
constexpr std::string_view kGvkExtension = "x-kubernetes-group-version-kind";
constexpr std::string_view kPreserveUnknown = "x-kubernetes-preserve-unknown-fields";

[[noreturn]] void DieOnBadEmbeddedSchemas(const std::string& why) {
  std::fprintf(stderr, "vdisk: embedded OpenAPI schemas are broken: %s\n", why.c_str());
  std::abort();
}

std::string GvkKey(std::string_view group, std::string_view version, std::string_view kind) {
  std::string key(group);
  key.append("/").append(version).append("/").append(kind);
  return key;
}

std::string GroupVersionPath(std::string_view group, std::string_view version) {
  if (group.empty()) return "api/" + std::string(version);
  return "apis/" + std::string(group) + "/" + std::string(version);
}

std::string ChildPath(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

std::string IndexPath(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

const Json* Member(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

bool Flag(const Json& schema, std::string_view key) {
  const Json* value = Member(schema, key);
  return value != nullptr && value->is_boolean() && value->get<bool>();
}

// ------------------------------------------------------------------ JSON types and formats

std::string TypeName(const Json& value) {
  if (value.is_object()) return "object";
  if (value.is_array()) return "array";
  if (value.is_string()) return "string";
  if (value.is_boolean()) return "boolean";
  if (value.is_number_integer()) return "integer";
  if (value.is_number()) return "number";
  return "null";
}

bool IsIntegral(const Json& value) {
  if (value.is_number_integer()) return true;
  if (!value.is_number_float()) return false;
  double d = value.get<double>();
  return std::isfinite(d) && std::floor(d) == d;
}

bool HasType(const Json& value, std::string_view type) {
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "string") return value.is_string();
  if (type == "boolean") return value.is_boolean();
  if (type == "integer") return IsIntegral(value);
  if (type == "number") return value.is_number();
  return true;  // unknown type names constrain nothing
}

double AsDouble(const Json& value) { return value.get<double>(); }

bool FitsInt(const Json& value, int64_t lo, int64_t hi) {
  if (value.is_number_unsigned()) return value.get<uint64_t>() <= static_cast<uint64_t>(hi);
  if (value.is_number_integer()) {
    int64_t v = value.get<int64_t>();
    return v >= lo && v <= hi;
  }
  double d = value.get<double>();
  return d >= static_cast<double>(lo) && d <= static_cast<double>(hi);
}

bool IsDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// RFC 3339: 2006-01-02T15:04:05[.frac](Z|+hh:mm|-hh:mm); 't', 'z' and ' ' accepted as Go does.
bool IsDateTime(std::string_view s) {
  auto digits_at = [&](size_t pos, size_t n) {
    return pos + n <= s.size() && IsDigits(s.substr(pos, n));
  };
  if (s.size() < 20 || !digits_at(0, 4) || s[4] != '-' || !digits_at(5, 2) || s[7] != '-' ||
      !digits_at(8, 2) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits_at(11, 2) ||
      s[13] != ':' || !digits_at(14, 2) || s[16] != ':' || !digits_at(17, 2)) {
    return false;
  }
  size_t pos = 19;
  if (s[pos] == '.') {
    size_t start = ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    if (pos == start) return false;
  }
  std::string_view zone = s.substr(pos);
  if (zone == "Z" || zone == "z") return true;
  return zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && digits_at(pos + 1, 2) &&
         zone[3] == ':' && digits_at(pos + 4, 2);
}

bool IsBase64(std::string_view s) {
  if (s.size() % 4 != 0) return false;
  size_t padding = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (c == '=') {
      if (i + 2 < s.size()) return false;  // '=' only in the last two places
      ++padding;
    } else if ((!alnum && c != '+' && c != '/') || padding > 0) {
      return false;
    }
  }
  return true;
}

bool MatchesFormat(const Json& value, std::string_view format) {
  if (format == "date-time") return !value.is_string() || IsDateTime(value.get<std::string>());
  if (format == "byte") return !value.is_string() || IsBase64(value.get<std::string>());
  if (format == "int32" && value.is_number()) {
    return FitsInt(value, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max());
  }
  if (format == "int64" && value.is_number()) {
    return FitsInt(value, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
  }
  return true;
}

// kube-apiserver's wording for a value of the wrong shape: `<path> in body must be of type X`.
FieldError WrongType(const std::string& path, const Json& value, const std::string& expected) {
  std::string actual = TypeName(value);
  return InvalidValue(path, actual,
                      path + " in body must be of type " + expected + ": \"" + actual + "\"");
}

FieldError WrongFormat(const std::string& path, const Json& value, const std::string& format) {
  std::string shown = value.is_string() ? value.get<std::string>() : value.dump();
  return InvalidValue(path, value,
                      path + " in body must be of type " + format + ": \"" + shown + "\"");
}

std::vector<std::string> EnumStrings(const Json& values) {
  std::vector<std::string> out;
  for (const auto& v : values) out.push_back(v.is_string() ? v.get<std::string>() : v.dump());
  return out;
}

// Every `$ref` target named anywhere below `node`.
void CollectRefs(const Json& node, std::set<std::string>& out) {
  if (node.is_object()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (it.key() == "$ref" && it.value().is_string()) {
        const std::string& ref = it.value().get_ref<const std::string&>();
        if (ref.starts_with(kRefPrefix)) out.insert(ref.substr(kRefPrefix.size()));
      } else {
        CollectRefs(it.value(), out);
      }
    }
  } else if (node.is_array()) {
    for (const auto& item : node) CollectRefs(item, out);
  }
}

void CollectPatterns(const Json& node, std::set<std::string>& out) {
  if (node.is_object()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (it.key() == "pattern" && it.value().is_string()) out.insert(it.value());
      CollectPatterns(it.value(), out);
    }
  } else if (node.is_array()) {
    for (const auto& item : node) CollectPatterns(item, out);
  }
}

}  // namespace

// ------------------------------------------------------------------ walking objects and schemas

// Walks an object alongside its schema. Stateless apart from the registry it reads.
class SchemaWalker {
 public:
  explicit SchemaWalker(const SchemaRegistry& registry) : registry_(registry) {}

  // Records (and with J non-const, removes) fields no schema declares.
  template <typename J>
  void Unknown(const Json& node, J& value, const std::string& path,
               std::vector<std::string>& out) const {
    const Json* schema = registry_.Resolve(node);
    if (schema == nullptr) return;
    if (value.is_array()) {
      const Json* items = Member(*schema, "items");
      if (items == nullptr) return;
      for (size_t i = 0; i < value.size(); ++i) Unknown(*items, value[i], IndexPath(path, i), out);
      return;
    }
    if (!value.is_object()) return;
    const Json* properties = Member(*schema, "properties");
    const Json* additional = Member(*schema, "additionalProperties");
    bool keep_unknown =
        Flag(*schema, kPreserveUnknown) ||
        (additional != nullptr && additional->is_boolean() && additional->get<bool>());
    std::vector<std::string> unknown_keys;
    for (auto it = value.begin(); it != value.end(); ++it) {
      std::string child = ChildPath(path, it.key());
      if (const Json* property = properties ? Member(*properties, it.key()) : nullptr) {
        Unknown(*property, it.value(), child, out);
      } else if (additional != nullptr && additional->is_object()) {
        Unknown(*additional, it.value(), child, out);
      } else if (!keep_unknown) {
        out.push_back(child);
        unknown_keys.push_back(it.key());
      }
    }
    if constexpr (!std::is_const_v<J>) {
      for (const auto& key : unknown_keys) value.erase(key);
    }
  }

  void Validate(const Json& node, const Json& value, const std::string& path,
                FieldErrors& out) const {
    const Json* schema = registry_.Resolve(node);
    if (schema == nullptr || value.is_null()) return;  // null is an absent field
    if (!CheckAlternatives(*schema, value, path, out)) return;
    const Json* type = Member(*schema, "type");
    if (type != nullptr && type->is_string() && !HasType(value, type->get<std::string>())) {
      out.push_back(WrongType(path, value, type->get<std::string>()));
      return;
    }
    if (const Json* values = Member(*schema, "enum"); values && values->is_array()) {
      bool listed = false;
      for (const auto& v : *values) listed = listed || v == value;
      if (!listed) {
        out.push_back(NotSupportedValue(path, value, EnumStrings(*values)));
        return;
      }
    }
    if (value.is_string()) CheckString(*schema, value, path, out);
    if (value.is_number()) CheckNumber(*schema, value, path, out);
    if (value.is_array()) CheckArray(*schema, value, path, out);
    if (value.is_object()) CheckObject(*schema, value, path, out);
  }

 private:
  // oneOf alternatives and x-kubernetes-int-or-string: the value must fit one. Returns false
  // (after recording the error) when it fits none.
  bool CheckAlternatives(const Json& schema, const Json& value, const std::string& path,
                         FieldErrors& out) const {
    if (Flag(schema, "x-kubernetes-int-or-string") && !IsIntegral(value) && !value.is_string()) {
      out.push_back(WrongType(path, value, "integer,string"));
      return false;
    }
    const Json* alternatives = Member(schema, "oneOf");
    if (alternatives == nullptr) alternatives = Member(schema, "anyOf");
    if (alternatives == nullptr || !alternatives->is_array()) return true;
    std::string types;
    for (const auto& alternative : *alternatives) {
      const Json* resolved = registry_.Resolve(alternative);
      const Json* type = resolved ? Member(*resolved, "type") : nullptr;
      if (type == nullptr || !type->is_string()) continue;
      if (HasType(value, type->get<std::string>())) {
        Validate(alternative, value, path, out);  // e.g. the pattern of a Quantity string
        return true;
      }
      types += (types.empty() ? "" : ",") + type->get<std::string>();
    }
    if (types.empty()) return true;
    out.push_back(WrongType(path, value, types));
    return false;
  }

  void CheckString(const Json& schema, const Json& value, const std::string& path,
                   FieldErrors& out) const {
    const std::string& s = value.get_ref<const std::string&>();
    if (const Json* format = Member(schema, "format"); format && format->is_string()) {
      if (!MatchesFormat(value, format->get<std::string>())) {
        out.push_back(WrongFormat(path, value, format->get<std::string>()));
      }
    }
    if (const Json* pattern = Member(schema, "pattern"); pattern && pattern->is_string()) {
      if (!registry_.Matches(pattern->get<std::string>(), s)) {
        out.push_back(InvalidValue(
            path, value, path + " in body should match '" + pattern->get<std::string>() + "'"));
      }
    }
    if (const Json* min = Member(schema, "minLength");
        min && min->is_number_unsigned() && s.size() < min->get<size_t>()) {
      out.push_back(InvalidValue(path, value,
                                 path + " in body should be at least " +
                                     std::to_string(min->get<size_t>()) + " chars long"));
    }
    if (const Json* max = Member(schema, "maxLength");
        max && max->is_number_unsigned() && s.size() > max->get<size_t>()) {
      out.push_back(TooLongValue(path, value, max->get<size_t>()));
    }
  }

  void CheckNumber(const Json& schema, const Json& value, const std::string& path,
                   FieldErrors& out) const {
    if (const Json* format = Member(schema, "format"); format && format->is_string()) {
      if (!MatchesFormat(value, format->get<std::string>())) {
        out.push_back(WrongFormat(path, value, format->get<std::string>()));
        return;
      }
    }
    if (const Json* min = Member(schema, "minimum");
        min && min->is_number() && AsDouble(value) < AsDouble(*min)) {
      out.push_back(InvalidValue(
          path, value, path + " in body should be greater than or equal to " + min->dump()));
    }
    if (const Json* max = Member(schema, "maximum");
        max && max->is_number() && AsDouble(value) > AsDouble(*max)) {
      out.push_back(InvalidValue(path, value,
                                 path + " in body should be less than or equal to " + max->dump()));
    }
  }

  void CheckArray(const Json& schema, const Json& value, const std::string& path,
                  FieldErrors& out) const {
    if (const Json* max = Member(schema, "maxItems");
        max && max->is_number_unsigned() && value.size() > max->get<size_t>()) {
      out.push_back(InvalidValue(path, value.size(),
                                 path + " in body should have at most " + max->dump() + " items"));
    }
    if (const Json* min = Member(schema, "minItems");
        min && min->is_number_unsigned() && value.size() < min->get<size_t>()) {
      out.push_back(InvalidValue(path, value.size(),
                                 path + " in body should have at least " + min->dump() + " items"));
    }
    const Json* items = Member(schema, "items");
    if (items == nullptr) return;
    for (size_t i = 0; i < value.size(); ++i) {
      std::string item_path = IndexPath(path, i);
      if (value[i].is_null()) {
        // In a list a null is not an absent field; it fits nothing a schema declares.
        const Json* item_schema = registry_.Resolve(*items);
        const Json* type = item_schema ? Member(*item_schema, "type") : nullptr;
        if (type != nullptr && type->is_string()) {
          out.push_back(WrongType(item_path, value[i], type->get<std::string>()));
        }
        continue;
      }
      Validate(*items, value[i], item_path, out);
    }
  }

  void CheckObject(const Json& schema, const Json& value, const std::string& path,
                   FieldErrors& out) const {
    if (const Json* required = Member(schema, "required"); required && required->is_array()) {
      for (const auto& name : *required) {
        if (!name.is_string()) continue;
        const Json* field = Member(value, name.get<std::string>());
        if (field == nullptr || field->is_null()) {
          out.push_back(RequiredValue(ChildPath(path, name.get<std::string>())));
        }
      }
    }
    const Json* properties = Member(schema, "properties");
    const Json* additional = Member(schema, "additionalProperties");
    for (auto it = value.begin(); it != value.end(); ++it) {
      std::string child = ChildPath(path, it.key());
      if (const Json* property = properties ? Member(*properties, it.key()) : nullptr) {
        Validate(*property, it.value(), child, out);
      } else if (additional != nullptr && additional->is_object()) {
        Validate(*additional, it.value(), child, out);
      }
    }
  }

  const SchemaRegistry& registry_;
};

// ------------------------------------------------------------------ loading

const SchemaRegistry& SchemaRegistry::Get() {
  static const SchemaRegistry* registry = [] {
    auto* r = new SchemaRegistry();  // never destroyed: ListStrategy functions point into it
    r->Load();
    r->IndexKinds();
    r->CompilePatterns();
    r->BuildDocuments();
    return r;
  }();
  return *registry;
}

void SchemaRegistry::Load() {
  for (std::size_t i = 0; i < embedded::kSchemaFileCount; ++i) {
    std::string file = embedded::kSchemaFileNames[i];
    Json doc = Json::parse(embedded::kSchemaFileTexts[i], nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) DieOnBadEmbeddedSchemas(file + " is not valid JSON");
    const Json* components = Member(doc, "components");
    const Json* schemas = components ? Member(*components, "schemas") : nullptr;
    if (schemas == nullptr || !schemas->is_object()) {
      DieOnBadEmbeddedSchemas(file + " has no components.schemas object");
    }
    for (auto it = schemas->begin(); it != schemas->end(); ++it) {
      if (!schemas_.emplace(it.key(), it.value()).second) {
        DieOnBadEmbeddedSchemas(it.key() + " is defined twice (again in " + file + ")");
      }
    }
  }
}

void SchemaRegistry::IndexKinds() {
  for (const auto& [name, schema] : schemas_) {
    const Json* gvks = Member(schema, kGvkExtension);
    if (gvks == nullptr || !gvks->is_array()) continue;
    for (const auto& gvk : *gvks) {
      if (!gvk.is_object()) continue;
      const Json* group = Member(gvk, "group");
      const Json* version = Member(gvk, "version");
      const Json* kind = Member(gvk, "kind");
      if (!group || !group->is_string() || !version || !version->is_string() || !kind ||
          !kind->is_string()) {
        DieOnBadEmbeddedSchemas(name + " has a malformed " + std::string(kGvkExtension));
      }
      kind_schemas_[GvkKey(group->get<std::string>(), version->get<std::string>(),
                           kind->get<std::string>())] = name;
    }
  }
}

void SchemaRegistry::CompilePatterns() {
  std::set<std::string> patterns;
  for (const auto& [name, schema] : schemas_) CollectPatterns(schema, patterns);
  for (const auto& pattern : patterns) {
    try {
      patterns_[pattern] = std::make_unique<std::regex>(pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      DieOnBadEmbeddedSchemas("pattern '" + pattern + "' does not compile: " + e.what());
    }
  }
}

const Json* SchemaRegistry::Resolve(const Json& node) const {
  const Json* current = &node;
  for (int depth = 0; depth < 16; ++depth) {  // bounded: a reference cycle is a schema bug
    if (const Json* ref = Member(*current, "$ref"); ref && ref->is_string()) {
      std::string_view target = ref->get_ref<const std::string&>();
      if (!target.starts_with(kRefPrefix)) return nullptr;
      auto it = schemas_.find(std::string(target.substr(kRefPrefix.size())));
      if (it == schemas_.end()) return nullptr;
      current = &it->second;
    } else if (const Json* all_of = Member(*current, "allOf");
               all_of && all_of->is_array() && all_of->size() == 1) {
      current = &(*all_of)[0];
    } else {
      return current;
    }
  }
  return nullptr;
}

bool SchemaRegistry::Matches(const std::string& pattern, const std::string& text) const {
  // The patterns describe short tokens (quantities, percentages). libstdc++'s regex recurses per
  // character, so hostile megabyte strings are refused unmatched instead of exhausting the stack.
  constexpr size_t kMaxPatternInput = 1024;
  auto it = patterns_.find(pattern);
  if (it == patterns_.end()) return true;
  if (text.size() > kMaxPatternInput) return false;
  try {
    return std::regex_search(text, *it->second);
  } catch (const std::regex_error&) {
    return false;
  }
}

const std::string* SchemaRegistry::KindSchemaName(const Kind& kind) const {
  auto it = kind_schemas_.find(GvkKey(kind.group, kind.version, kind.kind));
  return it == kind_schemas_.end() ? nullptr : &it->second;
}

const Json* SchemaRegistry::KindSchema(const Kind& kind) const {
  const std::string* name = KindSchemaName(kind);
  if (name == nullptr) return nullptr;
  auto it = schemas_.find(*name);
  return it == schemas_.end() ? nullptr : &it->second;
}

// ------------------------------------------------------------------ field checks

// The walkers check the type of every value before reading it, so nlohmann has nothing to throw
// about; the catches below only keep a bug from crossing the API boundary as an exception.

std::vector<std::string> SchemaRegistry::UnknownFields(const Kind& kind, const Json& object) const {
  std::vector<std::string> out;
  const Json* schema = KindSchema(kind);
  try {
    if (schema != nullptr) SchemaWalker(*this).Unknown(*schema, object, "", out);
  } catch (const Json::exception&) {
  }
  return out;
}

std::vector<std::string> SchemaRegistry::PruneUnknownFields(const Kind& kind, Json& object) const {
  std::vector<std::string> out;
  const Json* schema = KindSchema(kind);
  try {
    if (schema != nullptr) SchemaWalker(*this).Unknown(*schema, object, "", out);
  } catch (const Json::exception&) {
  }
  return out;
}

FieldErrors SchemaRegistry::Validate(const Kind& kind, const Json& object) const {
  FieldErrors out;
  const Json* schema = KindSchema(kind);
  if (schema == nullptr) return out;
  if (!object.is_object()) {
    out.push_back(InvalidValue("", TypeName(object), "the object must be a JSON object"));
    return out;
  }
  try {
    SchemaWalker(*this).Validate(*schema, object, "", out);
  } catch (const Json::exception& e) {
    out.push_back(InvalidValue("", nullptr, std::string("internal error: ") + e.what()));
  }
  return out;
}

// ------------------------------------------------------------------ strategic merge

namespace {

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    if (dot == std::string_view::npos) dot = path.size();
    if (dot > start) out.emplace_back(path.substr(start, dot - start));
    start = dot + 1;
  }
  return out;
}

std::optional<json::ListMergeStrategy> StrategyOf(const Json& field) {
  const Json* strategy = Member(field, "x-kubernetes-patch-strategy");
  if (strategy == nullptr || !strategy->is_string()) return std::nullopt;
  json::ListMergeStrategy out;
  std::string_view s = strategy->get_ref<const std::string&>();
  while (!s.empty()) {
    size_t comma = s.find(',');
    std::string_view token = s.substr(0, comma);
    if (token == "merge") out.merge = true;
    if (token == "retainKeys") out.retain_keys = true;
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  if (const Json* key = Member(field, "x-kubernetes-patch-merge-key"); key && key->is_string()) {
    out.merge_key = key->get<std::string>();
  }
  return out;
}

}  // namespace

json::ListStrategyFn SchemaRegistry::ListStrategy(const Kind& kind) const {
  const Json* root = KindSchema(kind);
  return [this, root](std::string_view path) -> std::optional<json::ListMergeStrategy> {
    if (root == nullptr) return std::nullopt;
    try {
      return StrategyAt(*root, path);
    } catch (const Json::exception&) {
      return std::nullopt;
    }
  };
}

// Walks `path` ("status.conditions") from the kind's root through properties, list items and map
// values to the property node that carries the x-kubernetes-patch-* extensions.
std::optional<json::ListMergeStrategy> SchemaRegistry::StrategyAt(const Json& root,
                                                                  std::string_view path) const {
  const Json* field = nullptr;
  const Json* schema = &root;
  for (const auto& segment : SplitPath(path)) {
    schema = Resolve(*schema);
    while (schema != nullptr) {  // list indexes are left out of the path
      const Json* items = Member(*schema, "items");
      if (items == nullptr) break;
      schema = Resolve(*items);
    }
    if (schema == nullptr) return std::nullopt;
    const Json* properties = Member(*schema, "properties");
    const Json* additional = Member(*schema, "additionalProperties");
    if (const Json* property = properties ? Member(*properties, segment) : nullptr) {
      field = property;
    } else if (additional != nullptr && additional->is_object()) {
      field = additional;
    } else {
      return std::nullopt;
    }
    schema = field;
  }
  return field ? StrategyOf(*field) : std::nullopt;
}

// ------------------------------------------------------------------ OpenAPI v3 documents
//
// Each group version gets the document kube-apiserver would publish for it: the REST paths of
// its resources and every schema they reference. Two kubectl 1.32 code paths read it:
//
//  * With --validate=strict (the default) kubectl sends ?fieldValidation=Strict, but first asks
//    cli-runtime's QueryParamVerifierV3 whether the server supports the parameter; if not, it
//    validates client-side against /openapi/v2, which vdisk does not serve, and the command
//    fails. The verifier fetches this document (through the /openapi/v3 index), walks the paths,
//    takes the first PATCH operation whose x-kubernetes-group-version-kind equals the object's
//    GVK, and looks on that operation for a parameter {"name": "fieldValidation", "in": "query"}
//    (inline; it only resolves $refs of the form #/parameters/...). Path order is random (a Go
//    map), so every PATCH operation of a kind must declare it.
//  * kubectl explain finds the GVK on an operation of the resource's list path (or the
//    namespaced or {name} variants), then the component schema whose
//    x-kubernetes-group-version-kind list holds exactly that {group, kind, version} map.
//
// kubectl apply also reads it: a PATCH operation that accepts
// application/strategic-merge-patch+json makes it compute strategic merge patches from the
// x-kubernetes-patch-* extensions, so only kinds with strategic_merge list that media type.

namespace {

struct QueryParamDoc {
  std::string_view name;
  std::string_view type;
  std::string_view description;
};

constexpr QueryParamDoc kQueryParams[] = {
    {"allowWatchBookmarks", "boolean", "Ask a watch for BOOKMARK events."},
    {"continue", "string", "The token from a previous page of a limited list."},
    {"dryRun", "string", "\"All\" runs every stage of the request without persisting it."},
    {"fieldManager", "string", "The name of the actor making the change, for managedFields."},
    {"fieldSelector", "string", "Only objects whose fields match, e.g. metadata.name=x."},
    {"fieldValidation", "string",
     "How the server treats fields the schema does not know or that appear twice: Ignore drops "
     "them silently, Warn (the default) drops them and warns, Strict rejects the request."},
    {"force", "boolean", "Take over fields owned by other managers in an apply patch."},
    {"gracePeriodSeconds", "integer", "Seconds before the object is deleted; 0 is immediate."},
    {"ignoreStoreReadErrorWithClusterBreakingPotential", "boolean",
     "Delete an object the store cannot decode."},
    {"labelSelector", "string", "Only objects whose labels match, e.g. app=db,tier!=cache."},
    {"limit", "integer", "The most objects to return; continue with the returned token."},
    {"orphanDependents", "boolean", "Deprecated; use propagationPolicy."},
    {"pretty", "string", "Pretty-print the response."},
    {"propagationPolicy", "string",
     "What happens to dependents: Orphan, Background or "
     "Foreground."},
    {"resourceVersion", "string", "Read at (or watch from) this resourceVersion."},
    {"resourceVersionMatch", "string", "How resourceVersion applies: Exact or NotOlderThan."},
    {"sendInitialEvents", "boolean", "Start a watch with the current objects as ADDED events."},
    {"timeoutSeconds", "integer", "End the list or watch after this many seconds."},
    {"watch", "boolean", "Stream changes instead of returning a list."},
};

constexpr std::string_view kListParams[] = {"allowWatchBookmarks",
                                            "continue",
                                            "fieldSelector",
                                            "labelSelector",
                                            "limit",
                                            "resourceVersion",
                                            "resourceVersionMatch",
                                            "sendInitialEvents",
                                            "timeoutSeconds",
                                            "watch"};
constexpr std::string_view kWriteParams[] = {"dryRun", "fieldManager", "fieldValidation"};
constexpr std::string_view kPatchParams[] = {"dryRun", "fieldManager", "fieldValidation", "force"};
constexpr std::string_view kDeleteParams[] = {"dryRun", "gracePeriodSeconds",
                                              "ignoreStoreReadErrorWithClusterBreakingPotential",
                                              "orphanDependents", "propagationPolicy"};
constexpr std::string_view kDeleteCollectionParams[] = {
    "continue",
    "dryRun",
    "fieldSelector",
    "gracePeriodSeconds",
    "ignoreStoreReadErrorWithClusterBreakingPotential",
    "labelSelector",
    "limit",
    "orphanDependents",
    "propagationPolicy",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds"};

constexpr std::string_view kMetaSchemas = "io.k8s.apimachinery.pkg.apis.meta.v1.";

Json QueryParam(std::string_view name) {
  for (const auto& p : kQueryParams) {
    if (p.name == name) {
      return {{"name", p.name},
              {"in", "query"},
              {"description", p.description},
              {"schema", {{"type", p.type}}}};
    }
  }
  return {{"name", name}, {"in", "query"}, {"schema", {{"type", "string"}}}};
}

template <size_t N>
Json QueryParams(const std::string_view (&names)[N]) {
  Json out = Json::array();
  for (auto name : names) out.push_back(QueryParam(name));
  return out;
}

Json PathParam(std::string_view name, std::string_view description) {
  return {{"name", name},
          {"in", "path"},
          {"required", true},
          {"description", description},
          {"schema", {{"type", "string"}}}};
}

Json Ref(std::string_view schema) {
  return {{"$ref", std::string(kRefPrefix) + std::string(schema)}};
}

Json Content(std::string_view schema, std::initializer_list<std::string_view> media_types) {
  Json content = Json::object();
  for (auto media : media_types) content[std::string(media)] = {{"schema", Ref(schema)}};
  return content;
}

Json Responses(std::string_view schema, std::initializer_list<std::string_view> codes) {
  static const std::map<std::string_view, std::string_view> kReasons = {
      {"200", "OK"}, {"201", "Created"}, {"202", "Accepted"}};
  Json out = Json::object();
  for (auto code : codes) {
    out[std::string(code)] = {
        {"description", kReasons.at(code)},
        {"content", Content(schema, {"application/json", "application/yaml"})}};
  }
  out["401"] = {{"description", "Unauthorized"}};
  return out;
}

// "cdi.kubevirt.io" -> "CdiKubevirtIo"; "" -> "Core"; "storage.k8s.io" -> "Storage".
std::string GroupForOperationId(std::string group) {
  if (group.empty()) return "Core";
  if (group.ends_with(".k8s.io")) group.resize(group.size() - std::string_view(".k8s.io").size());
  std::string out;
  bool upper = true;
  for (char c : group) {
    if (c == '.' || c == '-') {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return out;
}

std::string Capitalized(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

bool HasVerb(const Kind& kind, std::string_view verb) {
  for (const auto& v : kind.verbs) {
    if (v == verb) return true;
  }
  return false;
}

// Builds the operations of one kind. `schema` is its component name.
class PathBuilder {
 public:
  PathBuilder(const Kind& kind, std::string schema) : kind_(kind), schema_(std::move(schema)) {
    std::string prefix = "/" + GroupVersionPath(kind.group, kind.version);
    collection_ = prefix + (kind.namespaced ? "/namespaces/{namespace}/" : "/") + kind.plural;
    all_namespaces_ = prefix + "/" + kind.plural;
    item_ = collection_ + "/{name}";
    id_infix_ = GroupForOperationId(kind.group) + Capitalized(kind.version) +
                (kind.namespaced ? "Namespaced" : "") + kind.kind;
    tag_ = (kind.group.empty() ? std::string("core") : GroupForOperationId(kind.group)) + "_" +
           kind.version;
    tag_[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(tag_[0])));
  }

  void AddTo(Json& paths) const {
    AddCollection(paths);
    AddItem(paths);
    if (kind_.has_status) AddStatus(paths);
  }

 private:
  void AddCollection(Json& paths) const {
    Json& collection = paths[collection_];
    if (HasVerb(kind_, "list")) {
      Json list = Operation("list", "list", "list or watch objects of kind " + kind_.kind,
                            Responses(schema_ + "List", {"200"}));
      list["parameters"] = QueryParams(kListParams);
      collection["get"] = list;
      if (kind_.namespaced) {
        Json all = Operation("list", "list",
                             "list or watch objects of kind " + kind_.kind + " in all namespaces",
                             Responses(schema_ + "List", {"200"}), "ForAllNamespaces",
                             /*namespaced=*/false);
        all["parameters"] = QueryParams(kListParams);
        paths[all_namespaces_]["get"] = all;
        paths[all_namespaces_]["parameters"] = Json::array({QueryParam("pretty")});
      }
    }
    if (HasVerb(kind_, "create")) {
      Json create = Operation("create", "post", "create a " + kind_.kind,
                              Responses(schema_, {"200", "201", "202"}));
      create["parameters"] = QueryParams(kWriteParams);
      create["requestBody"] = ObjectBody();
      collection["post"] = create;
    }
    if (HasVerb(kind_, "deletecollection")) {
      Json del =
          Operation("deleteCollection", "deletecollection", "delete a collection of " + kind_.kind,
                    Responses(std::string(kMetaSchemas) + "Status", {"200"}));
      del["parameters"] = QueryParams(kDeleteCollectionParams);
      del["requestBody"] = DeleteBody();
      collection["delete"] = del;
    }
    collection["parameters"] = ScopeParams(/*with_name=*/false);
  }

  void AddItem(Json& paths) const {
    Json& item = paths[item_];
    if (HasVerb(kind_, "get")) {
      item["get"] =
          Operation("read", "get", "read the specified " + kind_.kind, Responses(schema_, {"200"}));
    }
    if (HasVerb(kind_, "update")) {
      Json replace = Operation("replace", "put", "replace the specified " + kind_.kind,
                               Responses(schema_, {"200", "201"}));
      replace["parameters"] = QueryParams(kWriteParams);
      replace["requestBody"] = ObjectBody();
      item["put"] = replace;
    }
    item["patch"] = Patch("", "partially update the specified " + kind_.kind);
    if (HasVerb(kind_, "delete")) {
      Json del = Operation("delete", "delete", "delete a " + kind_.kind,
                           Responses(schema_, {"200", "202"}));
      del["parameters"] = QueryParams(kDeleteParams);
      del["requestBody"] = DeleteBody();
      item["delete"] = del;
    }
    item["parameters"] = ScopeParams(/*with_name=*/true);
  }

  void AddStatus(Json& paths) const {
    Json& status = paths[item_ + "/status"];
    if (HasVerb(kind_, "get")) {
      status["get"] = Operation("read", "get", "read status of the specified " + kind_.kind,
                                Responses(schema_, {"200"}), "Status");
    }
    if (HasVerb(kind_, "update")) {
      Json replace = Operation("replace", "put", "replace status of the specified " + kind_.kind,
                               Responses(schema_, {"200", "201"}), "Status");
      replace["parameters"] = QueryParams(kWriteParams);
      replace["requestBody"] = ObjectBody();
      status["put"] = replace;
    }
    if (HasVerb(kind_, "patch")) {
      status["patch"] = Patch("Status", "partially update status of the specified " + kind_.kind);
    }
    status["parameters"] = ScopeParams(/*with_name=*/true);
  }

  // Every kind gets a PATCH operation on its item path, even one that does not serve patch
  // (UploadTokenRequest is create-only): kubectl looks for fieldValidation only on PATCH
  // operations, and without one it falls back to /openapi/v2 and fails `kubectl create`.
  Json Patch(const std::string& id_suffix, const std::string& description) const {
    Json op =
        Operation("patch", "patch",
                  HasVerb(kind_, "patch") ? description
                                          : description +
                                                ". Not served (405): declared only so that clients "
                                                "find the fieldValidation parameter of this kind",
                  Responses(schema_, {"200", "201"}), id_suffix);
    op["parameters"] = QueryParams(kPatchParams);
    std::vector<std::string_view> media = {"application/apply-patch+yaml",
                                           "application/json-patch+json",
                                           "application/merge-patch+json"};
    if (kind_.strategic_merge) media.push_back("application/strategic-merge-patch+json");
    Json content = Json::object();
    for (auto m : media) {
      content[std::string(m)] = {{"schema", Ref(std::string(kMetaSchemas) + "Patch")}};
    }
    op["requestBody"] = {{"content", content}, {"required", true}};
    return op;
  }

  Json Operation(const std::string& verb, const std::string& action, const std::string& description,
                 Json responses, const std::string& id_suffix = "",
                 bool namespaced_id = true) const {
    std::string infix = id_infix_;
    if (!namespaced_id && kind_.namespaced) {
      infix = GroupForOperationId(kind_.group) + Capitalized(kind_.version) + kind_.kind;
    }
    return {{"description", description},
            {"operationId", verb + infix + id_suffix},
            {"tags", Json::array({tag_})},
            {"responses", std::move(responses)},
            {"x-kubernetes-action", action},
            {std::string(kGvkExtension),
             {{"group", kind_.group}, {"kind", kind_.kind}, {"version", kind_.version}}}};
  }

  Json ObjectBody() const {
    return {{"content", Content(schema_, {"application/json", "application/yaml"})},
            {"required", true}};
  }

  static Json DeleteBody() {
    return {{"content", Content(std::string(kMetaSchemas) + "DeleteOptions",
                                {"application/json", "application/yaml"})}};
  }

  Json ScopeParams(bool with_name) const {
    Json params = Json::array();
    if (with_name) params.push_back(PathParam("name", "name of the " + kind_.kind));
    if (kind_.namespaced) {
      params.push_back(PathParam("namespace",
                                 "object name and auth scope, such as for teams "
                                 "and projects"));
    }
    params.push_back(QueryParam("pretty"));
    return params;
  }

  const Kind& kind_;
  std::string schema_;
  std::string collection_, all_namespaces_, item_, id_infix_, tag_;
};

// FNV-1a, 64 bits: a stable content hash for the index's cache-busting URLs.
std::string ContentHash(const std::string& text) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  char out[17];
  std::snprintf(out, sizeof(out), "%016llX", static_cast<unsigned long long>(hash));
  return out;
}

}  // namespace

void SchemaRegistry::BuildDocuments() {
  const auto& kinds = KindRegistry::Get().All();
  for (const auto& [group, version] : KindRegistry::Get().GroupVersions()) {
    Json paths = Json::object();
    for (const auto& kind : kinds) {
      if (kind.group != group || kind.version != version) continue;
      const std::string* schema = KindSchemaName(kind);
      if (schema == nullptr) DieOnBadEmbeddedSchemas("no schema for " + kind.QualifiedKind());
      PathBuilder(kind, *schema).AddTo(paths);
    }
    // Every schema the paths reach, transitively.
    std::set<std::string> reached;
    std::vector<std::string> pending;
    CollectRefs(paths, reached);
    pending.assign(reached.begin(), reached.end());
    while (!pending.empty()) {
      std::string name = std::move(pending.back());
      pending.pop_back();
      auto it = schemas_.find(name);
      if (it == schemas_.end()) DieOnBadEmbeddedSchemas("dangling $ref to " + name);
      std::set<std::string> refs;
      CollectRefs(it->second, refs);
      for (const auto& ref : refs) {
        if (reached.insert(ref).second) pending.push_back(ref);
      }
    }
    Json components = Json::object();
    for (const auto& name : reached) components[name] = schemas_.at(name);

    std::string key = GroupVersionPath(group, version);
    Json doc = {
        {"openapi", "3.0.0"},
        {"info",
         {{"title", "vdisk"}, {"version", group.empty() ? version : group + "/" + version}}},
        {"paths", std::move(paths)},
        {"components", {{"schemas", std::move(components)}}}};
    hashes_[key] = ContentHash(doc.dump());
    documents_[key] = std::move(doc);
  }
}

Json SchemaRegistry::OpenApiV3Index() const {
  Json paths = Json::object();
  for (const auto& [key, hash] : hashes_) {
    paths[key] = {{"serverRelativeURL", "/openapi/v3/" + key + "?hash=" + hash}};
  }
  return {{"paths", std::move(paths)}};
}

const Json* SchemaRegistry::OpenApiV3Document(std::string_view group,
                                              std::string_view version) const {
  auto it = documents_.find(GroupVersionPath(group, version));
  return it == documents_.end() ? nullptr : &it->second;
}

}  // namespace vdisk::api
