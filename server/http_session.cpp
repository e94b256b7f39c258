#include "http_session.hpp"

#include <algorithm>

#include "logging.hpp"
#include "version.hpp"
#include "websocket_session.hpp"

namespace circle::server {
namespace {

template <class Stream>
constexpr bool is_tls = std::is_same_v<Stream, TlsStream>;

// Requests before the upgrade carry no body worth reading.
constexpr std::uint64_t kHttpBodyLimit = 1024;

// Browsers send Origin; a page from an origin not on the list must not open
// a WebSocket with its visitor's credentials. No list, or no Origin (not a
// browser): allowed.
bool origin_allowed(const std::vector<std::string>& allowed, beast::string_view origin) {
  if (allowed.empty() || origin.empty()) return true;
  return std::find(allowed.begin(), allowed.end(),
                   std::string_view(origin.data(), origin.size())) != allowed.end();
}

}  // namespace

template <class Stream>
HttpSession<Stream>::HttpSession(Socket&& socket, ssl::context* tls, ServerContext& context,
                                 AdmittedConnection admitted)
    : stream_([&]() -> Stream {
        if constexpr (is_tls<Stream>) {
          return Stream(std::move(socket), *tls);
        } else {
          (void)tls;
          return Stream(std::move(socket));
        }
      }()),
      context_(context),
      admitted_(std::move(admitted)) {}

template <class Stream>
void HttpSession<Stream>::run() {
  // Start on the connection's strand, as every later handler will be.
  net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
    if constexpr (is_tls<Stream>) {
      beast::get_lowest_layer(self->stream_)
          .expires_after(self->context_.config.tls_handshake_timeout);
      self->stream_.async_handshake(ssl::stream_base::server,
                                    beast::bind_front_handler(&HttpSession::on_handshake, self));
    } else {
      self->do_read();
    }
  });
}

template <class Stream>
void HttpSession<Stream>::on_handshake(error_code ec) {
  if (ec) {
    spdlog::debug("tls handshake failed: {}", ec.message());
    return;
  }
  do_read();
}

template <class Stream>
void HttpSession<Stream>::do_read() {
  parser_.emplace();
  parser_->header_limit(context_.config.http_header_limit);
  parser_->body_limit(kHttpBodyLimit);
  beast::get_lowest_layer(stream_).expires_after(context_.config.http_request_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&HttpSession::on_read, this->shared_from_this()));
}

template <class Stream>
void HttpSession<Stream>::on_read(error_code ec, std::size_t bytes_read) {
  if (ec == http::error::end_of_stream) return;
  if (ec) {
    spdlog::debug("http read failed: {}", ec.message());
    if (ec == http::error::header_limit || ec == http::error::body_limit) {
      respond(http::status::request_header_fields_too_large, "request too large\n");
    }
    return;
  }
  auto& request = parser_->get();
  // Beast's header limit bounds the start line and the fields separately, so
  // a header may pass it by up to a line; the setting is exact: the request
  // line, the fields and the blank line together. (A chunked body's framing
  // would count as header here; Beast's own limit still bounds those.)
  if (!parser_->chunked() &&
      bytes_read - request.body().size() > context_.config.http_header_limit) {
    return respond(http::status::request_header_fields_too_large, "request too large\n");
  }
  if (websocket::is_upgrade(request)) {
    if (request.target() != "/" && request.target() != "/v1") {
      return respond(http::status::not_found, "no WebSocket endpoint here; use /\n");
    }
    switch (admitted_.refusal) {
      case ConnectionLimits::Refusal::kNone:
      case ConnectionLimits::Refusal::kAccountFull:
      case ConnectionLimits::Refusal::kCloseNow:  // closed by the listener
        break;
      case ConnectionLimits::Refusal::kServerFull:
        context_.metrics.count_refused(RefusedBecause::kServerFull);
        spdlog::info("connection refused: the server holds its maximum of {} connections",
                     context_.config.connection_caps.max_connections);
        return respond(http::status::service_unavailable,
                       "the server is full; try again in a moment\n");
      case ConnectionLimits::Refusal::kAddressFull:
        context_.metrics.count_refused(RefusedBecause::kAddressFull);
        spdlog::info("connection refused: {} connections from one address",
                     context_.config.connection_caps.max_per_address);
        return respond(http::status::too_many_requests,
                       "too many connections from your network address\n");
    }
    if (!origin_allowed(context_.config.allowed_origins, request[http::field::origin])) {
      spdlog::info("connection refused: origin not allowed");
      context_.metrics.count_refused(RefusedBecause::kOrigin);
      return respond(http::status::forbidden, "this origin may not connect\n");
    }
    // The WebSocket keeps its own timeouts from here on.
    beast::get_lowest_layer(stream_).expires_never();
    std::make_shared<WebSocketSession<Stream>>(std::move(stream_), context_,
                                               std::move(admitted_.slot))
        ->run(parser_->release());
    return;
  }
  if (request.target() == "/healthz") {
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
      return respond(http::status::method_not_allowed, "use GET\n");
    }
    return respond(http::status::ok, "{\"status\":\"ok\"}\n");
  }
  if (request.target() == "/") {
    return respond(http::status::upgrade_required,
                   "Circle speaks WebSocket here: connect with the circle client\n");
  }
  respond(http::status::not_found, "not found\n");
}

template <class Stream>
void HttpSession<Stream>::respond(http::status status, std::string body) {
  const bool is_json = !body.empty() && body.front() == '{';
  response_ = http::response<http::string_body>(status, parser_ ? parser_->get().version() : 11);
  response_.set(http::field::server, std::string(kServerVersion));
  response_.set(http::field::content_type, is_json ? "application/json" : "text/plain");
  if (status == http::status::upgrade_required) response_.set(http::field::upgrade, "websocket");
  response_.keep_alive(false);
  response_.body() = std::move(body);
  response_.prepare_payload();
  http::async_write(stream_, response_,
                    beast::bind_front_handler(&HttpSession::on_write, this->shared_from_this()));
}

template <class Stream>
void HttpSession<Stream>::on_write(error_code ec, std::size_t) {
  if (ec) return;
  // One request per connection: say goodbye properly on each transport.
  if constexpr (is_tls<Stream>) {
    stream_.async_shutdown([self = this->shared_from_this()](error_code) {});
  } else {
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }
}

template class HttpSession<PlainStream>;
template class HttpSession<TlsStream>;

}  // namespace circle::server
