// A connection to circled that outlives dropped sockets. It carries requests
// like Connection and remembers what a reconnect needs: the Hello, the rooms
// joined with the last seq seen in each, and every SendMessage not yet
// answered. When the connection drops for a reason worth retrying it
// reconnects by itself with jittered exponential backoff, says hello again,
// re-joins each room with resume_after_seq (the server replays what was
// missed, or a fresh snapshot when the gap is too old), and only then sends
// the queued messages, each with its client_message_id, so that a message
// whose ack was lost is acknowledged again rather than posted twice.
//
// Requests other than SendMessage are not retried: one in flight when the
// connection drops, or made while reconnecting, is answered with
// ERROR_CODE_UNAVAILABLE (its effect on the server is unknown).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "circle_client/connection.hpp"

namespace circle::client {

struct ReconnectPolicy {
  // Off: the first close is final, as with a plain Connection.
  bool enabled = false;
  // The wait before the first attempt; it doubles with each failed attempt
  // up to max_delay. Each wait is drawn between half and all of that figure
  // (jitter), so that clients dropped together do not return together.
  std::chrono::milliseconds initial_delay{500};
  std::chrono::milliseconds max_delay{30'000};
  // Attempts in a row before giving up (a final close); 0: never give up.
  unsigned max_attempts = 0;
  // A hello or re-join the server turns away for now after a reconnect (an
  // account's places still held by connections the server has not yet seen
  // go; a room's join throttle after a restart, a store fault) is tried
  // again, with the same backoff, at most this many times; then the link
  // closes for good (a hello) or the room is given up (a re-join). Rooms
  // being re-joined this way do not hold the link back from coming online.
  unsigned max_refused_retries = 10;
};

// Whether a close is worth reconnecting after: a broken transport, the server
// going away or restarting, a server error, or being dropped as too slow. Not
// after a refusal (bad token, protocol error, policy) that would only repeat.
bool worth_reconnecting(const CloseInfo& close);

// What the link is doing, for a client's status line.
struct LinkStatus {
  enum class State {
    kOnline,        // connected; after a reconnect: said hello and re-joined every room
    kReconnecting,  // waiting `retry_in` before attempt number `attempt`
    kRejoining,     // connected again and welcomed; re-joining the rooms
    kClosed,        // final: closed by us, refused, or given up (see `reason`)
  };
  State state = State::kOnline;
  unsigned attempt = 0;
  std::chrono::milliseconds retry_in{0};
  // Why the last connection ended or the last attempt failed.
  std::string reason;
  // Messages sent but not yet acknowledged (they go out after the resume).
  std::size_t unacknowledged_sends = 0;
};

class ReconnectingConnection : public std::enable_shared_from_this<ReconnectingConnection> {
 public:
  using ServerMessage = circle::v1::ServerMessage;
  using MessageHandler = Connection::MessageHandler;
  using CloseHandler = Connection::CloseHandler;
  using ConnectHandler = Connection::ConnectHandler;
  using StatusHandler = std::function<void(const LinkStatus&)>;
  // The server's reply to a join the library made on the caller's behalf
  // after a reconnect: a JoinRoomResponse (`resumed` says whether it replayed
  // the gap) or an Error (the room is then no longer joined; a refusal that
  // passes, RATE_LIMITED or UNAVAILABLE, is first asked again, and only its
  // final answer is handed over). Events of the room that follow it are
  // delivered after it.
  using RejoinHandler = std::function<void(const std::string& room_id, const ServerMessage&)>;

  // Handlers run on the connection's strand, one at a time.
  static std::shared_ptr<ReconnectingConnection> create(
      boost::asio::any_io_executor executor, std::shared_ptr<boost::asio::ssl::context> tls,
      ReconnectPolicy policy);
  ~ReconnectingConnection();

  // Set these before connect().
  void on_event(MessageHandler handler);
  void on_close(CloseHandler handler);  // the final close only
  void on_status(StatusHandler handler);
  void on_rejoin(RejoinHandler handler);

  // The first connect; `done` gets nullopt on success, or why it failed (not
  // retried: a wrong address or certificate should be reported at once).
  void connect(const ServerAddress& address, const ConnectOptions& options, ConnectHandler done);

  // Sends `message` and calls `on_reply` with its one reply. A SendMessage
  // without a client_message_id gets one. Safe from any thread.
  void request(circle::v1::ClientMessage message, MessageHandler on_reply);

  void send_raw(std::string bytes, bool binary);
  // Closes for good: no more reconnects. Safe from any thread.
  void close(std::uint16_t code = 1000, std::string reason = {});
  // Breaks the current socket as a failing network would, with no close
  // handshake; with reconnects enabled the link comes back by itself. For
  // tests and for a client that detects a dead network before TCP does.
  void drop();

 private:
  struct Impl;
  explicit ReconnectingConnection(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace circle::client
