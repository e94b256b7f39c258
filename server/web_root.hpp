// The web app circled serves (client/web's build output): every file of the
// root read into memory at start-up, looked up by a request target that has
// been checked first. Nothing is read from disk per request, so no request
// can reach a file that was not under the root when the server started
// (symlinks that lead out of it are never loaded). No sockets here.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace circle::server {

// One file the web app consists of, ready to send.
struct WebFile {
  std::string body;
  std::string content_type;
  // A content-hashed asset (Vite's /assets/name-HASH.ext): cached for a year.
  bool immutable = false;
};

// What a request target names, once checked.
enum class WebPath { kFound, kNotFound, kRefused };

// The target's path, percent-decoded and checked: only "/"-separated
// segments of printable characters, none empty or starting with "." (so no
// "." or ".." and no hidden files), no backslash,
// no NUL or control characters, no encoded "/" or "\"; the query string is
// dropped. nullopt when any rule fails (the answer is then 400). "/" stays
// "/".
std::optional<std::string> checked_web_path(std::string_view target);

// The Content-Type of a file by its extension; application/octet-stream when unknown.
std::string_view web_content_type(std::string_view path);

class WebRoot {
 public:
  // Reads every regular file under `root` (following a symlink only when it
  // resolves inside the root) up to `max_bytes` in all. nullopt, with
  // `error` saying why, when the root is missing, unreadable, over the limit
  // or has no index.html.
  static std::optional<WebRoot> load(const std::filesystem::path& root, std::size_t max_bytes,
                                     std::string& error);

  // The file a request target names ("/" is /index.html), or why none.
  const WebFile* find(std::string_view target, WebPath& outcome) const;

  std::size_t file_count() const { return files_.size(); }
  std::size_t total_bytes() const { return total_bytes_; }
  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path root_;
  std::map<std::string, WebFile, std::less<>> files_;
  std::size_t total_bytes_ = 0;
};

}  // namespace circle::server
