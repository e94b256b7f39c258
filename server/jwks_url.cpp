#include "jwks_url.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "logging.hpp"

namespace circle::server {

std::optional<std::chrono::seconds> cache_max_age(std::string_view cache_control) {
  std::string lower(cache_control);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::optional<std::chrono::seconds> age;
  std::size_t start = 0;
  while (start <= lower.size()) {
    auto end = lower.find(',', start);
    if (end == std::string::npos) end = lower.size();
    std::string_view directive(lower.data() + start, end - start);
    while (!directive.empty() && directive.front() == ' ') directive.remove_prefix(1);
    while (!directive.empty() && directive.back() == ' ') directive.remove_suffix(1);
    if (directive == "no-store" || directive == "no-cache") return std::chrono::seconds(0);
    if (directive.starts_with("max-age=")) {
      const auto digits = directive.substr(8);
      if (!digits.empty() && digits.size() <= 9 &&
          std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        age = std::chrono::seconds(std::stoll(std::string(digits)));
      }
    }
    start = end + 1;
  }
  return age;
}

JwksUrl::JwksUrl(net::io_context& ioc, JwksUrlOptions options, Metrics& metrics)
    : PublishedKeys(metrics),
      options_(std::move(options)),
      tls_(https_client_context(options_.ca_file)),
      strand_(net::make_strand(ioc)),
      next_fetch_(strand_) {
  auto url = parse_https_url(options_.url);
  if (!url) throw std::invalid_argument("--jwks-url must be https://host[:port]/path");
  url_ = std::move(*url);
}

void JwksUrl::start() {
  net::post(strand_, [this] { fetch(); });
}

void JwksUrl::stop() {
  net::post(strand_, [this] {
    stopped_ = true;
    next_fetch_.cancel();
  });
}

std::string JwksUrl::reload() {
  // An operator asked: fetch now, whatever the interval says.
  net::post(strand_, [this] {
    if (!fetching_) fetch();
  });
  return {};
}

void JwksUrl::refresh_for_unknown_key(std::function<void(bool)> done) {
  net::post(strand_, [this, done = std::move(done)]() mutable {
    if (fetching_) return waiting_.push_back(std::move(done));
    const bool allowed =
        !last_start_ || std::chrono::steady_clock::now() - *last_start_ >= options_.min_refresh;
    if (!allowed || stopped_) return done(false);
    spdlog::info("identity provider keys: a token names a key not held; fetching {} again",
                 options_.url);
    waiting_.push_back(std::move(done));
    fetch();
  });
}

void JwksUrl::fetch() {
  if (stopped_) return;
  fetching_ = true;
  last_start_ = std::chrono::steady_clock::now();
  next_fetch_.cancel();
  http::request<http::string_body> request(http::verb::get, url_.target, 11);
  request.set(http::field::accept, "application/json");
  https_exchange(strand_, tls_, url_, std::move(request), options_.timeout, options_.max_bytes,
                 [this](const std::string& error, const HttpsResponse& response) {
                   fetched(error, response);
                 });
}

void JwksUrl::fetched(const std::string& error, const HttpsResponse& response) {
  fetching_ = false;
  std::string why = error;
  if (why.empty() && response.result() != http::status::ok) {
    why = "HTTP " + std::to_string(response.result_int());
  }
  if (why.empty()) {
    try {
      take(auth::KeySet::parse(response.body()), options_.url);
    } catch (const std::invalid_argument& e) {
      why = e.what();
    }
  }
  std::chrono::seconds wait;
  if (why.empty()) {
    failure_wait_ = std::chrono::seconds(0);
    const auto age = cache_max_age(response[http::field::cache_control]);
    wait =
        std::clamp(age.value_or(options_.max_refresh), options_.min_refresh, options_.max_refresh);
  } else {
    failed(options_.url, why);
    // 1 s, doubling, at most the minimum interval: soon while the provider
    // blinks, never more often than the interval while it stays down.
    failure_wait_ =
        std::min(std::max(failure_wait_ * 2, std::chrono::seconds(1)), options_.min_refresh);
    wait = failure_wait_;
  }
  auto waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& done : waiting) done(why.empty());
  fetch_after(wait);
}

void JwksUrl::fetch_after(std::chrono::seconds wait) {
  if (stopped_) return;
  next_fetch_.expires_after(wait);
  next_fetch_.async_wait([this](error_code ec) {
    if (!ec && !fetching_) fetch();
  });
}

}  // namespace circle::server
