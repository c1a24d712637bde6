// Entry points: object metadata rules shared by every kind, and dispatch to the per-kind rules
// in validation_core.cc, validation_storage.cc, validation_cdi.cc and validation_kubevirt.cc.

#include "api/validation.h"

#include <algorithm>
#include <map>

#include "api/names.h"
#include "api/validation_internal.h"

namespace vdisk::api {
namespace {

using internal::Child;
using internal::Get;
using internal::GetArray;
using internal::GetObject;
using internal::GetString;
using internal::Index;
using internal::KindRules;

const KindRules* FindRules(const Kind& kind) {
  static const std::map<std::string, KindRules> table = [] {
    std::map<std::string, KindRules> rules;
    for (auto group : {internal::CoreKindRules(), internal::StorageKindRules(),
                       internal::CdiKindRules(), internal::KubevirtKindRules()}) {
      for (KindRules& r : group) rules.emplace(r.group + "/" + r.kind, std::move(r));
    }
    return rules;
  }();
  auto it = table.find(kind.group + "/" + kind.kind);
  return it == table.end() ? nullptr : &it->second;
}

std::vector<std::string> NameProblems(const std::string& name, bool dns_label) {
  return dns_label ? IsDns1123Label(name) : IsDns1123Subdomain(name);
}

// generateName is a prefix: a trailing '-' is fine, as upstream's maskTrailingDash allows.
std::vector<std::string> GenerateNameProblems(std::string prefix, bool dns_label) {
  if (!prefix.empty() && prefix.back() == '-') prefix.back() = 'a';
  return NameProblems(prefix, dns_label);
}

void AppendInvalid(const std::vector<std::string>& problems, const std::string& path,
                   const std::string& value, FieldErrors& errors) {
  for (const std::string& p : problems) errors.push_back(InvalidValue(path, value, p));
}

void ValidateNames(const Json* metadata, bool dns_label, FieldErrors& errors) {
  std::string name = GetString(metadata, "name");
  std::string generate_name = GetString(metadata, "generateName");
  if (!generate_name.empty()) {
    AppendInvalid(GenerateNameProblems(generate_name, dns_label), "metadata.generateName",
                  generate_name, errors);
  }
  if (name.empty()) {
    // With generateName the server picks the name before it stores the object.
    if (generate_name.empty()) {
      errors.push_back(RequiredValue("metadata.name", "name or generateName is required"));
    }
  } else {
    AppendInvalid(NameProblems(name, dns_label), "metadata.name", name, errors);
  }
  std::string ns = GetString(metadata, "namespace");
  if (!ns.empty()) AppendInvalid(IsDns1123Label(ns), "metadata.namespace", ns, errors);
}

// The garbage collector follows these, so each must identify its owner completely.
void ValidateOwnerReferences(const Json* metadata, FieldErrors& errors) {
  const Json* refs = GetArray(metadata, "ownerReferences");
  if (refs == nullptr) return;
  std::vector<std::string> controllers;
  for (size_t i = 0; i < refs->size(); ++i) {
    const Json& ref = (*refs)[i];
    std::string path = Index("metadata.ownerReferences", i);
    const std::pair<const char*, const char*> required[] = {
        {"apiVersion", "version"}, {"kind", "kind"}, {"name", "name"}, {"uid", "uid"}};
    for (const auto& [field, noun] : required) {
      if (GetString(&ref, field).empty()) {
        errors.push_back(
            InvalidValue(Child(path, field), "", std::string(noun) + " must not be empty"));
      }
    }
    const Json* controller = Get(ref, "controller");
    if (controller != nullptr && *controller == true) {
      controllers.push_back(GetString(&ref, "kind") + "/" + GetString(&ref, "name"));
    }
  }
  if (controllers.size() > 1) {
    std::string list;
    for (const std::string& c : controllers) list += (list.empty() ? "" : ", ") + c;
    errors.push_back(InvalidValue("metadata.ownerReferences", *refs,
                                  "Only one reference can have Controller set to true. Found "
                                  "\"true\" in references for " +
                                      list));
  }
}

void ValidateFinalizers(const Json* metadata, FieldErrors& errors) {
  const Json* finalizers = GetArray(metadata, "finalizers");
  if (finalizers == nullptr) return;
  for (const Json& f : *finalizers) {
    if (!f.is_string()) continue;  // the schema reports the type
    AppendInvalid(IsQualifiedName(f.get<std::string>()), "metadata.finalizers",
                  f.get<std::string>(), errors);
  }
}

void ValidateObjectMeta(const KindRules* rules, const Json& object, FieldErrors& errors) {
  const Json* metadata = GetObject(&object, "metadata");
  ValidateNames(metadata, rules != nullptr && rules->name_is_dns_label, errors);
  ValidateLabelsAndAnnotations(metadata != nullptr ? *metadata : Json::object(), "metadata",
                               errors);
  ValidateOwnerReferences(metadata, errors);
  ValidateFinalizers(metadata, errors);
}

// Finalizers only hold deletion back; adding one to an object already being deleted would let a
// client keep it alive forever.
void ValidateNoNewFinalizers(const Json* metadata, const Json* old_metadata, FieldErrors& errors) {
  if (Get(old_metadata, "deletionTimestamp") == nullptr) return;
  const Json* before = GetArray(old_metadata, "finalizers");
  const Json* after = GetArray(metadata, "finalizers");
  if (after == nullptr) return;
  std::string added;
  for (const Json& f : *after) {
    bool known = before != nullptr && std::find(before->begin(), before->end(), f) != before->end();
    if (known) continue;
    added += (added.empty() ? "" : ", ") + f.dump();
  }
  if (added.empty()) return;
  errors.push_back(ForbiddenField(
      "metadata.finalizers",
      "no new finalizers can be added if the object is being deleted, found new finalizers "
      "[]string{" +
          added + "}"));
}

void ValidateObjectMetaUpdate(const Json& object, const Json& old_object, FieldErrors& errors) {
  const Json* metadata = GetObject(&object, "metadata");
  const Json* old_metadata = GetObject(&old_object, "metadata");
  internal::CheckImmutable(Get(metadata, "name"), Get(old_metadata, "name"), "metadata.name",
                           errors);
  // The server fills these from the stored object when a client leaves them out (kubectl
  // replace), so only a value the client did send can be a change.
  for (const char* field : {"namespace", "uid", "creationTimestamp"}) {
    const Json* value = Get(metadata, field);
    if (value == nullptr) continue;
    internal::CheckImmutable(value, Get(old_metadata, field), Child("metadata", field), errors);
  }
  ValidateNoNewFinalizers(metadata, old_metadata, errors);
}

FieldError NotAnObject(const Json& object) {
  return InvalidValue("", std::string(object.type_name()), "the object must be a JSON object");
}

}  // namespace

void ApplyDefaults(const Kind& kind, Json& object) {
  if (!object.is_object()) return;
  const KindRules* rules = FindRules(kind);
  if (rules != nullptr && rules->apply_defaults != nullptr) rules->apply_defaults(object);
}

FieldErrors ValidateCreate(const Kind& kind, const Json& object) {
  if (!object.is_object()) return {NotAnObject(object)};
  FieldErrors errors;
  const KindRules* rules = FindRules(kind);
  ValidateObjectMeta(rules, object, errors);
  if (rules != nullptr && rules->validate != nullptr) rules->validate(object, errors);
  return errors;
}

FieldErrors ValidateUpdate(const Kind& kind, const Json& object, const Json& old_object) {
  if (!object.is_object()) return {NotAnObject(object)};
  FieldErrors errors = ValidateCreate(kind, object);
  ValidateObjectMetaUpdate(object, old_object, errors);
  const KindRules* rules = FindRules(kind);
  if (rules != nullptr && rules->validate_update != nullptr) {
    rules->validate_update(object, old_object, errors);
  }
  return errors;
}

}  // namespace vdisk::api
