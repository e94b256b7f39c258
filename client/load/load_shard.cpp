#include "load_shard.hpp"

#include <sys/resource.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <future>

#include <boost/asio/post.hpp>

#include "auth/token.hpp"
#include "circle_client/requests.hpp"

namespace circle::load {
namespace {

namespace net = boost::asio;
using circle::v1::ServerMessage;

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

// Reads "<key>=<number> " at the front of `bytes` and moves past it. Every
// delivery is parsed here, so no copy and no sscanf: the generator's own cost
// per delivery bounds what it can measure.
template <class Number>
bool take_field(std::string_view& bytes, char key, Number& value) {
  if (bytes.size() < 3 || bytes[0] != key || bytes[1] != '=') return false;
  const auto [end, error] = std::from_chars(bytes.data() + 2, bytes.data() + bytes.size(), value);
  if (error != std::errc{}) return false;
  bytes.remove_prefix(static_cast<std::size_t>(end - bytes.data()));
  if (!bytes.empty() && bytes[0] == ' ') bytes.remove_prefix(1);
  return true;
}

bool parse_payload(std::string_view bytes, std::uint64_t& sent_ns, unsigned& sender,
                   std::uint64_t& counter) {
  return take_field(bytes, 't', sent_ns) && take_field(bytes, 's', sender) &&
         take_field(bytes, 'n', counter);
}

// Runs `work` on the shard's loop and waits for its result.
template <class Work>
auto run_on(net::io_context& ioc, Work work) {
  std::packaged_task<decltype(work())()> task(std::move(work));
  auto result = task.get_future();
  net::post(ioc, std::move(task));
  return result.get();
}

}  // namespace

double cpu_seconds(int who) {
  rusage usage{};
  getrusage(who, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

LoadShard::LoadShard(const LoadOptions& options,
                     const std::vector<circle::client::ServerAddress>& addresses,
                     std::shared_ptr<net::ssl::context> tls, unsigned shard)
    : options_(options), addresses_(addresses), tls_(std::move(tls)), random_(42 + shard) {}

LoadShard::~LoadShard() {
  if (thread_.joinable()) {
    ioc_.stop();
    thread_.join();
  }
}

void LoadShard::add_member(unsigned index, std::string room_id) {
  auto member = std::make_unique<Member>();
  member->index = index;
  member->room_id = std::move(room_id);
  member->timer = std::make_unique<net::steady_timer>(ioc_);
  members_.push_back(std::move(member));
}

void LoadShard::start(double ramp_per_second) {
  // Connections open in small batches, each batch a thousandth of the shard.
  ramp_interval_ = std::chrono::nanoseconds(static_cast<std::int64_t>(
      1e9 * static_cast<double>(1 + members_.size() / 1000) / std::max(0.01, ramp_per_second)));
  work_.emplace(ioc_.get_executor());
  net::post(ioc_, [this] { ramp_step(); });
  thread_ = std::thread([this] {
    ioc_.run();
    thread_cpu_seconds_ = cpu_seconds(RUSAGE_THREAD);
  });
}

void LoadShard::ramp_step() {
  const auto batch_end = std::min(members_.size(), next_to_connect_ + 1 + members_.size() / 1000);
  while (next_to_connect_ < batch_end && !finished_) start_member(*members_[next_to_connect_++]);
  if (next_to_connect_ < members_.size() && !finished_) {
    ramp_timer_.expires_after(ramp_interval_);
    ramp_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) ramp_step();
    });
  }
}

LoadShard::Snapshot LoadShard::snapshot() {
  return run_on(ioc_, [this] {
    Snapshot result{figures_, interval_latency_, cpu_seconds(RUSAGE_THREAD)};
    interval_latency_ = {};
    return result;
  });
}

void LoadShard::start_sending(std::uint64_t window_start_ns, std::uint64_t window_end_ns) {
  run_on(ioc_, [this, window_start_ns, window_end_ns] {
    window_start_ns_ = window_start_ns;
    window_end_ns_ = window_end_ns;
    begin_sending();
  });
}

void LoadShard::begin_sending() {
  sending_ = true;
  std::uniform_real_distribution<double> phase_offset(0.0, 1.0);
  std::map<std::string, double> room_phase;
  for (auto& member : members_) {
    if (!is_sender(*member)) continue;
    if (options_.rate <= 0) {
      send(*member);
      continue;
    }
    double phase = phase_offset(random_);
    if (options_.phase == "room")
      phase = room_phase.try_emplace(member->room_id, phase).first->second;
    schedule_send(*member,
                  std::chrono::nanoseconds(static_cast<std::int64_t>(phase * 1e9 / options_.rate)));
  }
}

void LoadShard::stop_sending() {
  run_on(ioc_, [this] {
    sending_ = false;
    for (auto& member : members_) member->timer->cancel();
  });
}

void LoadShard::finish() {
  net::post(ioc_, [this] {
    finished_ = true;
    ramp_timer_.cancel();
    for (auto& member : members_) {
      member->timer->cancel();
      if (member->connection) member->connection->close(1000, "load test done");
    }
    work_.reset();
    if (open_connections_ == 0) return ioc_.stop();
    // The closes finish on their own; give them a few seconds at most.
    stop_timer_.expires_after(std::chrono::seconds(3));
    stop_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) ioc_.stop();
    });
  });
}

void LoadShard::join() {
  if (thread_.joinable()) thread_.join();
}

void LoadShard::count_error(const circle::v1::Error& error) {
  ++figures_.errors_by_code[circle::v1::ErrorCode_Name(error.code())];
}

void LoadShard::start_member(Member& member) {
  member.connection = circle::client::Connection::create(ioc_.get_executor(), tls_);
  member.connection->on_event(
      [this, &member](const ServerMessage& message) { on_event(member, message); });
  member.connection->on_close([this, &member](const circle::client::CloseInfo& info) {
    member.closed = true;
    if (member.joined) --room_members_[member.room_id];
    if (member.counted_open && --open_connections_ == 0 && finished_) ioc_.stop();
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
    member.counted_open = true;
    ++open_connections_;
    if (raw()) {  // no protocol: connected is joined
      on_joined(member);
      return;
    }
    on_connected(member);
  });
}

void LoadShard::on_connected(Member& member) {
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

std::string LoadShard::token_for(const Member& member) const {
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

void LoadShard::on_event(Member& member, const ServerMessage& message) {
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

void LoadShard::record_delivery(std::uint64_t sent_ns) {
  const std::uint64_t now = now_ns();
  const std::uint64_t latency = now > sent_ns ? now - sent_ns : 0;
  figures_.latency.record(latency);
  interval_latency_.record(latency);
  ++figures_.delivered;
  if (now >= window_start_ns_ && now <= window_end_ns_) ++figures_.delivered_in_window;
}

void LoadShard::on_raw(Member& member, std::string_view bytes) {
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

void LoadShard::schedule_send(Member& member, std::chrono::nanoseconds delay) {
  member.next_send = net::steady_timer::clock_type::now() + delay;
  arm_send_timer(member);
}

void LoadShard::arm_send_timer(Member& member) {
  // Absolute due times, so that members sending together stay together.
  member.timer->expires_at(member.next_send);
  member.timer->async_wait([this, &member](boost::system::error_code ec) {
    if (ec || !sending_) return;
    send(member);
    member.next_send += std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 / options_.rate));
    arm_send_timer(member);
  });
}

void LoadShard::on_joined(Member& member) {
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

void LoadShard::send(Member& member) {
  if (member.closed || !member.joined) return;
  const auto text = make_payload(now_ns(), member.index, ++member.counter, options_.payload_bytes);
  ++figures_.sent;
  const unsigned in_room = room_members_[member.room_id];
  if (raw()) {
    // No acks in the raw protocol: a sent message is owed to the others.
    member.connection->send_raw(text, true);
    ++figures_.acked;
    figures_.expected += in_room - 1;
    return;
  }
  const auto sent_ns = now_ns();
  member.connection->request(
      circle::client::make_send_message(member.room_id, text),
      [this, in_room, sent_ns, &member](const ServerMessage& reply) {
        if (reply.has_send_message()) {
          ++figures_.acked;
          figures_.ack_latency.record(now_ns() - sent_ns);
          figures_.expected += in_room;
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

}  // namespace circle::load
