#include "store/sqlite_backup.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <thread>

namespace circle::store {
namespace {

struct Close {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using Database = std::unique_ptr<sqlite3, Close>;

Database open(const std::string& path, int flags) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  Database owned(db);
  if (rc != SQLITE_OK) {
    throw std::runtime_error(path + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(db, 5000);
  return owned;
}

void sync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(path + ": cannot open to sync it");
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw std::runtime_error(path + ": fsync failed");
}

}  // namespace

BackupCopy backup_sqlite_database(const std::string& db_path, const std::string& out_path) {
  namespace fs = std::filesystem;
  if (!fs::exists(db_path)) throw std::runtime_error(db_path + ": no such database");
  const std::string partial = out_path + ".partial";
  std::error_code ignored;
  fs::remove(partial, ignored);
  // The copy holds the groups' history: readable by its owner only, whatever
  // the umask of whoever runs the backup (SQLite would create it 0644).
  if (const int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      fd >= 0) {
    ::close(fd);
  } else {
    throw std::runtime_error(partial + ": cannot be created");
  }
  // Read-write without create: a WAL reader may need to set up the shared
  // memory index; nothing is written to the source.
  auto source = open(db_path, SQLITE_OPEN_READWRITE);
  BackupCopy copy;
  {
    auto target = open(partial, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    sqlite3_backup* backup = sqlite3_backup_init(target.get(), "main", source.get(), "main");
    if (backup == nullptr) throw std::runtime_error(std::string(sqlite3_errmsg(target.get())));
    int rc = SQLITE_OK;
    // -1: every page in one step, so the copy is of one moment. A writer
    // holding the lock only delays the step; it is retried for a while.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    do {
      rc = sqlite3_backup_step(backup, -1);
      if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
        if (std::chrono::steady_clock::now() > deadline) break;
        sqlite3_sleep(20);
      }
    } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    copy.pages = sqlite3_backup_pagecount(backup);
    sqlite3_backup_finish(backup);
    if (rc != SQLITE_DONE) {
      fs::remove(partial, ignored);
      throw std::runtime_error(std::string("the copy failed: ") + sqlite3_errstr(rc));
    }
    sqlite3_stmt* check = nullptr;
    std::string verdict;
    if (sqlite3_prepare_v2(target.get(), "PRAGMA quick_check", -1, &check, nullptr) == SQLITE_OK &&
        sqlite3_step(check) == SQLITE_ROW) {
      verdict = reinterpret_cast<const char*>(sqlite3_column_text(check, 0));
    }
    sqlite3_finalize(check);
    if (verdict != "ok") {
      fs::remove(partial, ignored);
      throw std::runtime_error("the copy does not check out: " + verdict);
    }
  }
  sync_path(partial, O_RDONLY);
  fs::rename(partial, out_path);
  const auto directory = fs::absolute(out_path).parent_path();
  sync_path(directory.string(), O_RDONLY | O_DIRECTORY);
  copy.bytes = static_cast<std::int64_t>(fs::file_size(out_path));
  return copy;
}

}  // namespace circle::store
