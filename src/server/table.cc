// Tables (see table.h).
#include "server/table.h"

#include "api/jsonpath.h"
#include "common/clock.h"
#include "common/parallel.h"

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

// The row's cells: NAME, then the kind's printer columns.
json Cells(const api::Kind& kind, const json& object) {
  json cells = json::array({DisplayName(kind, object)});
  for (const auto& column : kind.columns) {
    json value =
        column.compute ? column.compute(object) : api::EvaluateJsonPath(object, column.json_path);
    cells.push_back(FormatCell(kind, column, std::move(value)));
  }
  return cells;
}

// The object a row carries, as ?includeObject= asks: none, the whole object, or (the default)
// its metadata.
json RowObject(const json& object, const std::string& include_object) {
  if (include_object == "None") return json();
  if (include_object == "Object") return object;
  return {{"kind", "PartialObjectMetadata"},
          {"apiVersion", "meta.k8s.io/v1"},
          {"metadata", object["metadata"]}};
}

json TableWithoutRows(const api::Kind& kind, const std::string& resource_version,
                      bool with_column_definitions) {
  json table = {{"kind", "Table"},
                {"apiVersion", "meta.k8s.io/v1"},
                {"metadata", {{"resourceVersion", resource_version}}}};
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
  return table;
}

}  // namespace

json ToTable(const api::Kind& kind, const std::vector<json>& objects,
             const std::string& resource_version, const std::string& include_object,
             bool with_column_definitions) {
  json table = TableWithoutRows(kind, resource_version, with_column_definitions);
  table["rows"] = json::array();
  for (const auto& object : objects) {
    json row = {{"cells", Cells(kind, object)}};
    json carried = RowObject(object, include_object);
    if (!carried.is_null()) row["object"] = std::move(carried);
    table["rows"].push_back(std::move(row));
  }
  return table;
}

std::string TableText(const api::Kind& kind, const std::vector<json>& objects,
                      const std::string& resource_version, const std::string& include_object) {
  // Rows are written straight to text (no second tree of every object's metadata), on every
  // core for a long list.
  std::vector<IndexRange> ranges = SplitForThreads(objects.size(), 1000);
  std::vector<std::string> parts(ranges.size());
  RunEach(ranges, [&](size_t part, IndexRange range) {
    std::string& text = parts[part];
    for (size_t i = range.begin; i < range.end; ++i) {
      if (i != range.begin) text += ',';
      text += R"({"cells":)";
      text += Cells(kind, objects[i]).dump();
      if (include_object == "Object") {
        text += R"(,"object":)" + objects[i].dump();
      } else if (include_object != "None") {
        text += R"(,"object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1",)"
                R"("metadata":)" +
                objects[i]["metadata"].dump() + "}";
      }
      text += '}';
    }
  });
  std::string text = TableWithoutRows(kind, resource_version, true).dump();
  text.pop_back();  // the closing brace: the rows follow
  text += R"(,"rows":[)";
  for (size_t part = 0; part < parts.size(); ++part) {
    if (part > 0 && !parts[part].empty() && !parts[part - 1].empty()) text += ',';
    text += parts[part];
  }
  text += "]}";
  return text;
}

}  // namespace vdisk::server
