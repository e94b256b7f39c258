// The client library's core: one asynchronous connection to circled over a
// TLS (or, when asked, plain) WebSocket. Requests get a client-chosen
// request_id and their reply is routed back to the caller's handler; pushed
// events go to the event handler; ServerBatch envelopes are unwrapped so that
// users only ever see single ServerMessages. Used by the terminal client, the
// tests and the load generator.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "circle/v1/circle.pb.h"

namespace circle::client {

// Where to connect, parsed from "wss://host:port/path" or "ws://...".
struct ServerAddress {
  bool tls = true;
  std::string host;
  std::string port;
  std::string target = "/";
};

// Parses a server URL; on failure returns nullopt and sets *error.
std::optional<ServerAddress> parse_server_url(std::string_view url, std::string* error);

// How a connection ended.
struct CloseInfo {
  // The WebSocket close code the server sent, or 0 if the connection broke.
  std::uint16_t code = 0;
  // The server's close reason, or a description of the transport error.
  std::string reason;
};

struct ConnectOptions {
  // Total time for TCP connect, TLS and WebSocket handshakes.
  std::chrono::milliseconds timeout{10'000};
  // Largest message accepted from the server (batches can be large).
  std::size_t read_message_max = 16 * 1024 * 1024;
  // Sent as the upgrade's Origin header when set (what a browser page would
  // send); the terminal client sends none.
  std::string origin;
};

// The reply a request gets when the connection cannot deliver it (closed,
// or closed before the server answered): ERROR_CODE_UNAVAILABLE.
circle::v1::ServerMessage unavailable_reply(std::uint64_t request_id, const std::string& why);

// A TLS context that trusts `ca_file` (or the system store when empty) and
// verifies the server's certificate. Throws on an unreadable file.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const std::string& ca_file);

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using ServerMessage = circle::v1::ServerMessage;
  using MessageHandler = std::function<void(const ServerMessage&)>;
  using CloseHandler = std::function<void(const CloseInfo&)>;
  using ConnectHandler = std::function<void(const std::optional<CloseInfo>& failure)>;

  // `tls` may be null for ws:// servers. Handlers run on the connection's strand.
  static std::shared_ptr<Connection> create(boost::asio::any_io_executor executor,
                                            std::shared_ptr<boost::asio::ssl::context> tls);
  ~Connection();

  // Set these before connect().
  void on_event(MessageHandler handler);
  // Raw mode, for baseline servers that speak no protocol: when set, every
  // message from the server goes here as bytes, and nothing is parsed.
  void on_raw_message(std::function<void(std::string_view bytes)> handler);
  void on_close(CloseHandler handler);

  // Connects; `done` gets nullopt on success, or why it failed.
  void connect(const ServerAddress& address, const ConnectOptions& options, ConnectHandler done);

  // Sends `message` with a fresh request_id; `on_reply` gets the one reply
  // (an Error with ERROR_CODE_UNAVAILABLE if the connection closes first).
  // Safe from any thread. Returns the request_id used.
  std::uint64_t request(circle::v1::ClientMessage message, MessageHandler on_reply);

  // Sends bytes as they are (tests of bad input). Safe from any thread.
  void send_raw(std::string bytes, bool binary);

  // Starts the WebSocket close handshake. Safe from any thread.
  void close(std::uint16_t code = 1000, std::string reason = {});

  // Closes the socket without a close handshake, as a failing network
  // would; the close handler then sees code 0. Safe from any thread.
  void drop();

  // The connection has ended (or never opened). Safe from any thread; in a
  // reply handler it tells a reply made up for a closed connection apart
  // from the server's own.
  bool is_closed() const;

 private:
  struct Impl;
  explicit Connection(std::shared_ptr<Impl> impl);
  // Shared with in-flight handlers, which may outlive this handle briefly.
  std::shared_ptr<Impl> impl_;
};

}  // namespace circle::client
