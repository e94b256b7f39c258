#include "circle_client/reconnecting_connection.hpp"

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <cstdio>
#include <list>
#include <map>
#include <random>
#include <set>
#include <vector>

namespace circle::client {

namespace net = boost::asio;
using circle::v1::ClientMessage;
using ServerMessage = circle::v1::ServerMessage;

bool worth_reconnecting(const CloseInfo& close) {
  switch (close.code) {
    case 0:     // the transport broke (no close frame)
    case 1001:  // going away: the server is shutting down or restarting
    case 1006:  // abnormal closure
    case 1011:  // server error
    case 1012:  // service restart
    case 1013:  // try again later
      return true;
    case 1008:  // policy violation: only being dropped as a slow reader heals by itself
      return close.reason.starts_with("too slow");
    default:
      return false;
  }
}

namespace {

bool is_unavailable(const ServerMessage& reply) {
  return reply.has_error() && reply.error().code() == circle::v1::ERROR_CODE_UNAVAILABLE;
}

// A join refused in a way that passes by itself: the room takes joins at its
// own pace, or the server cannot store just now. (A full room is not: that
// can last.)
bool join_refused_for_now(const ServerMessage& reply) {
  if (!reply.has_error()) return false;
  const auto code = reply.error().code();
  return code == circle::v1::ERROR_CODE_RATE_LIMITED || code == circle::v1::ERROR_CODE_UNAVAILABLE;
}

// A hello refused in a way that passes by itself: as a join, or the
// account's places are all taken (on a reconnect, by old connections the
// server has not yet seen go).
bool hello_refused_for_now(const ServerMessage& reply) {
  return join_refused_for_now(reply) ||
         (reply.has_error() && reply.error().code() == circle::v1::ERROR_CODE_LIMIT_EXCEEDED);
}

// Sends go out at no more than half the request rate and burst the server
// advertised, so that a queue resent after a reconnect is not refused in
// part, and the rest of the budget stays free for joins and the like.
class SendPacer {
 public:
  using Clock = std::chrono::steady_clock;
  void set_limits(std::uint32_t requests_per_second, std::uint32_t request_burst) {
    per_ms_ = requests_per_second / 2000.0;
    capacity_ = std::max(1.0, request_burst / 2.0);
    tokens_ = capacity_;
    updated_ = Clock::now();
  }
  // Zero when a send may go now (and counts it); else how long to wait.
  std::chrono::milliseconds take() {
    if (per_ms_ <= 0) return std::chrono::milliseconds(0);
    const auto now = Clock::now();
    const double elapsed_ms = std::chrono::duration<double, std::milli>(now - updated_).count();
    tokens_ = std::min(capacity_, tokens_ + elapsed_ms * per_ms_);
    updated_ = now;
    if (tokens_ >= 1) {
      tokens_ -= 1;
      return std::chrono::milliseconds(0);
    }
    return std::chrono::milliseconds(static_cast<std::int64_t>((1 - tokens_) / per_ms_) + 1);
  }

 private:
  double per_ms_ = 0;  // 0: the server set no limit
  double capacity_ = 0;
  double tokens_ = 0;
  Clock::time_point updated_;
};

}  // namespace

struct ReconnectingConnection::Impl : std::enable_shared_from_this<ReconnectingConnection::Impl> {
  using Strand = net::strand<net::any_io_executor>;

  Impl(net::any_io_executor executor, std::shared_ptr<net::ssl::context> tls,
       ReconnectPolicy policy)
      : strand(net::make_strand(executor)),
        tls(std::move(tls)),
        policy(policy),
        retry_timer(strand),
        random(std::random_device{}()),
        pace_timer(strand),
        close_deadline(strand) {
    // Unique enough across this client's lifetime and its restarts.
    std::uniform_int_distribution<std::uint64_t> any;
    char prefix[17];
    std::snprintf(prefix, sizeof prefix, "%016llx", static_cast<unsigned long long>(any(random)));
    id_prefix = prefix;
  }

  Strand strand;
  std::shared_ptr<net::ssl::context> tls;
  ReconnectPolicy policy;
  ServerAddress address;
  ConnectOptions options;
  MessageHandler event_handler;
  CloseHandler close_handler;
  StatusHandler status_handler;
  RejoinHandler rejoin_handler;

  // The current connection (each reconnect makes a new one). Its handlers
  // run inside `strand`, which its own strand is made on.
  std::shared_ptr<Connection> connection;
  // Requests flow: connected and, after a reconnect, re-joined everywhere.
  bool online = false;
  bool closing = false;  // our user asked to close
  bool closed = false;   // final
  unsigned attempt = 0;
  // The server turned this connection's hello away for now: its close,
  // whatever its code, is followed by another attempt.
  bool retry_after_close = false;
  unsigned hellos_refused = 0;  // in a row, for now (hello_refused_for_now)
  std::string last_reason;
  net::steady_timer retry_timer;
  std::mt19937_64 random;

  std::optional<ClientMessage> hello;
  struct JoinedRoom {
    std::uint64_t last_seq = 0;
    std::uint64_t member_id = 0;
  };
  std::map<std::string, JoinedRoom> rooms;
  // Rooms whose waiting room we are in: asked again after a reconnect.
  std::set<std::string> waiting;
  // Joins in flight: the newest seq of the room's events that overtook the reply.
  std::map<std::string, std::uint64_t> joining;
  // Rooms being re-joined: their events wait for the rejoin reply.
  std::map<std::string, std::vector<ServerMessage>> held;
  std::size_t rejoins_outstanding = 0;

  struct PendingSend {
    ClientMessage message;
    MessageHandler on_reply;
    bool in_flight = false;
    // Replied to: a reply made up for a closed connection may still come
    // after the final close has already answered.
    bool answered = false;
  };
  std::list<std::shared_ptr<PendingSend>> sends;  // in the order they were made
  std::string id_prefix;
  std::uint64_t next_message_id = 0;
  SendPacer pacer;
  net::steady_timer pace_timer;
  bool pace_armed = false;

  // Armed while a close asked for by our user is under way: its handler holds
  // this object (the handle may be gone meanwhile, and the final close must
  // still be reported and every send answered) and bounds the wait. Being a
  // pending handler, not a member pointing back at us, it is let go if the
  // io_context is destroyed first.
  net::steady_timer close_deadline;

  std::weak_ptr<Impl> weak() { return weak_from_this(); }

  // --- status ----------------------------------------------------------------

  void report(LinkStatus::State state, std::chrono::milliseconds retry_in = {}) {
    if (!status_handler) return;
    status_handler(LinkStatus{.state = state,
                              .attempt = attempt,
                              .retry_in = retry_in,
                              .reason = last_reason,
                              .unacknowledged_sends = sends.size()});
  }

  // --- connections -----------------------------------------------------------

  std::shared_ptr<Connection> open_connection() {
    auto conn = Connection::create(strand, tls);
    conn->on_event([weak = weak()](const ServerMessage& message) {
      if (auto self = weak.lock()) self->on_event(message);
    });
    conn->on_close([weak = weak(), raw = conn.get()](const CloseInfo& info) {
      if (auto self = weak.lock()) self->on_connection_closed(raw, info);
    });
    connection = conn;
    retry_after_close = false;
    return conn;
  }

  void first_connect(ConnectHandler done) {
    auto conn = open_connection();
    conn->connect(
        address, options,
        [weak = weak(), conn, done = std::move(done)](const std::optional<CloseInfo>& failure) {
          auto self = weak.lock();
          if (!self) return done(failure);
          if (failure) {
            self->closed = true;
            self->connection.reset();
            self->close_deadline.cancel();
          } else {
            self->online = true;
          }
          done(failure);
          // Messages sent before the connection was up: out now, or answered.
          if (failure) return self->fail_sends("could not connect: " + failure->reason);
          if (self->online) self->send_queued();
        });
  }

  void on_connection_closed(const Connection* which, const CloseInfo& info) {
    if (which != connection.get()) return;
    online = false;
    if (!retry_after_close) {  // else the refusal says more than its close
      last_reason = info.reason;
      if (info.code) last_reason += " (" + std::to_string(info.code) + ")";
    }
    if (closing || !policy.enabled || !(worth_reconnecting(info) || retry_after_close)) {
      return finish(info);
    }
    schedule_reconnect();
  }

  // The wait before try number `try_number` (1, 2, ...): doubling, capped,
  // jittered.
  std::chrono::milliseconds backoff(unsigned try_number) {
    auto base = policy.initial_delay;
    for (unsigned i = 1; i < try_number && base < policy.max_delay; ++i) base *= 2;
    base = std::min(base, policy.max_delay);
    std::uniform_int_distribution<std::int64_t> jitter(base.count() / 2, base.count());
    return std::chrono::milliseconds(jitter(random));
  }

  void schedule_reconnect() {
    ++attempt;
    if (policy.max_attempts && attempt > policy.max_attempts) {
      return finish(CloseInfo{0, "gave up after " + std::to_string(policy.max_attempts) +
                                     " attempts to reconnect: " + last_reason});
    }
    const auto delay = backoff(attempt);
    report(LinkStatus::State::kReconnecting, delay);
    retry_timer.expires_after(delay);
    retry_timer.async_wait([weak = weak()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->closing || self->closed) return;
      self->reconnect();
    });
  }

  void reconnect() {
    auto conn = open_connection();
    conn->connect(address, options, [weak = weak(), conn](const std::optional<CloseInfo>& failure) {
      auto self = weak.lock();
      if (!self || conn != self->connection) return;
      if (self->closing) return self->finish(CloseInfo{1000, "closed while reconnecting"});
      if (failure) {
        self->last_reason = failure->reason;
        return self->schedule_reconnect();
      }
      self->say_hello_again(conn);
    });
  }

  void say_hello_again(const std::shared_ptr<Connection>& conn) {
    if (!hello) {
      report(LinkStatus::State::kRejoining);
      return rejoin_rooms(conn);
    }
    conn->request(*hello, [weak = weak(), conn](const ServerMessage& reply) {
      auto self = weak.lock();
      if (!self || conn != self->connection) return;
      if (reply.has_welcome()) {
        self->hellos_refused = 0;
        self->on_welcome(reply);
        self->report(LinkStatus::State::kRejoining);
        return self->rejoin_rooms(conn);
      }
      if (is_unavailable(reply) && conn->is_closed()) return;  // the close handler retries
      self->last_reason = "hello refused on reconnect: " + reply.error().message();
      if (hello_refused_for_now(reply) &&
          ++self->hellos_refused <= self->policy.max_refused_retries) {
        self->retry_after_close = true;
        return conn->close(1000, "hello refused for now");
      }
      // Refused for good (a token that has expired meanwhile, say).
      self->closing = true;
      conn->close(1000, "hello refused");
    });
  }

  // Joined rooms resume from their last seq; waiting rooms are asked again.
  void rejoin_rooms(const std::shared_ptr<Connection>& conn) {
    if (rooms.empty() && waiting.empty()) return go_online();
    rejoins_outstanding = rooms.size() + waiting.size();
    for (const auto& [room_id, room] : rooms) rejoin(conn, room_id, room.last_seq, 1);
    for (const auto& room_id : waiting) rejoin(conn, room_id, std::nullopt, 1);
  }

  // Try number `try_number` of re-joining `room_id`. The first answer of
  // each room counts towards coming online; a refusal that passes is asked
  // again in the background, and only the final answer is handed over.
  void rejoin(const std::shared_ptr<Connection>& conn, const std::string& room_id,
              std::optional<std::uint64_t> resume_after, unsigned try_number) {
    held[room_id];
    ClientMessage join;
    join.mutable_join_room()->set_room_id(room_id);
    if (resume_after) join.mutable_join_room()->set_resume_after_seq(*resume_after);
    conn->request(
        join, [weak = weak(), conn, room_id, resume_after, try_number](const ServerMessage& reply) {
          auto self = weak.lock();
          if (!self || conn != self->connection) return;
          if (is_unavailable(reply) && conn->is_closed()) return;
          if (join_refused_for_now(reply) && try_number <= self->policy.max_refused_retries) {
            self->rejoin_later(conn, room_id, resume_after, try_number + 1);
          } else {
            self->on_rejoined(room_id, reply);
          }
          if (try_number == 1) self->one_rejoin_answered();
        });
  }

  void one_rejoin_answered() {
    if (--rejoins_outstanding == 0) go_online();
  }

  void rejoin_later(const std::shared_ptr<Connection>& conn, const std::string& room_id,
                    std::optional<std::uint64_t> resume_after, unsigned try_number) {
    auto timer = std::make_shared<net::steady_timer>(strand, backoff(try_number - 1));
    timer->async_wait([weak = weak(), conn, room_id, resume_after, try_number,
                       timer](boost::system::error_code ec) {
      auto self = weak.lock();
      // A newer connection re-joins everything itself.
      if (ec || !self || conn != self->connection || conn->is_closed()) return;
      self->rejoin(conn, room_id, resume_after, try_number);
    });
  }

  void on_rejoined(const std::string& room_id, const ServerMessage& reply) {
    auto waiting_events = std::move(held[room_id]);
    held.erase(room_id);
    const bool joined = reply.has_join_room() && !reply.join_room().waiting();
    const bool still_waiting = reply.has_join_room() && reply.join_room().waiting();
    waiting.erase(room_id);
    if (joined) {
      const auto& snapshot = reply.join_room().snapshot();
      rooms[room_id] = {snapshot.last_seq(), snapshot.your_member_id()};
    } else {
      rooms.erase(room_id);  // refused (banned meanwhile, room gone) or waiting to be admitted
      if (still_waiting) waiting.insert(room_id);
    }
    if (rejoin_handler) rejoin_handler(room_id, reply);
    for (const auto& message : waiting_events) {
      if (message.has_room_event()) {
        auto room = rooms.find(room_id);
        if (room == rooms.end() || message.room_event().seq() <= room->second.last_seq) continue;
      }
      on_event(message);
    }
  }

  void go_online() {
    online = true;
    const bool reconnected = attempt > 0;
    attempt = 0;
    // Queued sends first: one made from the status callback comes after them.
    send_queued();
    if (reconnected) report(LinkStatus::State::kOnline);
  }

  void on_welcome(const ServerMessage& reply) {
    const auto& limits = reply.welcome().limits();
    pacer.set_limits(limits.requests_per_second(), limits.request_burst());
  }

  // Every send not on the wire yet, in order, as fast as the pacer allows.
  void send_queued() {
    for (auto& send : sends) {
      if (send->in_flight) continue;
      if (const auto wait = pacer.take(); wait.count() > 0) return send_queued_after(wait);
      transmit(send);
    }
  }

  void send_queued_after(std::chrono::milliseconds wait) {
    if (pace_armed) return;
    pace_armed = true;
    pace_timer.expires_after(wait);
    pace_timer.async_wait([weak = weak()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (!self) return;
      self->pace_armed = false;
      if (!ec && self->online) self->send_queued();
    });
  }

  // Every send still waiting gets its one (failed) reply.
  void fail_sends(const std::string& why) {
    auto failed = std::move(sends);
    sends.clear();
    for (auto& send : failed) answer(*send, unavailable_reply(send->message.request_id(), why));
  }

  void finish(const CloseInfo& info) {
    if (closed) return;
    closed = true;
    online = false;
    retry_timer.cancel();
    pace_timer.cancel();
    connection.reset();
    fail_sends("connection closed before the reply: " + info.reason);
    if (last_reason.empty()) last_reason = info.reason;
    report(LinkStatus::State::kClosed);
    if (close_handler) close_handler(info);
    close_deadline.cancel();
  }

  // --- traffic ---------------------------------------------------------------

  void on_event(const ServerMessage& message) {
    const std::string* room_id = nullptr;
    if (message.has_room_event()) room_id = &message.room_event().room_id();
    if (message.has_private_event()) room_id = &message.private_event().room_id();
    if (room_id) {
      if (auto hold = held.find(*room_id); hold != held.end()) {
        hold->second.push_back(message);
        return;
      }
    }
    if (message.has_room_event()) track(message.room_event());
    if (message.has_private_event() && message.private_event().has_admission()) {
      waiting.erase(*room_id);
      if (message.private_event().admission().admitted()) {
        const auto& snapshot = message.private_event().admission().snapshot();
        rooms[*room_id] = {snapshot.last_seq(), snapshot.your_member_id()};
      }
    }
    if (event_handler) event_handler(message);
  }

  void track(const circle::v1::RoomEvent& event) {
    if (auto join = joining.find(event.room_id()); join != joining.end()) {
      join->second = std::max(join->second, event.seq());
    }
    auto room = rooms.find(event.room_id());
    if (room == rooms.end()) return;
    room->second.last_seq = std::max(room->second.last_seq, event.seq());
    const bool removed = event.has_member_left() &&
                         event.member_left().member().member_id() == room->second.member_id;
    if (removed || event.has_session_ended()) rooms.erase(room);
  }

  void request(ClientMessage message, MessageHandler on_reply) {
    if (closed || closing) {
      if (on_reply) on_reply(unavailable_reply(0, "connection is closed"));
      return;
    }
    if (message.has_send_message()) {
      if (message.send_message().client_message_id().empty()) {
        message.mutable_send_message()->set_client_message_id(id_prefix + "-" +
                                                              std::to_string(++next_message_id));
      }
      auto send = std::make_shared<PendingSend>(PendingSend{.message = std::move(message),
                                                            .on_reply = std::move(on_reply),
                                                            .in_flight = false,
                                                            .answered = false});
      sends.push_back(send);
      if (online) send_queued();
      return;
    }
    if (!online) {
      if (on_reply)
        on_reply(unavailable_reply(0, "not connected: reconnecting (" + last_reason + ")"));
      return;
    }
    if (message.has_hello()) {
      hello = message;
      hello->clear_request_id();
      auto user_reply = std::move(on_reply);
      on_reply = [weak = weak(), user_reply](const ServerMessage& reply) {
        if (auto self = weak.lock(); self && reply.has_welcome()) self->on_welcome(reply);
        if (user_reply) user_reply(reply);
      };
    } else if (message.has_join_room()) {
      const std::string room_id = message.join_room().room_id();
      joining[room_id] = 0;
      auto user_reply = std::move(on_reply);
      on_reply = [weak = weak(), room_id, user_reply](const ServerMessage& reply) {
        if (auto self = weak.lock()) self->on_joined(room_id, reply);
        if (user_reply) user_reply(reply);
      };
    } else if (message.has_leave_room()) {
      // Gone at once, whatever the reply: a leave is never undone by a re-join.
      rooms.erase(message.leave_room().room_id());
      waiting.erase(message.leave_room().room_id());
    }
    connection->request(std::move(message), std::move(on_reply));
  }

  void on_joined(const std::string& room_id, const ServerMessage& reply) {
    std::uint64_t overtaken = 0;
    if (auto join = joining.find(room_id); join != joining.end()) {
      overtaken = join->second;
      joining.erase(join);
    }
    if (!reply.has_join_room()) return;
    if (reply.join_room().waiting()) {
      waiting.insert(room_id);
      return;
    }
    const auto& snapshot = reply.join_room().snapshot();
    rooms[room_id] = {std::max(snapshot.last_seq(), overtaken), snapshot.your_member_id()};
  }

  void transmit(const std::shared_ptr<PendingSend>& send) {
    send->in_flight = true;
    auto conn = connection;
    conn->request(send->message, [weak = weak(), send, conn](const ServerMessage& reply) {
      auto self = weak.lock();
      if (self && is_unavailable(reply) && conn->is_closed() && !self->closed) {
        // Made up for the dropped connection: the server may or may not have
        // it. Sent again after the resume with the same client_message_id.
        send->in_flight = false;
        return;
      }
      if (self) self->sends.remove(send);
      answer(*send, reply);
    });
  }

  static void answer(PendingSend& send, const ServerMessage& reply) {
    if (send.answered) return;
    send.answered = true;
    if (send.on_reply) send.on_reply(reply);
  }
};

std::shared_ptr<ReconnectingConnection> ReconnectingConnection::create(
    net::any_io_executor executor, std::shared_ptr<net::ssl::context> tls, ReconnectPolicy policy) {
  return std::shared_ptr<ReconnectingConnection>(new ReconnectingConnection(
      std::make_shared<Impl>(std::move(executor), std::move(tls), policy)));
}

ReconnectingConnection::ReconnectingConnection(std::shared_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

ReconnectingConnection::~ReconnectingConnection() {
  close(1000, "client closed");
}

void ReconnectingConnection::on_event(MessageHandler handler) {
  impl_->event_handler = std::move(handler);
}
void ReconnectingConnection::on_close(CloseHandler handler) {
  impl_->close_handler = std::move(handler);
}
void ReconnectingConnection::on_status(StatusHandler handler) {
  impl_->status_handler = std::move(handler);
}
void ReconnectingConnection::on_rejoin(RejoinHandler handler) {
  impl_->rejoin_handler = std::move(handler);
}

void ReconnectingConnection::connect(const ServerAddress& address, const ConnectOptions& options,
                                     ConnectHandler done) {
  net::dispatch(impl_->strand, [impl = impl_, address, options, done = std::move(done)]() mutable {
    impl->address = address;
    impl->options = options;
    impl->first_connect(std::move(done));
  });
}

void ReconnectingConnection::request(ClientMessage message, MessageHandler on_reply) {
  net::dispatch(impl_->strand, [impl = impl_, message = std::move(message),
                                on_reply = std::move(on_reply)]() mutable {
    impl->request(std::move(message), std::move(on_reply));
  });
}

void ReconnectingConnection::send_raw(std::string bytes, bool binary) {
  net::dispatch(impl_->strand, [impl = impl_, bytes = std::move(bytes), binary]() mutable {
    if (impl->connection) impl->connection->send_raw(std::move(bytes), binary);
  });
}

void ReconnectingConnection::close(std::uint16_t code, std::string reason) {
  net::dispatch(impl_->strand, [impl = impl_, code, reason = std::move(reason)]() mutable {
    if (impl->closed || impl->closing) return;
    impl->closing = true;
    impl->retry_timer.cancel();
    if (impl->connection && !impl->connection->is_closed()) {
      // Its close handler (or, while connecting, its connect handler)
      // finishes, even if our handle is destroyed meanwhile; if neither comes
      // in time, the deadline does.
      impl->close_deadline.expires_after(impl->options.timeout);
      impl->close_deadline.async_wait([impl](boost::system::error_code ec) {
        if (!ec) impl->finish(CloseInfo{1006, "the close was not answered in time"});
      });
      impl->connection->close(code, std::move(reason));
      return;
    }
    impl->finish(CloseInfo{code, reason.empty() ? "closed" : reason});
  });
}

void ReconnectingConnection::drop() {
  net::dispatch(impl_->strand, [impl = impl_] {
    if (impl->connection) impl->connection->drop();
  });
}

}  // namespace circle::client
