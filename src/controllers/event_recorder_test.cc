// Tests for EventRecorder (event_recorder.h): repeats fold into one Event per series.
#include "controllers/event_recorder.h"

#include <gtest/gtest.h>

#include "controllers/storage_test_env.h"

namespace vdisk::controllers {
namespace {

class EventRecorderTest : public ControllerTestEnv {
 protected:
  std::vector<json> EventsOf(const std::string& name) {
    auto listed = objects_->List(KindOf("", "Event"), "default", {});
    std::vector<json> events;
    if (!listed.ok()) return events;
    for (const json& event : listed->items) {
      if (event["involvedObject"].value("name", "") == name) events.push_back(event);
    }
    return events;
  }
  static json Claim(const std::string& name, const std::string& uid) {
    return {{"apiVersion", "v1"},
            {"kind", "PersistentVolumeClaim"},
            {"metadata", {{"name", name}, {"namespace", "default"}, {"uid", uid}}}};
  }
};

TEST_F(EventRecorderTest, RepeatsFoldIntoOneEventPerReason) {
  EventRecorder recorder(*objects_, "test-controller");
  json claim = Claim("c1", "uid-1");
  for (int i = 0; i < 50; ++i) {
    recorder.Record(claim, "Warning", "ProvisioningFailed", "pool full: " + std::to_string(i));
  }
  recorder.Record(claim, "Normal", "Provisioning", "trying again");
  std::vector<json> events = EventsOf("c1");
  ASSERT_EQ(events.size(), 2u);
  for (const json& event : events) {
    EXPECT_EQ(event["count"], 1);  // repeats within 30 s are counted, not yet written
    EXPECT_TRUE(event.contains("firstTimestamp") && event.contains("lastTimestamp"));
    if (event["reason"] == "ProvisioningFailed") {
      EXPECT_EQ(event["message"], "pool full: 0");
    }
  }
  // Another object with the same reason is its own series.
  recorder.Record(Claim("c2", "uid-2"), "Warning", "ProvisioningFailed", "pool full");
  EXPECT_EQ(EventsOf("c2").size(), 1u);
}

}  // namespace
}  // namespace vdisk::controllers
