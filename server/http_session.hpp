// One accepted TCP connection before it becomes a WebSocket: the TLS handshake
// (with a deadline), then one HTTP request (with a deadline and size limits).
// A WebSocket upgrade hands the stream to a WebSocketSession; GET /healthz is
// answered here; anything else gets a clear 4xx.
#pragma once

#include <memory>
#include <optional>

#include "beast.hpp"
#include "server_context.hpp"

namespace circle::server {

// A connection's place under the connection caps, or why it has none.
struct AdmittedConnection {
  ConnectionLimits::Slot slot;
  ConnectionLimits::Refusal refusal = ConnectionLimits::Refusal::kNone;
};

template <class Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  // For TlsStream, `tls` must be non-null; for PlainStream it is ignored.
  HttpSession(Socket&& socket, ssl::context* tls, ServerContext& context,
              AdmittedConnection admitted);
  void run();

 private:
  void on_handshake(error_code ec);
  void do_read();
  void on_read(error_code ec, std::size_t bytes);
  void respond(http::status status, std::string body);
  void on_write(error_code ec, std::size_t bytes);

  Stream stream_;
  ServerContext& context_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  AdmittedConnection admitted_;
};

extern template class HttpSession<PlainStream>;
extern template class HttpSession<TlsStream>;

}  // namespace circle::server
