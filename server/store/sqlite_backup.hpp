// `circled backup`: a consistent copy of the SQLite store, taken while the
// server runs and writes it. SQLite's online backup API copies every page in
// one step under one read transaction, so the copy is the database as of one
// moment (every commit before it, none after) while the server's writer goes
// on (WAL mode lets one writer and readers work at once).
#pragma once

#include <cstdint>
#include <string>

namespace circle::store {

struct BackupCopy {
  std::int64_t pages = 0;
  std::int64_t bytes = 0;
};

// Copies the database at `db_path` to `out_path`: written beside it as
// `<out_path>.partial`, checked (PRAGMA quick_check), synced, then renamed,
// so that `out_path` is only ever a whole copy. Throws std::runtime_error
// with SQLite's message when it cannot.
BackupCopy backup_sqlite_database(const std::string& db_path, const std::string& out_path);

}  // namespace circle::store
