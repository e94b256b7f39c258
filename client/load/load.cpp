#include "load.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "auth/token.hpp"
#include "circle_client/connection.hpp"
#include "circle_client/requests.hpp"
#include "histogram.hpp"

namespace circle::load {
namespace {

namespace net = boost::asio;
using Clock = std::chrono::steady_clock;
using circle::v1::ServerMessage;

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
          .count());
}

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Everything measured, for the whole run.
struct Figures {
  std::uint64_t connected = 0, connect_failures = 0, joined = 0, join_failures = 0;
  std::uint64_t sent = 0, acked = 0, send_errors = 0, unanswered_at_end = 0;
  std::uint64_t delivered = 0, delivered_in_window = 0;
  std::uint64_t gaps = 0, duplicates = 0;
  std::map<std::string, std::uint64_t> errors_by_code;
  std::map<std::string, std::uint64_t> closes_by_code;
  LatencyHistogram latency, connect_latency, join_latency, ack_latency;
  // The ramp: from the first connect to the last join, for connects + joins
  // per second.
  std::uint64_t first_connect_ns = 0, last_join_ns = 0;

  double join_rate() const {
    if (joined == 0 || last_join_ns <= first_connect_ns) return 0;
    return static_cast<double>(joined) * 1e9 / static_cast<double>(last_join_ns - first_connect_ns);
  }
};

// The payload carries what a receiver needs to measure: send time, sender, and
// the sender's own counter, padded to the asked size with plain ASCII.
std::string make_payload(std::uint64_t sent_ns, unsigned sender, std::uint64_t counter,
                         unsigned size) {
  char head[64];
  const int n = std::snprintf(head, sizeof head, "t=%llu s=%u n=%llu ",
                              static_cast<unsigned long long>(sent_ns), sender,
                              static_cast<unsigned long long>(counter));
  std::string text(head, static_cast<std::size_t>(n));
  if (text.size() < size) text.append(size - text.size(), 'x');
  return text;
}

bool parse_payload(std::string_view bytes, std::uint64_t& sent_ns, unsigned& sender,
                   std::uint64_t& counter) {
  // The head is at most 64 bytes; copy it so that sscanf sees a terminator.
  const std::string head(bytes.substr(0, 64));
  unsigned long long t = 0, n = 0;
  if (std::sscanf(head.c_str(), "t=%llu s=%u n=%llu", &t, &sender, &n) != 3) return false;
  sent_ns = t;
  counter = n;
  return true;
}

class LoadRun {
 public:
  explicit LoadRun(const LoadOptions& options) : options_(options) {}
  int run();

 private:
  struct Member {
    unsigned index = 0;
    std::string room_id;
    std::shared_ptr<circle::client::Connection> connection;
    std::unique_ptr<net::steady_timer> timer;
    net::steady_timer::time_point next_send;  // open loop: when the next send is due
    std::uint64_t last_seq = 0;
    std::uint64_t counter = 0;
    bool joined = false;
    bool closed = false;
    std::uint64_t connect_started_ns = 0;
    // Raw protocol: the last counter seen from each sender, to find losses
    // and duplicates without a room seq.
    std::map<unsigned, std::uint64_t> last_from;
  };

  void start_member(Member& member);
  void on_connected(Member& member);
  void on_event(Member& member, const ServerMessage& message);
  void on_joined(Member& member);
  // This member's own account token, or "" without a secret.
  std::string token_for(const Member& member) const;
  // Whether this member sends at all (--senders).
  bool is_sender(const Member& member) const {
    return member.index % options_.room_size < options_.senders_per_room;
  }
  void on_raw(Member& member, std::string_view bytes);
  void record_delivery(std::uint64_t sent_ns);
  bool raw() const { return options_.protocol == "raw"; }
  void count_error(const circle::v1::Error& error);
  void schedule_send(Member& member, std::chrono::nanoseconds delay);
  void arm_send_timer(Member& member);
  void send(Member& member);
  void report_progress();
  void print_summary(double wall_seconds, double cpu);
  std::string describe_sending() const;
  void write_json(double wall_seconds, double cpu);

  const LoadOptions& options_;
  net::io_context ioc_{1};
  std::shared_ptr<net::ssl::context> tls_;
  // One or more nodes of the same service: member i connects to node i mod
  // their count, so each room's members are spread over the nodes.
  std::vector<circle::client::ServerAddress> addresses_;
  std::vector<std::unique_ptr<Member>> members_;
  Figures figures_;
  // Members joined and still connected, per room: who a message is owed to.
  std::map<std::string, unsigned> room_members_;
  std::uint64_t expected_ = 0;  // deliveries owed for the messages acked so far
  bool sending_ = false;
  bool finished_ = false;
  std::unique_ptr<net::steady_timer> hard_stop_;
  std::uint64_t window_start_ns_ = 0, window_end_ns_ = 0;
  std::uint64_t last_progress_delivered_ = 0, last_progress_sent_ = 0;
  std::mt19937_64 random_{42};
};

void LoadRun::count_error(const circle::v1::Error& error) {
  ++figures_.errors_by_code[circle::v1::ErrorCode_Name(error.code())];
}

void LoadRun::start_member(Member& member) {
  member.connection = circle::client::Connection::create(ioc_.get_executor(), tls_);
  member.connection->on_event(
      [this, &member](const ServerMessage& message) { on_event(member, message); });
  member.connection->on_close([this, &member](const circle::client::CloseInfo& info) {
    member.closed = true;
    if (member.joined) --room_members_[member.room_id];
    // Our own closes at the end are not news; the server's closes are.
    if (!finished_) ++figures_.closes_by_code[std::to_string(info.code) + " " + info.reason];
  });
  member.connect_started_ns = now_ns();
  if (figures_.first_connect_ns == 0) figures_.first_connect_ns = member.connect_started_ns;
  auto address = addresses_[member.index % addresses_.size()];
  if (raw()) {
    address.target = "/room/" + member.room_id;
    member.connection->on_raw_message(
        [this, &member](std::string_view bytes) { on_raw(member, bytes); });
  }
  member.connection->connect(address, {}, [this, &member](const auto& failure) {
    if (failure) {
      ++figures_.connect_failures;
      ++figures_.closes_by_code["connect: " + failure->reason];
      return;
    }
    figures_.connect_latency.record(now_ns() - member.connect_started_ns);
    ++figures_.connected;
    if (raw()) {  // no protocol: connected is joined
      on_joined(member);
      return;
    }
    on_connected(member);
  });
}

void LoadRun::on_connected(Member& member) {
  const std::uint64_t join_started = now_ns();
  auto& connection = *member.connection;
  connection.request(
      circle::client::make_hello("load-" + std::to_string(member.index), "circle-load/0.1",
                                 token_for(member)),
      [this, &member, join_started](const ServerMessage& welcome) {
        if (welcome.has_error()) {
          ++figures_.join_failures;
          return count_error(welcome.error());
        }
        // Every member offers to create its room; all but one hear it exists.
        member.connection->request(
            circle::client::make_create_room(member.room_id, member.room_id),
            [this, &member, join_started](const ServerMessage&) {
              member.connection->request(
                  circle::client::make_join_room(member.room_id),
                  [this, &member, join_started](const ServerMessage& reply) {
                    if (!reply.has_join_room() || !reply.join_room().has_snapshot()) {
                      ++figures_.join_failures;
                      if (reply.has_error()) count_error(reply.error());
                      return;
                    }
                    member.last_seq = reply.join_room().snapshot().last_seq();
                    figures_.join_latency.record(now_ns() - join_started);
                    on_joined(member);
                  });
            });
      });
}

std::string LoadRun::token_for(const Member& member) const {
  if (options_.token_secret.empty()) return {};
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  // Valid for the whole run, whatever its length.
  const auto lifetime =
      static_cast<std::int64_t>(options_.duration_seconds + options_.drain_seconds) + 3600;
  const std::string id = "load-" + std::to_string(member.index);
  return circle::auth::mint_token(
      {.account_id = id, .name = id, .issued_at = now, .expires_at = now + lifetime},
      options_.token_secret);
}

void LoadRun::on_event(Member& member, const ServerMessage& message) {
  if (message.has_error()) return count_error(message.error());
  if (!message.has_room_event() || !member.joined) return;
  const auto& event = message.room_event();
  // Every event of the room, exactly once and in order: seq is gap-free.
  if (event.seq() <= member.last_seq) {
    ++figures_.duplicates;
    return;
  }
  if (event.seq() != member.last_seq + 1) figures_.gaps += event.seq() - member.last_seq - 1;
  member.last_seq = event.seq();
  if (!event.has_message_posted()) return;
  std::uint64_t sent_ns = 0, counter = 0;
  unsigned sender = 0;
  if (!parse_payload(event.message_posted().text(), sent_ns, sender, counter)) return;
  record_delivery(sent_ns);
  // Closed loop: the sender sends again once its own message came back.
  if (options_.rate <= 0 && sender == member.index && sending_) send(member);
}

void LoadRun::record_delivery(std::uint64_t sent_ns) {
  const std::uint64_t now = now_ns();
  figures_.latency.record(now > sent_ns ? now - sent_ns : 0);
  ++figures_.delivered;
  if (now >= window_start_ns_ && now <= window_end_ns_) ++figures_.delivered_in_window;
}

void LoadRun::on_raw(Member& member, std::string_view bytes) {
  std::uint64_t sent_ns = 0, counter = 0;
  unsigned sender = 0;
  if (!parse_payload(bytes, sent_ns, sender, counter)) return;
  auto& last = member.last_from[sender];
  if (counter <= last) {
    ++figures_.duplicates;
    return;
  }
  if (counter != last + 1) figures_.gaps += counter - last - 1;
  last = counter;
  record_delivery(sent_ns);
}

void LoadRun::schedule_send(Member& member, std::chrono::nanoseconds delay) {
  member.next_send = net::steady_timer::clock_type::now() + delay;
  arm_send_timer(member);
}

void LoadRun::arm_send_timer(Member& member) {
  // Absolute due times, so that members sending together stay together.
  member.timer->expires_at(member.next_send);
  member.timer->async_wait([this, &member](boost::system::error_code ec) {
    if (ec || !sending_) return;
    send(member);
    member.next_send += std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 / options_.rate));
    arm_send_timer(member);
  });
}

void LoadRun::on_joined(Member& member) {
  member.joined = true;
  ++figures_.joined;
  figures_.last_join_ns = now_ns();
  ++room_members_[member.room_id];
  if (!sending_ || !is_sender(member)) return;
  // A late joiner starts at once rather than sitting the run out.
  if (options_.rate > 0) {
    schedule_send(member, std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 / options_.rate)));
  } else {
    send(member);
  }
}

void LoadRun::send(Member& member) {
  if (member.closed || !member.joined) return;
  const auto text = make_payload(now_ns(), member.index, ++member.counter, options_.payload_bytes);
  ++figures_.sent;
  const unsigned in_room = room_members_[member.room_id];
  if (raw()) {
    // No acks in the raw protocol: a sent message is owed to the others.
    member.connection->send_raw(text, true);
    ++figures_.acked;
    expected_ += in_room - 1;
    return;
  }
  const auto sent_ns = now_ns();
  member.connection->request(
      circle::client::make_send_message(member.room_id, text),
      [this, in_room, sent_ns, &member](const ServerMessage& reply) {
        if (reply.has_send_message()) {
          ++figures_.acked;
          figures_.ack_latency.record(now_ns() - sent_ns);
          expected_ += in_room;
          return;
        }
        if (finished_) {
          // Our own close at the end: the server never
          // answered, so the message was not acked.
          ++figures_.unanswered_at_end;
          return;
        }
        ++figures_.send_errors;
        if (reply.has_error()) count_error(reply.error());
        // Closed loop: a refused message never comes back,
        // so go on with the next one, after a pause (a
        // refusal may be the server's rate limit) and
        // never on a closed connection (whose refusals
        // come at once: that would loop).
        if (options_.rate > 0 || !sending_ || member.closed || member.connection->is_closed()) {
          return;
        }
        member.timer->expires_after(std::chrono::milliseconds(50));
        member.timer->async_wait([this, &member](boost::system::error_code ec) {
          if (!ec && sending_) send(member);
        });
      });
}

void LoadRun::report_progress() {
  if (options_.quiet) return;
  const auto delivered = figures_.delivered - last_progress_delivered_;
  const auto sent = figures_.sent - last_progress_sent_;
  last_progress_delivered_ = figures_.delivered;
  last_progress_sent_ = figures_.sent;
  std::uint64_t errors = figures_.send_errors + figures_.connect_failures + figures_.join_failures;
  std::cerr << "load: " << figures_.joined << "/" << options_.connections << " joined, " << sent
            << " sent/s, " << delivered << " delivered/s, p99 "
            << figures_.latency.percentile(99) / 1000 << " us, " << errors << " errors\n";
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
  if (raw() && options_.rate <= 0) {
    std::cerr << "circle load: the raw protocol has no echo, so it needs --rate > 0\n";
    return 2;
  }
  if (options_.connections == 0 || options_.room_size == 0 || options_.duration_seconds <= 0) {
    std::cerr << "circle load: --connections, --room-size and --duration must be positive\n";
    return 2;
  }
  if (std::ranges::any_of(addresses_, &circle::client::ServerAddress::tls)) {
    try {
      tls_ = circle::client::make_tls_context(options_.ca_file);
    } catch (const std::exception& e) {
      std::cerr << "circle load: cannot read CA file: " << e.what() << "\n";
      return 2;
    }
  }
  for (unsigned i = 0; i < options_.connections; ++i) {
    auto member = std::make_unique<Member>();
    member->index = i;
    member->room_id = options_.room_prefix + "-" + std::to_string(i / options_.room_size);
    member->timer = std::make_unique<net::steady_timer>(ioc_);
    members_.push_back(std::move(member));
  }

  const double wall_start = std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
  const double cpu_start = cpu_seconds();
  // Ramp up: connect at the asked rate.
  net::steady_timer ramp(ioc_);
  std::size_t next = 0;
  const auto ramp_interval = std::chrono::nanoseconds(
      static_cast<std::int64_t>(1e9 / std::max(1.0, options_.ramp_per_second)));
  std::function<void()> ramp_step = [&] {
    const auto batch_end = std::min(members_.size(), next + 1 + members_.size() / 1000);
    while (next < batch_end) start_member(*members_[next++]);
    if (next < members_.size()) {
      ramp.expires_after(ramp_interval * static_cast<long>(1 + members_.size() / 1000));
      ramp.async_wait([&](boost::system::error_code ec) {
        if (!ec) ramp_step();
      });
    }
  };
  ramp_step();

  // Once a second: progress, and the phase changes.
  net::steady_timer tick(ioc_);
  enum class Phase { kJoining, kSending, kDraining, kDone } phase = Phase::kJoining;
  auto phase_started = Clock::now();
  const auto join_deadline =
      Clock::now() + std::chrono::seconds(30) +
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
          options_.connections / std::max(1.0, options_.ramp_per_second)));
  std::function<void()> on_tick = [&] {
    report_progress();
    const auto now = Clock::now();
    const bool all_in = figures_.joined + figures_.join_failures + figures_.connect_failures >=
                        options_.connections;
    if (phase == Phase::kJoining && (all_in || now > join_deadline)) {
      phase = Phase::kSending;
      phase_started = now;
      sending_ = true;
      window_start_ns_ = now_ns();
      window_end_ns_ =
          window_start_ns_ + static_cast<std::uint64_t>(options_.duration_seconds * 1e9);
      std::uniform_real_distribution<double> phase_offset(0.0, 1.0);
      std::map<std::string, double> room_phase;
      for (auto& member : members_) {
        if (!is_sender(*member)) continue;
        if (options_.rate > 0) {
          double phase = phase_offset(random_);
          if (options_.phase == "room") {
            phase = room_phase.try_emplace(member->room_id, phase).first->second;
          }
          schedule_send(*member, std::chrono::nanoseconds(
                                     static_cast<std::int64_t>(phase * 1e9 / options_.rate)));
        } else {
          send(*member);
        }
      }
    } else if (phase == Phase::kSending &&
               now - phase_started >= std::chrono::duration<double>(options_.duration_seconds)) {
      phase = Phase::kDraining;
      phase_started = now;
      sending_ = false;
      for (auto& member : members_) member->timer->cancel();
    } else if (phase == Phase::kDraining) {
      const bool drained =
          figures_.delivered >= expected_ && figures_.acked + figures_.send_errors >= figures_.sent;
      if (drained || now - phase_started >= std::chrono::duration<double>(options_.drain_seconds)) {
        phase = Phase::kDone;
        finished_ = true;
        for (auto& member : members_) {
          if (member->connection) member->connection->close(1000, "load test done");
        }
        // The closes finish on their own; give them a few seconds at most.
        hard_stop_->expires_after(std::chrono::seconds(3));
        hard_stop_->async_wait([this](boost::system::error_code ec) {
          if (!ec) ioc_.stop();
        });
        return;
      }
    }
    tick.expires_after(std::chrono::seconds(1));
    tick.async_wait([&](boost::system::error_code ec) {
      if (!ec) on_tick();
    });
  };
  tick.expires_after(std::chrono::seconds(1));
  tick.async_wait([&](boost::system::error_code ec) {
    if (!ec) on_tick();
  });

  // Bounded: the run stops by itself even if connections hang on close.
  hard_stop_ = std::make_unique<net::steady_timer>(ioc_);
  auto& hard_stop = *hard_stop_;
  hard_stop.expires_after(join_deadline - Clock::now() +
                          std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                              options_.duration_seconds + options_.drain_seconds + 10)));
  hard_stop.async_wait([&](boost::system::error_code ec) {
    if (!ec) ioc_.stop();
  });
  ioc_.run();
  const double wall =
      std::chrono::duration<double>(Clock::now().time_since_epoch()).count() - wall_start;
  const double cpu = cpu_seconds() - cpu_start;
  print_summary(wall, cpu);
  if (!options_.json_file.empty()) write_json(wall, cpu);
  const bool exact =
      figures_.gaps == 0 && figures_.duplicates == 0 && figures_.delivered == expected_;
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
  const std::uint64_t expected = expected_;
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
            << static_cast<int>(100 * cpu / std::max(wall, 1e-9)) << "% of a core)\n";
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
      {"expected_deliveries", expected_},
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
      {"wall_s", wall}};
  std::ofstream(options_.json_file) << out.dump(2) << "\n";
}

}  // namespace

int run_load(const LoadOptions& options) {
  return LoadRun(options).run();
}

}  // namespace circle::load
