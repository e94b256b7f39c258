// A loopback TCP proxy in front of a test server, standing in for a bad
// network or a load balancer: cut() breaks every connection through it (both sides see the
// socket go, as when a phone loses its signal) and turns new connections
// away until restore(). Bytes pass through untouched, TLS included.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

namespace circle::test {

class TcpProxy {
 public:
  // Forwards 127.0.0.1:<port()> to 127.0.0.1:`target_port`.
  explicit TcpProxy(const std::string& target_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  std::string port() const;
  // Closes every connection through the proxy and refuses new ones (each is
  // accepted and closed at once) until restore().
  void cut();
  void restore();
  // New connections go to 127.0.0.1:`target_port` from now on (a load
  // balancer taking a stopped node out).
  void retarget(const std::string& target_port);

 private:
  struct Link;
  void accept_next();

  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::ip::tcp::endpoint target_;  // guarded by mutex_
  std::mutex mutex_;
  bool refusing_ = false;                  // guarded by mutex_
  std::set<std::shared_ptr<Link>> links_;  // guarded by mutex_
  std::jthread thread_;
};

}  // namespace circle::test
