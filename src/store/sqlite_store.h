// SqliteStore: the embedded Store, one SQLite database file in WAL mode.
//
// Writes go through one writer thread that commits whatever mutations are waiting in a single
// transaction (group commit): each caller waits until the transaction holding its mutation is
// fsynced (synchronous=FULL), so throughput grows with concurrency while every acknowledged
// write stays durable. Reads use a pool of read-only connections and never block the writer.
//
// Recent changes are kept in memory (`history_limit` events) so watches can resume from a
// resourceVersion; older revisions answer Gone, as etcd compaction makes kube-apiserver do.
//
// On-disk format (schema version 1):
//   objects(key TEXT PRIMARY KEY, revision INTEGER, value TEXT)   -- JSON documents
//   meta(name TEXT PRIMARY KEY, value INTEGER)                    -- "revision", "schema"
#pragma once

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <list>
#include <mutex>
#include <thread>

#include "store/store.h"

struct sqlite3;

namespace vdisk::store {

class SqliteStore final : public Store {
 public:
  struct Options {
    size_t history_limit = 10000;        // watch events kept for resuming
    size_t watcher_queue_limit = 10000;  // events a slow watcher may lag before it gets Gone
  };
  static Result<std::unique_ptr<SqliteStore>> Open(const std::filesystem::path& file,
                                                   Options options);
  static Result<std::unique_ptr<SqliteStore>> Open(const std::filesystem::path& file) {
    return Open(file, Options{});
  }
  ~SqliteStore() override;

  Result<StoredObject> Get(std::string_view key) override;
  Result<ListResult> List(std::string_view prefix) override;
  Result<StoredObject> Apply(Mutation mutation) override;
  Result<std::unique_ptr<Watch>> WatchPrefix(std::string prefix, int64_t from_revision) override;
  int64_t CurrentRevision() override;

 private:
  struct Pending;
  struct Watcher;
  class WatchHandle;
  class ReadConnection;

  SqliteStore(std::filesystem::path file, Options options);
  Status Initialize();
  void WriterLoop();
  // Applies one mutation inside the open write transaction; fills `result`/`event`.
  Status ApplyInTransaction(Mutation& mutation, int64_t revision, StoredObject& result,
                            WatchEvent& event);
  void Publish(std::vector<WatchEvent> events);
  void RemoveWatcher(Watcher* watcher);
  Result<sqlite3*> AcquireReader();
  void ReleaseReader(sqlite3* db);

  const std::filesystem::path file_;
  const Options options_;
  sqlite3* writer_db_ = nullptr;

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Pending*> queue_;
  bool stopping_ = false;
  std::thread writer_;

  std::mutex readers_mu_;
  std::vector<sqlite3*> idle_readers_;

  // Guards history_, watchers_ and revision_.
  std::mutex watch_mu_;
  std::deque<WatchEvent> history_;
  std::list<std::shared_ptr<Watcher>> watchers_;
  int64_t revision_ = 0;  // the last committed revision
};

}  // namespace vdisk::store
