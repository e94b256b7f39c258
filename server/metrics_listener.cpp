#include "metrics_listener.hpp"

#include "logging.hpp"
#include "version.hpp"

namespace circle::server {
namespace {

// One scrape: read the request, answer, close (as Beast's http_server_async).
class MetricsSession : public std::enable_shared_from_this<MetricsSession> {
 public:
  MetricsSession(Socket&& socket, std::shared_ptr<const MetricsListener> listener)
      : stream_(std::move(socket)), listener_(std::move(listener)) {}

  void run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read(); });
  }

 private:
  void do_read() {
    parser_.header_limit(listener_->config().http_header_limit);
    parser_.body_limit(1024);
    stream_.expires_after(listener_->config().http_request_timeout);
    http::async_read(
        stream_, buffer_, parser_,
        [self = shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(error_code ec) {
    if (ec) return;
    const auto& request = parser_.get();
    response_.version(request.version());
    response_.set(http::field::server, std::string(kServerVersion));
    response_.keep_alive(false);
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
      respond(http::status::method_not_allowed, "text/plain", "use GET\n");
    } else if (request.target() == "/metrics") {
      respond(http::status::ok, "text/plain; version=0.0.4; charset=utf-8", listener_->render());
    } else if (request.target() == "/healthz") {
      const auto health = listener_->health();
      respond(health.ok ? http::status::ok : http::status::service_unavailable, "application/json",
              health.json + "\n");
    } else {
      respond(http::status::not_found, "text/plain", "GET /metrics or /healthz\n");
    }
  }

  void respond(http::status status, const char* type, std::string body) {
    response_.result(status);
    response_.set(http::field::content_type, type);
    response_.body() = std::move(body);
    response_.prepare_payload();
    http::async_write(stream_, response_, [self = shared_from_this()](error_code, std::size_t) {
      error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    });
  }

  PlainStream stream_;
  std::shared_ptr<const MetricsListener> listener_;
  beast::flat_buffer buffer_;
  http::request_parser<http::empty_body> parser_;
  http::response<http::string_body> response_;
};

}  // namespace

MetricsListener::MetricsListener(net::io_context& ioc, tcp::endpoint endpoint, const Config& config,
                                 const Metrics& metrics, std::function<Gauges()> gauges,
                                 std::function<Health()> health)
    : ioc_(ioc),
      acceptor_(net::make_strand(ioc)),
      config_(config),
      metrics_(metrics),
      gauges_(std::move(gauges)),
      health_(std::move(health)) {
  open_and_listen(acceptor_, endpoint);
}

void MetricsListener::run() {
  do_accept();
}

void MetricsListener::stop() {
  close_on_its_strand(acceptor_, shared_from_this());
}

void MetricsListener::do_accept() {
  acceptor_.async_accept(net::make_strand(ioc_),
                         [self = shared_from_this()](error_code ec, Socket socket) {
                           if (ec == net::error::operation_aborted || !self->acceptor_.is_open())
                             return;
                           if (!ec)
                             std::make_shared<MetricsSession>(std::move(socket), self)->run();
                           self->do_accept();
                         });
}

}  // namespace circle::server
