// What a load run measures, kept per generator thread and merged at the end,
// and the test of whether the generator itself was the limit. Pure: no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "histogram.hpp"

namespace circle::load {

struct Figures {
  std::uint64_t connected = 0, connect_failures = 0, joined = 0, join_failures = 0;
  std::uint64_t sent = 0, acked = 0, send_errors = 0, unanswered_at_end = 0;
  std::uint64_t delivered = 0, delivered_in_window = 0;
  std::uint64_t gaps = 0, duplicates = 0;
  // Deliveries owed for the messages acked so far (the raw protocol: sent).
  std::uint64_t expected = 0;
  std::map<std::string, std::uint64_t> errors_by_code;
  std::map<std::string, std::uint64_t> closes_by_code;
  LatencyHistogram latency, connect_latency, join_latency, ack_latency;
  // The ramp: from the first connect to the last join, for connects + joins
  // per second.
  std::uint64_t first_connect_ns = 0, last_join_ns = 0;

  void merge(const Figures& other);
  double join_rate() const;
};

// How much of its CPU the generator used while it was sending: `cpu_seconds`
// of the whole process and `busiest_thread_seconds` of its busiest event loop
// over `wall_seconds`, with `cores` the CPUs it may run on (its affinity) and
// `threads` its event loops.
struct GeneratorLoad {
  double cpu_seconds = 0, busiest_thread_seconds = 0, wall_seconds = 0;
  unsigned cores = 1, threads = 1;

  // Share of what it could use, 0..1: the process against min(cores,
  // threads), or its busiest loop against one core, whichever is higher.
  double utilisation() const;
  // At or above this share, a figure may be the generator's limit rather
  // than the server's: the row is marked.
  static constexpr double kSaturated = 0.9;
  bool saturated() const { return utilisation() >= kSaturated; }
};

}  // namespace circle::load
