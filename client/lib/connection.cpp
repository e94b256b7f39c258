#include "circle_client/connection.hpp"

#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <deque>
#include <map>
#include <variant>

#include "circle/wire.hpp"

namespace circle::client {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;

std::optional<ServerAddress> parse_server_url(std::string_view url, std::string* error) {
  ServerAddress address;
  if (url.starts_with("wss://")) {
    url.remove_prefix(6);
  } else if (url.starts_with("ws://")) {
    address.tls = false;
    url.remove_prefix(5);
  } else {
    *error = "server URL must start with wss:// (or ws:// for a plaintext server)";
    return std::nullopt;
  }
  const auto slash = url.find('/');
  if (slash != std::string_view::npos) {
    address.target = std::string(url.substr(slash));
    url = url.substr(0, slash);
  }
  std::string_view host = url;
  std::string_view port = address.tls ? "443" : "80";
  if (url.starts_with('[')) {  // [::1]:8443
    const auto close = url.find(']');
    if (close == std::string_view::npos) {
      *error = "unclosed '[' in server URL";
      return std::nullopt;
    }
    host = url.substr(1, close - 1);
    if (close + 1 < url.size() && url[close + 1] == ':') port = url.substr(close + 2);
  } else if (const auto colon = url.rfind(':'); colon != std::string_view::npos) {
    host = url.substr(0, colon);
    port = url.substr(colon + 1);
  }
  if (host.empty() || port.empty()) {
    *error = "server URL needs a host and a port, e.g. wss://127.0.0.1:8443";
    return std::nullopt;
  }
  address.host = std::string(host);
  address.port = std::string(port);
  return address;
}

circle::v1::ServerMessage unavailable_reply(std::uint64_t request_id, const std::string& why) {
  circle::v1::ServerMessage reply;
  reply.set_request_id(request_id);
  reply.mutable_error()->set_code(circle::v1::ERROR_CODE_UNAVAILABLE);
  reply.mutable_error()->set_message(why);
  return reply;
}

std::shared_ptr<ssl::context> make_tls_context(const std::string& ca_file) {
  auto tls = std::make_shared<ssl::context>(ssl::context::tls_client);
  tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  if (ca_file.empty()) {
    tls->set_default_verify_paths();
  } else {
    tls->load_verify_file(ca_file);
  }
  tls->set_verify_mode(ssl::verify_peer);
  return tls;
}

// Words for the close codes a server sends without a reason (RFC 6455 7.4.1).
std::string describe_close_code(std::uint16_t code) {
  switch (code) {
    case 1000:
      return "connection closed";
    case 1001:
      return "server going away";
    case 1002:
      return "protocol error";
    case 1003:
      return "unsupported data";
    case 1008:
      return "policy violation";
    case 1009:
      return "message too big for the server";
    case 1011:
      return "server error";
    default:
      return "closed with code " + std::to_string(code);
  }
}

using PlainWs = websocket::stream<beast::tcp_stream>;
using TlsWs = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

struct Connection::Impl : std::enable_shared_from_this<Connection::Impl> {
  using Strand = net::strand<net::any_io_executor>;

  Impl(net::any_io_executor executor, std::shared_ptr<ssl::context> tls)
      : strand(net::make_strand(executor)), tls(std::move(tls)) {}

  Strand strand;
  std::shared_ptr<ssl::context> tls;
  std::variant<std::monostate, PlainWs, TlsWs> ws;
  MessageHandler event_handler;
  std::function<void(std::string_view)> raw_handler;
  CloseHandler close_handler;
  beast::flat_buffer read_buffer;
  std::map<std::uint64_t, MessageHandler> pending;
  // Atomic so that request() can pick an id on the caller's thread.
  std::atomic<std::uint64_t> last_request_id{0};
  struct Outgoing {
    std::string bytes;
    bool binary;
  };
  std::deque<Outgoing> outbox;
  bool connecting = false;
  bool open = false;
  bool writing = false;
  bool closing = false;
  bool dropped = false;
  // Atomic so that is_closed() can be asked from any thread.
  std::atomic<bool> closed{false};

  template <class Fn>
  decltype(auto) with_ws(Fn&& fn) {
    return std::visit(
        [&](auto& ws) {
          if constexpr (std::is_same_v<std::decay_t<decltype(ws)>, std::monostate>) {
            throw std::logic_error("circle client: not connected");
          } else {
            return fn(ws);
          }
        },
        ws);
  }

  // Small messages (requests, the TLS handshake's last flight) must not wait
  // for Nagle's algorithm and the peer's delayed ACK (~40 ms each time).
  template <class Socket>
  static void set_no_delay(Socket& socket) {
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
  }

  net::awaitable<void> connect(ServerAddress address, ConnectOptions options, ConnectHandler done) {
    auto self = shared_from_this();
    std::optional<CloseInfo> failure;
    connecting = true;
    try {
      tcp::resolver resolver(strand);
      auto endpoints =
          co_await resolver.async_resolve(address.host, address.port, net::use_awaitable);
      if (closing) throw boost::system::system_error(net::error::operation_aborted);
      if (address.tls) {
        if (!tls) throw std::logic_error("wss:// needs a TLS context");
        auto& stream = ws.emplace<TlsWs>(strand, *tls);
        auto& tcp_layer = beast::get_lowest_layer(stream);
        tcp_layer.expires_after(options.timeout);
        co_await tcp_layer.async_connect(endpoints, net::use_awaitable);
        set_no_delay(tcp_layer.socket());
        auto& tls_layer = stream.next_layer();
        error_code parse_error;
        net::ip::make_address(address.host, parse_error);
        if (parse_error) {  // a name, not an IP literal: send SNI
          SSL_set_tlsext_host_name(tls_layer.native_handle(), address.host.c_str());
        }
        tls_layer.set_verify_callback(ssl::host_name_verification(address.host));
        co_await tls_layer.async_handshake(ssl::stream_base::client, net::use_awaitable);
        co_await handshake(stream, address, options);
      } else {
        auto& stream = ws.emplace<PlainWs>(strand);
        beast::get_lowest_layer(stream).expires_after(options.timeout);
        co_await beast::get_lowest_layer(stream).async_connect(endpoints, net::use_awaitable);
        set_no_delay(beast::get_lowest_layer(stream).socket());
        co_await handshake(stream, address, options);
      }
      if (closing || closed) throw boost::system::system_error(net::error::operation_aborted);
      open = true;
    } catch (const boost::system::system_error& e) {
      failure = CloseInfo{0, e.code().message()};
    } catch (const std::exception& e) {
      failure = CloseInfo{0, e.what()};
    }
    connecting = false;
    if (closing && failure) failure->reason = "closed while connecting";
    if (failure) {
      closed = true;
      ws.emplace<std::monostate>();
      fail_pending(failure->reason);
    }
    done(failure);
    if (!failure) {
      do_read();
      if (!outbox.empty() && !writing) do_write();
    }
  }

  template <class Ws>
  net::awaitable<void> handshake(Ws& stream, const ServerAddress& address,
                                 const ConnectOptions& options) {
    beast::get_lowest_layer(stream).expires_never();
    websocket::stream_base::timeout timeouts =
        websocket::stream_base::timeout::suggested(beast::role_type::client);
    timeouts.handshake_timeout = options.timeout;
    stream.set_option(timeouts);
    stream.set_option(websocket::stream_base::decorator(
        [origin = options.origin](websocket::request_type& request) {
          request.set(beast::http::field::user_agent, "circle-client/0.1");
          if (!origin.empty()) request.set(beast::http::field::origin, origin);
        }));
    stream.read_message_max(options.read_message_max);
    stream.binary(true);
    websocket::response_type response;
    auto [ec] = co_await stream.async_handshake(response, address.host + ":" + address.port,
                                                address.target, net::as_tuple(net::use_awaitable));
    if (ec == websocket::error::upgrade_declined) {
      // The server said why (full, too many connections, origin): show it.
      std::string body = response.body();
      while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
      throw std::runtime_error("the server refused the connection (HTTP " +
                               std::to_string(response.result_int()) + "): " + body);
    }
    if (ec) throw boost::system::system_error(ec);
  }

  void do_read() {
    with_ws([&](auto& stream) {
      stream.async_read(read_buffer, [self = shared_from_this()](error_code ec, std::size_t) {
        self->on_read(ec);
      });
    });
  }

  void on_read(error_code ec) {
    if (ec) return finish(ec);
    const auto data = read_buffer.cdata();
    const std::string_view bytes(static_cast<const char*>(data.data()), data.size());
    if (raw_handler) {
      raw_handler(bytes);
      read_buffer.consume(read_buffer.size());
      return do_read();
    }
    const bool parsed = circle::wire::for_each_server_message(
        bytes, [this](const ServerMessage& message) { dispatch(message); });
    read_buffer.consume(read_buffer.size());
    if (!parsed) {
      // The server broke the contract; nothing after this can be trusted.
      close_now(1002, "malformed server message");
    }
    do_read();
  }

  void dispatch(const ServerMessage& message) {
    if (message.request_id() != 0) {
      auto found = pending.find(message.request_id());
      if (found != pending.end()) {
        auto handler = std::move(found->second);
        pending.erase(found);
        if (handler) handler(message);
        return;
      }
    }
    if (event_handler) event_handler(message);
  }

  void send(std::string bytes, bool binary) {
    if (closed || closing) return;
    outbox.push_back({std::move(bytes), binary});
    if (open && !writing) do_write();
  }

  void do_write() {
    writing = true;
    with_ws([&](auto& stream) {
      stream.binary(outbox.front().binary);
      stream.async_write(net::buffer(outbox.front().bytes),
                         [self = shared_from_this()](error_code ec, std::size_t) {
                           self->writing = false;
                           if (ec) return self->finish(ec);
                           self->outbox.pop_front();
                           if (!self->outbox.empty() && !self->closing) self->do_write();
                         });
    });
  }

  void close_now(std::uint16_t code, std::string reason) {
    if (closed || closing) return;
    closing = true;
    if (connecting) {
      // Abort the handshake under way; connect() reports the failure.
      std::visit(
          [](auto& stream) {
            if constexpr (!std::is_same_v<std::decay_t<decltype(stream)>, std::monostate>) {
              beast::get_lowest_layer(stream).close();
            }
          },
          ws);
      return;
    }
    if (!open) return finish(net::error::operation_aborted);
    websocket::close_reason why;
    why.code = code;
    why.reason = reason;
    with_ws([&](auto& stream) {
      stream.async_close(why, [self = shared_from_this()](error_code) {
        // The pending read ends with websocket::error::closed; finish() there.
      });
    });
  }

  void finish(error_code ec) {
    if (closed) return;
    closed = true;
    open = false;
    CloseInfo info;
    std::visit(
        [&](auto& stream) {
          if constexpr (!std::is_same_v<std::decay_t<decltype(stream)>, std::monostate>) {
            info.code = stream.reason().code;
            info.reason.assign(stream.reason().reason.data(), stream.reason().reason.size());
          }
        },
        ws);
    if (info.code == 0) info.reason = dropped ? "connection dropped" : ec.message();
    if (info.reason.empty()) info.reason = describe_close_code(info.code);
    fail_pending(info.reason);
    if (close_handler) close_handler(info);
  }

  // Closes the socket under the WebSocket, as a failing network would: the
  // pending read fails and finish() reports a transport close (code 0).
  void drop_now() {
    if (closed || closing || !open) return;
    dropped = true;
    with_ws([](auto& stream) {
      error_code ignored;
      beast::get_lowest_layer(stream).socket().close(ignored);
    });
  }

  // Every request still waiting gets its one reply.
  void fail_pending(const std::string& why) {
    outbox.clear();
    auto waiting = std::move(pending);
    pending.clear();
    for (auto& [id, handler] : waiting) {
      if (handler) {
        handler(unavailable_reply(
            id, "connection closed before the reply" + (why.empty() ? std::string() : ": " + why)));
      }
    }
  }
};

std::shared_ptr<Connection> Connection::create(net::any_io_executor executor,
                                               std::shared_ptr<ssl::context> tls) {
  return std::shared_ptr<Connection>(
      new Connection(std::make_shared<Impl>(std::move(executor), std::move(tls))));
}

Connection::Connection(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Connection::~Connection() {
  close(1000, "client closed");
}

void Connection::on_event(MessageHandler handler) {
  impl_->event_handler = std::move(handler);
}
void Connection::on_close(CloseHandler handler) {
  impl_->close_handler = std::move(handler);
}

void Connection::on_raw_message(std::function<void(std::string_view)> handler) {
  impl_->raw_handler = std::move(handler);
}

void Connection::connect(const ServerAddress& address, const ConnectOptions& options,
                         ConnectHandler done) {
  net::co_spawn(impl_->strand, impl_->connect(address, options, std::move(done)), net::detached);
}

std::uint64_t Connection::request(circle::v1::ClientMessage message, MessageHandler on_reply) {
  const std::uint64_t request_id = ++impl_->last_request_id;
  message.set_request_id(request_id);
  net::dispatch(impl_->strand, [impl = impl_, request_id, message = std::move(message),
                                on_reply = std::move(on_reply)]() mutable {
    if (impl->closed || impl->closing) {
      if (on_reply) on_reply(unavailable_reply(request_id, "connection is closed"));
      return;
    }
    impl->pending.emplace(request_id, std::move(on_reply));
    impl->send(message.SerializeAsString(), true);
  });
  return request_id;
}

void Connection::send_raw(std::string bytes, bool binary) {
  net::dispatch(impl_->strand, [impl = impl_, bytes = std::move(bytes), binary]() mutable {
    impl->send(std::move(bytes), binary);
  });
}

void Connection::drop() {
  net::dispatch(impl_->strand, [impl = impl_] { impl->drop_now(); });
}

bool Connection::is_closed() const {
  return impl_->closed;
}

void Connection::close(std::uint16_t code, std::string reason) {
  net::dispatch(impl_->strand, [impl = impl_, code, reason = std::move(reason)]() mutable {
    impl->close_now(code, std::move(reason));
  });
}

}  // namespace circle::client
