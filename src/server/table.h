// Server-side printing: objects as a meta.k8s.io/v1 Table, which is what `kubectl get` asks
// for (Accept: application/json;as=Table;v=v1;g=meta.k8s.io) and prints column by column.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/kinds.h"
#include "common/status.h"
#include "store/store.h"

namespace vdisk::server {

// `include_object`: "None", "Metadata" (the default) or "Object", as ?includeObject= says.
nlohmann::json ToTable(const api::Kind& kind, const std::vector<nlohmann::json>& objects,
                       const std::string& resource_version, const std::string& include_object,
                       bool with_column_definitions = true);

// ToTable's result as JSON text, rendered row by row on several threads: what a list of
// thousands of objects is answered with.
std::string TableText(const api::Kind& kind, const std::vector<nlohmann::json>& objects,
                      const std::string& resource_version, const std::string& include_object);

// Table rows of stored objects, kept by store key and revision: listing thousands of objects
// again parses and renders only those that changed since. Date cells are kept as the object
// holds them and turned into ages at every use. At most `max_rows` rows are kept.
// Thread-safe.
class TableRowCache {
 public:
  explicit TableRowCache(size_t max_rows = 50'000) : max_rows_(max_rows) {}
  // What TableText renders for `items` (the stored text of objects of `kind`, in order).
  Result<std::string> Render(const api::Kind& kind, const std::vector<store::StoredObject>& items,
                             const std::string& resource_version,
                             const std::string& include_object);

 private:
  struct Row {
    int64_t revision = 0;
    nlohmann::json raw_cells;   // NAME, then each column's value as found
    std::string metadata_text;  // the PartialObjectMetadata the row carries by default
  };
  const size_t max_rows_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const Row>> rows_;  // by store key
};

}  // namespace vdisk::server
