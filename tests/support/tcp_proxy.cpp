#include "tcp_proxy.hpp"

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

namespace circle::test {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

// One client connection and its connection to the server, pumped both ways.
struct TcpProxy::Link : std::enable_shared_from_this<Link> {
  explicit Link(net::io_context& ioc) : client(ioc), server(ioc) {}
  tcp::socket client;
  tcp::socket server;
  std::array<char, 16384> to_server{};
  std::array<char, 16384> to_client{};

  void start() {
    pump(client, server, to_server);
    pump(server, client, to_client);
  }
  void pump(tcp::socket& from, tcp::socket& to, std::array<char, 16384>& buffer) {
    from.async_read_some(net::buffer(buffer), [self = shared_from_this(), &from, &to, &buffer](
                                                  error_code ec, std::size_t n) {
      if (ec) return self->close();
      net::async_write(to, net::buffer(buffer.data(), n),
                       [self, &from, &to, &buffer](error_code ec, std::size_t) {
                         if (ec) return self->close();
                         self->pump(from, to, buffer);
                       });
    });
  }
  void close() {
    error_code ignored;
    client.close(ignored);
    server.close(ignored);
  }
};

TcpProxy::TcpProxy(const std::string& target_port)
    : acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)),
      target_(net::ip::make_address("127.0.0.1"),
              static_cast<unsigned short>(std::stoi(target_port))) {
  accept_next();
  thread_ = std::jthread([this] { ioc_.run(); });
}

TcpProxy::~TcpProxy() {
  ioc_.stop();
  thread_.join();
}

std::string TcpProxy::port() const {
  return std::to_string(acceptor_.local_endpoint().port());
}

void TcpProxy::accept_next() {
  auto link = std::make_shared<Link>(ioc_);
  acceptor_.async_accept(link->client, [this, link](error_code ec) {
    if (ec) return;
    bool refuse;
    net::ip::tcp::endpoint target;
    {
      std::lock_guard lock(mutex_);
      refuse = refusing_;
      target = target_;
      if (!refuse) links_.insert(link);
    }
    if (refuse) {
      link->close();
    } else {
      link->server.async_connect(target, [link](error_code ec) {
        if (ec) return link->close();
        link->start();
      });
    }
    accept_next();
  });
}

void TcpProxy::cut() {
  std::set<std::shared_ptr<Link>> links;
  {
    std::lock_guard lock(mutex_);
    refusing_ = true;
    links.swap(links_);
  }
  net::post(ioc_, [links = std::move(links)] {
    for (const auto& link : links) link->close();
  });
}

void TcpProxy::restore() {
  std::lock_guard lock(mutex_);
  refusing_ = false;
}

void TcpProxy::retarget(const std::string& target_port) {
  std::lock_guard lock(mutex_);
  target_.port(static_cast<unsigned short>(std::stoi(target_port)));
}

}  // namespace circle::test
