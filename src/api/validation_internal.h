// Helpers shared by the validation_*.cc files. Not part of the api module's public surface:
// include api/validation.h instead.
//
// Every accessor here tolerates any JSON shape: a missing key, a null and a value of the wrong
// type all read as "absent", so rules never throw on untrusted input.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/field_error.h"
#include "api/kinds.h"
#include "api/quantity.h"

namespace vdisk::api::internal {

// ---- Untrusted JSON access -------------------------------------------------------------------

// The non-null value at `key`, or nullptr when `object` is null, not an object, or lacks it.
const Json* Get(const Json* object, std::string_view key);
inline const Json* Get(const Json& object, std::string_view key) { return Get(&object, key); }
// As Get, but only when the value is an object / an array.
const Json* GetObject(const Json* object, std::string_view key);
const Json* GetArray(const Json* object, std::string_view key);
// The string at `key`, or "" when absent or not a string.
std::string GetString(const Json* object, std::string_view key);
// True when `key` holds a non-empty string.
bool HasString(const Json* object, std::string_view key);
// Sets object[key] = value when the key is absent or null. `object` must be an object.
void SetDefault(Json& object, std::string_view key, Json value);
// The object at `key`, created when absent or null; nullptr when `key` holds another type.
Json* EnsureObject(Json& object, std::string_view key);

// ---- Field paths, in the notation of k8s.io/apimachinery/pkg/util/validation/field ----------

std::string Child(const std::string& path, std::string_view name);  // "spec" → "spec.pvc"
std::string Key(const std::string& path, std::string_view key);     // "data" → "data[key]"
std::string Index(const std::string& path, size_t index);           // "modes" → "modes[0]"

// ---- Common rules; each appends to `errors` --------------------------------------------------

// `value` (when present) must be a string in `supported`.
void CheckEnum(const Json* value, const std::string& path,
               const std::vector<std::string>& supported, FieldErrors& errors);
// `value` (when present) must be a boolean.
void CheckBool(const Json* value, const std::string& path, FieldErrors& errors);
// `value` (when a non-empty string) must be a DNS-1123 subdomain / label.
void CheckDns1123Subdomain(const Json* value, const std::string& path, FieldErrors& errors);
void CheckDns1123Label(const Json* value, const std::string& path, FieldErrors& errors);

// PersistentVolumeAccessMode values and the ReadWriteOncePod exclusivity rule. With `required`,
// an absent or empty list is an error with `required_detail`.
extern const std::vector<std::string> kAccessModes;
extern const std::vector<std::string> kVolumeModes;
void CheckAccessModes(const Json* modes, const std::string& path, bool required,
                      const std::string& required_detail, FieldErrors& errors);

// Parses a quantity (string or JSON number). Appends `path: Invalid value: "2Gx": quantities must
// match ...` and returns nullopt when it does not parse; nullopt without error when absent.
std::optional<Quantity> CheckQuantity(const Json* value, const std::string& path,
                                      FieldErrors& errors);
bool IsPositive(const Quantity& q);
// A ResourceList (`{storage: 2Gi, cpu: 1}`): every value a non-negative quantity.
void CheckResourceList(const Json* list, const std::string& path, FieldErrors& errors);
// ResourceRequirements: requests and limits are ResourceLists.
void CheckResourceRequirements(const Json* requirements, const std::string& path,
                               FieldErrors& errors);

// metav1.LabelSelector: matchLabels keys/values and matchExpressions operators and values.
void CheckLabelSelector(const Json* selector, const std::string& path, FieldErrors& errors);
// core/v1 NodeSelector (a PV's nodeAffinity.required).
void CheckNodeSelector(const Json* selector, const std::string& path, FieldErrors& errors);

// An annotation such as storageclass.kubernetes.io/is-default-class must read "true" or "false".
void CheckBooleanAnnotation(const Json& object, const std::string& annotation, FieldErrors& errors);

// A PersistentVolumeClaimSpec (a PVC's spec, a HostPathProvisioner pvcTemplate).
void CheckPersistentVolumeClaimSpec(const Json* spec, const std::string& path, FieldErrors& errors);
// A DataVolumeSpec (a DataVolume's spec, a VirtualMachine dataVolumeTemplate's spec).
void CheckDataVolumeSpec(const Json* spec, const std::string& path, FieldErrors& errors);

// ---- Update helpers --------------------------------------------------------------------------

// Equality as apimachinery's Semantic.DeepEqual sees decoded objects: an absent key, a null and
// an empty array are the same thing.
bool SemanticEqual(const Json* a, const Json* b);
// `path: Invalid value: <new>: field is immutable` when the values differ semantically.
void CheckImmutable(const Json* new_value, const Json* old_value, const std::string& path,
                    FieldErrors& errors);
// One line per top-level key of two objects that differs: "  key: <old> -> <new>".
std::string DescribeChanges(const Json* old_object, const Json* new_object);

// ---- Per-kind rules --------------------------------------------------------------------------

struct KindRules {
  std::string group;
  std::string kind;
  void (*apply_defaults)(Json& object) = nullptr;
  void (*validate)(const Json& object, FieldErrors& errors) = nullptr;
  void (*validate_update)(const Json& object, const Json& old_object,
                          FieldErrors& errors) = nullptr;
  bool name_is_dns_label = false;  // Namespace names are labels; all others subdomains
};

std::vector<KindRules> CoreKindRules();      // core v1
std::vector<KindRules> StorageKindRules();   // storage.k8s.io, snapshot.storage.k8s.io
std::vector<KindRules> CdiKindRules();       // cdi, upload.cdi, hostpathprovisioner, hco
std::vector<KindRules> KubevirtKindRules();  // kubevirt.io, snapshot.kubevirt.io

}  // namespace vdisk::api::internal
