// Label and field selectors, as list and watch requests carry them
// (?labelSelector=app=x,tier!=db,env in (a,b),!legacy  ?fieldSelector=metadata.name=x).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace vdisk::api {

class LabelSelector {
 public:
  // The query-string syntax: =, ==, !=, in, notin, exists (key), does-not-exist (!key).
  static Result<LabelSelector> Parse(std::string_view text);
  // A metav1.LabelSelector object: matchLabels and matchExpressions (In, NotIn, Exists,
  // DoesNotExist). An empty or null selector matches everything.
  static Result<LabelSelector> FromJson(const nlohmann::json& selector);

  // `labels` is a metadata.labels object (or null).
  bool Matches(const nlohmann::json& labels) const;
  bool Empty() const { return requirements_.empty(); }

 private:
  struct Requirement {
    enum class Op { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist } op;
    std::string key;
    std::vector<std::string> values;
  };
  std::vector<Requirement> requirements_;
};

// A field selector: comma-separated `path=value`, `path==value` or `path!=value`, where path
// is a dotted path into the object (metadata.name, involvedObject.uid, status.phase, ...).
// A path that does not exist in an object compares as the empty string.
class FieldSelector {
 public:
  static Result<FieldSelector> Parse(std::string_view text);
  bool Matches(const nlohmann::json& object) const;
  bool Empty() const { return terms_.empty(); }

 private:
  struct Term {
    std::vector<std::string> path;
    std::string value;
    bool negate = false;
  };
  std::vector<Term> terms_;
};

}  // namespace vdisk::api
