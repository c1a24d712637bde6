// Tests of UploadRegistry: offers, uploads into them, populated claims, and letting go.
#include "upload/registry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace vdisk::upload {
namespace {

using Phase = UploadState::Phase;

const ClaimKey kClaim{"default", "disk"};

dataplane::ImportTarget Target() {
  dataplane::ImportTarget target;
  target.path = "/nonexistent/disk.img";
  target.usable_size = 1 << 20;
  return target;
}

TEST(UploadRegistryTest, AnUploadThatFailsLeavesTheClaimReadyForAnother) {
  UploadRegistry registry;
  registry.Offer(kClaim, "uid-1", Target(), "DataVolume");
  ASSERT_EQ(registry.State(kClaim, "uid-1")->phase, Phase::kReady);

  auto first = registry.Begin(kClaim);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(registry.State(kClaim, "uid-1")->phase, Phase::kUploading);
  EXPECT_EQ(registry.Begin(kClaim).status().code(), StatusCode::kUnavailable);  // one at a time
  (*first)->Finish(InvalidArgument("A larger PVC is required"));

  auto state = registry.State(kClaim, "uid-1");
  EXPECT_EQ(state->phase, Phase::kReady);
  EXPECT_EQ(state->failures, 1);
  EXPECT_EQ(state->last_error, "A larger PVC is required");

  auto second = registry.Begin(kClaim);
  ASSERT_TRUE(second.ok());
  (*second)->Finish(dataplane::ImportResult{});
  EXPECT_EQ(registry.State(kClaim, "uid-1")->phase, Phase::kSucceeded);
  EXPECT_EQ(registry.Begin(kClaim).status().code(), StatusCode::kConflict);
}

TEST(UploadRegistryTest, ADroppedLeaseCountsAsAFailedUpload) {
  UploadRegistry registry;
  registry.Offer(kClaim, "uid-1", Target(), "DataVolume");
  registry.Begin(kClaim).value().reset();
  auto state = registry.State(kClaim, "uid-1");
  EXPECT_EQ(state->phase, Phase::kReady);
  EXPECT_EQ(state->failures, 1);
}

TEST(UploadRegistryTest, AMarkedDoneClaimIsWithdrawnByTheControllerThatMarkedIt) {
  UploadRegistry registry;
  registry.MarkDone(kClaim, "uid-1", "DataVolume");
  EXPECT_EQ(registry.State(kClaim, "uid-1")->phase, Phase::kSucceeded);
  EXPECT_EQ(registry.Begin(kClaim).status().code(), StatusCode::kConflict);

  registry.Withdraw(kClaim, "PersistentVolumeClaim");  // not its claim: nothing changes
  EXPECT_TRUE(registry.State(kClaim, "uid-1").has_value());

  registry.Withdraw(kClaim, "DataVolume");
  EXPECT_FALSE(registry.State(kClaim, "uid-1").has_value());
  EXPECT_EQ(registry.Begin(kClaim).status().code(), StatusCode::kUnavailable);
}

TEST(UploadRegistryTest, MarkingANewClaimDoneStopsAnUploadIntoTheOldOne) {
  UploadRegistry registry;
  registry.Offer(kClaim, "uid-old", Target(), "DataVolume");
  auto lease = registry.Begin(kClaim);
  ASSERT_TRUE(lease.ok());
  registry.MarkDone(kClaim, "uid-new", "DataVolume");
  EXPECT_TRUE((*lease)->stop().stop_requested());
  (*lease)->Finish(Cancelled());  // the old upload's end does not touch the new claim
  EXPECT_EQ(registry.State(kClaim, "uid-new")->phase, Phase::kSucceeded);
  EXPECT_FALSE(registry.State(kClaim, "uid-old").has_value());
}

TEST(UploadRegistryTest, WithdrawStopsARunningUploadAndWaitsForIt) {
  UploadRegistry registry;
  registry.Offer(kClaim, "uid-1", Target(), "PersistentVolumeClaim");
  auto lease = registry.Begin(kClaim);
  ASSERT_TRUE(lease.ok());
  std::atomic<bool> withdrawn = false;
  std::thread withdraw([&] {
    registry.Withdraw(kClaim, "PersistentVolumeClaim");
    withdrawn = true;
  });
  while (!(*lease)->stop().stop_requested()) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(withdrawn.load());  // still waiting for the upload to let go
  (*lease)->Finish(Cancelled());
  withdraw.join();
  EXPECT_FALSE(registry.State(kClaim, "uid-1").has_value());
}

}  // namespace
}  // namespace vdisk::upload
