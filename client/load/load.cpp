#include "load.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "figures.hpp"
#include "load_shard.hpp"

namespace circle::load {
namespace {

using Clock = std::chrono::steady_clock;

unsigned usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return static_cast<unsigned>(std::max(1, CPU_COUNT(&set)));
}

// User plus system CPU seconds of another process on this machine (the
// server, for --server-pid), or nothing if it cannot be read.
std::optional<double> process_cpu_seconds(int pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(file, line)) return std::nullopt;
  // The command name, in parentheses, may hold spaces: fields count from after it.
  const auto end_of_name = line.rfind(')');
  if (end_of_name == std::string::npos) return std::nullopt;
  if (end_of_name + 2 > line.size()) return std::nullopt;
  std::istringstream fields(line.substr(end_of_name + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;  // fields 14 and 15
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    unsigned long long* into = i == 14 ? &utime : i == 15 ? &stime : nullptr;
    if (into &&
        std::from_chars(field.data(), field.data() + field.size(), *into).ec != std::errc{}) {
      return std::nullopt;
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Resident memory of another process (VmRSS, in bytes), or nothing.
std::optional<std::uint64_t> process_rss_bytes(int pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(file, line);) {
    if (line.rfind("VmRSS:", 0) != 0) continue;
    std::istringstream fields(line.substr(6));
    std::uint64_t kib = 0;
    if (fields >> kib) return kib * 1024;
  }
  return std::nullopt;
}

// One report interval: what was sent and delivered in it, and the latency of
// those deliveries.
struct Interval {
  std::chrono::steady_clock::time_point end;
  const char* phase = "";
  std::uint64_t sent = 0, delivered = 0;
  LatencyHistogram latency;
  std::optional<double> server_cpu_s;       // --server-pid: its CPU in this interval
  std::optional<std::uint64_t> server_rss;  // and its resident memory at the end
};

class LoadRun {
 public:
  explicit LoadRun(const LoadOptions& options) : options_(options) {}
  int run();

 private:
  std::vector<LoadShard::Snapshot> snapshots();
  // Ends the current report interval at `at` (`now`: the figures then); with
  // `extend`, adds it to the last one instead (one that ended just before).
  void end_interval(const Figures& now, const LatencyHistogram& latency, const char* phase,
                    Clock::time_point at, bool extend = false);
  // Seconds from the start of sending to `t` (negative before it; from the
  // start of the run while it is not known yet).
  double since_sending(Clock::time_point t) const {
    return std::chrono::duration<double>(t - sending_started_.value_or(run_started_)).count();
  }
  void print_summary(double wall_seconds, double cpu);
  std::string describe_sending() const;
  void write_json(double wall_seconds, double cpu);

  const LoadOptions& options_;
  // One or more nodes of the same service: member i connects to node i mod
  // their count, so each room's members are spread over the nodes.
  std::vector<circle::client::ServerAddress> addresses_;
  std::vector<std::unique_ptr<LoadShard>> shards_;
  Figures figures_;          // all shards', once they have stopped
  GeneratorLoad generator_;  // while sending
  std::optional<double> server_cpu_sending_;
  std::uint64_t last_progress_delivered_ = 0, last_progress_sent_ = 0;
  std::optional<double> last_server_cpu_;
  Clock::time_point run_started_ = Clock::now();
  std::optional<Clock::time_point> sending_started_;
  Clock::time_point last_interval_end_ = run_started_;
  std::vector<Interval> intervals_;  // the --json "intervals" series
};

std::vector<LoadShard::Snapshot> LoadRun::snapshots() {
  std::vector<LoadShard::Snapshot> result;
  for (auto& shard : shards_) result.push_back(shard->snapshot());
  return result;
}

void LoadRun::end_interval(const Figures& now, const LatencyHistogram& latency, const char* phase,
                           Clock::time_point at, bool extend) {
  if (extend && !intervals_.empty()) {
    auto& last = intervals_.back();
    last.sent += now.sent - last_progress_sent_;
    last.delivered += now.delivered - last_progress_delivered_;
    last.latency.merge(latency);
    last_progress_delivered_ = now.delivered;
    last_progress_sent_ = now.sent;
    return;
  }
  Interval interval{.end = at,
                    .phase = phase,
                    .sent = now.sent - last_progress_sent_,
                    .delivered = now.delivered - last_progress_delivered_,
                    .latency = latency,
                    .server_cpu_s = std::nullopt,
                    .server_rss = std::nullopt};
  last_progress_delivered_ = now.delivered;
  last_progress_sent_ = now.sent;
  if (options_.server_pid > 0) {
    if (auto cpu = process_cpu_seconds(options_.server_pid)) {
      if (last_server_cpu_) interval.server_cpu_s = *cpu - *last_server_cpu_;
      last_server_cpu_ = cpu;
    }
    interval.server_rss = process_rss_bytes(options_.server_pid);
  }
  const double length = std::chrono::duration<double>(at - last_interval_end_).count();
  intervals_.push_back(interval);
  last_interval_end_ = at;
  if (options_.quiet) return;
  const std::uint64_t errors = now.send_errors + now.connect_failures + now.join_failures;
  const double per_second = 1 / std::max(length, 1e-3);
  std::cerr << "load: " << phase << " " << static_cast<long>(std::lround(since_sending(at)))
            << " s: " << now.joined << "/" << options_.connections << " joined, "
            << static_cast<std::uint64_t>(static_cast<double>(interval.sent) * per_second)
            << " sent/s, "
            << static_cast<std::uint64_t>(static_cast<double>(interval.delivered) * per_second)
            << " delivered/s, latency in this interval p50 " << latency.percentile(50) / 1000
            << " us, p99 " << latency.percentile(99) / 1000 << " us, max " << latency.max() / 1000
            << " us, " << errors << " errors\n";
}

int LoadRun::run() {
  std::string error;
  std::stringstream urls(options_.server_url);
  for (std::string url; std::getline(urls, url, ',');) {
    auto address = circle::client::parse_server_url(url, &error);
    if (!address) {
      std::cerr << "circle load: " << error << "\n";
      return 2;
    }
    addresses_.push_back(*address);
  }
  if (addresses_.empty()) {
    std::cerr << "circle load: --server names no server\n";
    return 2;
  }
  if (options_.protocol != "circle" && options_.protocol != "raw") {
    std::cerr << "circle load: --protocol is circle or raw\n";
    return 2;
  }
  if (options_.protocol == "raw" && options_.rate <= 0) {
    std::cerr << "circle load: the raw protocol has no echo, so it needs --rate > 0\n";
    return 2;
  }
  if (options_.connections == 0 || options_.room_size == 0 || options_.duration_seconds <= 0 ||
      options_.threads == 0 || options_.report_interval_seconds <= 0) {
    std::cerr << "circle load: --connections, --room-size, --duration, --threads and "
                 "--report-interval must be positive\n";
    return 2;
  }
  // Whole rooms per shard, dealt out in turn.
  const unsigned rooms = (options_.connections + options_.room_size - 1) / options_.room_size;
  const unsigned threads = std::min(options_.threads, rooms);
  const bool any_tls = std::ranges::any_of(addresses_, &circle::client::ServerAddress::tls);
  for (unsigned t = 0; t < threads; ++t) {
    // A TLS context per shard: with one shared context, ThreadSanitizer saw
    // handshakes on two loops race inside OpenSSL 3.0's certificate checks
    // (ASN1_STRING_cmp against ASN1_STRING_set). Loops share nothing now.
    std::shared_ptr<boost::asio::ssl::context> tls;
    if (any_tls) {
      try {
        tls = circle::client::make_tls_context(options_.ca_file);
      } catch (const std::exception& e) {
        std::cerr << "circle load: cannot read CA file: " << e.what() << "\n";
        return 2;
      }
    }
    shards_.push_back(std::make_unique<LoadShard>(options_, addresses_, std::move(tls), t));
  }
  for (unsigned i = 0; i < options_.connections; ++i) {
    const unsigned room = i / options_.room_size;
    shards_[room % threads]->add_member(i, options_.room_prefix + "-" + std::to_string(room));
  }

  const auto wall_start = Clock::now();
  const double cpu_start = cpu_seconds(RUSAGE_SELF);
  if (options_.server_pid > 0) last_server_cpu_ = process_cpu_seconds(options_.server_pid);
  // Each shard ramps its share of the connections, so that all finish together.
  for (auto& shard : shards_) {
    shard->start(options_.ramp_per_second * static_cast<double>(shard->size()) /
                 static_cast<double>(options_.connections));
  }

  // At least once a second: the phase changes; once a report interval: progress.
  enum class Phase { kJoining, kSending, kDraining } phase = Phase::kJoining;
  auto phase_started = Clock::now();
  const auto seconds = [](double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  const auto join_deadline =
      Clock::now() + std::chrono::seconds(30) +
      seconds(options_.connections / std::max(1.0, options_.ramp_per_second));
  // Bounded: the run stops by itself even if the server never answers.
  const auto hard_stop =
      join_deadline + seconds(options_.duration_seconds + options_.drain_seconds + 10);
  double process_cpu_at_start = 0;
  std::vector<double> thread_cpu_at_start;
  std::optional<double> server_cpu_at_start;
  // Progress once a report interval; the sending window ends on time, not on
  // a tick. Intervals restart when sending starts, so that the series lines
  // up with the sending window.
  const auto report_every = seconds(options_.report_interval_seconds);
  auto next_tick = Clock::now() + report_every;
  auto sending_end = Clock::time_point::max();
  LatencyHistogram interval;  // deliveries since the last progress line
  const char* const phase_names[] = {"joining", "sending", "draining"};
  Figures last_merged;  // the latest figures the loop saw
  for (;;) {
    // A clock, not an event: the phases are checked at least once a second.
    std::this_thread::sleep_until(
        std::min({next_tick, sending_end, Clock::now() + std::chrono::seconds(1)}));
    const auto now = Clock::now();
    auto snaps = snapshots();
    Figures merged;
    for (const auto& snap : snaps) {
      merged.merge(snap.figures);
      interval.merge(snap.interval_latency);
    }
    last_merged = merged;
    if (now >= next_tick) {
      // After a stall, the next interval is a whole one, not a burst of empty ones.
      next_tick = now >= next_tick + report_every ? now + report_every : next_tick + report_every;
      end_interval(merged, interval, phase_names[static_cast<int>(phase)], now);
      interval = {};
    }
    if (now > hard_stop) break;
    const bool all_in =
        merged.joined + merged.join_failures + merged.connect_failures >= options_.connections;
    if (phase == Phase::kJoining && (all_in || now > join_deadline)) {
      // The joining phase's last, partial interval ends here.
      if (interval.count() > 0 || merged.sent > last_progress_sent_) {
        end_interval(merged, interval, phase_names[static_cast<int>(phase)], now);
        interval = {};
      }
      phase = Phase::kSending;
      phase_started = now;
      sending_started_ = now;
      next_tick = now + report_every;
      sending_end = now + seconds(options_.duration_seconds);
      const std::uint64_t window_start = now_ns();
      const std::uint64_t window_end =
          window_start + static_cast<std::uint64_t>(options_.duration_seconds * 1e9);
      process_cpu_at_start = cpu_seconds(RUSAGE_SELF);
      thread_cpu_at_start.clear();
      for (const auto& snap : snaps) thread_cpu_at_start.push_back(snap.thread_cpu_seconds);
      if (options_.server_pid > 0) server_cpu_at_start = process_cpu_seconds(options_.server_pid);
      for (auto& shard : shards_) shard->start_sending(window_start, window_end);
    } else if (phase == Phase::kSending && now >= sending_end) {
      sending_end = Clock::time_point::max();
      for (auto& shard : shards_) shard->stop_sending();
      // The threads' CPU first, then the clock and the process's: the
      // busiest thread's share never counts time outside the window.
      const auto ending = snapshots();
      generator_.wall_seconds = std::chrono::duration<double>(Clock::now() - phase_started).count();
      generator_.cpu_seconds = cpu_seconds(RUSAGE_SELF) - process_cpu_at_start;
      generator_.cores = usable_cores();
      generator_.threads = threads;
      for (std::size_t i = 0; i < ending.size(); ++i) {
        interval.merge(ending[i].interval_latency);
        generator_.busiest_thread_seconds =
            std::max(generator_.busiest_thread_seconds,
                     ending[i].thread_cpu_seconds - thread_cpu_at_start[i]);
      }
      if (server_cpu_at_start) {
        if (auto end = process_cpu_seconds(options_.server_pid)) {
          server_cpu_sending_ = *end - *server_cpu_at_start;
        }
      }
      // The sending series ends with the window and holds every send of it
      // (the shards had stopped when `ending` was taken): a last, partial
      // interval, or, when a tick has just ended one, added to that one.
      Figures at_end;
      for (const auto& snap : ending) at_end.merge(snap.figures);
      end_interval(at_end, interval, phase_names[static_cast<int>(phase)], now,
                   /*extend=*/now - last_interval_end_ <= report_every / 10);
      interval = {};
      next_tick = now + report_every;
      phase = Phase::kDraining;
      phase_started = now;
    } else if (phase == Phase::kDraining) {
      const bool drained =
          merged.delivered >= merged.expected && merged.acked + merged.send_errors >= merged.sent;
      if (drained || now - phase_started >= seconds(options_.drain_seconds)) break;
    }
  }
  // The series ends with what arrived while draining.
  if (phase == Phase::kDraining &&
      (interval.count() > 0 || last_merged.sent > last_progress_sent_)) {
    end_interval(last_merged, interval, phase_names[static_cast<int>(phase)], Clock::now());
  }
  for (auto& shard : shards_) shard->finish();
  for (auto& shard : shards_) {
    shard->join();
    figures_.merge(shard->figures());
  }
  const double wall = std::chrono::duration<double>(Clock::now() - wall_start).count();
  const double cpu = cpu_seconds(RUSAGE_SELF) - cpu_start;
  print_summary(wall, cpu);
  if (!options_.json_file.empty()) write_json(wall, cpu);
  const bool exact =
      figures_.gaps == 0 && figures_.duplicates == 0 && figures_.delivered == figures_.expected;
  if (figures_.joined == 0) return 2;
  return exact ? 0 : 1;
}

std::string LoadRun::describe_sending() const {
  const unsigned senders = std::min(options_.senders_per_room, options_.room_size);
  if (senders == 0) return "idle (nobody sends)";
  const std::string who = senders == options_.room_size
                              ? "each member"
                              : std::to_string(senders) + " sender(s) per room";
  if (options_.rate <= 0) return "closed loop, " + who;
  char rate[32];
  std::snprintf(rate, sizeof rate, "%g", options_.rate);
  return std::string(rate) + " msg/s from " + who + " (" + options_.phase + " phase)";
}

void LoadRun::print_summary(double wall, double cpu) {
  const double window = options_.duration_seconds;
  const std::uint64_t expected = figures_.expected;
  auto us = [](std::uint64_t ns) { return std::to_string(ns / 1000) + " us"; };
  std::cout << "\ncircle load (" << options_.protocol << " protocol): " << options_.connections
            << " connections, rooms of " << options_.room_size << ", " << describe_sending() << ", "
            << options_.payload_bytes << "-byte payloads, " << window << " s\n"
            << "  connected        " << figures_.connected << " (failed "
            << figures_.connect_failures << "), joined " << figures_.joined << " (failed "
            << figures_.join_failures << ")\n"
            << "  connect latency  p50 " << us(figures_.connect_latency.percentile(50)) << ", p99 "
            << us(figures_.connect_latency.percentile(99)) << "\n"
            << "  join latency     p50 " << us(figures_.join_latency.percentile(50)) << ", p99 "
            << us(figures_.join_latency.percentile(99)) << "\n"
            << "  connects+joins   " << static_cast<std::uint64_t>(figures_.join_rate())
            << "/s (first connect to last join, at --ramp " << options_.ramp_per_second << "/s)\n"
            << "  messages         sent " << figures_.sent << ", acked " << figures_.acked
            << ", refused " << figures_.send_errors << ", unanswered at the end "
            << figures_.unanswered_at_end << "\n"
            << "  deliveries       " << figures_.delivered << " of " << expected << " expected, "
            << static_cast<std::uint64_t>(figures_.delivered_in_window / window) << "/s\n"
            << "  latency          p50 " << us(figures_.latency.percentile(50)) << ", p90 "
            << us(figures_.latency.percentile(90)) << ", p99 "
            << us(figures_.latency.percentile(99)) << ", p99.9 "
            << us(figures_.latency.percentile(99.9)) << ", max " << us(figures_.latency.max())
            << "\n"
            << "  ack latency      p50 " << us(figures_.ack_latency.percentile(50)) << ", p99 "
            << us(figures_.ack_latency.percentile(99)) << "\n"
            << "  lost (gaps)      " << figures_.gaps << ", duplicated " << figures_.duplicates
            << "\n"
            << "  load client CPU  " << cpu << " s in " << wall << " s ("
            << static_cast<int>(100 * cpu / std::max(wall, 1e-9)) << "% of a core)\n"
            << "  load generator   " << generator_.threads << " thread(s) on " << generator_.cores
            << " core(s): " << static_cast<int>(100 * generator_.utilisation())
            << "% of what it could use while sending"
            << (generator_.saturated()
                    ? " -- SATURATED: the figures above may be the generator's limit, not the "
                      "server's (try --threads)"
                    : "")
            << "\n";
  if (server_cpu_sending_) {
    std::cout << "  server CPU       " << *server_cpu_sending_ << " s while sending (pid "
              << options_.server_pid << "), "
              << (figures_.delivered_in_window
                      ? *server_cpu_sending_ * 1e6 /
                            static_cast<double>(figures_.delivered_in_window)
                      : 0.0)
              << " us per delivery\n";
  }
  for (const auto& [code, count] : figures_.errors_by_code) {
    std::cout << "  error            " << code << ": " << count << "\n";
  }
  for (const auto& [code, count] : figures_.closes_by_code) {
    std::cout << "  close            " << code << ": " << count << "\n";
  }
}

void LoadRun::write_json(double wall, double cpu) {
  auto histogram = [](const LatencyHistogram& h) {
    return nlohmann::json{
        {"count", h.count()},         {"p50_ns", h.percentile(50)},    {"p90_ns", h.percentile(90)},
        {"p99_ns", h.percentile(99)}, {"p999_ns", h.percentile(99.9)}, {"max_ns", h.max()}};
  };
  nlohmann::json out = {
      {"settings",
       {{"server", options_.server_url},
        {"connections", options_.connections},
        {"room_size", options_.room_size},
        {"rate_per_member", options_.rate},
        {"closed_loop", options_.rate <= 0},
        {"phase", options_.phase},
        {"payload_bytes", options_.payload_bytes},
        {"senders_per_room", std::min(options_.senders_per_room, options_.room_size)},
        {"duration_s", options_.duration_seconds},
        {"ramp_per_s", options_.ramp_per_second}}},
      {"connected", figures_.connected},
      {"connect_failures", figures_.connect_failures},
      {"joined", figures_.joined},
      {"join_failures", figures_.join_failures},
      {"sent", figures_.sent},
      {"acked", figures_.acked},
      {"send_errors", figures_.send_errors},
      {"unanswered_at_end", figures_.unanswered_at_end},
      {"delivered", figures_.delivered},
      {"expected_deliveries", figures_.expected},
      {"protocol", options_.protocol},
      {"deliveries_per_s", figures_.delivered_in_window / options_.duration_seconds},
      {"lost", figures_.gaps},
      {"duplicated", figures_.duplicates},
      {"latency", histogram(figures_.latency)},
      {"connect_latency", histogram(figures_.connect_latency)},
      {"join_latency", histogram(figures_.join_latency)},
      {"joins_per_s", figures_.join_rate()},
      {"ack_latency", histogram(figures_.ack_latency)},
      {"errors", figures_.errors_by_code},
      {"closes", figures_.closes_by_code},
      {"client_cpu_s", cpu},
      {"wall_s", wall},
      {"generator",
       {{"threads", generator_.threads},
        {"cores", generator_.cores},
        {"cpu_s_sending", generator_.cpu_seconds},
        {"busiest_thread_cpu_s_sending", generator_.busiest_thread_seconds},
        {"wall_s_sending", generator_.wall_seconds},
        {"utilisation", generator_.utilisation()},
        {"saturated", generator_.saturated()}}}};
  if (server_cpu_sending_) {
    out["server_cpu_s_sending"] = *server_cpu_sending_;
    out["server_cpu_us_per_delivery"] =
        figures_.delivered_in_window
            ? *server_cpu_sending_ * 1e6 / static_cast<double>(figures_.delivered_in_window)
            : 0.0;
  }
  // The series: one entry per report interval, from the first progress line.
  auto& series = out["intervals"] = nlohmann::json::array();
  for (const auto& interval : intervals_) {
    nlohmann::json entry = {{"end_s", since_sending(interval.end)},
                            {"phase", interval.phase},
                            {"sent", interval.sent},
                            {"delivered", interval.delivered},
                            {"latency", histogram(interval.latency)}};
    if (interval.server_cpu_s) entry["server_cpu_s"] = *interval.server_cpu_s;
    if (interval.server_rss) entry["server_rss_bytes"] = *interval.server_rss;
    series.push_back(std::move(entry));
  }
  out["settings"]["report_interval_s"] = options_.report_interval_seconds;
  std::ofstream(options_.json_file) << out.dump(2) << "\n";
}

}  // namespace

int run_load(const LoadOptions& options) {
  return LoadRun(options).run();
}

}  // namespace circle::load
