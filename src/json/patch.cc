#include "json/patch.h"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <map>
#include <set>
#include <span>
#include <utility>
#include <vector>

namespace vdisk::json {
namespace {

// Patches are untrusted and merging recurses, so more levels of nesting than this are refused,
// not risked on the stack (an AddressSanitizer build spends ~12 KiB of it per level). API objects
// nest far less.
constexpr int kMaxDepth = 100;

// The member `key` of `object`, or nullptr when `object` is not an object or has no such member.
const Json* Member(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// A JSON value for an error message: compact, cut short, and safe for invalid UTF-8.
std::string Abbreviate(const Json& value) {
  constexpr size_t kMaxLength = 80;
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > kMaxLength) text = text.substr(0, kMaxLength) + "...";
  return text;
}

std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

// ---------------------------------------------------------------------------------------------
// JSON Pointer (RFC 6901)

using Pointer = std::vector<std::string>;

// A pointer as written in the patch, and its unescaped reference tokens.
struct Location {
  std::string text;
  Pointer tokens;
};

// Undoes the "~1" (for "/") and "~0" (for "~") escapes of one reference token.
Result<std::string> UnescapeToken(std::string_view raw) {
  std::string token;
  token.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '~') {
      token += raw[i];
      continue;
    }
    const char next = i + 1 < raw.size() ? raw[i + 1] : '\0';
    if (next == '0') {
      token += '~';
    } else if (next == '1') {
      token += '/';
    } else {
      return InvalidArgument("'~' must be followed by '0' or '1'");
    }
    ++i;
  }
  return token;
}

Result<Pointer> ParsePointer(std::string_view text) {
  Pointer tokens;
  if (text.empty()) return tokens;
  if (text.front() != '/') return InvalidArgument("a JSON pointer must be empty or start with '/'");
  text.remove_prefix(1);
  while (true) {
    const size_t slash = text.find('/');
    VDISK_ASSIGN_OR_RETURN(std::string token, UnescapeToken(text.substr(0, slash)));
    tokens.push_back(std::move(token));
    if (slash == std::string_view::npos) break;
    text.remove_prefix(slash + 1);
  }
  return tokens;
}

// RFC 6901 array indexes are plain decimals without leading zeros; anything else names no element.
std::optional<size_t> ParseArrayIndex(std::string_view token) {
  if (token.empty() || (token.size() > 1 && token.front() == '0')) return std::nullopt;
  size_t index = 0;
  const char* end = token.data() + token.size();
  auto [parsed_to, error] = std::from_chars(token.data(), end, index);
  if (error != std::errc() || parsed_to != end) return std::nullopt;
  return index;
}

const Json* FindChild(const Json& parent, const std::string& token) {
  if (parent.is_object()) return Member(parent, token);
  if (parent.is_array()) {
    std::optional<size_t> index = ParseArrayIndex(token);
    if (index && *index < parent.size()) return &parent[*index];
  }
  return nullptr;
}

// The value `pointer` refers to, or nullptr when there is none.
const Json* Find(const Json& root, std::span<const std::string> pointer) {
  const Json* node = &root;
  for (const std::string& token : pointer) {
    node = FindChild(*node, token);
    if (node == nullptr) return nullptr;
  }
  return node;
}

Json* FindMutable(Json& root, std::span<const std::string> pointer) {
  return const_cast<Json*>(Find(std::as_const(root), pointer));
}

std::span<const std::string> ParentOf(const Pointer& pointer) {
  return std::span(pointer).first(pointer.size() - 1);
}

bool IsProperPrefix(const Pointer& prefix, const Pointer& pointer) {
  return prefix.size() < pointer.size() &&
         std::equal(prefix.begin(), prefix.end(), pointer.begin());
}

// ---------------------------------------------------------------------------------------------
// JSON Patch (RFC 6902)

std::string OutOfBounds(const Location& location, size_t index, size_t size) {
  return "array index " + std::to_string(index) + " in " + Quote(location.text) +
         " is out of bounds (the array has " + std::to_string(size) + " elements)";
}

std::string DoesNotExist(const Location& location) {
  return Quote(location.text) + " does not exist";
}

Status AddAt(Json& doc, const Location& location, Json value) {
  if (location.tokens.empty()) {
    doc = std::move(value);
    return Status::Ok();
  }
  Json* parent = FindMutable(doc, ParentOf(location.tokens));
  const std::string& last = location.tokens.back();
  if (parent == nullptr) {
    return InvalidArgument("the parent of " + Quote(location.text) + " does not exist");
  }
  if (parent->is_object()) {
    (*parent)[last] = std::move(value);
    return Status::Ok();
  }
  if (!parent->is_array()) {
    return InvalidArgument("the parent of " + Quote(location.text) + " is not an object or array");
  }
  if (last == "-") {
    parent->push_back(std::move(value));
    return Status::Ok();
  }
  std::optional<size_t> index = ParseArrayIndex(last);
  if (!index) return InvalidArgument(Quote(last) + " is not an array index");
  if (*index > parent->size()) {
    return InvalidArgument(OutOfBounds(location, *index, parent->size()));
  }
  parent->insert(parent->begin() + static_cast<std::ptrdiff_t>(*index), std::move(value));
  return Status::Ok();
}

// Removes the value at `location` and hands it back (for "move").
Result<Json> RemoveAt(Json& doc, const Location& location) {
  if (location.tokens.empty()) return InvalidArgument("the document root cannot be removed");
  Json* parent = FindMutable(doc, ParentOf(location.tokens));
  const std::string& last = location.tokens.back();
  if (parent != nullptr && parent->is_object()) {
    auto it = parent->find(last);
    if (it != parent->end()) {
      Json removed = std::move(*it);
      parent->erase(it);
      return removed;
    }
  } else if (parent != nullptr && parent->is_array()) {
    std::optional<size_t> index = ParseArrayIndex(last);
    if (index && *index >= parent->size()) {
      return InvalidArgument(OutOfBounds(location, *index, parent->size()));
    }
    if (index) {
      Json removed = std::move((*parent)[*index]);
      parent->erase(*index);
      return removed;
    }
  }
  return InvalidArgument(DoesNotExist(location));
}

Status ReplaceAt(Json& doc, const Location& location, Json value) {
  Json* target = FindMutable(doc, location.tokens);
  if (target == nullptr) return InvalidArgument(DoesNotExist(location));
  *target = std::move(value);
  return Status::Ok();
}

Status MoveValue(Json& doc, const Location& from, const Location& to) {
  if (IsProperPrefix(from.tokens, to.tokens)) {
    return InvalidArgument("cannot move " + Quote(from.text) + " into its own child " +
                           Quote(to.text));
  }
  VDISK_ASSIGN_OR_RETURN(Json value, RemoveAt(doc, from));
  return AddAt(doc, to, std::move(value));
}

Status CopyValue(Json& doc, const Location& from, const Location& to) {
  const Json* source = Find(doc, from.tokens);
  if (source == nullptr) return InvalidArgument(DoesNotExist(from));
  return AddAt(doc, to, *source);
}

// A failed test is a well-formed patch whose precondition does not hold: Invalid, not malformed.
Status TestValue(const Json& doc, const Location& location, const Json& expected) {
  const Json* actual = Find(doc, location.tokens);
  if (actual == nullptr) return Invalid("test failed: " + DoesNotExist(location));
  if (*actual != expected) {
    return Invalid("test failed: " + Quote(location.text) + " is " + Abbreviate(*actual) +
                   ", not " + Abbreviate(expected));
  }
  return Status::Ok();
}

struct Operation {
  std::string name;
  Location path;
  Location from;                // move and copy only
  const Json* value = nullptr;  // add, replace and test only
};

Result<Location> ParseLocation(const Json& entry, std::string_view member) {
  const Json* text = Member(entry, member);
  if (text == nullptr) return InvalidArgument("missing " + Quote(member));
  if (!text->is_string()) return InvalidArgument(Quote(member) + " must be a string");
  Location location{.text = text->get<std::string>(), .tokens = {}};
  Result<Pointer> tokens = ParsePointer(location.text);
  if (!tokens.ok()) {
    return InvalidArgument(Quote(member) + " " + Quote(location.text) +
                           " is not a valid JSON pointer: " + tokens.status().message());
  }
  location.tokens = std::move(tokens).value();
  return location;
}

Result<Operation> ParseOperation(const Json& entry) {
  static const std::set<std::string, std::less<>> kKnownOps = {"add",  "remove", "replace",
                                                               "move", "copy",   "test"};
  if (!entry.is_object()) return InvalidArgument("an operation must be a JSON object");
  const Json* name = Member(entry, "op");
  if (name == nullptr) return InvalidArgument("missing \"op\"");
  if (!name->is_string()) return InvalidArgument("\"op\" must be a string");
  Operation op;
  op.name = name->get<std::string>();
  if (!kKnownOps.contains(op.name)) return InvalidArgument("unknown op " + Quote(op.name));
  VDISK_ASSIGN_OR_RETURN(op.path, ParseLocation(entry, "path"));
  if (op.name == "move" || op.name == "copy") {
    VDISK_ASSIGN_OR_RETURN(op.from, ParseLocation(entry, "from"));
  }
  if (op.name == "add" || op.name == "replace" || op.name == "test") {
    op.value = Member(entry, "value");
    if (op.value == nullptr) return InvalidArgument("missing \"value\"");
  }
  return op;
}

Status ApplyOperation(Json& doc, const Operation& op) {
  if (op.name == "add") return AddAt(doc, op.path, *op.value);
  if (op.name == "remove") return RemoveAt(doc, op.path).status();
  if (op.name == "replace") return ReplaceAt(doc, op.path, *op.value);
  if (op.name == "move") return MoveValue(doc, op.from, op.path);
  if (op.name == "copy") return CopyValue(doc, op.from, op.path);
  return TestValue(doc, op.path, *op.value);
}

// "operation 2 (replace "/spec/size")", as far as the entry allows.
std::string DescribeOperation(size_t index, const Json& entry) {
  const Json* op = Member(entry, "op");
  const Json* path = Member(entry, "path");
  std::string name = op != nullptr && op->is_string() ? op->get<std::string>() : "?";
  std::string where =
      path != nullptr && path->is_string() ? Quote(path->get<std::string>()) : "without a path";
  return "operation " + std::to_string(index) + " (" + name + " " + where + ")";
}

Result<Json> JsonPatch(const Json& doc, const Json& patch) {
  if (!patch.is_array()) {
    return InvalidArgument("json patch: the patch must be a JSON array of operations");
  }
  Json result = doc;
  for (size_t i = 0; i < patch.size(); ++i) {
    Result<Operation> op = ParseOperation(patch[i]);
    Status status = op.ok() ? ApplyOperation(result, *op) : op.status();
    if (!status.ok()) {
      return Status(status.code(),
                    "json patch: " + DescribeOperation(i, patch[i]) + ": " + status.message());
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// JSON Merge Patch (RFC 7386)

Result<Json> MergePatchInto(Json target, const Json& patch, int depth) {
  if (!patch.is_object()) return patch;
  if (depth >= kMaxDepth) return InvalidArgument("merge patch: the patch is nested too deeply");
  if (!target.is_object()) target = Json::object();
  for (const auto& member : patch.items()) {
    const std::string& key = member.key();
    if (member.value().is_null()) {
      target.erase(key);
      continue;
    }
    auto existing = target.find(key);
    Json current = existing == target.end() ? Json() : std::move(*existing);
    VDISK_ASSIGN_OR_RETURN(target[key],
                           MergePatchInto(std::move(current), member.value(), depth + 1));
  }
  return target;
}

// ---------------------------------------------------------------------------------------------
// Kubernetes strategic merge patch

constexpr std::string_view kPatchDirective = "$patch";
constexpr std::string_view kRetainKeysDirective = "$retainKeys";
constexpr std::string_view kSetElementOrderPrefix = "$setElementOrder/";
constexpr std::string_view kDeleteFromPrimitiveListPrefix = "$deleteFromPrimitiveList/";

// The field a "$prefix/<field>" directive key names, or nullopt when `key` is not of that form.
std::optional<std::string> DirectiveField(std::string_view key, std::string_view prefix) {
  if (!key.starts_with(prefix) || key.size() == prefix.size()) return std::nullopt;
  return std::string(key.substr(prefix.size()));
}

std::string JoinPath(const std::string& path, std::string_view field) {
  return path.empty() ? std::string(field) : path + "." + std::string(field);
}

Status PatchError(std::string_view where, std::string_view detail) {
  std::string message = "strategic merge patch: ";
  if (!where.empty()) message += std::string(where) + ": ";
  return InvalidArgument(message + std::string(detail));
}

std::string Element(size_t index) { return "element " + std::to_string(index); }

bool IsDeleteDirective(const Json& patch) {
  const Json* directive = Member(patch, kPatchDirective);
  return directive != nullptr && *directive == "delete";
}

// What identifies a list element: its merge key's value, or the whole element when there is no
// merge key. nullptr when the element lacks the key.
const Json* IdentityOf(const Json& element, const std::string& merge_key) {
  if (merge_key.empty()) return &element;
  return Member(element, merge_key);
}

// A list element being merged, and its position in the live list (nullopt when the patch added
// it). Live positions decide where elements the patch does not name end up after reordering.
struct ListItem {
  Json value;
  std::optional<size_t> live_index;
};
using ListItems = std::vector<ListItem>;

ListItems ItemsOf(Json live_list) {
  ListItems items;
  items.reserve(live_list.size());
  for (size_t i = 0; i < live_list.size(); ++i) items.push_back({std::move(live_list[i]), i});
  return items;
}

Json ToJson(ListItems items) {
  Json list = Json::array();
  for (ListItem& item : items) list.push_back(std::move(item.value));
  return list;
}

bool StoodBefore(const ListItem& a, const ListItem& b) {
  return a.live_index && b.live_index && *a.live_index < *b.live_index;
}

// Puts the items that `order` names (by identity) in that order, and slots every other item back
// in before the first named item it preceded in the live list. This is kube-apiserver's order:
// the patch's (or $setElementOrder's) order wins, the live order is kept for the rest, and an
// item new to the live list goes before the live items that are not named.
ListItems Reorder(ListItems items, const std::vector<const Json*>& order,
                  const std::string& merge_key) {
  std::map<Json, size_t> rank;
  for (size_t i = 0; i < order.size(); ++i) rank.emplace(*order[i], i);

  std::vector<std::pair<size_t, ListItem>> named;
  ListItems unnamed;
  for (ListItem& item : items) {
    const Json* identity = IdentityOf(item.value, merge_key);
    auto it = identity == nullptr ? rank.end() : rank.find(*identity);
    if (it == rank.end()) {
      unnamed.push_back(std::move(item));
    } else {
      named.emplace_back(it->second, std::move(item));
    }
  }
  std::stable_sort(named.begin(), named.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });

  ListItems result;
  result.reserve(items.size());
  size_t u = 0;
  size_t n = 0;
  while (u < unnamed.size() || n < named.size()) {
    const bool take_unnamed =
        n == named.size() || (u < unnamed.size() && StoodBefore(unnamed[u], named[n].second));
    result.push_back(take_unnamed ? std::move(unnamed[u++]) : std::move(named[n++].second));
  }
  return result;
}

// Every element the patch list names must appear in $setElementOrder, in the same relative order:
// the order list may not leave out (or, in effect, add) elements the patch carries.
Status CheckPatchFollowsOrder(const Json& patch_list, const std::vector<const Json*>& order,
                              const std::string& merge_key, const std::string& where) {
  size_t next = 0;
  for (size_t i = 0; i < patch_list.size(); ++i) {
    const Json& element = patch_list[i];
    if (Member(element, kPatchDirective) != nullptr) continue;  // deletions are not ordered
    const Json* identity = IdentityOf(element, merge_key);
    if (identity == nullptr) continue;  // the merge reports the missing key
    while (next < order.size() && *order[next] != *identity) ++next;
    if (next == order.size()) {
      return PatchError(where, "does not list " + Element(i) +
                                   " of the patch list, or lists it in a different order");
    }
    ++next;
  }
  return Status::Ok();
}

Status CheckDirectiveKeys(const Json& patch, const std::string& path) {
  for (const auto& member : patch.items()) {
    const std::string& key = member.key();
    if (!key.starts_with('$') || key == kPatchDirective || key == kRetainKeysDirective ||
        DirectiveField(key, kSetElementOrderPrefix) ||
        DirectiveField(key, kDeleteFromPrimitiveListPrefix)) {
      continue;
    }
    return PatchError(JoinPath(path, key), "unknown patch directive");
  }
  return Status::Ok();
}

// $retainKeys lists the fields the object keeps; the patch may only set listed fields.
Status ApplyRetainKeys(Json& live, const Json& patch, const std::string& path) {
  const Json* retain = Member(patch, kRetainKeysDirective);
  if (retain == nullptr) return Status::Ok();
  const std::string where = JoinPath(path, kRetainKeysDirective);
  if (!retain->is_array()) return PatchError(where, "must be a list of field names");
  std::set<std::string, std::less<>> kept;
  for (const Json& name : *retain) {
    if (!name.is_string()) return PatchError(where, "must be a list of field names");
    kept.insert(name.get<std::string>());
  }
  for (const auto& member : patch.items()) {
    const std::string& key = member.key();
    if (member.value().is_null() || key.starts_with('$') || kept.contains(key)) continue;
    return PatchError(where, "does not list the field " + Quote(key) + " that the patch sets");
  }
  for (auto it = live.begin(); it != live.end();) {
    it = kept.contains(it.key()) ? std::next(it) : live.erase(it);
  }
  return Status::Ok();
}

// $deleteFromPrimitiveList/<field> removes every equal element from the list, whatever its
// strategy; a missing list stays missing.
Status DeleteFromPrimitiveList(Json& live, const std::string& field, const Json& doomed_values,
                               const std::string& path) {
  if (!doomed_values.is_array()) {
    return PatchError(JoinPath(path, std::string(kDeleteFromPrimitiveListPrefix) + field),
                      "must be a list");
  }
  auto list = live.find(field);
  if (list == live.end() || !list->is_array()) return Status::Ok();
  const std::set<Json> doomed(doomed_values.begin(), doomed_values.end());
  Json kept = Json::array();
  for (Json& element : *list) {
    if (!doomed.contains(element)) kept.push_back(std::move(element));
  }
  *list = std::move(kept);
  return Status::Ok();
}

class StrategicMerger {
 public:
  explicit StrategicMerger(const ListStrategyFn& strategy) : strategy_(strategy) {}

  // Merges an object patch into a live object; `path` is the dotted field path of both.
  Result<Json> MergeObject(Json live, const Json& patch, const std::string& path, int depth) const {
    if (depth >= kMaxDepth) return PatchError(path, "the patch is nested too deeply");
    if (const Json* directive = Member(patch, kPatchDirective)) {
      if (*directive == "delete") return Json::object();
      if (*directive == "replace") {
        live = Json::object();
      } else if (*directive != "merge") {
        return PatchError(path, "unsupported $patch directive " + Abbreviate(*directive));
      }
    }
    VDISK_RETURN_IF_ERROR(CheckDirectiveKeys(patch, path));
    VDISK_RETURN_IF_ERROR(ApplyRetainKeys(live, patch, path));
    // Ordered lists first, with the patch list they order; then plain fields; deletions last.
    for (const auto& member : patch.items()) {
      if (std::optional<std::string> field = DirectiveField(member.key(), kSetElementOrderPrefix)) {
        VDISK_RETURN_IF_ERROR(
            ApplySetElementOrder(live, *field, member.value(), patch, path, depth));
      }
    }
    for (const auto& member : patch.items()) {
      const std::string& key = member.key();
      if (key.starts_with('$')) continue;
      if (Member(patch, std::string(kSetElementOrderPrefix) + key) != nullptr) continue;
      VDISK_RETURN_IF_ERROR(MergeField(live, key, member.value(), path, depth));
    }
    for (const auto& member : patch.items()) {
      if (std::optional<std::string> field =
              DirectiveField(member.key(), kDeleteFromPrimitiveListPrefix)) {
        VDISK_RETURN_IF_ERROR(DeleteFromPrimitiveList(live, *field, member.value(), path));
      }
    }
    return live;
  }

 private:
  std::optional<ListMergeStrategy> StrategyFor(const std::string& path) const {
    if (!strategy_) return std::nullopt;
    return strategy_(path);
  }

  Status MergeField(Json& object, const std::string& field, const Json& patch_value,
                    const std::string& path, int depth) const {
    if (patch_value.is_null()) {
      object.erase(field);
      return Status::Ok();
    }
    const std::string field_path = JoinPath(path, field);
    auto live = object.find(field);
    if (live != object.end() && live->is_object() && patch_value.is_object()) {
      VDISK_ASSIGN_OR_RETURN(*live,
                             MergeObject(std::move(*live), patch_value, field_path, depth + 1));
      return Status::Ok();
    }
    if (live != object.end() && live->is_array() && patch_value.is_array()) {
      VDISK_ASSIGN_OR_RETURN(ListItems items,
                             MergeList(std::move(*live), patch_value, field_path, depth + 1));
      *live = ToJson(std::move(items));
      return Status::Ok();
    }
    VDISK_ASSIGN_OR_RETURN(std::optional<Json> value, NewValue(patch_value, field_path, depth + 1));
    if (value) {
      object[field] = std::move(*value);
    } else {
      object.erase(field);
    }
    return Status::Ok();
  }

  // What a patch value becomes where there is nothing of its kind to merge into: directives
  // applied to an empty value, nulls dropped. nullopt when the patch deletes it.
  Result<std::optional<Json>> NewValue(const Json& patch_value, const std::string& path,
                                       int depth) const {
    if (patch_value.is_object()) {
      if (IsDeleteDirective(patch_value)) return std::optional<Json>();
      VDISK_ASSIGN_OR_RETURN(Json value, MergeObject(Json::object(), patch_value, path, depth));
      return std::optional<Json>(std::move(value));
    }
    if (patch_value.is_array()) {
      VDISK_ASSIGN_OR_RETURN(ListItems items, MergeList(Json::array(), patch_value, path, depth));
      return std::optional<Json>(ToJson(std::move(items)));
    }
    return std::optional<Json>(patch_value);
  }

  Result<ListItems> MergeList(Json live, const Json& patch, const std::string& path,
                              int depth) const {
    if (depth >= kMaxDepth) return PatchError(path, "the patch is nested too deeply");
    std::optional<ListMergeStrategy> strategy = StrategyFor(path);
    if (!strategy || !strategy->merge) return ReplaceList(patch, path, depth);
    if (strategy->merge_key.empty()) return MergePrimitiveSet(live, patch, path);
    return MergeKeyedList(std::move(live), patch, strategy->merge_key, path, depth);
  }

  Result<ListItems> ReplaceList(const Json& patch, const std::string& path, int depth) const {
    ListItems items;
    for (const Json& element : patch) {
      VDISK_ASSIGN_OR_RETURN(std::optional<Json> value, NewValue(element, path, depth + 1));
      if (value) items.push_back({std::move(*value), std::nullopt});
    }
    return items;
  }

  static Result<ListItems> MergePrimitiveSet(const Json& live, const Json& patch,
                                             const std::string& path) {
    for (const Json* list : {&live, &patch}) {
      for (const Json& element : *list) {
        if (element.is_structured()) {
          return PatchError(path, "a list merged as a set may only hold primitive values, not " +
                                      Abbreviate(element));
        }
      }
    }
    ListItems items;
    std::set<Json> seen;
    for (size_t i = 0; i < live.size(); ++i) {
      if (seen.insert(live[i]).second) items.push_back({live[i], i});
    }
    std::vector<const Json*> order;
    for (const Json& element : patch) {
      order.push_back(&element);
      if (seen.insert(element).second) items.push_back({element, std::nullopt});
    }
    return Reorder(std::move(items), order, "");
  }

  Result<ListItems> MergeKeyedList(Json live, const Json& patch, const std::string& key,
                                   const std::string& path, int depth) const {
    std::vector<const Json*> entries;  // elements to merge, in patch order
    std::set<Json> deleted_keys;       // merge-key values of {"$patch": "delete"} elements
    bool replace = false;
    for (size_t i = 0; i < patch.size(); ++i) {
      const Json& element = patch[i];
      if (!element.is_object()) {
        return PatchError(path, Element(i) + " of the patch is not an object, but the list is " +
                                    "merged by " + Quote(key));
      }
      const Json* directive = Member(element, kPatchDirective);
      const Json* identity = Member(element, key);
      if (directive == nullptr || *directive == "delete") {
        if (identity == nullptr) {
          return PatchError(path, Element(i) + " of the patch has no merge key " + Quote(key));
        }
        if (directive == nullptr) {
          entries.push_back(&element);
        } else {
          deleted_keys.insert(*identity);
        }
      } else if (*directive == "replace") {
        replace = true;
      } else {
        return PatchError(path, Element(i) + " of the patch has an unsupported $patch directive " +
                                    Abbreviate(*directive));
      }
    }

    ListItems items;
    if (replace) {  // {"$patch": "replace"}: the other patch elements are the whole list
      for (const Json* entry : entries) {
        VDISK_ASSIGN_OR_RETURN(Json value, MergeObject(Json::object(), *entry, path, depth + 1));
        items.push_back({std::move(value), std::nullopt});
      }
      return items;
    }

    for (size_t i = 0; i < live.size(); ++i) {
      if (!live[i].is_object()) {
        return PatchError(path, Element(i) + " of the live list is not an object, but the list " +
                                    "is merged by " + Quote(key));
      }
      const Json* identity = Member(live[i], key);
      if (identity != nullptr && deleted_keys.contains(*identity)) continue;
      items.push_back({std::move(live[i]), i});
    }
    std::map<Json, size_t> position_of_key;  // the first item with each merge-key value
    for (size_t i = 0; i < items.size(); ++i) {
      if (const Json* identity = Member(items[i].value, key)) position_of_key.emplace(*identity, i);
    }

    std::vector<const Json*> order;
    for (const Json* entry : entries) {
      const Json& identity = *Member(*entry, key);
      order.push_back(&identity);
      auto found = position_of_key.find(identity);
      if (found != position_of_key.end()) {
        ListItem& item = items[found->second];
        VDISK_ASSIGN_OR_RETURN(item.value,
                               MergeObject(std::move(item.value), *entry, path, depth + 1));
      } else {
        VDISK_ASSIGN_OR_RETURN(Json value, MergeObject(Json::object(), *entry, path, depth + 1));
        position_of_key.emplace(identity, items.size());
        items.push_back({std::move(value), std::nullopt});
      }
    }
    return Reorder(std::move(items), order, key);
  }

  // $setElementOrder/<field> fixes the order of the list's elements; the patch list of that
  // field, if any, is merged first. Elements only the order list names are not added.
  Status ApplySetElementOrder(Json& object, const std::string& field, const Json& order,
                              const Json& patch, const std::string& path, int depth) const {
    const std::string where = JoinPath(path, std::string(kSetElementOrderPrefix) + field);
    if (!order.is_array()) return PatchError(where, "must be a list");
    const std::string field_path = JoinPath(path, field);
    std::optional<ListMergeStrategy> strategy = StrategyFor(field_path);
    const std::string merge_key = strategy && strategy->merge ? strategy->merge_key : "";

    std::vector<const Json*> order_identities;
    for (size_t i = 0; i < order.size(); ++i) {
      const Json* identity = IdentityOf(order[i], merge_key);
      if (identity == nullptr) {
        return PatchError(where, Element(i) + " has no merge key " + Quote(merge_key));
      }
      order_identities.push_back(identity);
    }

    const Json* patch_list = Member(patch, field);
    if (patch_list != nullptr) {
      if (!patch_list->is_array()) {
        return PatchError(field_path, "must be a list when " + std::string(kSetElementOrderPrefix) +
                                          field + " is given");
      }
      VDISK_RETURN_IF_ERROR(
          CheckPatchFollowsOrder(*patch_list, order_identities, merge_key, where));
    }

    auto live = object.find(field);
    const bool has_live_list = live != object.end() && live->is_array();
    ListItems items;
    if (patch_list != nullptr) {
      VDISK_ASSIGN_OR_RETURN(items, MergeList(has_live_list ? std::move(*live) : Json::array(),
                                              *patch_list, field_path, depth + 1));
    } else if (has_live_list) {
      items = ItemsOf(std::move(*live));
    } else {
      return Status::Ok();  // no list to order
    }
    object[field] = ToJson(Reorder(std::move(items), order_identities, merge_key));
    return Status::Ok();
  }

  const ListStrategyFn& strategy_;
};

}  // namespace

Result<Json> ApplyJsonPatch(const Json& doc, const Json& patch) {
  try {
    return JsonPatch(doc, patch);
  } catch (const Json::exception& e) {  // a bug: every access above is checked first
    return Internal(std::string("json patch: unexpected JSON error: ") + e.what());
  }
}

Result<Json> ApplyMergePatch(const Json& doc, const Json& patch) {
  try {
    return MergePatchInto(doc, patch, 0);
  } catch (const Json::exception& e) {
    return Internal(std::string("merge patch: unexpected JSON error: ") + e.what());
  }
}

Result<Json> ApplyStrategicMergePatch(const Json& doc, const Json& patch,
                                      const ListStrategyFn& strategy) {
  try {
    if (!patch.is_object()) return PatchError("", "the patch must be a JSON object");
    if (!doc.is_null() && !doc.is_object()) {
      return PatchError("", "the document must be a JSON object");
    }
    Json live = doc.is_null() ? Json::object() : doc;
    return StrategicMerger(strategy).MergeObject(std::move(live), patch, "", 0);
  } catch (const Json::exception& e) {
    return Internal(std::string("strategic merge patch: unexpected JSON error: ") + e.what());
  }
}

}  // namespace vdisk::json
