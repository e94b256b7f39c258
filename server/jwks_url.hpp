// --jwks-url: the identity provider's JWK Set fetched over HTTPS in the
// background. The next fetch is when the answer's Cache-Control max-age says,
// kept between --jwks-min-refresh-seconds and --jwks-max-refresh-seconds; a
// token naming a key not held yet (the provider rotated its keys) brings the
// next fetch forward, at most once per minimum interval however many such
// tokens arrive. A failed fetch keeps the keys held and retries with backoff.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>
#include <vector>

#include "beast.hpp"
#include "https_client.hpp"
#include "published_keys.hpp"

namespace circle::server {

// The max-age of a Cache-Control header; zero for no-store/no-cache;
// nullopt when it says neither.
std::optional<std::chrono::seconds> cache_max_age(std::string_view cache_control);

struct JwksUrlOptions {
  std::string url;
  std::string ca_file;
  std::chrono::seconds min_refresh{60};
  std::chrono::seconds max_refresh{3600};
  std::chrono::milliseconds timeout{5000};
  std::size_t max_bytes = 1024 * 1024;
};

class JwksUrl final : public PublishedKeys {
 public:
  // Throws std::invalid_argument for a URL that is not https://host[:port]/path
  // or a CA file that cannot be read.
  JwksUrl(net::io_context& ioc, JwksUrlOptions options, Metrics& metrics);

  void start() override;  // the first fetch, now
  void stop() override;   // no fetch after this one

  void refresh_for_unknown_key(std::function<void(bool)> done) override;
  std::string reload() override;

 private:
  void fetch();  // on strand_
  void fetched(const std::string& error, const HttpsResponse& response);
  void fetch_after(std::chrono::seconds wait);

  JwksUrlOptions options_;
  HttpsUrl url_;
  ssl::context tls_;
  Strand strand_;
  net::steady_timer next_fetch_;
  // On strand_:
  bool stopped_ = false;
  bool fetching_ = false;
  std::optional<std::chrono::steady_clock::time_point> last_start_;
  std::chrono::seconds failure_wait_{0};
  std::vector<std::function<void(bool)>> waiting_;  // for the fetch under way
};

}  // namespace circle::server
