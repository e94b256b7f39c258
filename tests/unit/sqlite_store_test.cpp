// The SQLite store on a temporary database: migrations, durable writes,
// group commit, retries, retention and redaction.
#include <gtest/gtest.h>

#include <sqlite3.h>
#include <stdlib.h>
#include <set>

#include <algorithm>
#include <filesystem>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "store/sqlite_retention_sql.hpp"
#include "store/sqlite_store.hpp"

namespace {

using namespace circle::store;

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "circle-store-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/circle.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes and waits until the store says it is durable.
  static Status write(Store& store, WriteBatch batch) {
    std::promise<Status> done;
    auto result = done.get_future();
    store.write(std::move(batch), [&done](const Status& status) { done.set_value(status); });
    return result.get();
  }

  // Runs SQL on the database file directly (as an older circled would have).
  void raw(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
  }
  std::int64_t raw_count(const std::string& sql) {
    sqlite3* db = nullptr;
    sqlite3_open(path_.c_str(), &db);
    sqlite3_stmt* statement = nullptr;
    sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr);
    std::int64_t count =
        sqlite3_step(statement) == SQLITE_ROW ? sqlite3_column_int64(statement, 0) : -1;
    sqlite3_finalize(statement);
    sqlite3_close(db);
    return count;
  }

  static EventRecord event(const std::string& room, std::uint64_t seq, std::int64_t time_ms,
                           const std::string& text, const std::string& sender = "acct-1",
                           const std::string& client_message_id = {}) {
    return EventRecord{.room_id = room,
                       .seq = seq,
                       .time_ms = time_ms,
                       .sender_account = sender,
                       .client_message_id = client_message_id,
                       .event = "event:" + text};
  }

  static WriteBatch with_rooms(std::vector<RoomRecord> rooms) {
    WriteBatch batch;
    batch.rooms = std::move(rooms);
    return batch;
  }

  // The sweep tests' clock: the reconnect window, and the time of the sweep.
  static constexpr std::int64_t kWindow = 10 * 60'000;
  static constexpr std::int64_t kNow = 1'000'000'000'000;

  static WriteBatch with_events(std::vector<EventRecord> events) {
    WriteBatch batch;
    batch.events = std::move(events);
    return batch;
  }

  std::string dir_, path_;
};

TEST_F(SqliteStoreTest, TheAuditLogReadsBackNewestEntriesOldestFirst) {
  auto store = open_sqlite_store(path_);
  WriteBatch batch;
  batch.audit = {{.time_ms = 1, .room_id = "a", .json = "a1"},
                 {.time_ms = 2, .room_id = "b", .json = "b1"},
                 {.time_ms = 3, .room_id = "a", .json = "a2"}};
  ASSERT_TRUE(write(*store, batch).ok);
  auto all = store->load_audit("", 10);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].json, "a1");
  EXPECT_EQ(all[2].json, "a2");
  auto newest = store->load_audit("", 2);
  ASSERT_EQ(newest.size(), 2u);
  EXPECT_EQ(newest[0].json, "b1");
  EXPECT_EQ(newest[1].json, "a2");
  auto room_a = store->load_audit("a", 10);
  ASSERT_EQ(room_a.size(), 2u);
  EXPECT_EQ(room_a[1].room_id, "a");
  EXPECT_EQ(room_a[1].time_ms, 3);
}

TEST_F(SqliteStoreTest, AWriteIsThereAfterReopening) {
  {
    auto store = open_sqlite_store(path_);
    WriteBatch batch;
    batch.rooms.push_back({.room_id = "group", .state = "settings-v1", .retention_days = 0});
    batch.events = {event("group", 1, 1000, "hello"), event("group", 2, 1001, "again")};
    batch.audit.push_back({.time_ms = 1002, .room_id = "group", .json = R"({"action":"mute"})"});
    ASSERT_TRUE(write(*store, batch).ok);
  }
  auto store = open_sqlite_store(path_);
  auto rooms = store->load_rooms();
  ASSERT_EQ(rooms.size(), 1u);
  EXPECT_EQ(rooms[0].state, "settings-v1");
  auto events = store->load_events("group", 0, 100);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].seq, 1u);
  EXPECT_EQ(events[1].event, "event:again");
  EXPECT_EQ(store->last_seq("group"), 2u);
  EXPECT_EQ(store->load_events("group", 1, 100).size(), 1u);
  EXPECT_EQ(raw_count("SELECT COUNT(*) FROM audit"), 1);
  EXPECT_EQ(raw_count("PRAGMA user_version"), kSchemaVersion);
}

TEST_F(SqliteStoreTest, MigratesFromEveryEarlierSchemaVersion) {
  for (int version = 0; version < kSchemaVersion; ++version) {
    SCOPED_TRACE("from schema version " + std::to_string(version));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    migrate_sqlite_database(path_, version);
    if (version >= 1) {
      raw("INSERT INTO rooms (room_id, state, retention_days) VALUES ('group', 'old', 3);"
          "INSERT INTO events (room_id, seq, time_ms, event) VALUES ('group', 7, 5, 'e7');");
    }
    auto store = open_sqlite_store(path_);
    EXPECT_EQ(raw_count("PRAGMA user_version"), kSchemaVersion);
    if (version >= 1) {
      ASSERT_EQ(store->load_rooms().size(), 1u);
      EXPECT_EQ(store->load_rooms()[0].retention_days, 3u);
      EXPECT_EQ(store->last_seq("group"), 7u);
      auto events = store->load_events("group", 0, 10);
      ASSERT_EQ(events.size(), 1u);
      EXPECT_EQ(events[0].event, "e7");
      // Still one event per (room, seq).
      EXPECT_FALSE(write(*store, with_events({event("group", 7, 6, "again")})).ok);
    }
    ASSERT_TRUE(write(*store, with_events({event("group", 8, 6, "new")})).ok);
    EXPECT_EQ(store->last_seq("group"), 8u);
  }
}

TEST_F(SqliteStoreTest, AFullDatabaseFailsWholeGroupsAndNeverReportsAStoredBatchAsFailed) {
  // 1 MiB stands in for a full disk. Groups of many batches (a long commit
  // interval gathers them) run into it in the middle.
  auto store = open_sqlite_store(path_, {.synchronous = "normal",
                                         .busy_timeout_ms = 5000,
                                         .min_commit_interval = std::chrono::milliseconds(50),
                                         .cache_mib = 8,
                                         .max_mib = 1,
                                         .run_completions = {}});
  constexpr int kWrites = 600;  // ~1.8 MB of events: more than fits
  const std::string filler(3000, 'x');
  std::vector<std::promise<Status>> done(kWrites);
  for (int i = 0; i < kWrites; ++i) {
    const auto seq = static_cast<std::uint64_t>(i + 1);
    store->write(with_events({event("full", seq, i, filler + std::to_string(i), "acct-1",
                                    "id-" + std::to_string(i))}),
                 [&done, i](const Status& status) { done[i].set_value(status); });
  }
  std::set<std::uint64_t> reported_ok;
  int failed = 0;
  for (int i = 0; i < kWrites; ++i) {
    if (done[i].get_future().get().ok) {
      reported_ok.insert(static_cast<std::uint64_t>(i + 1));
    } else {
      ++failed;
    }
  }
  EXPECT_GT(failed, 0) << "the database never filled up";
  std::set<std::uint64_t> stored;
  for (const auto& e : store->load_events("full", 0, kWrites + 1)) stored.insert(e.seq);
  EXPECT_EQ(stored, reported_ok) << "stored exactly what was reported stored";
}

TEST_F(SqliteStoreTest, ANewerSchemaIsRefused) {
  migrate_sqlite_database(path_, kSchemaVersion);
  raw("PRAGMA user_version = " + std::to_string(kSchemaVersion + 1));
  EXPECT_THROW(open_sqlite_store(path_), std::runtime_error);
}

TEST_F(SqliteStoreTest, ConcurrentWritesCommitTogetherAndInOrder) {
  auto store = open_sqlite_store(path_, {.synchronous = "normal",
                                         .busy_timeout_ms = 5000,
                                         .min_commit_interval = {},
                                         .cache_mib = 8,
                                         .max_mib = 0,
                                         .run_completions = {}});
  constexpr int kWrites = 500;
  std::vector<std::promise<Status>> done(kWrites);
  for (int i = 0; i < kWrites; ++i) {
    store->write(with_events({event("busy", static_cast<std::uint64_t>(i + 1), i, "m")}),
                 [&done, i](const Status& status) { done[i].set_value(status); });
  }
  for (auto& promise : done) EXPECT_TRUE(promise.get_future().get().ok);
  auto events = store->load_events("busy", 0, kWrites + 1);
  ASSERT_EQ(events.size(), static_cast<std::size_t>(kWrites));
  for (int i = 0; i < kWrites; ++i) EXPECT_EQ(events[i].seq, static_cast<std::uint64_t>(i + 1));
}

TEST_F(SqliteStoreTest, ACommitIntervalGroupsWritesAndARepeatInTheGroupFailsAlone) {
  // A long interval: everything below lands in the second group, which
  // close() commits at once instead of waiting the interval out.
  auto store = open_sqlite_store(path_, {.synchronous = "normal",
                                         .busy_timeout_ms = 5000,
                                         .min_commit_interval = std::chrono::seconds(30),
                                         .cache_mib = 8,
                                         .max_mib = 0,
                                         .run_completions = {}});
  ASSERT_TRUE(write(*store, with_events({event("group", 1, 1, "first", "acct-1", "m-1")})).ok);
  std::promise<Status> repeat, next;
  store->write(with_events({event("group", 2, 2, "retry", "acct-1", "m-1")}),
               [&repeat](const Status& status) { repeat.set_value(status); });
  store->write(with_events({event("group", 2, 2, "next", "acct-1", "m-2")}),
               [&next](const Status& status) { next.set_value(status); });
  store->close();
  auto repeated = repeat.get_future();
  auto after = next.get_future();
  ASSERT_EQ(repeated.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_FALSE(repeated.get().ok) << "a one-statement batch fails alone, without a savepoint";
  ASSERT_EQ(after.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_TRUE(after.get().ok);
  auto reopened = open_sqlite_store(path_);
  auto events = reopened->load_events("group", 0, 10);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].event, "event:next");
}

TEST_F(SqliteStoreTest, ARepeatedClientMessageIdFailsOnlyItsBatch) {
  auto store = open_sqlite_store(path_);
  ASSERT_TRUE(write(*store, with_events({event("group", 1, 1, "first", "acct-1", "m-1")})).ok);
  // The same sender and id again: refused as a whole, nothing stored.
  auto retry = with_events({event("group", 2, 2, "retry", "acct-1", "m-1")});
  retry.audit = {{.time_ms = 2, .room_id = "group", .json = "{}"}};
  auto repeated = write(*store, retry);
  EXPECT_FALSE(repeated.ok);
  EXPECT_FALSE(repeated.message.empty());
  EXPECT_EQ(raw_count("SELECT COUNT(*) FROM audit"), 0);
  // Another sender may use the same id; the original is found by sender.
  EXPECT_TRUE(write(*store, with_events({event("group", 2, 2, "other", "acct-2", "m-1")})).ok);
  auto original = store->find_sent("group", "acct-1", "m-1");
  ASSERT_TRUE(original);
  EXPECT_EQ(original->seq, 1u);
  EXPECT_FALSE(store->find_sent("group", "acct-3", "m-1"));
  EXPECT_EQ(store->load_events("group", 0, 10).size(), 2u);
}

TEST_F(SqliteStoreTest, RetentionDeletesExpiredHistoryButNotTheSeq) {
  auto store = open_sqlite_store(path_);
  constexpr std::int64_t kDay = 86'400'000;
  const std::int64_t now = 100 * kDay;
  WriteBatch batch;
  batch.rooms = {{.room_id = "weekly", .state = "s", .retention_days = 0},
                 {.room_id = "kept", .state = "s", .retention_days = 7}};
  batch.events = {
      event("weekly", 1, now - 20 * 60'000, "old"), event("weekly", 2, now - 60'000, "recent"),
      event("kept", 1, now - 8 * kDay, "too old"), event("kept", 2, now - 6 * kDay, "kept")};
  ASSERT_TRUE(write(*store, batch).ok);
  // Ephemeral rooms keep the 10-minute reconnect window; "kept" keeps 7 days.
  EXPECT_EQ(store->delete_expired(now, 10 * 60'000), 2u);
  auto weekly = store->load_events("weekly", 0, 10);
  ASSERT_EQ(weekly.size(), 1u);
  EXPECT_EQ(weekly[0].event, "event:recent");
  auto kept = store->load_events("kept", 0, 10);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].seq, 2u);
  // Deleted, not hidden; and a room's seq never goes back.
  EXPECT_EQ(raw_count("SELECT COUNT(*) FROM events WHERE instr(event, 'old') > 0"), 0);
  EXPECT_EQ(store->delete_expired(now + kDay, 10 * 60'000), 1u);
  EXPECT_EQ(store->last_seq("weekly"), 2u);
}

// What SQLite does for each of the sweep's statements on the real schema: the
// detail column of EXPLAIN QUERY PLAN, one line per step.
std::vector<std::string> query_plan(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* statement = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &statement, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  std::vector<std::string> steps;
  while (statement && sqlite3_step(statement) == SQLITE_ROW) {
    steps.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(statement, 3)));
  }
  sqlite3_finalize(statement);
  return steps;
}

bool scans_events(const std::vector<std::string>& plan) {
  return std::any_of(plan.begin(), plan.end(),
                     [](const std::string& step) { return step.starts_with("SCAN events"); });
}

// The sweep runs on the writer between group commits: a statement that scans
// every stored event there costs more the more the store holds (the latency
// drift bench/soak found). Each must search an index instead.
TEST_F(SqliteStoreTest, TheRetentionSweepSearchesIndexesAndNeverScansTheEvents) {
  open_sqlite_store(path_)->close();  // the current schema
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  for (const char* sql : retention_sql::kAll) {
    const auto plan = query_plan(db, sql);
    ASSERT_FALSE(plan.empty()) << sql;
    std::string shown;
    for (const auto& step : plan) shown += step + "\n";
    EXPECT_FALSE(scans_events(plan)) << sql << "\n" << shown;
  }
  // The statement that caused the drift is caught by the same check.
  EXPECT_TRUE(scans_events(query_plan(
      db,
      "DELETE FROM events WHERE time_ms < ?1 - 86400000 * (SELECT retention_days FROM rooms"
      " WHERE rooms.room_id = events.room_id AND retention_days > 0)")));
  sqlite3_close(db);
}

// A sweep with thousands of expired events deletes them in chunks, one per
// group commit: a message queued after the sweep started is durable before
// the sweep ends, not held behind all of it. Every expired event goes, and a
// room whose whole history expired keeps its seq.
TEST_F(SqliteStoreTest, ALargeSweepGoesInChunksAndMessagesAreCommittedBetweenThem) {
  auto store = open_sqlite_store(path_);
  ASSERT_TRUE(write(*store, with_rooms({{.room_id = "gone", .state = "s", .retention_days = 0},
                                        {.room_id = "busy", .state = "s", .retention_days = 0}}))
                  .ok);
  constexpr std::uint64_t kExpired = 3'500;  // many chunks
  std::vector<EventRecord> events;
  for (std::uint64_t seq = 1; seq <= kExpired; ++seq) {
    events.push_back(event(seq % 2 ? "gone" : "busy", (seq + 1) / 2,
                           kNow - kWindow - 60'000 + static_cast<std::int64_t>(seq), "old"));
  }
  ASSERT_TRUE(write(*store, with_events(std::move(events))).ok);
  ASSERT_TRUE(write(*store, with_events({event("busy", kExpired, kNow - 1'000, "recent")})).ok);

  std::mutex mutex;
  std::vector<std::string> finished;
  std::promise<std::size_t> swept;
  store->expire(kNow, kWindow, [&](std::size_t count) {
    std::lock_guard lock(mutex);
    finished.push_back("sweep");
    swept.set_value(count);
  });
  std::promise<Status> posted;
  store->write(with_events({event("busy", kExpired + 1, kNow, "during")}),
               [&](const Status& status) {
                 std::lock_guard lock(mutex);
                 finished.push_back("message");
                 posted.set_value(status);
               });
  EXPECT_TRUE(posted.get_future().get().ok);
  EXPECT_EQ(swept.get_future().get(), kExpired);
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(finished, (std::vector<std::string>{"message", "sweep"}));
  }
  EXPECT_TRUE(store->load_events("gone", 0, 10).empty());
  EXPECT_EQ(store->last_seq("gone"), (kExpired + 1) / 2);
  const auto busy = store->load_events("busy", 0, 10);
  ASSERT_EQ(busy.size(), 2u);
  EXPECT_EQ(busy[0].event, "event:recent");
  EXPECT_EQ(raw_count("SELECT COUNT(*) FROM events"), 2);
  // Nothing else expired: the next sweep deletes nothing.
  EXPECT_EQ(store->delete_expired(kNow, kWindow), 0u);
}

// A room whose retention shortens while a sweep is under way (its parts are
// separate transactions) may lose its newest event to a later part: its seq
// must still never go back.
TEST_F(SqliteStoreTest, ARoomMadeEphemeralDuringASweepKeepsItsSeq) {
  auto store = open_sqlite_store(path_);
  ASSERT_TRUE(write(*store, with_rooms({{.room_id = "filler", .state = "s", .retention_days = 0},
                                        {.room_id = "kept", .state = "s", .retention_days = 30}}))
                  .ok);
  std::vector<EventRecord> events;
  for (std::uint64_t seq = 1; seq <= 2'000; ++seq) {
    events.push_back(
        event("filler", seq, kNow - kWindow - 60'000 + static_cast<std::int64_t>(seq), "old"));
  }
  // Past the window, kept by the days: after every filler event in time.
  for (std::uint64_t seq = 1; seq <= 5; ++seq) {
    events.push_back(
        event("kept", seq, kNow - kWindow - 10 + static_cast<std::int64_t>(seq), "kept"));
  }
  ASSERT_TRUE(write(*store, with_events(std::move(events))).ok);
  std::promise<std::size_t> swept;
  store->expire(kNow, kWindow, [&](std::size_t count) { swept.set_value(count); });
  ASSERT_TRUE(
      write(*store, with_rooms({{.room_id = "kept", .state = "s", .retention_days = 0}})).ok);
  EXPECT_EQ(swept.get_future().get(), 2'005u);
  EXPECT_TRUE(store->load_events("kept", 0, 10).empty());
  EXPECT_EQ(store->last_seq("kept"), 5u);
}

// Checkpoints keep finishing under steady writes, so that the WAL starts
// again from its beginning instead of growing with everything ever written
// (a checkpoint moved off the writer could never finish while it appends).
// 90 MB of messages, committed back to back, leave a WAL of at most ~40 MiB
// (kCheckpointPages) and every message readable.
TEST_F(SqliteStoreTest, UnderSteadyWritesTheWalStaysBoundedAndNothingIsLost) {
  auto store = open_sqlite_store(path_, {.synchronous = "normal",
                                         .busy_timeout_ms = 5000,
                                         .min_commit_interval = {},
                                         .cache_mib = 64,
                                         .max_mib = 0,
                                         .run_completions = {}});
  const std::string text(1'500, 't');
  constexpr std::uint64_t kBatches = 120, kPerBatch = 500;
  std::uintmax_t largest_wal = 0;
  for (std::uint64_t b = 0; b < kBatches; ++b) {
    std::vector<EventRecord> events;
    for (std::uint64_t i = 0; i < kPerBatch; ++i) {
      const std::uint64_t n = b * kPerBatch + i;
      events.push_back(event("room-" + std::to_string(n % 50), n / 50 + 1,
                             1'000 + static_cast<std::int64_t>(n), text));
    }
    ASSERT_TRUE(write(*store, with_events(std::move(events))).ok);
    if (std::filesystem::exists(path_ + "-wal")) {
      largest_wal = std::max(largest_wal, std::filesystem::file_size(path_ + "-wal"));
    }
  }
  EXPECT_GT(largest_wal, 0u);
  EXPECT_LE(largest_wal, std::uintmax_t{48} << 20)
      << "the WAL kept growing: no checkpoint finished";
  EXPECT_EQ(store->last_seq("room-7"), kBatches * kPerBatch / 50);
  EXPECT_EQ(store->load_events("room-7", 0, 10'000).size(), kBatches * kPerBatch / 50);
  store->close();
  EXPECT_EQ(raw_count("SELECT COUNT(*) FROM events"),
            static_cast<std::int64_t>(kBatches * kPerBatch));
}

TEST_F(SqliteStoreTest, RedactionDeletesTheText) {
  auto store = open_sqlite_store(path_);
  ASSERT_TRUE(write(*store, with_events({event("group", 1, 1, "something private")})).ok);
  WriteBatch redaction;
  redaction.redactions = {event("group", 1, 1, "")};
  redaction.redactions[0].event = "redacted";
  ASSERT_TRUE(write(*store, redaction).ok);
  auto events = store->load_events("group", 0, 10);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event, "redacted");
  EXPECT_EQ(raw_count("SELECT COUNT(*) FROM events WHERE instr(event, 'private') > 0"), 0);
}

TEST_F(SqliteStoreTest, WritesAfterCloseFailAndNothingIsAcknowledged) {
  auto store = open_sqlite_store(path_);
  store->close();
  auto status = write(*store, with_events({event("group", 1, 1, "late")}));
  EXPECT_FALSE(status.ok);
  EXPECT_EQ(raw_count("SELECT COUNT(*) FROM events"), 0);
}

}  // namespace
