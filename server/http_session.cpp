#include "http_session.hpp"

#include <algorithm>

#include "logging.hpp"
#include "version.hpp"
#include "websocket_session.hpp"

namespace circle::server {
namespace {

template <class Stream>
constexpr bool is_tls = std::is_same_v<Stream, TlsSocket>;

// Requests before the upgrade carry no body worth reading.
constexpr std::uint64_t kHttpBodyLimit = 1024;

// Requests one web connection may make before it is closed (a page, its
// scripts, styles and icons take a handful).
constexpr unsigned kWebRequestsPerConnection = 100;

// Every page circled serves says what it may load and do: its own scripts,
// styles and images, a WebSocket to its own origin, nothing from anywhere
// else, never inside another site's frame.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

// What every answer of the web app's listener says about itself.
void set_security_headers(http::response<http::string_body>& response) {
  response.set("Content-Security-Policy", kContentSecurityPolicy);
  response.set("X-Content-Type-Options", "nosniff");
  response.set("Referrer-Policy", "no-referrer");
  response.set("X-Frame-Options", "DENY");
  response.set("Cross-Origin-Opener-Policy", "same-origin");
  response.set("Cross-Origin-Resource-Policy", "same-origin");
  response.set("Permissions-Policy", "camera=(), microphone=(), geolocation=()");
}

// Browsers send Origin; a page from an origin not on the list must not open
// a WebSocket with its visitor's credentials. No list, or no Origin (not a
// browser): allowed. On the web app's listener, a page circled served
// itself (its origin is the host the request came to) is always allowed.
bool origin_allowed(const std::vector<std::string>& allowed, beast::string_view origin,
                    beast::string_view host, bool tls, bool serves_web) {
  if (allowed.empty() || origin.empty()) return true;
  const std::string_view origin_view(origin.data(), origin.size());
  if (serves_web && !host.empty() &&
      origin_view == std::string(tls ? "https://" : "http://") + std::string(host)) {
    return true;
  }
  return std::find(allowed.begin(), allowed.end(), origin_view) != allowed.end();
}

}  // namespace

template <class Stream>
HttpSession<Stream>::HttpSession(Socket&& socket, ssl::context* tls, ServerContext& context,
                                 AdmittedConnection admitted, const WebRoot* web)
    : stream_([&]() -> Stream {
        if constexpr (is_tls<Stream>) {
          return Stream(std::move(socket), *tls);
        } else {
          (void)tls;
          return Stream(std::move(socket));
        }
      }()),
      context_(context),
      deadline_(stream_.get_executor()),
      admitted_(std::move(admitted)),
      web_(web) {}

template <class Stream>
void HttpSession<Stream>::run() {
  // Start on the connection's strand, as every later handler will be.
  net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
    if constexpr (is_tls<Stream>) {
      self->arm_deadline(self->context_.config.tls_handshake_timeout);
      self->stream_.async_handshake(beast::bind_front_handler(&HttpSession::on_handshake, self));
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
  arm_deadline(context_.config.http_request_timeout);
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
    } else if (ec.category() == error_code(http::error::bad_target).category() &&
               ec != http::error::partial_message) {
      // A request Beast cannot parse (a bad target, a bad header): say so.
      respond(http::status::bad_request, "bad request\n");
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
  ++requests_served_;
  if (websocket::is_upgrade(request)) return upgrade();
  if (request.target() == "/healthz") {
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
      return respond(http::status::method_not_allowed, "use GET\n");
    }
    return respond(http::status::ok, "{\"status\":\"ok\"}\n");
  }
  if (web_) return serve_file();
  if (request.target() == "/") {
    return respond(http::status::upgrade_required,
                   "Circle speaks WebSocket here: connect with the circle client\n");
  }
  respond(http::status::not_found, "not found\n");
}

// Over a connection cap (counted from the accept): an upgrade or a page
// request alike is answered with why, and the connection closed.
template <class Stream>
bool HttpSession<Stream>::refuse_over_cap() {
  switch (admitted_.refusal) {
    case ConnectionLimits::Refusal::kNone:
    case ConnectionLimits::Refusal::kAccountFull:
    case ConnectionLimits::Refusal::kCloseNow:  // closed by the listener
      return false;
    case ConnectionLimits::Refusal::kServerFull:
      context_.metrics.count_refused(RefusedBecause::kServerFull);
      spdlog::info("connection refused: the server holds its maximum of {} connections",
                   context_.config.connection_caps.max_connections);
      respond(http::status::service_unavailable, "the server is full; try again in a moment\n");
      return true;
    case ConnectionLimits::Refusal::kAddressFull:
      context_.metrics.count_refused(RefusedBecause::kAddressFull);
      spdlog::info("connection refused: {} connections from one address",
                   context_.config.connection_caps.max_per_address);
      respond(http::status::too_many_requests, "too many connections from your network address\n");
      return true;
  }
  return false;
}

template <class Stream>
void HttpSession<Stream>::upgrade() {
  auto& request = parser_->get();
  if (request.target() != "/" && request.target() != "/v1") {
    return respond(http::status::not_found, "no WebSocket endpoint here; use /\n");
  }
  if (refuse_over_cap()) return;
  if (!origin_allowed(context_.config.allowed_origins, request[http::field::origin],
                      request[http::field::host], is_tls<Stream>, web_ != nullptr)) {
    spdlog::info("connection refused: origin not allowed");
    context_.metrics.count_refused(RefusedBecause::kOrigin);
    return respond(http::status::forbidden, "this origin may not connect\n");
  }
  // The WebSocket keeps its own timeouts from here on.
  deadline_.cancel();
  std::make_shared<WebSocketSession<Stream>>(std::move(stream_), context_,
                                             std::move(admitted_.slot))
      ->run(parser_->release());
}

template <class Stream>
void HttpSession<Stream>::serve_file() {
  const auto& request = parser_->get();
  if (request.method() != http::verb::get && request.method() != http::verb::head) {
    return respond(http::status::method_not_allowed, "use GET\n");
  }
  if (refuse_over_cap()) return;
  WebPath outcome = WebPath::kNotFound;
  const WebFile* file = web_->find(request.target(), outcome);
  if (outcome == WebPath::kRefused) return respond(http::status::bad_request, "bad path\n");
  if (!file) return respond(http::status::not_found, "not found\n");
  response_ = http::response<http::string_body>(http::status::ok, request.version());
  response_.set(http::field::server, std::string(kServerVersion));
  response_.set(http::field::content_type, file->content_type);
  response_.set(http::field::cache_control,
                file->immutable ? "public, max-age=31536000, immutable" : "no-cache");
  set_security_headers(response_);
  response_.keep_alive(request.keep_alive() && requests_served_ < kWebRequestsPerConnection);
  if (request.method() == http::verb::head) {
    response_.content_length(file->body.size());
  } else {
    response_.body() = file->body;
    response_.prepare_payload();
  }
  send_response();
}

template <class Stream>
void HttpSession<Stream>::respond(http::status status, std::string body) {
  const bool is_json = !body.empty() && body.front() == '{';
  response_ = http::response<http::string_body>(status, parser_ ? parser_->get().version() : 11);
  response_.set(http::field::server, std::string(kServerVersion));
  response_.set(http::field::content_type, is_json ? "application/json" : "text/plain");
  if (status == http::status::upgrade_required) response_.set(http::field::upgrade, "websocket");
  if (status == http::status::method_not_allowed) response_.set(http::field::allow, "GET, HEAD");
  // Security headers on every answer of the web app's listener, errors too.
  if (web_) set_security_headers(response_);
  response_.keep_alive(false);
  response_.body() = std::move(body);
  response_.prepare_payload();
  send_response();
}

template <class Stream>
void HttpSession<Stream>::send_response() {
  http::async_write(stream_, response_,
                    beast::bind_front_handler(&HttpSession::on_write, this->shared_from_this()));
}

template <class Stream>
void HttpSession<Stream>::on_write(error_code ec, std::size_t) {
  if (ec) return;
  if (response_.keep_alive()) return do_read();
  // One request per connection: say goodbye properly on each transport.
  if constexpr (is_tls<Stream>) {
    stream_.async_shutdown([self = this->shared_from_this()](error_code) {});
  } else {
    error_code ignored;
    stream_.shutdown(tcp::socket::shutdown_send, ignored);
  }
}

template <class Stream>
void HttpSession<Stream>::arm_deadline(std::chrono::steady_clock::duration timeout) {
  deadline_.expires_after(timeout);
  // A weak hold: a finished session goes at once, not when its deadline does.
  deadline_.async_wait([weak = this->weak_from_this()](error_code ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    // Re-armed after this deadline had passed but before this ran: not yet.
    if (self->deadline_.expiry() > std::chrono::steady_clock::now()) return;
    // Closing fails whatever is waiting on the socket, and every later
    // operation on it: the session ends.
    error_code ignored;
    beast::get_lowest_layer(self->stream_).close(ignored);
  });
}

template class HttpSession<Socket>;
template class HttpSession<TlsSocket>;

}  // namespace circle::server
