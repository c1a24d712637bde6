// What the DataVolume controller's source files (datavolume_controller.cc for claims, blank,
// import and upload; datavolume_clone.cc for clones) share: status building blocks and the
// clone helpers the common code calls.
#pragma once

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "controllers/controller.h"

namespace vdisk::controllers::datavolume {

inline constexpr std::chrono::milliseconds kPopulateRetry(10'000);
inline constexpr std::chrono::milliseconds kProgressInterval(1'000);
// A clone waiting for its source (or its temporary snapshot) looks again this soon; the
// watches usually wake it first.
inline constexpr std::chrono::milliseconds kCloneWait(2'000);

inline const api::Kind& DvKind() { return KindOf("cdi.kubevirt.io", "DataVolume"); }
inline const api::Kind& PvcKind() { return KindOf("", "PersistentVolumeClaim"); }

inline std::string Phase(const json& object) {
  return Str(Field(Field(object, "status"), "phase"));
}

inline json Condition(const char* type, bool status, const std::string& reason,
                      const std::string& message) {
  return {{"type", type},
          {"status", status ? "True" : "False"},
          {"reason", reason},
          {"message", message}};
}

inline json Conditions(json bound, json running, json ready) {
  return json::array({std::move(bound), std::move(running), std::move(ready)});
}

// "NN.NN%", or "N/A" while unknown.
inline std::string PercentText(std::optional<double> percent) {
  if (!percent) return "N/A";
  char text[16];
  std::snprintf(text, sizeof text, "%.2f%%", *percent);
  return text;
}

// Whether the DataVolume clones a claim (`source.pvc`) or a VolumeSnapshot (`source.snapshot`).
bool IsClone(const json& dv);
// The DataVolume a smart clone's temporary VolumeSnapshot works for (a watch mapping).
std::vector<ObjectKey> CloneTargetOf(const json& snapshot);

}  // namespace vdisk::controllers::datavolume
