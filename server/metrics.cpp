#include "metrics.hpp"

#include <fmt/format.h>

#include "auth/token.hpp"
#include "circle/v1/circle.pb.h"

namespace circle::server {

static_assert(kTokenFaults == static_cast<std::size_t>(auth::TokenFault::kServerMisconfigured) + 1);

void Histogram::observe(std::chrono::nanoseconds duration) {
  const double seconds = std::chrono::duration<double>(duration).count();
  std::size_t bucket = 0;
  while (bucket < kBounds.size() && seconds > kBounds[bucket]) ++bucket;
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, duration.count())),
                    std::memory_order_relaxed);
}

std::array<std::uint64_t, Histogram::kBounds.size() + 1> Histogram::cumulative() const {
  std::array<std::uint64_t, kBounds.size() + 1> counts{};
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    counts[i] = running;
  }
  return counts;
}

double Histogram::sum_seconds() const {
  return static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
}

void Metrics::count_error(int code) {
  if (code >= 0 && static_cast<std::size_t>(code) < errors_by_code.size()) {
    errors_by_code[static_cast<std::size_t>(code)].add();
  }
}

namespace {

void metric(std::string& out, const char* name, const char* type, const char* help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void value(std::string& out, const char* name, std::uint64_t v) {
  out += fmt::format("{} {}\n", name, v);
}

void histogram(std::string& out, const char* name, const char* help, const Histogram& h) {
  metric(out, name, "histogram", help);
  const auto counts = h.cumulative();
  for (std::size_t i = 0; i < Histogram::kBounds.size(); ++i) {
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, Histogram::kBounds[i], counts[i]);
  }
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n", name, counts.back());
  out += fmt::format("{}_sum {}\n{}_count {}\n", name, h.sum_seconds(), name, counts.back());
}

}  // namespace

std::string render_prometheus(const Metrics& m, const Gauges& g) {
  std::string out;
  const auto gauge = [&](const char* name, const char* help, std::uint64_t v) {
    metric(out, name, "gauge", help);
    value(out, name, v);
  };
  const auto level = [&](const char* name, const char* help, const Level& l) {
    metric(out, name, "gauge", help);
    out += fmt::format("{} {}\n", name, l.value());
  };
  const auto counter = [&](const char* name, const char* help, const Counter& c) {
    metric(out, name, "counter", help);
    value(out, name, c.value());
  };
  gauge("circle_connections", "TCP connections held, TLS handshakes included", g.connections);
  gauge("circle_sessions", "Open WebSocket sessions", g.sessions);
  gauge("circle_rooms", "Rooms on the server", g.rooms);
  gauge("circle_room_members", "Room memberships, summed over rooms", g.members);
  gauge("circle_support_escalations_open",
        "Support alerts that went to the operators and are not resolved yet", g.open_escalations);
  if (g.nats_connected >= 0) {
    gauge("circle_nats_connected", "1 while this node reaches the NATS cluster",
          static_cast<std::uint64_t>(g.nats_connected));
  }
  if (g.room_log_following >= 0) {
    gauge("circle_room_log_following", "1 while this node follows the cluster's room log",
          static_cast<std::uint64_t>(g.room_log_following));
  }
  counter("circle_requests_total", "Client requests read", m.requests);
  counter("circle_messages_posted_total", "Chat messages accepted", m.messages_posted);
  counter("circle_deliveries_total", "Frames queued to connections", m.deliveries);
  counter("circle_outbound_overflows_total", "Connections dropped as too slow (1008)",
          m.outbound_overflows);
  counter("circle_rate_limited_total", "Requests refused with RATE_LIMITED", m.rate_limited);
  counter("circle_rate_limit_closes_total", "Connections closed for flooding (1008)",
          m.rate_limit_closes);
  metric(out, "circle_connections_refused_total", "counter",
         "Connections refused by a cap, by reason");
  for (std::size_t why = 0; why < kRefusedReasons; ++why) {
    out += fmt::format("circle_connections_refused_total{{reason=\"{}\"}} {}\n",
                       kRefusedLabels[why], m.refused[why].value());
  }
  counter("circle_store_failures_total", "Store group commits that failed", m.store_failures);
  counter("circle_support_escalations_total",
          "Support alerts that went to the operators (nobody answered in time, or no "
          "facilitator was there)",
          m.support_escalations);
  counter("circle_support_webhook_delivered_total", "On-call webhook POSTs answered with 2xx",
          m.webhook_delivered);
  counter("circle_support_webhook_retries_total", "On-call webhook attempts that failed",
          m.webhook_retries);
  counter("circle_support_webhook_dropped_total",
          "On-call webhook POSTs given up (out of attempts, or the queue was full)",
          m.webhook_dropped);
  metric(out, "circle_token_refusals_total", "counter",
         "Account tokens refused in Hello, by reason");
  for (std::size_t fault = 1; fault < kTokenFaults; ++fault) {
    out += fmt::format("circle_token_refusals_total{{reason=\"{}\"}} {}\n",
                       auth::name_of(static_cast<auth::TokenFault>(fault)),
                       m.token_refusals[fault].value());
  }
  counter("circle_jwks_loads_total", "Identity provider key sets read or fetched and taken",
          m.jwks_loads);
  counter("circle_jwks_load_failures_total",
          "Identity provider key set reads or fetches that failed (the keys held stay)",
          m.jwks_load_failures);
  level("circle_jwks_keys", "Identity provider signing keys held", m.jwks_keys);
  level("circle_jwks_loaded_timestamp_seconds",
        "When the identity provider keys held were taken (0: none yet)", m.jwks_loaded_at);
  counter("circle_reloads_total", "Reloads asked for (SIGHUP, circled reload)", m.reloads);
  counter("circle_reload_failures_total",
          "Reloads that kept the old state because something could not be taken",
          m.reload_failures);
  level("circle_reload_success", "1 when the last reload took everything, else 0", m.reload_ok);
  level("circle_tls_certificate_expiry_timestamp_seconds",
        "notAfter of the TLS certificate served to new connections", m.tls_certificate_expires_at);
  metric(out, "circle_errors_total", "counter", "Error replies sent, by error code");
  for (std::size_t code = 1; code < m.errors_by_code.size(); ++code) {
    if (!circle::v1::ErrorCode_IsValid(static_cast<int>(code))) continue;
    out += fmt::format("circle_errors_total{{code=\"{}\"}} {}\n",
                       circle::v1::ErrorCode_Name(static_cast<circle::v1::ErrorCode>(code)),
                       m.errors_by_code[code].value());
  }
  histogram(out, "circle_store_commit_seconds",
            "Time an action waited for its store commit before anything was delivered",
            m.store_commit);
  histogram(out, "circle_fan_out_seconds",
            "Time to hand one committed action's events to every member's queue", m.fan_out);
  return out;
}

}  // namespace circle::server
