// How a DataVolume clone moves its bytes, chosen the way upstream CDI's clone planner chooses:
//
//   strategy = the target class's StorageProfile cloneStrategy (spec over status), "snapshot"
//              when the profile names none
//   snapshot   needs a VolumeSnapshotClass for the class  ─ else copy, NoVolumeSnapshotClass
//   snapshot,  need the same storage class                ─ else copy, IncompatibleStorageClasses
//   csi-clone  the same volume mode                       ─ else copy, IncompatibleVolumeModes
//              expansion allowed when the target is larger ─ else copy, NoVolumeExpansion
//   copy       host-assisted: the node copies the bytes (sparse)
//
// A fallback is recorded on the target claim (cdi.kubevirt.io/cloneFallbackReason) and in a
// Warning event whose reason is the fallback's.
#pragma once

#include <cstdint>
#include <string>

namespace vdisk::controllers {

inline constexpr const char* kCloneSnapshot = "snapshot";
inline constexpr const char* kCloneCsiClone = "csi-clone";
inline constexpr const char* kCloneCopy = "copy";

// Target claim annotations, as CDI names them.
inline constexpr const char* kAnnCloneType = "cdi.kubevirt.io/cloneType";
inline constexpr const char* kAnnCloneFallbackReason = "cdi.kubevirt.io/cloneFallbackReason";

// What the choice depends on, read from the source claim, the rendered target claim, the
// target class and its profile.
struct CloneFacts {
  std::string profile_strategy;  // EffectiveCloneStrategy of the target class's profile
  std::string source_class;
  std::string target_class;
  std::string source_volume_mode;  // Filesystem or Block
  std::string target_volume_mode;
  bool snapshot_class_available = false;  // a VolumeSnapshotClass serves the target class
  int64_t source_request = 0;             // bytes
  int64_t target_request = 0;
  bool target_class_allows_expansion = false;
};

struct CloneStrategyChoice {
  std::string strategy;         // kCloneSnapshot, kCloneCsiClone or kCloneCopy
  std::string fallback_reason;  // event reason when the profile's strategy could not be used
  std::string fallback_message;
};

CloneStrategyChoice ChooseCloneStrategy(const CloneFacts& facts);

// CDI's message for a clone target smaller than its source.
inline constexpr const char* kMessageTargetTooSmall =
    "target resources requests storage size is smaller than the source";

}  // namespace vdisk::controllers
