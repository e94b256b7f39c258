// What the server counts for operators, exposed as Prometheus text on
// GET /metrics (a separate listener; see metrics_listener). Counters and
// histograms are lock-free atomics, cheap enough for the hot path; gauges
// (connections, rooms, members) are read when scraped. Debian has no C++
// Prometheus client, and the text format is small: it is written here.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace circle::server {

class Counter {
 public:
  void add(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A gauge its owner sets when it changes (keys loaded, a certificate's expiry).
class Level {
 public:
  void set(std::int64_t v) { value_.store(v, std::memory_order_relaxed); }
  std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// Durations in fixed buckets (seconds, Prometheus' "le" upper bounds).
class Histogram {
 public:
  static constexpr std::array<double, 12> kBounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                  0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
  void observe(std::chrono::nanoseconds duration);
  // Cumulative counts per bound, then +Inf; the sum in seconds.
  std::array<std::uint64_t, kBounds.size() + 1> cumulative() const;
  double sum_seconds() const;

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<std::uint64_t> sum_ns_{0};
};

// Read at scrape time from their owners.
struct Gauges {
  std::uint64_t connections = 0;  // TCP connections held (handshakes included)
  std::uint64_t sessions = 0;     // open WebSocket sessions
  std::uint64_t rooms = 0;
  std::uint64_t members = 0;  // room memberships, summed over rooms
  // Support alerts that went to the operators and are still open.
  std::uint64_t open_escalations = 0;
  // --backend nats only (-1: not clustered): 1/0.
  int nats_connected = -1;
  int room_log_following = -1;
};

// Why a connection was refused; labels of circle_connections_refused_total.
enum class RefusedBecause {
  kServerFull,   // upgrade refused: --max-connections
  kAddressFull,  // upgrade refused: --max-connections-per-address
  kAccountFull,  // Hello refused: --max-connections-per-account
  kOrigin,       // upgrade refused: --allowed-origin
  kUnanswered,   // over a cap and closed at once: --max-refusals-in-progress
};
inline constexpr std::size_t kRefusedReasons = 5;
// auth::TokenFault's values, kNone included (never counted).
inline constexpr std::size_t kTokenFaults = 12;
inline constexpr std::array<const char*, kRefusedReasons> kRefusedLabels = {
    "server_full", "address_full", "account_full", "origin", "unanswered"};

struct Metrics {
  Counter requests;            // every client request read
  Counter messages_posted;     // chat messages accepted
  Counter deliveries;          // frames queued to connections (room fan-out and replies)
  Counter outbound_overflows;  // connections dropped as too slow
  Counter rate_limited;        // requests refused by the rate limit
  Counter rate_limit_closes;   // connections closed for flooding
  // Connections refused, by why (RefusedBecause).
  std::array<Counter, kRefusedReasons> refused;
  Counter store_failures;                  // group commits that failed
  std::array<Counter, 32> errors_by_code;  // Error replies, by circle.v1.ErrorCode
  Histogram store_commit;                  // an action's wait for its store commit
  Histogram fan_out;                       // releasing one committed action to every member's queue
  Counter support_escalations;             // support alerts that went to the operators
  Counter webhook_delivered;               // on-call webhook POSTs answered 2xx
  Counter webhook_retries;                 // webhook attempts that failed and are retried
  Counter webhook_dropped;                 // webhook POSTs given up (attempts or queue full)
  // Account tokens refused, by auth::TokenFault.
  std::array<Counter, kTokenFaults> token_refusals;
  // The identity provider's keys (--jwks-file/--jwks-url).
  Counter jwks_loads;          // JWK Sets read or fetched and taken
  Counter jwks_load_failures;  // reads or fetches that failed (the keys held stay)
  Level jwks_keys;             // signing keys held now
  Level jwks_loaded_at;        // when the keys held were taken, seconds since the epoch
  // Reloads (SIGHUP): certificate, keys, support text, settings.
  Counter reloads;          // finished
  Counter reload_failures;  // finished with something kept as it was
  Level reload_ok;          // 1: the last reload took everything; 0: it kept the old state
  Level
      tls_certificate_expires_at;  // the certificate served now: notAfter, seconds since the epoch

  void count_error(int code);
  void count_refused(RefusedBecause why) { refused[static_cast<std::size_t>(why)].add(); }
};

// The Prometheus text exposition (version 0.0.4) of `metrics` and `gauges`.
std::string render_prometheus(const Metrics& metrics, const Gauges& gauges);

}  // namespace circle::server
