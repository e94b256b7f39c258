#include "published_keys.hpp"

#include <fmt/ranges.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "clock.hpp"
#include "logging.hpp"

namespace circle::server {

void PublishedKeys::take(std::shared_ptr<const auth::KeySet> keys, const std::string& from) {
  spdlog::info("identity provider keys from {}: {} signing keys ({}), {} others left out", from,
               keys->size(), fmt::join(keys->kids(), ", "), keys->skipped());
  metrics_.jwks_keys.set(static_cast<std::int64_t>(keys->size()));
  metrics_.jwks_loaded_at.set(now_unix_ms() / 1000);
  metrics_.jwks_loads.add();
  keys_.store(std::move(keys));
}

void PublishedKeys::failed(const std::string& from, const std::string& why) {
  metrics_.jwks_load_failures.add();
  spdlog::error("identity provider keys from {}: {}; {}", from, why,
                current() ? "the keys held stay in use" : "no keys held yet");
}

JwksFile::JwksFile(std::string path, Metrics& metrics)
    : PublishedKeys(metrics), path_(std::move(path)) {
  if (const auto error = load(); !error.empty()) {
    throw std::runtime_error("--jwks-file " + path_ + ": " + error);
  }
}

std::string JwksFile::load() {
  std::ifstream file(path_, std::ios::binary);
  if (!file) return "cannot be read";
  std::ostringstream text;
  text << file.rdbuf();
  try {
    take(auth::KeySet::parse(text.str()), path_);
    return {};
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
}

std::string JwksFile::reload() {
  auto error = load();
  if (!error.empty()) failed(path_, error);
  return error;
}

}  // namespace circle::server
