// ChooseCloneStrategy: the profile's strategy when its preconditions hold, else copy with the
// reason CDI gives.
#include "controllers/clone_strategy.h"

#include <gtest/gtest.h>

namespace vdisk::controllers {
namespace {

CloneFacts SmartCloneable() {
  CloneFacts facts;
  facts.source_class = facts.target_class = "hostpath-xfs";
  facts.source_volume_mode = facts.target_volume_mode = "Filesystem";
  facts.snapshot_class_available = true;
  facts.source_request = facts.target_request = int64_t{1} << 30;
  return facts;
}

TEST(ChooseCloneStrategyTest, NoProfileStrategyMeansSnapshot) {
  CloneStrategyChoice choice = ChooseCloneStrategy(SmartCloneable());
  EXPECT_EQ(choice.strategy, "snapshot");
  EXPECT_EQ(choice.fallback_reason, "");
}

TEST(ChooseCloneStrategyTest, ProfileStrategyIsUsedWhenPossible) {
  CloneFacts facts = SmartCloneable();
  facts.profile_strategy = "csi-clone";
  EXPECT_EQ(ChooseCloneStrategy(facts).strategy, "csi-clone");
  facts.profile_strategy = "copy";
  CloneStrategyChoice copy = ChooseCloneStrategy(facts);
  EXPECT_EQ(copy.strategy, "copy");
  EXPECT_EQ(copy.fallback_reason, "") << "copy asked for is no fallback";
}

TEST(ChooseCloneStrategyTest, SnapshotWithoutSnapshotClassFallsBack) {
  CloneFacts facts = SmartCloneable();
  facts.snapshot_class_available = false;
  CloneStrategyChoice choice = ChooseCloneStrategy(facts);
  EXPECT_EQ(choice.strategy, "copy");
  EXPECT_EQ(choice.fallback_reason, "NoVolumeSnapshotClass");
  EXPECT_EQ(choice.fallback_message, "No compatible volumesnapshotclass found");
  facts.profile_strategy = "csi-clone";  // needs no snapshot class
  EXPECT_EQ(ChooseCloneStrategy(facts).strategy, "csi-clone");
}

TEST(ChooseCloneStrategyTest, DifferentClassesFallBack) {
  CloneFacts facts = SmartCloneable();
  facts.target_class = "hostpath-other";
  CloneStrategyChoice choice = ChooseCloneStrategy(facts);
  EXPECT_EQ(choice.strategy, "copy");
  EXPECT_EQ(choice.fallback_reason, "IncompatibleStorageClasses");
}

TEST(ChooseCloneStrategyTest, DifferentVolumeModesFallBack) {
  for (const char* strategy : {"snapshot", "csi-clone"}) {
    CloneFacts facts = SmartCloneable();
    facts.profile_strategy = strategy;
    facts.target_volume_mode = "Block";
    CloneStrategyChoice choice = ChooseCloneStrategy(facts);
    EXPECT_EQ(choice.strategy, "copy") << strategy;
    EXPECT_EQ(choice.fallback_reason, "IncompatibleVolumeModes") << strategy;
    EXPECT_EQ(choice.fallback_message, "The volume modes of source and target are incompatible");
  }
}

TEST(ChooseCloneStrategyTest, LargerTargetNeedsExpansion) {
  CloneFacts facts = SmartCloneable();
  facts.target_request = facts.source_request * 2;
  CloneStrategyChoice choice = ChooseCloneStrategy(facts);
  EXPECT_EQ(choice.strategy, "copy");
  EXPECT_EQ(choice.fallback_reason, "NoVolumeExpansion");
  EXPECT_EQ(choice.fallback_message, "No volume expansion is possible");
  facts.target_class_allows_expansion = true;
  EXPECT_EQ(ChooseCloneStrategy(facts).strategy, "snapshot");
}

TEST(ChooseCloneStrategyTest, UnknownStrategyIsCopy) {
  CloneFacts facts = SmartCloneable();
  facts.profile_strategy = "teleport";
  EXPECT_EQ(ChooseCloneStrategy(facts).strategy, "copy");
}

}  // namespace
}  // namespace vdisk::controllers
