#include "support/https_receiver.hpp"

#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "support/test_server.hpp"

namespace circle::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

struct HttpsReceiver::Connection : std::enable_shared_from_this<Connection> {
  Connection(HttpsReceiver& owner, tcp::socket socket)
      : owner(owner), stream(std::move(socket), owner.tls_) {}

  void run() {
    stream.async_handshake(net::ssl::stream_base::server,
                           [self = shared_from_this()](beast::error_code ec) {
                             if (ec) return;
                             http::async_read(self->stream, self->buffer, self->request,
                                              [self](beast::error_code ec, std::size_t) {
                                                if (!ec) self->answer();
                                              });
                           });
  }
  void answer() {
    ReceivedRequest received{.method = std::string(request.method_string()),
                             .target = std::string(request.target()),
                             .headers = {},
                             .body = request.body()};
    for (const auto& field : request) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      received.headers[name] = std::string(field.value());
    }
    response.result(owner.next_status());
    response.version(11);
    auto [body, cache_control] = owner.answer_body();
    response.body() = std::move(body);
    if (!cache_control.empty()) response.set(http::field::cache_control, cache_control);
    response.prepare_payload();
    owner.answered(std::move(received));
    http::async_write(
        stream, response, [self = shared_from_this()](beast::error_code, std::size_t) {
          beast::error_code ignored;
          beast::get_lowest_layer(self->stream).shutdown(tcp::socket::shutdown_both, ignored);
        });
  }

  HttpsReceiver& owner;
  beast::ssl_stream<tcp::socket> stream;
  beast::flat_buffer buffer;
  http::request<http::string_body> request;
  http::response<http::string_body> response;
};

HttpsReceiver::HttpsReceiver(std::vector<int> statuses, bool stall)
    : tls_(net::ssl::context::tls_server),
      acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)),
      stall_(stall),
      statuses_(statuses.begin(), statuses.end()) {
  tls_.use_certificate_chain_file(test_cert_dir() + "/server.crt");
  tls_.use_private_key_file(test_cert_dir() + "/server.key", net::ssl::context::pem);
  accept_next();
  thread_ = std::thread([this] { ioc_.run(); });
}

HttpsReceiver::~HttpsReceiver() {
  ioc_.stop();
  thread_.join();
}

std::string HttpsReceiver::url(const std::string& path) const {
  return "https://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + path;
}

void HttpsReceiver::accept_next() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) return;
    auto connection = std::make_shared<Connection>(*this, std::move(socket));
    {
      std::lock_guard lock(mutex_);
      ++connections_;
      if (stall_) held_.push_back(connection);
      changed_.notify_all();
    }
    if (!stall_) connection->run();
    accept_next();
  });
}

int HttpsReceiver::next_status() {
  std::lock_guard lock(mutex_);
  if (statuses_.empty()) return 200;
  const int status = statuses_.front();
  statuses_.pop_front();
  return status;
}

std::pair<std::string, std::string> HttpsReceiver::answer_body() {
  std::lock_guard lock(mutex_);
  return {body_, cache_control_};
}

void HttpsReceiver::serve(std::string body, std::string cache_control) {
  std::lock_guard lock(mutex_);
  body_ = std::move(body);
  cache_control_ = std::move(cache_control);
}

void HttpsReceiver::answered(ReceivedRequest request) {
  std::lock_guard lock(mutex_);
  requests_.push_back(std::move(request));
  changed_.notify_all();
}

bool HttpsReceiver::wait_requests(std::size_t count, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return requests_.size() >= count; });
}

bool HttpsReceiver::wait_connections(std::size_t count, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return connections_ >= count; });
}

std::vector<ReceivedRequest> HttpsReceiver::requests() {
  std::lock_guard lock(mutex_);
  return requests_;
}

}  // namespace circle::test
