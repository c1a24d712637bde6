#include "server/table.h"

#include "api/jsonpath.h"
#include "common/clock.h"

namespace vdisk::server {
namespace {

using nlohmann::json;

// A date cell shows as an age ("5m"), as kube-apiserver prints date columns.
// Missing values print as kubectl prints them: empty for the built-in printers of core kinds,
// "<none>" (a null cell) for the other kinds, as for custom resources' printer columns.
json FormatCell(const api::Kind& kind, const api::PrinterColumn& column, json value) {
  if (value.is_null()) return kind.group.empty() ? json("") : json();
  if (column.type == "date") {
    if (!value.is_string()) return json();
    auto t = ParseRfc3339(value.get<std::string>());
    if (!t) return json();
    return HumanDuration(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - *t));
  }
  if (column.type == "string" && !value.is_string()) return value.dump();
  return value;
}

std::string DisplayName(const api::Kind& kind, const json& object) {
  std::string name = object["metadata"].value("name", "");
  // kubectl marks the default StorageClass in its NAME column.
  if (kind.kind == "StorageClass" && kind.group == "storage.k8s.io") {
    const json& annotations = object["metadata"].value("annotations", json::object());
    if (annotations.value("storageclass.kubernetes.io/is-default-class", "") == "true") {
      name += " (default)";
    }
  }
  return name;
}

}  // namespace

json ToTable(const api::Kind& kind, const std::vector<json>& objects,
             const std::string& resource_version, const std::string& include_object,
             bool with_column_definitions) {
  json table = {{"kind", "Table"},
                {"apiVersion", "meta.k8s.io/v1"},
                {"metadata", {{"resourceVersion", resource_version}}},
                {"rows", json::array()}};
  if (with_column_definitions) {
    json definitions = json::array();
    definitions.push_back({{"name", "Name"},
                           {"type", "string"},
                           {"format", "name"},
                           {"description", "Name must be unique within a namespace."},
                           {"priority", 0}});
    for (const auto& column : kind.columns) {
      definitions.push_back({{"name", column.name},
                             {"type", column.type == "date" ? "string" : column.type},
                             {"format", ""},
                             {"description", column.description},
                             {"priority", column.priority}});
    }
    table["columnDefinitions"] = std::move(definitions);
  }
  for (const auto& object : objects) {
    json cells = json::array({DisplayName(kind, object)});
    for (const auto& column : kind.columns) {
      json value =
          column.compute ? column.compute(object) : api::EvaluateJsonPath(object, column.json_path);
      cells.push_back(FormatCell(kind, column, std::move(value)));
    }
    json row = {{"cells", std::move(cells)}};
    if (include_object == "Object") {
      row["object"] = object;
    } else if (include_object != "None") {
      row["object"] = {{"kind", "PartialObjectMetadata"},
                       {"apiVersion", "meta.k8s.io/v1"},
                       {"metadata", object["metadata"]}};
    }
    table["rows"].push_back(std::move(row));
  }
  return table;
}

}  // namespace vdisk::server
