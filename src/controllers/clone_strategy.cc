// ChooseCloneStrategy: see clone_strategy.h.
#include "controllers/clone_strategy.h"

namespace vdisk::controllers {

CloneStrategyChoice ChooseCloneStrategy(const CloneFacts& facts) {
  std::string wanted = facts.profile_strategy.empty() ? kCloneSnapshot : facts.profile_strategy;
  auto fallback = [](const char* reason, const char* message) {
    return CloneStrategyChoice{kCloneCopy, reason, message};
  };
  if (wanted != kCloneSnapshot && wanted != kCloneCsiClone) return {kCloneCopy, "", ""};
  if (wanted == kCloneSnapshot && !facts.snapshot_class_available) {
    return fallback("NoVolumeSnapshotClass", "No compatible volumesnapshotclass found");
  }
  if (facts.source_class != facts.target_class) {
    return fallback("IncompatibleStorageClasses",
                    "The storage classes of source and target differ");
  }
  if (facts.source_volume_mode != facts.target_volume_mode) {
    return fallback("IncompatibleVolumeModes",
                    "The volume modes of source and target are incompatible");
  }
  if (facts.target_request > facts.source_request && !facts.target_class_allows_expansion) {
    return fallback("NoVolumeExpansion", "No volume expansion is possible");
  }
  return {wanted, "", ""};
}

}  // namespace vdisk::controllers
