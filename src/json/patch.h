// The three patch formats of the Kubernetes API, applied to JSON documents.
//
//   application/json-patch+json            RFC 6902 JSON Patch         ApplyJsonPatch
//   application/merge-patch+json           RFC 7386 JSON Merge Patch   ApplyMergePatch
//   application/strategic-merge-patch+json Kubernetes strategic merge  ApplyStrategicMergePatch
//
// All functions are pure: they return a new document and never modify their inputs. Patches are
// untrusted input: every malformed patch is an InvalidArgument (or, for a failed JSON Patch
// "test" op, Invalid) with a message naming the operation or path at fault; nothing throws.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace vdisk::json {

using Json = nlohmann::json;

Result<Json> ApplyJsonPatch(const Json& doc, const Json& patch);

Result<Json> ApplyMergePatch(const Json& doc, const Json& patch);

// How a strategic merge patch treats one list field of a kind (Go struct tags
// patchStrategy/patchMergeKey, OpenAPI x-kubernetes-patch-strategy/-merge-key).
struct ListMergeStrategy {
  bool merge = false;     // false: the patch's list replaces the whole list
  std::string merge_key;  // lists of objects: the key that identifies an element, e.g. "type";
                          // empty with merge=true: a list of primitives merged as a set
  bool retain_keys = false;  // patchStrategy "retainKeys" on a map field
};

// Answers for a field path from the object root with list indexes left out, e.g.
// "metadata.finalizers" or "status.conditions". nullopt means: plain field, replace lists.
using ListStrategyFn = std::function<std::optional<ListMergeStrategy>(std::string_view path)>;

// Supports the directives kubectl sends: $patch (replace, merge, delete), $retainKeys,
// $deleteFromPrimitiveList/<field>, $setElementOrder/<field>; null deletes a key.
Result<Json> ApplyStrategicMergePatch(const Json& doc, const Json& patch,
                                      const ListStrategyFn& strategy);

}  // namespace vdisk::json
