#include "storage/pool_registry.h"

#include <gtest/gtest.h>

namespace vdisk::storage {
namespace {

TEST(PoolRegistryTest, ResolvesByNameWithOneOwnerEach) {
  PoolRegistry pools;
  ASSERT_TRUE(pools.Register({"default", "/tmp/default-pool", "vdisk", ""}).ok());
  ASSERT_TRUE(pools.Register({"fast", "/tmp/fast-pool", "HostPathProvisioner/a", "mounting"}).ok());
  EXPECT_EQ(pools.Find("")->path, "/tmp/default-pool");  // no legacy pool: the default one
  EXPECT_EQ(pools.Register({"fast", "/x", "HostPathProvisioner/b", ""}).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(pools.Open("fast").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(pools.Open("nope").status().code(), StatusCode::kNotFound);
  pools.Unregister("fast", "HostPathProvisioner/b");  // not b's: kept
  EXPECT_TRUE(pools.Find("fast").has_value());
  pools.Unregister("fast", "HostPathProvisioner/a");
  EXPECT_FALSE(pools.Find("fast").has_value());
  ASSERT_TRUE(pools.Register({"", "/tmp/legacy", "HostPathProvisioner/a", ""}).ok());
  EXPECT_EQ(pools.Find("")->path, "/tmp/legacy");
  EXPECT_EQ(pools.OwnedBy("HostPathProvisioner/a").size(), 1u);
}

}  // namespace
}  // namespace vdisk::storage
