#include "figures.hpp"

#include <algorithm>

namespace circle::load {

void Figures::merge(const Figures& other) {
  connected += other.connected;
  connect_failures += other.connect_failures;
  joined += other.joined;
  join_failures += other.join_failures;
  sent += other.sent;
  acked += other.acked;
  send_errors += other.send_errors;
  unanswered_at_end += other.unanswered_at_end;
  delivered += other.delivered;
  delivered_in_window += other.delivered_in_window;
  gaps += other.gaps;
  duplicates += other.duplicates;
  expected += other.expected;
  for (const auto& [code, count] : other.errors_by_code) errors_by_code[code] += count;
  for (const auto& [code, count] : other.closes_by_code) closes_by_code[code] += count;
  latency.merge(other.latency);
  connect_latency.merge(other.connect_latency);
  join_latency.merge(other.join_latency);
  ack_latency.merge(other.ack_latency);
  if (other.first_connect_ns != 0) {
    first_connect_ns = first_connect_ns == 0 ? other.first_connect_ns
                                             : std::min(first_connect_ns, other.first_connect_ns);
  }
  last_join_ns = std::max(last_join_ns, other.last_join_ns);
}

double Figures::join_rate() const {
  if (joined == 0 || last_join_ns <= first_connect_ns) return 0;
  return static_cast<double>(joined) * 1e9 / static_cast<double>(last_join_ns - first_connect_ns);
}

double GeneratorLoad::utilisation() const {
  if (wall_seconds <= 0) return 0;
  const double usable = static_cast<double>(std::max(1u, std::min(cores, threads)));
  return std::max(cpu_seconds / (wall_seconds * usable), busiest_thread_seconds / wall_seconds);
}

}  // namespace circle::load
