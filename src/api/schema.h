// SchemaRegistry: the OpenAPI v3 schemas of every kind vdisk serves, and what the API server
// does with them: field validation, pruning, strategic-merge list strategies and the
// /openapi/v3 documents kubectl reads.
//
// The schemas live in api/schemas/<group>_<version>.json as OpenAPI v3 `components.schemas`,
// named the upstream way (io.k8s.api.core.v1.PersistentVolumeClaim,
// io.kubevirt.cdi.v1beta1.DataVolume, ...). The build embeds them in the binary; Get() parses them
// once. A top-level kind is the schema whose `x-kubernetes-group-version-kind` names it.
//
// The schema subset understood here (and used by the files):
//   type (object, array, string, integer, number, boolean), properties, additionalProperties,
//   items, required, enum, format (date-time, byte, int32, int64), pattern, minLength,
//   maxLength, minimum, maximum, maxItems, minItems, oneOf (alternatives, e.g. string or
//   number), x-kubernetes-int-or-string, x-kubernetes-preserve-unknown-fields (the subtree is
//   kept as given; only fields it declares are checked), and `$ref` or `allOf: [{$ref}]` to a
//   named schema. A node with `$ref`/`allOf` only adds documentation and x-kubernetes-patch-*
//   extensions; everything else comes from the schema it refers to.
//
// Field paths are dotted from the object root with list indexes, e.g. "spec.accessModes[0]".
// A JSON null counts as an absent field, as the Go types of the upstream API servers treat it.
//
// Thread safety: the registry is immutable after Get() returns; all methods are const and safe
// to call concurrently. Nothing here throws.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "api/field_error.h"
#include "api/kinds.h"
#include "json/patch.h"

namespace vdisk::api {

class SchemaRegistry {
 public:
  // Parses the embedded documents on first use. Aborts if they are malformed: they are part of
  // the program, and schema_test checks them.
  static const SchemaRegistry& Get();

  // The component schema of a kind (its name, e.g. "io.kubevirt.cdi.v1beta1.DataVolume"), or
  // nullptr when the kind has none.
  const Json* KindSchema(const Kind& kind) const;
  const std::string* KindSchemaName(const Kind& kind) const;
  // Every component schema, by name.
  const std::map<std::string, Json>& Schemas() const { return schemas_; }

  // kubectl --validate=strict (fieldValidation=Strict): paths of fields the schema does not
  // know, e.g. "spec.source.http.urll", "spec.foo[0].bar". Fields under preserve-unknown
  // subtrees are known.
  std::vector<std::string> UnknownFields(const Kind& kind, const Json& object) const;
  // Removes unknown fields (fieldValidation Ignore/Warn); returns their paths.
  std::vector<std::string> PruneUnknownFields(const Kind& kind, Json& object) const;
  // Type, enum, required, pattern and format errors, worded like kube-apiserver's, e.g.
  //   spec.volumeMode: Unsupported value: "Blok": supported values: "Block", "Filesystem"
  //   spec.running: Invalid value: "string": spec.running in body must be of type boolean: "string"
  FieldErrors Validate(const Kind& kind, const Json& object) const;

  // Strategic-merge list strategies of the kind, from x-kubernetes-patch-strategy and
  // x-kubernetes-patch-merge-key. The function stays valid for the life of the program.
  json::ListStrategyFn ListStrategy(const Kind& kind) const;

  // GET /openapi/v3: {"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=..."},
  // "apis/<group>/<version>": ...}}. The hash changes whenever the document does.
  Json OpenApiV3Index() const;
  // GET /openapi/v3/api/v1 (group "") or /openapi/v3/apis/<group>/<version>; nullptr if unknown.
  const Json* OpenApiV3Document(std::string_view group, std::string_view version) const;

 private:
  SchemaRegistry() = default;
  void Load();
  void IndexKinds();
  void CompilePatterns();
  void BuildDocuments();

  friend class SchemaWalker;
  // Follows `$ref` and `allOf: [{$ref}]` to the schema that defines a node; nullptr when a
  // reference dangles.
  const Json* Resolve(const Json& node) const;
  std::optional<json::ListMergeStrategy> StrategyAt(const Json& root, std::string_view path) const;
  // Whether `text` matches one of the schemas' patterns (compiled at load).
  bool Matches(const std::string& pattern, const std::string& text) const;

  std::map<std::string, Json> schemas_;              // component name -> schema
  std::map<std::string, std::string> kind_schemas_;  // "group/version/Kind" -> component name
  std::map<std::string, std::unique_ptr<std::regex>> patterns_;
  std::map<std::string, Json> documents_;      // "api/v1", "apis/g/v" -> document
  std::map<std::string, std::string> hashes_;  // same keys -> content hash
};

}  // namespace vdisk::api
