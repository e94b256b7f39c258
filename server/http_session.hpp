// One accepted TCP connection before it becomes a WebSocket: the TLS handshake
// (with a deadline), then HTTP requests (each with a deadline and size limits).
// A WebSocket upgrade hands the stream to a WebSocketSession; GET /healthz is
// answered here; on the web app's listener, GET and HEAD serve its files (and
// the connection stays open for the next one); anything else gets a clear 4xx.
#pragma once

#include <memory>
#include <optional>

#include "beast.hpp"
#include "server_context.hpp"
#include "tls_socket.hpp"
#include "web_root.hpp"

namespace circle::server {

// A connection's place under the connection caps, or why it has none.
struct AdmittedConnection {
  ConnectionLimits::Slot slot;
  ConnectionLimits::Refusal refusal = ConnectionLimits::Refusal::kNone;
};

template <class Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  // For TlsSocket, `tls` must be non-null; for Socket it is ignored.
  // `web`: the web app this listener serves, or null.
  HttpSession(Socket&& socket, ssl::context* tls, ServerContext& context,
              AdmittedConnection admitted, const WebRoot* web);
  void run();

 private:
  void on_handshake(error_code ec);
  void do_read();
  void on_read(error_code ec, std::size_t bytes);
  bool refuse_over_cap();
  void upgrade();
  void serve_file();
  void respond(http::status status, std::string body);
  void send_response();
  void on_write(error_code ec, std::size_t bytes);
  // From now the connection has `timeout` before it is closed (replacing the
  // deadline set before).
  void arm_deadline(std::chrono::steady_clock::duration timeout);

  Stream stream_;
  ServerContext& context_;
  net::steady_timer deadline_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  AdmittedConnection admitted_;
  const WebRoot* web_;
  unsigned requests_served_ = 0;
};

extern template class HttpSession<Socket>;
extern template class HttpSession<TlsSocket>;

}  // namespace circle::server
