#include "api/jsonpath.h"

#include <string>

namespace vdisk::api {
namespace {

// Parses a filter body such as `@.type=="Ready"` or `@.type=='Ready'` into key and value.
bool ParseFilter(std::string_view body, std::string& key, std::string& value) {
  if (body.substr(0, 2) != "@.") return false;
  size_t eq = body.find("==");
  if (eq == std::string_view::npos) return false;
  key = std::string(body.substr(2, eq - 2));
  std::string_view quoted = body.substr(eq + 2);
  if (quoted.size() < 2 || (quoted.front() != '"' && quoted.front() != '\'') ||
      quoted.back() != quoted.front()) {
    return false;
  }
  value = std::string(quoted.substr(1, quoted.size() - 2));
  return true;
}

}  // namespace

nlohmann::json EvaluateJsonPath(const nlohmann::json& object, std::string_view path) {
  const nlohmann::json* cur = &object;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '.') {
      size_t end = path.find_first_of(".[", i + 1);
      if (end == std::string_view::npos) end = path.size();
      std::string field(path.substr(i + 1, end - i - 1));
      if (!cur->is_object() || !cur->contains(field)) return nullptr;
      cur = &(*cur)[field];
      i = end;
    } else if (path[i] == '[') {
      size_t end = path.find(']', i);
      if (end == std::string_view::npos) return nullptr;
      std::string_view inside = path.substr(i + 1, end - i - 1);
      if (!cur->is_array()) return nullptr;
      if (inside.size() > 3 && inside.substr(0, 2) == "?(" && inside.back() == ')') {
        std::string key, value;
        if (!ParseFilter(inside.substr(2, inside.size() - 3), key, value)) return nullptr;
        const nlohmann::json* found = nullptr;
        for (const auto& item : *cur) {
          if (item.is_object() && item.contains(key) && item[key].is_string() &&
              item[key].get<std::string>() == value) {
            found = &item;
            break;
          }
        }
        if (!found) return nullptr;
        cur = found;
      } else {
        size_t index = 0;
        for (char c : inside) {
          if (c < '0' || c > '9' || index > 1'000'000) return nullptr;
          index = index * 10 + (c - '0');
        }
        if (inside.empty() || index >= cur->size()) return nullptr;
        cur = &(*cur)[index];
      }
      i = end + 1;
    } else {
      return nullptr;
    }
  }
  return *cur;
}

}  // namespace vdisk::api
