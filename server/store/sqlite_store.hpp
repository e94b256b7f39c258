// The embedded store: one SQLite database in WAL mode under the data
// directory. One writer thread commits queued batches together (group
// commit: one transaction and one sync for everything queued meanwhile);
// reads use their own connection, which WAL lets run beside the writer.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "store/store.hpp"

namespace circle::store {

struct SqliteOptions {
  // "full": every commit is synced to disk (survives power loss);
  // "normal": survives a crash of circled, may lose the last commits on power loss.
  std::string synchronous = "full";
  // How long a statement waits for a lock held by another process.
  int busy_timeout_ms = 5000;
  // Least time from one group commit's start to the next: batches arriving
  // meanwhile wait and join the next group. On one busy core this trades up
  // to this much ack latency for far fewer writer wake-ups and syncs.
  std::chrono::microseconds min_commit_interval{0};
  // The writer's page cache. Messages of many rooms land on as many B-tree
  // leaves; when those do not fit, every insert reads its leaf back first.
  std::size_t cache_mib = 64;
  // The largest the database may grow, MiB (0: as large as the disk allows).
  // Past it every write fails as on a full disk: nothing is acknowledged.
  std::size_t max_mib = 0;
  // Where the `done` callbacks of one group commit run, all in one call:
  // e.g. posted to the server's io_context, so that a group costs one
  // cross-thread hand-off instead of one per batch. Empty: on the writer.
  std::function<void(std::function<void()>)> run_completions;
};

// The schema version this build writes; opening an older database migrates it.
inline constexpr int kSchemaVersion = 3;

// Opens (creating if needed) and migrates the database at `path`. Throws
// std::runtime_error with SQLite's message when it cannot.
std::unique_ptr<Store> open_sqlite_store(const std::string& path,
                                         const SqliteOptions& options = {});

// For migration tests: applies the migrations up to `version` only.
void migrate_sqlite_database(const std::string& path, int version);

}  // namespace circle::store
