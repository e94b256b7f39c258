#include "store/sqlite_store.hpp"

#include "store/sqlite_retention_sql.hpp"

#include <pthread.h>
#include <sqlite3.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

namespace circle::store {
namespace {

// Each entry moves the schema from version i to i + 1. Never edit one that
// has shipped: add the next instead.
constexpr const char* kMigrations[] = {
    // 1: rooms, their events, the audit log.
    "CREATE TABLE rooms (room_id TEXT PRIMARY KEY, state BLOB NOT NULL,"
    "  retention_days INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE events (room_id TEXT NOT NULL, seq INTEGER NOT NULL,"
    "  time_ms INTEGER NOT NULL, sender_account TEXT NOT NULL DEFAULT '',"
    "  client_message_id TEXT NOT NULL DEFAULT '', event BLOB NOT NULL,"
    "  PRIMARY KEY (room_id, seq)) WITHOUT ROWID;"
    "CREATE TABLE audit (id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL,"
    "  room_id TEXT NOT NULL, entry TEXT NOT NULL);",
    // 2: a retried send finds its original; retention deletes by time; a
    // room remembers its last seq even when retention deleted its history,
    // so that seq never goes back.
    "CREATE UNIQUE INDEX events_sent ON events (room_id, sender_account, client_message_id)"
    "  WHERE client_message_id <> '';"
    "CREATE INDEX events_time ON events (time_ms);"
    "ALTER TABLE rooms ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;"
    "UPDATE rooms SET last_seq = COALESCE("
    "  (SELECT MAX(seq) FROM events WHERE events.room_id = rooms.room_id), 0);",
    // 3: events in the order they are stored, found by (room_id, seq)
    // through an index. Keyed by room, every message of a busy server went
    // into the middle of the table (one place per room), rewriting a whole
    // page of ~16 events each time; appended in order, the full rows go to
    // the table's end and only the small index entries go in the middle
    // (about 2x less work per stored message; bench/micro's
    // BM_StoreGroupCommit).
    "CREATE TABLE events_v3 (id INTEGER PRIMARY KEY, room_id TEXT NOT NULL,"
    "  seq INTEGER NOT NULL, time_ms INTEGER NOT NULL,"
    "  sender_account TEXT NOT NULL DEFAULT '', client_message_id TEXT NOT NULL DEFAULT '',"
    "  event BLOB NOT NULL);"
    "INSERT INTO events_v3 (room_id, seq, time_ms, sender_account, client_message_id, event)"
    "  SELECT room_id, seq, time_ms, sender_account, client_message_id, event FROM events"
    "  ORDER BY time_ms, room_id, seq;"
    "DROP TABLE events;"
    "ALTER TABLE events_v3 RENAME TO events;"
    "CREATE UNIQUE INDEX events_room_seq ON events (room_id, seq);"
    "CREATE UNIQUE INDEX events_sent ON events (room_id, sender_account, client_message_id)"
    "  WHERE client_message_id <> '';"
    "CREATE INDEX events_time ON events (time_ms);",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

// The WAL is copied back into the database once it holds this many pages
// (SQLite's default: 1,000). Messages of many rooms rewrite the same index
// pages commit after commit; a longer WAL copies each of them back once
// instead of many times (the WAL file grows to ~40 MiB and is reused). The
// copy runs on the writer; bench/soak shows it within the latency targets.
constexpr int kCheckpointPages = 10'000;

// The retention sweep deletes at most this many events per group commit, and
// goes on in the next group: the writer never stops acknowledging messages
// for longer than one such chunk takes (a few ms), however much expired at
// once. bench/micro's BM_RetentionSweep (/1) measures one.
constexpr std::int64_t kSweepChunk = 100;

class Database {
 public:
  Database(const std::string& path, int busy_timeout_ms) {
    if (sqlite3_open_v2(path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw std::runtime_error("cannot open " + path + ": " + message);
    }
    sqlite3_busy_timeout(db_, busy_timeout_ms);
  }
  ~Database() { sqlite3_close(db_); }
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  sqlite3* get() const { return db_; }
  std::string error() const { return sqlite3_errmsg(db_); }

  // Runs SQL without results; false (see error()) when it fails.
  bool exec(const std::string& sql) {
    return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  void exec_or_throw(const std::string& sql) {
    if (!exec(sql)) throw std::runtime_error(error());
  }
  int user_version() { return pragma("user_version", 0); }
  // The value of an integer PRAGMA, or `otherwise` when it has none.
  int pragma(const std::string& name, int otherwise) {
    sqlite3_stmt* statement = nullptr;
    sqlite3_prepare_v2(db_, ("PRAGMA " + name).c_str(), -1, &statement, nullptr);
    const int value =
        sqlite3_step(statement) == SQLITE_ROW ? sqlite3_column_int(statement, 0) : otherwise;
    sqlite3_finalize(statement);
    return value;
  }

 private:
  sqlite3* db_ = nullptr;
};

// A prepared statement, reset for reuse. Bound text and blobs are not
// copied: they must outlive the statement's steps (until the next reset).
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &statement_, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string("prepare: ") + sqlite3_errmsg(db));
    }
  }
  ~Statement() { sqlite3_finalize(statement_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, const std::string& text) {
    sqlite3_bind_text(statement_, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
    return *this;
  }
  Statement& bind_blob(int index, const std::string& bytes) {
    sqlite3_bind_blob(statement_, index, bytes.data(), static_cast<int>(bytes.size()),
                      SQLITE_STATIC);
    return *this;
  }
  Statement& bind(int index, std::int64_t value) {
    sqlite3_bind_int64(statement_, index, value);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(statement_); }
  void reset() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
  std::int64_t integer(int column) const { return sqlite3_column_int64(statement_, column); }
  std::string text(int column) const {
    const auto* bytes = static_cast<const char*>(sqlite3_column_blob(statement_, column));
    return bytes ? std::string(bytes,
                               static_cast<std::size_t>(sqlite3_column_bytes(statement_, column)))
                 : std::string();
  }

 private:
  sqlite3_stmt* statement_ = nullptr;
};

void migrate(Database& db, int target) {
  for (int version = db.user_version(); version < target; ++version) {
    db.exec_or_throw("BEGIN IMMEDIATE");
    if (!db.exec(kMigrations[version]) ||
        !db.exec("PRAGMA user_version = " + std::to_string(version + 1))) {
      const std::string message = db.error();
      db.exec("ROLLBACK");
      throw std::runtime_error("migration to schema version " + std::to_string(version + 1) +
                               " failed: " + message);
    }
    db.exec_or_throw("COMMIT");
  }
}

EventRecord read_event(const Statement& row) {
  return EventRecord{.room_id = row.text(0),
                     .seq = static_cast<std::uint64_t>(row.integer(1)),
                     .time_ms = row.integer(2),
                     .sender_account = row.text(3),
                     .client_message_id = row.text(4),
                     .event = row.text(5)};
}

// A row of SELECT room_id, state, retention_days.
RoomRecord read_room(const Statement& row) {
  return RoomRecord{.room_id = row.text(0),
                    .state = row.text(1),
                    .retention_days = static_cast<std::uint32_t>(row.integer(2))};
}

class SqliteStore final : public Store {
 public:
  SqliteStore(const std::string& path, const SqliteOptions& options)
      : writer_db_(path, options.busy_timeout_ms),
        reader_db_(path, options.busy_timeout_ms),
        run_completions_(options.run_completions),
        min_commit_interval_(options.min_commit_interval) {
    writer_db_.exec_or_throw("PRAGMA journal_mode = WAL");
    writer_db_.exec_or_throw("PRAGMA wal_autocheckpoint = " + std::to_string(kCheckpointPages));
    // Redacted and expired text is overwritten, not just unlinked.
    writer_db_.exec_or_throw("PRAGMA secure_delete = ON");
    writer_db_.exec_or_throw("PRAGMA cache_size = -" + std::to_string(options.cache_mib * 1024));
    writer_db_.exec_or_throw("PRAGMA synchronous = " +
                             std::string(options.synchronous == "normal" ? "NORMAL" : "FULL"));
    const int version = writer_db_.user_version();
    if (version > kSchemaVersion) {
      throw std::runtime_error("the database has schema version " + std::to_string(version) +
                               ", newer than this circled understands (" +
                               std::to_string(kSchemaVersion) + ")");
    }
    migrate(writer_db_, kSchemaVersion);
    // After migrating: a migration may need room the cap would not give it.
    if (options.max_mib > 0) {
      const auto page_size = static_cast<std::size_t>(writer_db_.pragma("page_size", 4096));
      writer_db_.exec_or_throw("PRAGMA max_page_count = " +
                               std::to_string(options.max_mib * 1024 * 1024 / page_size));
    }
    insert_event_ = std::make_unique<Statement>(
        writer_db_.get(),
        "INSERT INTO events (room_id, seq, time_ms, sender_account, client_message_id, event)"
        " VALUES (?, ?, ?, ?, ?, ?)");
    upsert_room_ = std::make_unique<Statement>(
        writer_db_.get(),
        "INSERT INTO rooms (room_id, state, retention_days) VALUES (?, ?, ?)"
        " ON CONFLICT (room_id) DO UPDATE SET state = excluded.state,"
        " retention_days = excluded.retention_days");
    redact_event_ = std::make_unique<Statement>(
        writer_db_.get(), "UPDATE events SET event = ? WHERE room_id = ? AND seq = ?");
    insert_audit_ = std::make_unique<Statement>(
        writer_db_.get(), "INSERT INTO audit (time_ms, room_id, entry) VALUES (?, ?, ?)");
    savepoint_ = std::make_unique<Statement>(writer_db_.get(), "SAVEPOINT batch");
    release_ = std::make_unique<Statement>(writer_db_.get(), "RELEASE batch");
    rollback_to_ = std::make_unique<Statement>(writer_db_.get(), "ROLLBACK TO batch");
    writer_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "circle-store");  // for top -H and perf
      write_loop();
    });
  }

  ~SqliteStore() override { close(); }

  void write(WriteBatch batch, WriteDone done) override {
    {
      std::lock_guard lock(queue_mutex_);
      if (!stopping_) {
        queue_.push_back(Pending{std::move(batch), std::move(done), {}});
        wake_writer();
        return;
      }
    }
    done(Status{false, "store: closed"});
  }

  std::vector<RoomRecord> load_rooms() override {
    std::lock_guard lock(reader_mutex_);
    Statement select(reader_db_.get(),
                     "SELECT room_id, state, retention_days FROM rooms ORDER BY room_id");
    std::vector<RoomRecord> rooms;
    while (select.step() == SQLITE_ROW) rooms.push_back(read_room(select));
    return rooms;
  }

  std::optional<RoomRecord> load_room(const std::string& room_id) override {
    std::lock_guard lock(reader_mutex_);
    Statement select(reader_db_.get(),
                     "SELECT room_id, state, retention_days FROM rooms WHERE room_id = ?");
    select.bind(1, room_id);
    if (select.step() != SQLITE_ROW) return std::nullopt;
    return read_room(select);
  }

  std::vector<EventRecord> load_events(const std::string& room_id, std::uint64_t after_seq,
                                       std::size_t limit) override {
    std::lock_guard lock(reader_mutex_);
    Statement select(reader_db_.get(),
                     "SELECT room_id, seq, time_ms, sender_account, client_message_id, event"
                     " FROM events WHERE room_id = ? AND seq > ? ORDER BY seq LIMIT ?");
    select.bind(1, room_id)
        .bind(2, static_cast<std::int64_t>(after_seq))
        .bind(3, static_cast<std::int64_t>(limit));
    std::vector<EventRecord> events;
    while (select.step() == SQLITE_ROW) events.push_back(read_event(select));
    return events;
  }

  std::vector<AuditRecord> load_audit(const std::string& room_id, std::size_t limit) override {
    std::lock_guard lock(reader_mutex_);
    Statement select(reader_db_.get(),
                     "SELECT time_ms, room_id, entry FROM (SELECT id, time_ms, room_id, entry"
                     " FROM audit WHERE ?1 = '' OR room_id = ?1 ORDER BY id DESC LIMIT ?2)"
                     " ORDER BY id");
    select.bind(1, room_id).bind(2, static_cast<std::int64_t>(limit));
    std::vector<AuditRecord> entries;
    while (select.step() == SQLITE_ROW) {
      entries.push_back(AuditRecord{
          .time_ms = select.integer(0), .room_id = select.text(1), .json = select.text(2)});
    }
    return entries;
  }

  std::uint64_t last_seq(const std::string& room_id) override {
    std::lock_guard lock(reader_mutex_);
    Statement select(reader_db_.get(),
                     "SELECT MAX(COALESCE((SELECT last_seq FROM rooms WHERE room_id = ?1), 0),"
                     " COALESCE((SELECT MAX(seq) FROM events WHERE room_id = ?1), 0))");
    select.bind(1, room_id);
    return select.step() == SQLITE_ROW ? static_cast<std::uint64_t>(select.integer(0)) : 0;
  }

  std::optional<EventRecord> find_sent(const std::string& room_id,
                                       const std::string& sender_account,
                                       const std::string& client_message_id) override {
    if (client_message_id.empty()) return std::nullopt;
    std::lock_guard lock(reader_mutex_);
    Statement select(reader_db_.get(),
                     "SELECT room_id, seq, time_ms, sender_account, client_message_id, event"
                     " FROM events WHERE room_id = ? AND sender_account = ?"
                     " AND client_message_id = ?");
    select.bind(1, room_id).bind(2, sender_account).bind(3, client_message_id);
    if (select.step() != SQLITE_ROW) return std::nullopt;
    return read_event(select);
  }

  void expire(std::int64_t now_ms, std::int64_t reconnect_window_ms,
              std::function<void(std::size_t)> done) override {
    // Counted inside the transactions, answered once the last has committed
    // (if one fails, with what the committed ones deleted).
    auto count = std::make_shared<std::size_t>(0);
    auto this_part = std::make_shared<std::size_t>(0);
    // The rooms written when the sweep last recorded the last seqs: a room
    // whose retention changed since may now lose its newest event.
    auto recorded_at = std::make_shared<std::optional<std::uint64_t>>();
    {
      std::lock_guard lock(queue_mutex_);
      if (!stopping_) {
        queue_.push_back(
            Pending{{},
                    [done, count, this_part](const Status& status) {
                      done(status.ok ? *count : *count - *this_part);
                    },
                    [this, count, this_part, recorded_at, now_ms, reconnect_window_ms] {
                      if (*recorded_at != rooms_written_) {
                        keep_last_seq_of_expiring(now_ms, reconnect_window_ms);
                        *recorded_at = rooms_written_;
                      }
                      *this_part = delete_expired_now(now_ms, reconnect_window_ms, kSweepChunk);
                      *count += *this_part;
                      return *this_part == static_cast<std::size_t>(kSweepChunk);
                    }});
        wake_writer();
        return;
      }
    }
    done(0);
  }

  void close() override {
    {
      std::lock_guard lock(queue_mutex_);
      if (stopping_) return;
      stopping_ = true;
      queue_changed_.notify_one();
    }
    if (writer_.joinable()) writer_.join();
    insert_event_.reset();
    upsert_room_.reset();
    redact_event_.reset();
    insert_audit_.reset();
    savepoint_.reset();
    release_.reset();
    rollback_to_.reset();
  }

 private:
  struct Pending {
    WriteBatch batch;
    WriteDone done;
    // Maintenance (retention) run in the transaction; true when it has more
    // to do in the next group (then `done` waits for that).
    std::function<bool()> task;
  };

  // Under queue_mutex_. Only an idle writer is woken: one waiting out the
  // commit interval gathers batches without a wake-up for each.
  void wake_writer() {
    if (writer_idle_) queue_changed_.notify_one();
  }

  void write_loop() {
    auto next_commit = std::chrono::steady_clock::now();
    for (;;) {
      std::deque<Pending> work;
      {
        std::unique_lock lock(queue_mutex_);
        writer_idle_ = true;
        queue_changed_.wait(lock, [this] { return !queue_.empty() || stopping_; });
        writer_idle_ = false;
        if (queue_.empty()) return;  // stopping, and everything queued is committed
        // Too soon after the last group: let more batches join this one.
        if (!stopping_ && std::chrono::steady_clock::now() < next_commit) {
          queue_changed_.wait_until(lock, next_commit, [this] { return stopping_; });
        }
        work.swap(queue_);
      }
      next_commit = std::chrono::steady_clock::now() + min_commit_interval_;
      commit(work);
    }
  }

  // One transaction for everything queued; each batch in its own savepoint
  // so that one refused batch (a repeated client_message_id) fails alone.
  void commit(std::deque<Pending>& work) {
    std::vector<Status> results(work.size());
    std::vector<bool> again(work.size());
    if (!writer_db_.exec("BEGIN IMMEDIATE")) {
      const Status failed{false, "store: " + writer_db_.error()};
      for (auto& pending : work) finish(pending, failed);
      return;
    }
    for (std::size_t i = 0; i < work.size(); ++i) {
      if (work[i].task) {
        again[i] = work[i].task();
        continue;
      }
      // A batch that repeats a client_message_id fails alone; any other
      // failure is the database's and fails the whole group. A batch of one
      // statement (a message, the common case) needs no savepoint for that:
      // a failed statement undoes itself and leaves the transaction open.
      const auto& batch = work[i].batch;
      const bool refusable =
          std::any_of(batch.events.begin(), batch.events.end(),
                      [](const EventRecord& event) { return !event.client_message_id.empty(); });
      const std::size_t statements = 2 * batch.clear_history.size() + batch.rooms.size() +
                                     batch.events.size() + batch.redactions.size() +
                                     batch.audit.size();
      const bool savepoint = refusable && statements > 1;
      if (savepoint) run(*savepoint_);
      std::string failure = apply(batch);
      if (failure.empty()) {
        if (savepoint) run(*release_);
        continue;
      }
      // Only a repeated client_message_id (a UNIQUE constraint) is this
      // batch's own refusal, and only while the transaction is still open:
      // on some errors (a full disk) SQLite rolls the whole transaction back
      // itself, and then nothing of the group is stored.
      const int code = sqlite3_extended_errcode(writer_db_.get());
      const bool in_transaction = sqlite3_get_autocommit(writer_db_.get()) == 0;
      const bool repeated =
          refusable && in_transaction &&
          (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY);
      if (!repeated) {
        if (in_transaction) writer_db_.exec("ROLLBACK");
        const Status failed{false, "store: " + failure};
        for (auto& pending : work) finish(pending, failed);
        return;
      }
      if (savepoint) {
        run(*rollback_to_);
        run(*release_);
      }
      results[i] = Status{false, "store: " + failure};
    }
    if (!writer_db_.exec("COMMIT")) {
      const std::string message = "store: " + writer_db_.error();
      writer_db_.exec("ROLLBACK");
      for (auto& result : results) {
        if (result.ok) result = Status{false, message};
      }
    }
    // Maintenance with more to do goes on in the next group, behind the
    // batches that arrived meanwhile; its `done` waits for its last part.
    for (std::size_t i = 0; i < work.size(); ++i) {
      if (!again[i] || !results[i].ok) continue;
      std::lock_guard lock(queue_mutex_);
      if (stopping_) continue;  // close() commits what is queued; this may stop here
      queue_.push_back(std::move(work[i]));
      work[i] = Pending{};
    }
    if (!run_completions_) {
      for (std::size_t i = 0; i < work.size(); ++i) finish(work[i], results[i]);
      return;
    }
    std::vector<WriteDone> dones;
    dones.reserve(work.size());
    for (auto& pending : work) dones.push_back(std::move(pending.done));
    run_completions_([dones = std::move(dones), results = std::move(results)] {
      for (std::size_t i = 0; i < dones.size(); ++i) {
        if (dones[i]) dones[i](results[i]);
      }
    });
  }

  // On the writer, inside its transaction: deletes at most `limit` expired
  // events, oldest first; returns how many.
  std::size_t delete_expired_now(std::int64_t now_ms, std::int64_t reconnect_window_ms,
                                 std::int64_t limit) {
    // Kept days, for rooms that keep history.
    Statement kept(writer_db_.get(), retention_sql::kDeleteExpiredKept);
    kept.bind(1, now_ms).bind(2, limit);
    kept.step();
    auto deleted = static_cast<std::int64_t>(sqlite3_changes(writer_db_.get()));
    // The reconnect window, for ephemeral rooms (and rooms without a record).
    if (deleted < limit) {
      Statement ephemeral(writer_db_.get(), retention_sql::kDeleteExpiredEphemeral);
      ephemeral.bind(1, now_ms).bind(2, reconnect_window_ms).bind(3, limit - deleted);
      ephemeral.step();
      deleted += sqlite3_changes(writer_db_.get());
    }
    return static_cast<std::size_t>(deleted);
  }

  // Before a sweep deletes a room's newest event, its room record remembers
  // that seq, so that seq never goes back.
  void keep_last_seq_of_expiring(std::int64_t now_ms, std::int64_t reconnect_window_ms) {
    Statement keep(writer_db_.get(), retention_sql::kKeepLastSeqOfExpiring);
    keep.bind(1, now_ms).bind(2, reconnect_window_ms);
    keep.step();
  }

  // Remembers the last seq of `room_id` in its room record before its events
  // are deleted, so that seq never goes back.
  bool keep_last_seq(const std::string& room_id) {
    Statement keep(writer_db_.get(),
                   "UPDATE rooms SET last_seq = MAX(last_seq, COALESCE((SELECT MAX(seq) FROM events"
                   " WHERE events.room_id = rooms.room_id), 0)) WHERE room_id = ?1");
    keep.bind(1, room_id);
    return keep.step() == SQLITE_DONE;
  }

  static void run(Statement& statement) {
    statement.reset();
    statement.step();
  }

  static void finish(Pending& pending, const Status& status) {
    if (pending.done) pending.done(status);
  }

  // Applies one batch; returns what failed, or "".
  std::string apply(const WriteBatch& batch) {
    for (const auto& room_id : batch.clear_history) {
      // The seq is kept; the messages go.
      if (!keep_last_seq(room_id)) return writer_db_.error();
      Statement clear(writer_db_.get(), "DELETE FROM events WHERE room_id = ?1");
      clear.bind(1, room_id);
      if (clear.step() != SQLITE_DONE) return writer_db_.error();
    }
    // Rooms first: an event advances its room's last_seq.
    for (const auto& room : batch.rooms) {
      ++rooms_written_;
      auto& upsert = *upsert_room_;
      upsert.reset();
      upsert.bind(1, room.room_id)
          .bind_blob(2, room.state)
          .bind(3, static_cast<std::int64_t>(room.retention_days));
      if (upsert.step() != SQLITE_DONE) return writer_db_.error();
    }
    for (const auto& event : batch.events) {
      auto& insert = *insert_event_;
      insert.reset();
      insert.bind(1, event.room_id)
          .bind(2, static_cast<std::int64_t>(event.seq))
          .bind(3, event.time_ms)
          .bind(4, event.sender_account)
          .bind(5, event.client_message_id)
          .bind_blob(6, event.event);
      if (insert.step() != SQLITE_DONE) return writer_db_.error();
    }
    for (const auto& redaction : batch.redactions) {
      auto& redact = *redact_event_;
      redact.reset();
      redact.bind_blob(1, redaction.event)
          .bind(2, redaction.room_id)
          .bind(3, static_cast<std::int64_t>(redaction.seq));
      if (redact.step() != SQLITE_DONE) return writer_db_.error();
    }
    for (const auto& entry : batch.audit) {
      auto& insert = *insert_audit_;
      insert.reset();
      insert.bind(1, entry.time_ms).bind(2, entry.room_id).bind(3, entry.json);
      if (insert.step() != SQLITE_DONE) return writer_db_.error();
    }
    return {};
  }

  Database writer_db_;               // only on writer_ (and during construction)
  std::uint64_t rooms_written_ = 0;  // only on writer_: room records upserted
  Database reader_db_;               // under reader_mutex_
  std::function<void(std::function<void()>)> run_completions_;
  std::chrono::microseconds min_commit_interval_;
  std::mutex reader_mutex_;
  std::unique_ptr<Statement> insert_event_, upsert_room_, redact_event_, insert_audit_;
  std::unique_ptr<Statement> savepoint_, release_,
      rollback_to_;  // prepared once, not parsed per batch

  std::mutex queue_mutex_;
  std::condition_variable queue_changed_;
  std::deque<Pending> queue_;  // under queue_mutex_
  bool stopping_ = false;      // under queue_mutex_
  bool writer_idle_ = false;   // under queue_mutex_: waiting for work (not for the interval)
  std::thread writer_;
};

}  // namespace

std::size_t Store::delete_expired(std::int64_t now_ms, std::int64_t reconnect_window_ms) {
  std::promise<std::size_t> deleted;
  auto result = deleted.get_future();
  expire(now_ms, reconnect_window_ms, [&deleted](std::size_t count) { deleted.set_value(count); });
  return result.get();
}

std::unique_ptr<Store> open_sqlite_store(const std::string& path, const SqliteOptions& options) {
  return std::make_unique<SqliteStore>(path, options);
}

void migrate_sqlite_database(const std::string& path, int version) {
  Database db(path, 5000);
  migrate(db, version);
}

}  // namespace circle::store
