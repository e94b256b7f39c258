// A blocking face on Connection for programs that think in lines: the
// terminal client and the tests. It runs its own I/O thread; every wait has a
// deadline and returns nullopt when it passes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "circle_client/reconnecting_connection.hpp"

namespace boost::asio {
class io_context;
}

namespace circle::client {

class SyncClient {
 public:
  using ServerMessage = circle::v1::ServerMessage;
  using Clock = std::chrono::steady_clock;

  // `tls` may be null when only ws:// servers will be used. With reconnects
  // enabled the client comes back by itself after a dropped connection (see
  // ReconnectingConnection); closes are then reported only when final.
  explicit SyncClient(std::shared_ptr<boost::asio::ssl::context> tls,
                      ReconnectPolicy reconnect = {});
  ~SyncClient();
  SyncClient(const SyncClient&) = delete;
  SyncClient& operator=(const SyncClient&) = delete;

  // Connects; returns nullopt on success or why it failed.
  std::optional<CloseInfo> connect(const ServerAddress& address, ConnectOptions options = {});

  // Sends a request and waits for its one reply; nullopt at the deadline.
  std::optional<ServerMessage> call(circle::v1::ClientMessage message,
                                    std::chrono::milliseconds timeout);
  // Sends a request; the future holds its one reply.
  std::future<ServerMessage> call_async(circle::v1::ClientMessage message);
  // Sends a request; `on_reply` gets its one reply on the I/O thread.
  void request(circle::v1::ClientMessage message,
               std::function<void(const ServerMessage&)> on_reply);

  // If set, pushed events go to `callback` on the I/O thread; otherwise they
  // queue for next_event().
  void set_event_callback(std::function<void(const ServerMessage&)> callback);
  // The next pushed event; nullopt at the deadline, or once the connection
  // has closed for good and every event it delivered has been taken.
  std::optional<ServerMessage> next_event(std::chrono::milliseconds timeout);
  // Waits until `match` accepts a pushed event, dropping the ones before it.
  std::optional<ServerMessage> wait_event(const std::function<bool(const ServerMessage&)>& match,
                                          std::chrono::milliseconds timeout);

  // If set, called once on the I/O thread when the connection ends for good.
  void set_close_callback(std::function<void(const CloseInfo&)> callback);
  // If set, told on the I/O thread when the link drops, retries and returns.
  void set_status_callback(std::function<void(const LinkStatus&)> callback);
  // If set, gets on the I/O thread the server's reply to each join the
  // library made after a reconnect, before that room's next events.
  void set_rejoin_callback(ReconnectingConnection::RejoinHandler callback);
  // How the connection ended; nullopt if still open at the deadline.
  std::optional<CloseInfo> wait_closed(std::chrono::milliseconds timeout);
  bool is_closed() const;

  void send_raw(std::string bytes, bool binary);
  void close(std::uint16_t code = 1000, std::string reason = {});
  // Breaks the socket as a failing network would (see ReconnectingConnection).
  void drop();

 private:
  // A callback as set now; called after the lock is released, so that it may
  // call back into this client.
  template <class Callback>
  Callback copy_under_lock(const Callback& callback) const {
    std::lock_guard lock(mutex_);
    return callback;
  }

  std::unique_ptr<boost::asio::io_context> ioc_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::shared_ptr<ReconnectingConnection> connection_;
  std::jthread io_thread_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<ServerMessage> events_;
  std::function<void(const ServerMessage&)> event_callback_;
  std::function<void(const CloseInfo&)> close_callback_;
  std::function<void(const LinkStatus&)> status_callback_;
  ReconnectingConnection::RejoinHandler rejoin_callback_;
  std::optional<CloseInfo> closed_;
};

}  // namespace circle::client
