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

// Blanks the AGE cells, which may differ by a second between two renderings.
json WithoutAges(json table) {
  for (json& row : table["rows"]) row["cells"].back() = "age";
  return table;
}

TEST(TableRowCache, RendersWhatTableTextRendersAndFollowsRevisions) {
  const api::Kind& kind = *api::KindRegistry::Get().ByKind("cdi.kubevirt.io", "DataVolume");
  std::vector<json> objects = DataVolumes(2500);
  std::vector<store::StoredObject> items;
  for (size_t i = 0; i < objects.size(); ++i) {
    items.push_back({"/dv/ns/dv-" + std::to_string(i), 7, objects[i].dump()});
  }
  TableRowCache cache;
  for (const char* include : {"", "None", "Object"}) {
    SCOPED_TRACE(include);
    json expected = WithoutAges(json::parse(TableText(kind, objects, "9", include)));
    for (int pass = 0; pass < 2; ++pass) {  // the second pass comes from the cache
      auto text = cache.Render(kind, items, "9", include);
      ASSERT_TRUE(text.ok()) << text.status().message();
      EXPECT_EQ(WithoutAges(json::parse(*text)), expected);
    }
  }
  // A new revision of an object is rendered anew.
  objects[5]["status"] = {{"phase", "Failed"}};
  items[5] = {items[5].key, 8, objects[5].dump()};
  auto text = cache.Render(kind, items, "10", "");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(json::parse(*text)["rows"][5]["cells"][1], "Failed");
  // A corrupt stored object is an error, not a crash.
  items[3].value = "{not json";
  items[3].revision = 9;
  EXPECT_FALSE(cache.Render(kind, items, "11", "").ok());
}

}  // namespace
}  // namespace vdisk::server
