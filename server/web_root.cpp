#include "web_root.hpp"

#include <array>
#include <fstream>
#include <iterator>
#include <system_error>

namespace circle::server {
namespace fs = std::filesystem;
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool allowed_in_segment(unsigned char c) {
  // Printable ASCII except the separators a path must not smuggle; anything
  // else (UTF-8 included) is not in a built web app's file names.
  return c > 0x20 && c < 0x7f && c != '\\' && c != '/';
}

// Vite names built assets name-HASH.ext under /assets/; their content never
// changes under that name.
bool is_hashed_asset(std::string_view path) {
  return path.starts_with("/assets/") && path.find('-') != std::string_view::npos;
}

bool inside(const fs::path& root, const fs::path& candidate) {
  auto r = root.begin();
  auto c = candidate.begin();
  for (; r != root.end(); ++r, ++c) {
    if (c == candidate.end() || *r != *c) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> checked_web_path(std::string_view target) {
  target = target.substr(0, target.find_first_of("?#"));
  if (target.empty() || target.front() != '/') return std::nullopt;
  if (target == "/") return std::string("/");
  std::string path;
  path.reserve(target.size());
  std::string segment;
  // Walk the raw target; decode each %XX; a decoded byte is checked like a
  // literal one, so %2e%2e is "..", %2f and %5c are refused.
  for (std::size_t i = 1; i <= target.size(); ++i) {
    if (i == target.size() || target[i] == '/') {
      // No hidden files either (".env", ".git/"): a built app has none.
      if (segment.empty() || segment.front() == '.') return std::nullopt;
      path += '/';
      path += segment;
      segment.clear();
      continue;
    }
    char c = target[i];
    if (c == '%') {
      if (i + 2 >= target.size()) return std::nullopt;
      const int high = hex_value(target[i + 1]);
      const int low = hex_value(target[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      c = static_cast<char>(high * 16 + low);
      i += 2;
    }
    if (!allowed_in_segment(static_cast<unsigned char>(c))) return std::nullopt;
    segment += c;
  }
  return path;
}

std::string_view web_content_type(std::string_view path) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 14> kTypes{{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".webp", "image/webp"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
      {".map", "application/json"},
      {".wasm", "application/wasm"},
  }};
  const auto slash = path.rfind('/');
  const auto dot = path.rfind('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
    return "application/octet-stream";
  }
  const auto extension = path.substr(dot);
  for (const auto& [known, type] : kTypes) {
    if (extension == known) return type;
  }
  return "application/octet-stream";
}

std::optional<WebRoot> WebRoot::load(const fs::path& root, std::size_t max_bytes,
                                     std::string& error) {
  std::error_code ec;
  const auto canonical_root = fs::canonical(root, ec);
  if (ec || !fs::is_directory(canonical_root, ec)) {
    error = "no web app at " + root.string() + " (build it with scripts/setup)";
    return std::nullopt;
  }
  WebRoot web;
  web.root_ = canonical_root;
  for (fs::recursive_directory_iterator it(canonical_root, ec), end; !ec && it != end;
       it.increment(ec)) {
    // A symlink may point anywhere: only what it resolves to inside the root
    // is served, and a directory symlink is never descended.
    const auto resolved = fs::canonical(it->path(), ec);
    if (ec) {
      ec.clear();
      continue;
    }
    if (it->is_symlink() && it->is_directory()) it.disable_recursion_pending();
    if (!inside(canonical_root, resolved) || !fs::is_regular_file(resolved)) continue;
    const auto relative = it->path().lexically_relative(canonical_root).generic_string();
    const auto checked = checked_web_path("/" + relative);
    if (!checked) continue;  // a name no request could name
    std::ifstream in(resolved, std::ios::binary);
    std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in && !in.eof()) {
      error = "cannot read " + resolved.string();
      return std::nullopt;
    }
    web.total_bytes_ += body.size();
    if (web.total_bytes_ > max_bytes) {
      error = "the web app under " + root.string() + " is over --web-max-bytes (" +
              std::to_string(max_bytes) + ")";
      return std::nullopt;
    }
    WebFile file{.body = std::move(body),
                 .content_type = std::string(web_content_type(*checked)),
                 .immutable = is_hashed_asset(*checked)};
    web.files_.emplace(*checked, std::move(file));
  }
  if (ec) {
    error = "cannot read " + root.string() + ": " + ec.message();
    return std::nullopt;
  }
  if (!web.files_.contains("/index.html")) {
    error = "no index.html under " + root.string() + " (build the web app with scripts/setup)";
    return std::nullopt;
  }
  return web;
}

const WebFile* WebRoot::find(std::string_view target, WebPath& outcome) const {
  const auto path = checked_web_path(target);
  if (!path) {
    outcome = WebPath::kRefused;
    return nullptr;
  }
  const auto it = files_.find(*path == "/" ? std::string_view("/index.html") : *path);
  if (it == files_.end()) {
    outcome = WebPath::kNotFound;
    return nullptr;
  }
  outcome = WebPath::kFound;
  return &it->second;
}

}  // namespace circle::server
