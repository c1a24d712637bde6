// Label and field selectors, as list and watch requests carry them
// (?labelSelector=app=x,tier!=db,env in (a,b),!legacy  ?fieldSelector=metadata.name=x).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace vdisk::api {

class LabelSelector {
 public:
  // The query-string syntax of k8s.io/apimachinery/pkg/labels: =, ==, !=, in, notin, exists
  // (key), does-not-exist (!key), and the integer comparisons > and <. Errors (InvalidArgument)
  // carry upstream's messages, e.g. "unable to parse requirement: <nil>: Invalid value: ...".
  static Result<LabelSelector> Parse(std::string_view text);
  // A metav1.LabelSelector object: matchLabels and matchExpressions (In, NotIn, Exists,
  // DoesNotExist). An empty or null selector matches everything. Errors (Invalid) list every
  // problem with paths relative to the selector, e.g. "matchExpressions[0].values: Required
  // value: must be specified when `operator` is 'In' or 'NotIn'".
  static Result<LabelSelector> FromJson(const nlohmann::json& selector);

  // `labels` is a metadata.labels object (or null); labels whose value is not a string count
  // as absent.
  bool Matches(const nlohmann::json& labels) const;
  bool Empty() const { return requirements_.empty(); }

 private:
  struct Requirement {
    enum class Op {
      kEquals,
      kNotEquals,
      kIn,
      kNotIn,
      kExists,
      kDoesNotExist,
      kGreaterThan,
      kLessThan
    } op;
    std::string key;
    std::vector<std::string> values;  // sorted, without duplicates
    int64_t bound = 0;                // the value of kGreaterThan and kLessThan
    bool Matches(const nlohmann::json& labels) const;
  };
  friend class LabelSelectorParser;
  std::vector<Requirement> requirements_;
};

// A field selector: comma-separated `path=value`, `path==value` or `path!=value`, where path
// is a dotted path into the object (metadata.name, involvedObject.uid, status.phase, ...).
// Values escape '\\', ',' and '=' with a backslash, as k8s.io/apimachinery/pkg/fields does.
// A path that does not exist in an object compares as the empty string, as do objects and
// arrays; numbers and booleans compare as their JSON text.
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
