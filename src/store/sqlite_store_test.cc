#include "store/sqlite_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

namespace vdisk::store {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vdisk-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen(SqliteStore::Options options = {}) {
    store_.reset();
    auto opened = SqliteStore::Open(dir_ / "store.db", options);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(opened).value();
  }
  Result<StoredObject> Create(const std::string& key, int value) {
    return store_->Apply(
        {Mutation::Op::kCreate, key, 0, {{"metadata", json::object()}, {"value", value}}});
  }

  std::filesystem::path dir_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(SqliteStoreTest, CreateStampsResourceVersionAndGetReadsIt) {
  auto created = Create("/a/x", 1);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->revision, 1);
  auto got = store_->Get("/a/x");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(json::parse(got->value)["metadata"]["resourceVersion"], "1");
  EXPECT_EQ(store_->Get("/a/missing").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Create("/a/x", 2).status().code(), StatusCode::kAlreadyExists);
}

TEST_F(SqliteStoreTest, StaleUpdateConflictsAndDeleteChecksRevision) {
  ASSERT_TRUE(Create("/a/x", 1).ok());
  json next = {{"metadata", json::object()}, {"value", 2}};
  ASSERT_TRUE(store_->Apply({Mutation::Op::kUpdate, "/a/x", 1, next}).ok());
  EXPECT_EQ(store_->Apply({Mutation::Op::kUpdate, "/a/x", 1, next}).status().code(),
            StatusCode::kConflict);
  EXPECT_EQ(store_->Apply({Mutation::Op::kDelete, "/a/x", 1, {}}).status().code(),
            StatusCode::kConflict);
  auto deleted = store_->Apply({Mutation::Op::kDelete, "/a/x", 2, {}});
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(json::parse(deleted->value)["value"], 2);
  EXPECT_EQ(store_->Get("/a/x").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Apply({Mutation::Op::kUpdate, "/a/x", 0, next}).status().code(),
            StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, ListReturnsOnlyThePrefixInKeyOrder) {
  for (const char* key : {"/a/2", "/a/1", "/ab/1", "/b/1"}) ASSERT_TRUE(Create(key, 0).ok());
  auto list = store_->List("/a/");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->items.size(), 2u);
  EXPECT_EQ(list->items[0].key, "/a/1");
  EXPECT_EQ(list->items[1].key, "/a/2");
  EXPECT_EQ(list->revision, 4);
}

TEST_F(SqliteStoreTest, WatchResumesFromARevision) {
  ASSERT_TRUE(Create("/a/1", 0).ok());
  ASSERT_TRUE(Create("/b/1", 0).ok());
  ASSERT_TRUE(Create("/a/2", 0).ok());
  auto watch = store_->WatchPrefix("/a/", 1);
  ASSERT_TRUE(watch.ok());
  auto first = (*watch)->Next(milliseconds(100));
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->key, "/a/2");
  EXPECT_EQ((*first)->type, WatchEvent::Type::kAdded);
  ASSERT_TRUE(store_->Apply({Mutation::Op::kDelete, "/a/1", 0, {}}).ok());
  auto second = (*watch)->Next(milliseconds(1000));
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((*second)->type, WatchEvent::Type::kDeleted);
  EXPECT_EQ(json::parse(*(*second)->value)["metadata"]["resourceVersion"], "4");
  auto none = (*watch)->Next(milliseconds(10));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(SqliteStoreTest, WatchFromATrimmedRevisionIsGone) {
  Reopen({.history_limit = 2, .watcher_queue_limit = 100});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Create("/a/" + std::to_string(i), i).ok());
  EXPECT_EQ(store_->WatchPrefix("/a/", 1).status().code(), StatusCode::kGone);
  EXPECT_TRUE(store_->WatchPrefix("/a/", 3).ok());
  EXPECT_TRUE(store_->WatchPrefix("/a/", 5).ok());
}

TEST_F(SqliteStoreTest, SlowWatcherGetsGoneInsteadOfUnboundedMemory) {
  Reopen({.history_limit = 100, .watcher_queue_limit = 3});
  auto watch = store_->WatchPrefix("/a/", 0);
  ASSERT_TRUE(watch.ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Create("/a/" + std::to_string(i), i).ok());
  EXPECT_EQ((*watch)->Next(milliseconds(10)).status().code(), StatusCode::kGone);
}

TEST_F(SqliteStoreTest, DataAndRevisionSurviveReopen) {
  ASSERT_TRUE(Create("/a/1", 7).ok());
  Reopen();
  auto got = store_->Get("/a/1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(json::parse(got->value)["value"], 7);
  EXPECT_EQ(store_->CurrentRevision(), 1);
  EXPECT_EQ(Create("/a/2", 0)->revision, 2);
}

// Concurrent read-modify-write cycles with optimistic concurrency lose no increment.
TEST_F(SqliteStoreTest, ConcurrentWritersNeverLoseAnUpdate) {
  ASSERT_TRUE(Create("/counter", 0).ok());
  constexpr int kThreads = 8, kIncrements = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        for (;;) {
          auto cur = store_->Get("/counter");
          json obj = json::parse(cur->value);
          obj["value"] = obj["value"].get<int>() + 1;
          auto r = store_->Apply({Mutation::Op::kUpdate, "/counter", cur->revision, obj});
          if (r.ok()) break;
          ASSERT_EQ(r.status().code(), StatusCode::kConflict);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(json::parse(store_->Get("/counter")->value)["value"], kThreads * kIncrements);
}

}  // namespace
}  // namespace vdisk::store
