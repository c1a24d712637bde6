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

// NAME and the printer columns' values as the object holds them (dates not yet ages).
json RawCells(const api::Kind& kind, const json& object) {
  json cells = json::array({DisplayName(kind, object)});
  for (const auto& column : kind.columns) {
    cells.push_back(column.compute ? column.compute(object)
                                   : api::EvaluateJsonPath(object, column.json_path));
  }
  return cells;
}

// The cells as printed: every column's value formatted for its type.
json FormatCells(const api::Kind& kind, const json& raw) {
  json cells = json::array({raw[0]});
  for (size_t i = 0; i < kind.columns.size(); ++i) {
    cells.push_back(FormatCell(kind, kind.columns[i], raw[i + 1]));
  }
  return cells;
}

json Cells(const api::Kind& kind, const json& object) {
  return FormatCells(kind, RawCells(kind, object));
}

// The text of the PartialObjectMetadata a row carries by default.
std::string MetadataText(const json& object) {
  return R"({"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":)" +
         object["metadata"].dump() + "}";
}

void AppendRow(std::string& text, const json& cells, std::string_view object_text) {
  text += R"({"cells":)";
  text += cells.dump();
  if (!object_text.empty()) {
    text += R"(,"object":)";
    text += object_text;
  }
  text += '}';
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

namespace {

// The Table's text around rows rendered in parts (each a comma-separated run of rows).
std::string JoinRows(const api::Kind& kind, const std::string& resource_version,
                     const std::vector<std::string>& parts) {
  std::string text = TableWithoutRows(kind, resource_version, true).dump();
  text.pop_back();  // the closing brace: the rows follow
  text += R"(,"rows":[)";
  bool first = true;
  for (const std::string& part : parts) {
    if (part.empty()) continue;
    if (!first) text += ',';
    text += part;
    first = false;
  }
  text += "]}";
  return text;
}

}  // namespace

std::string TableText(const api::Kind& kind, const std::vector<json>& objects,
                      const std::string& resource_version, const std::string& include_object) {
  // Rows are written straight to text (no second tree of every object's metadata), on every
  // core for a long list.
  std::vector<IndexRange> ranges = SplitForThreads(objects.size(), 1000);
  std::vector<std::string> parts(ranges.size());
  RunEach(ranges, [&](size_t part, IndexRange range) {
    for (size_t i = range.begin; i < range.end; ++i) {
      if (i != range.begin) parts[part] += ',';
      const json& object = objects[i];
      AppendRow(parts[part], Cells(kind, object),
                include_object == "None"     ? std::string()
                : include_object == "Object" ? object.dump()
                                             : MetadataText(object));
    }
  });
  return JoinRows(kind, resource_version, parts);
}

Result<std::string> TableRowCache::Render(const api::Kind& kind,
                                          const std::vector<store::StoredObject>& items,
                                          const std::string& resource_version,
                                          const std::string& include_object) {
  std::vector<IndexRange> ranges = SplitForThreads(items.size(), 1000);
  std::vector<std::string> parts(ranges.size());
  std::vector<Status> problems(ranges.size());
  RunEach(ranges, [&](size_t part, IndexRange range) {
    for (size_t i = range.begin; i < range.end; ++i) {
      const store::StoredObject& item = items[i];
      std::shared_ptr<const Row> row;
      {
        std::lock_guard lock(mu_);
        auto it = rows_.find(item.key);
        if (it != rows_.end() && it->second->revision == item.revision) row = it->second;
      }
      if (!row) {
        json object = json::parse(item.value, nullptr, false);
        if (!object.is_object()) {
          problems[part] = Internal("stored object " + item.key + " is corrupt");
          return;
        }
        row = std::make_shared<const Row>(
            Row{item.revision, RawCells(kind, object), MetadataText(object)});
        std::lock_guard lock(mu_);
        rows_[item.key] = row;
      }
      if (i != range.begin) parts[part] += ',';
      AppendRow(parts[part], FormatCells(kind, row->raw_cells),
                include_object == "None"     ? std::string_view()
                : include_object == "Object" ? std::string_view(item.value)
                                             : std::string_view(row->metadata_text));
    }
  });
  for (const Status& problem : problems) VDISK_RETURN_IF_ERROR(problem);
  {
    std::lock_guard lock(mu_);
    // Rows of deleted objects are never looked up again: start afresh now and then.
    if (rows_.size() > max_rows_) rows_.clear();
  }
  return JoinRows(kind, resource_version, parts);
}

}  // namespace vdisk::server
