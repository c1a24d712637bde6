// The three patch formats of the Kubernetes API, applied to JSON documents.
//
//   application/json-patch+json            RFC 6902 JSON Patch         ApplyJsonPatch
//   application/merge-patch+json           RFC 7386 JSON Merge Patch   ApplyMergePatch
//   application/strategic-merge-patch+json Kubernetes strategic merge  ApplyStrategicMergePatch
//
// All functions are pure: they return a new document and never modify their inputs. Patches are
// untrusted input: every malformed patch is an InvalidArgument (or, for a failed JSON Patch
// "test" op, Invalid) with a message naming the operation or path at fault; nothing throws.
// Merge and strategic merge patches nested more than 100 levels deep are refused.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace vdisk::json {

using Json = nlohmann::json;

// RFC 6902. Operations apply in order and all or nothing; errors read like
// `json patch: operation 2 (replace "/spec/size"): "/spec/size" does not exist`.
Result<Json> ApplyJsonPatch(const Json& doc, const Json& patch);

// RFC 7386: objects merge recursively, null deletes, anything else (a non-object patch too)
// replaces.
Result<Json> ApplyMergePatch(const Json& doc, const Json& patch);

// How a strategic merge patch treats one list field of a kind (Go struct tags
// patchStrategy/patchMergeKey, OpenAPI x-kubernetes-patch-strategy/-merge-key).
struct ListMergeStrategy {
  // false: the patch's list replaces the whole list.
  bool merge = false;
  // Lists of objects: the key that identifies an element, e.g. "type". Empty with merge=true: a
  // list of primitives merged as a set.
  std::string merge_key;
  // patchStrategy "retainKeys" on a map field. Applying a patch only follows its $retainKeys
  // directive, as kube-apiserver does.
  bool retain_keys = false;
};

// Answers for a field path from the object root with list indexes left out, e.g.
// "metadata.finalizers" or "status.conditions". nullopt means: plain field, replace lists.
using ListStrategyFn = std::function<std::optional<ListMergeStrategy>(std::string_view path)>;

// Supports the directives kubectl sends: $patch (replace, merge, delete), $retainKeys,
// $deleteFromPrimitiveList/<field>, $setElementOrder/<field>; null deletes a key. Any other key
// starting with "$" is an InvalidArgument. Both `doc` (null counts as {}) and `patch` must be
// objects.
//
// As in kube-apiserver, merged lists take the patch's order for the elements it names
// ($setElementOrder's, when given) and keep the live order for the rest, each of which stays just
// before the first named element it preceded; so an element new to the list lands before the live
// elements the patch leaves out. `{"$patch": "delete"}` empties an existing map; in a list merged
// by key it deletes the element with that key. Directives apply in a fixed order: $retainKeys,
// then $setElementOrder lists (with their patch lists), then the other fields, then
// $deleteFromPrimitiveList. A value with nothing to merge into has its own nulls and directives
// applied to an empty value.
Result<Json> ApplyStrategicMergePatch(const Json& doc, const Json& patch,
                                      const ListStrategyFn& strategy);

}  // namespace vdisk::json
