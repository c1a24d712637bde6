// Tests for Tables (table.h): the text rendering of a long list equals the JSON one.
#include "server/table.h"

#include <gtest/gtest.h>

namespace vdisk::server {
namespace {

using nlohmann::json;

std::vector<json> DataVolumes(size_t count) {
  std::vector<json> objects;
  for (size_t i = 0; i < count; ++i) {
    json dv = {{"apiVersion", "cdi.kubevirt.io/v1beta1"},
               {"kind", "DataVolume"},
               {"metadata",
                {{"name", "dv-" + std::to_string(i)},
                 {"namespace", "ns"},
                 {"creationTimestamp", "2026-01-01T00:00:00Z"},
                 {"labels", {{"n", std::to_string(i % 7)}}}}},
               {"spec", {{"source", {{"blank", json::object()}}}}}};
    if (i % 3 != 0) dv["status"] = {{"phase", "Succeeded"}, {"progress", "100.0%"}};
    objects.push_back(std::move(dv));
  }
  return objects;
}

TEST(Table, TextOfALongListIsTheTableInOrder) {
  const api::Kind& kind = *api::KindRegistry::Get().ByKind("cdi.kubevirt.io", "DataVolume");
  for (size_t count : {size_t{0}, size_t{1}, size_t{2500}}) {
    std::vector<json> objects = DataVolumes(count);
    for (const char* include : {"", "Metadata", "None", "Object"}) {
      SCOPED_TRACE(std::to_string(count) + " objects, includeObject=" + include);
      json expected = ToTable(kind, objects, "42", include);
      json text = json::parse(TableText(kind, objects, "42", include));
      // The AGE cells may differ by a second between the two renderings.
      for (json* table : {&expected, &text}) {
        for (json& row : (*table)["rows"]) row["cells"].back() = "age";
      }
      EXPECT_EQ(text, expected);
    }
  }
}

}  // namespace
}  // namespace vdisk::server
