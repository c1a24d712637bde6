#include "store/sqlite_store.h"

#include <sqlite3.h>

#include <future>

namespace vdisk::store {
namespace {

// Most mutations a single write transaction takes; bounds commit latency under load.
constexpr size_t kMaxBatch = 1024;

Status SqlError(sqlite3* db, std::string_view what) {
  return Internal(std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string message = err ? err : "unknown error";
    sqlite3_free(err);
    return Internal(std::string("sqlite: ") + sql + ": " + message);
  }
  return Status::Ok();
}

// A prepared statement that finalizes itself.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return stmt_ != nullptr; }
  sqlite3_stmt* get() { return stmt_; }
  void Bind(int i, std::string_view text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  void Bind(int i, int64_t value) { sqlite3_bind_int64(stmt_, i, value); }
  int Step() { return sqlite3_step(stmt_); }
  std::string Text(int column) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return p ? std::string(p, sqlite3_column_bytes(stmt_, column)) : std::string();
  }
  int64_t Int(int column) { return sqlite3_column_int64(stmt_, column); }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// The first key after every key that starts with `prefix`.
std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  end.push_back('\xff');
  return end;
}

Result<sqlite3*> OpenConnection(const std::filesystem::path& file, bool read_only) {
  sqlite3* db = nullptr;
  int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
              SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(file.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    Status st = SqlError(db, "cannot open store " + file.string());
    sqlite3_close(db);
    return st;
  }
  sqlite3_busy_timeout(db, 10000);
  return db;
}

}  // namespace

// A mutation waiting for the writer thread, and the promise its caller waits on.
struct SqliteStore::Pending {
  Mutation mutation;
  std::promise<Result<StoredObject>> done;
};

struct SqliteStore::Watcher {
  std::string prefix;
  int64_t from_revision = 0;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<WatchEvent> events;
  bool overflowed = false;
};

class SqliteStore::WatchHandle final : public Watch {
 public:
  WatchHandle(SqliteStore* store, std::shared_ptr<Watcher> watcher)
      : store_(store), watcher_(std::move(watcher)) {}
  ~WatchHandle() override { store_->RemoveWatcher(watcher_.get()); }

  Result<std::optional<WatchEvent>> Next(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(watcher_->mu);
    watcher_->cv.wait_for(lock, timeout,
                          [&] { return !watcher_->events.empty() || watcher_->overflowed; });
    if (watcher_->overflowed) return Gone("watcher fell behind; list again");
    if (watcher_->events.empty()) return std::optional<WatchEvent>();
    WatchEvent event = std::move(watcher_->events.front());
    watcher_->events.pop_front();
    return std::optional<WatchEvent>(std::move(event));
  }

 private:
  SqliteStore* store_;
  std::shared_ptr<Watcher> watcher_;
};

SqliteStore::SqliteStore(std::filesystem::path file, Options options)
    : file_(std::move(file)), options_(options) {}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::filesystem::path& file,
                                                       Options options) {
  std::unique_ptr<SqliteStore> store(new SqliteStore(file, options));
  VDISK_RETURN_IF_ERROR(store->Initialize());
  store->writer_ = std::thread([s = store.get()] { s->WriterLoop(); });
  return store;
}

Status SqliteStore::Initialize() {
  VDISK_ASSIGN_OR_RETURN(writer_db_, OpenConnection(file_, /*read_only=*/false));
  VDISK_RETURN_IF_ERROR(Exec(writer_db_, "PRAGMA journal_mode=WAL"));
  VDISK_RETURN_IF_ERROR(Exec(writer_db_, "PRAGMA synchronous=FULL"));
  VDISK_RETURN_IF_ERROR(Exec(writer_db_,
                             "CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY, "
                             "revision INTEGER NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;"
                             "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, "
                             "value INTEGER NOT NULL);"
                             "INSERT OR IGNORE INTO meta VALUES ('schema', 1), ('revision', 0);"));
  Statement schema(writer_db_, "SELECT value FROM meta WHERE name = 'schema'");
  if (!schema.ok() || schema.Step() != SQLITE_ROW) return SqlError(writer_db_, "reading schema");
  if (schema.Int(0) != 1) {
    return Internal("store " + file_.string() + " has schema version " +
                    std::to_string(schema.Int(0)) + "; this vdisk reads version 1");
  }
  Statement rev(writer_db_, "SELECT value FROM meta WHERE name = 'revision'");
  if (!rev.ok() || rev.Step() != SQLITE_ROW) return SqlError(writer_db_, "reading revision");
  revision_ = rev.Int(0);
  return Status::Ok();
}

SqliteStore::~SqliteStore() {
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  for (sqlite3* db : idle_readers_) sqlite3_close(db);
  sqlite3_close(writer_db_);
}

Result<sqlite3*> SqliteStore::AcquireReader() {
  {
    std::lock_guard lock(readers_mu_);
    if (!idle_readers_.empty()) {
      sqlite3* db = idle_readers_.back();
      idle_readers_.pop_back();
      return db;
    }
  }
  return OpenConnection(file_, /*read_only=*/true);
}

void SqliteStore::ReleaseReader(sqlite3* db) {
  std::lock_guard lock(readers_mu_);
  idle_readers_.push_back(db);
}

Result<StoredObject> SqliteStore::Get(std::string_view key) {
  VDISK_ASSIGN_OR_RETURN(sqlite3 * db, AcquireReader());
  Result<StoredObject> result = NotFound("not found");
  {
    Statement stmt(db, "SELECT revision, value FROM objects WHERE key = ?");
    if (!stmt.ok()) {
      result = SqlError(db, "get");
    } else {
      stmt.Bind(1, key);
      int rc = stmt.Step();
      if (rc == SQLITE_ROW) {
        result = StoredObject{std::string(key), stmt.Int(0), stmt.Text(1)};
      } else if (rc != SQLITE_DONE) {
        result = SqlError(db, "get");
      }
    }
  }
  ReleaseReader(db);
  return result;
}

Result<Store::ListResult> SqliteStore::List(std::string_view prefix) {
  VDISK_ASSIGN_OR_RETURN(sqlite3 * db, AcquireReader());
  ListResult list;
  Status status;
  // One read transaction: the revision and the rows come from the same snapshot.
  status = Exec(db, "BEGIN");
  if (status.ok()) {
    Statement rev(db, "SELECT value FROM meta WHERE name = 'revision'");
    if (!rev.ok() || rev.Step() != SQLITE_ROW)
      status = SqlError(db, "list revision");
    else
      list.revision = rev.Int(0);
  }
  if (status.ok()) {
    Statement stmt(db,
                   "SELECT key, revision, value FROM objects WHERE key >= ? AND key < ? "
                   "ORDER BY key");
    stmt.Bind(1, prefix);
    stmt.Bind(2, PrefixEnd(prefix));
    int rc;
    while ((rc = stmt.Step()) == SQLITE_ROW) {
      list.items.push_back({stmt.Text(0), stmt.Int(1), stmt.Text(2)});
    }
    if (rc != SQLITE_DONE) status = SqlError(db, "list");
  }
  (void)Exec(db, "COMMIT");
  ReleaseReader(db);
  if (!status.ok()) return status;
  return list;
}

Result<StoredObject> SqliteStore::Apply(Mutation mutation) {
  Pending pending{std::move(mutation), {}};
  auto future = pending.done.get_future();
  {
    std::lock_guard lock(queue_mu_);
    if (stopping_) return Unavailable("store is shutting down");
    queue_.push_back(&pending);
  }
  queue_cv_.notify_one();
  return future.get();
}

int64_t SqliteStore::CurrentRevision() {
  std::lock_guard lock(watch_mu_);
  return revision_;
}

void SqliteStore::WriterLoop() {
  for (;;) {
    std::vector<Pending*> batch;
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to write
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
    }

    std::vector<Result<StoredObject>> results;
    std::vector<WatchEvent> events;
    int64_t revision = CurrentRevision();
    Status txn = Exec(writer_db_, "BEGIN IMMEDIATE");
    for (Pending* p : batch) {
      if (!txn.ok()) {
        results.push_back(txn);
        continue;
      }
      StoredObject stored;
      WatchEvent event;
      // A failed mutation rolls back only itself, through a savepoint.
      Status st = Exec(writer_db_, "SAVEPOINT m");
      if (st.ok()) st = ApplyInTransaction(p->mutation, revision + 1, stored, event);
      if (st.ok()) {
        ++revision;
        (void)Exec(writer_db_, "RELEASE m");
        results.push_back(std::move(stored));
        events.push_back(std::move(event));
      } else {
        (void)Exec(writer_db_, "ROLLBACK TO m; RELEASE m");
        results.push_back(st);
      }
    }
    if (txn.ok() && !events.empty()) {
      Statement rev(writer_db_, "UPDATE meta SET value = ? WHERE name = 'revision'");
      rev.Bind(1, revision);
      if (rev.Step() != SQLITE_DONE) txn = SqlError(writer_db_, "saving revision");
    }
    if (txn.ok()) txn = Exec(writer_db_, "COMMIT");
    if (!txn.ok()) {
      (void)Exec(writer_db_, "ROLLBACK");
      for (auto& r : results) {
        if (r.ok()) r = txn;
      }
      events.clear();
    }
    Publish(std::move(events));
    for (size_t i = 0; i < batch.size(); ++i) batch[i]->done.set_value(std::move(results[i]));
  }
}

Status SqliteStore::ApplyInTransaction(Mutation& m, int64_t revision, StoredObject& result,
                                       WatchEvent& event) {
  Statement current(writer_db_, "SELECT revision, value FROM objects WHERE key = ?");
  current.Bind(1, m.key);
  int rc = current.Step();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqlError(writer_db_, "read " + m.key);
  bool exists = rc == SQLITE_ROW;
  int64_t current_revision = exists ? current.Int(0) : 0;

  if (m.op == Mutation::Op::kCreate && exists) return AlreadyExists(m.key + " already exists");
  if (m.op != Mutation::Op::kCreate) {
    if (!exists) return NotFound(m.key + " not found");
    if (m.expected_revision != 0 && m.expected_revision != current_revision) {
      return Conflict(
          "the object has been modified; please apply your changes to the latest "
          "version and try again");
    }
  }

  result.key = m.key;
  result.revision = revision;
  if (m.op == Mutation::Op::kDelete) {
    nlohmann::json last = nlohmann::json::parse(current.Text(1), nullptr, false);
    if (last.is_object()) last["metadata"]["resourceVersion"] = std::to_string(revision);
    result.value = last.dump();
    Statement del(writer_db_, "DELETE FROM objects WHERE key = ?");
    del.Bind(1, m.key);
    if (del.Step() != SQLITE_DONE) return SqlError(writer_db_, "delete " + m.key);
    event.type = WatchEvent::Type::kDeleted;
  } else {
    m.object["metadata"]["resourceVersion"] = std::to_string(revision);
    result.value = m.object.dump();
    Statement put(writer_db_,
                  "INSERT INTO objects (key, revision, value) VALUES (?, ?, ?) "
                  "ON CONFLICT(key) DO UPDATE SET revision = excluded.revision, "
                  "value = excluded.value");
    put.Bind(1, m.key);
    put.Bind(2, revision);
    put.Bind(3, result.value);
    if (put.Step() != SQLITE_DONE) return SqlError(writer_db_, "write " + m.key);
    event.type = exists ? WatchEvent::Type::kModified : WatchEvent::Type::kAdded;
  }
  event.key = m.key;
  event.revision = revision;
  event.value = std::make_shared<const std::string>(result.value);
  return Status::Ok();
}

void SqliteStore::Publish(std::vector<WatchEvent> events) {
  std::lock_guard lock(watch_mu_);
  for (auto& event : events) {
    revision_ = event.revision;
    for (auto& w : watchers_) {
      if (event.key.compare(0, w->prefix.size(), w->prefix) != 0) continue;
      if (event.revision <= w->from_revision) continue;
      std::lock_guard wlock(w->mu);
      if (w->overflowed) continue;
      if (w->events.size() >= options_.watcher_queue_limit) {
        w->overflowed = true;
        w->events.clear();
      } else {
        w->events.push_back(event);
      }
      w->cv.notify_one();
    }
    history_.push_back(std::move(event));
    if (history_.size() > options_.history_limit) history_.pop_front();
  }
}

Result<std::unique_ptr<Watch>> SqliteStore::WatchPrefix(std::string prefix, int64_t from_revision) {
  auto watcher = std::make_shared<Watcher>();
  watcher->prefix = std::move(prefix);
  watcher->from_revision = from_revision;
  std::lock_guard lock(watch_mu_);
  // The history must reach back to the first event the watcher needs. Events up to revision_
  // are all in history_ unless trimmed; from_revision == revision_ needs none of them.
  int64_t oldest_kept = history_.empty() ? revision_ + 1 : history_.front().revision;
  if (from_revision < revision_ && from_revision + 1 < oldest_kept) {
    return Gone("too old resource version: " + std::to_string(from_revision) + " (" +
                std::to_string(oldest_kept - 1) + ")");
  }
  for (const auto& event : history_) {
    if (event.revision > from_revision &&
        event.key.compare(0, watcher->prefix.size(), watcher->prefix) == 0) {
      watcher->events.push_back(event);
    }
  }
  watchers_.push_back(watcher);
  return std::unique_ptr<Watch>(new WatchHandle(this, std::move(watcher)));
}

void SqliteStore::RemoveWatcher(Watcher* watcher) {
  std::lock_guard lock(watch_mu_);
  watchers_.remove_if([&](const auto& w) { return w.get() == watcher; });
}

}  // namespace vdisk::store
