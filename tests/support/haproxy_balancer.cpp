#include "support/haproxy_balancer.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "support/test_server.hpp"

namespace circle::test {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

std::string free_port() {
  net::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  return std::to_string(acceptor.local_endpoint().port());
}

bool accepts(const std::string& port) {
  net::io_context ioc;
  tcp::socket socket(ioc);
  boost::system::error_code ec;
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"),
                               static_cast<unsigned short>(std::stoi(port))),
                 ec);
  return !ec;
}

}  // namespace

HaproxyBalancer::HaproxyBalancer(const std::vector<Node>& nodes)
    : dir_(make_temp_dir()), port_(free_port()) {
  std::vector<std::string> argv = {CIRCLE_SOURCE_DIR "/scripts/haproxy-config",
                                   "127.0.0.1:" + port_};
  for (const auto& node : nodes) {
    argv.push_back("127.0.0.1:" + node.port + ":" + node.health_port);
  }
  ChildProcess config(argv, {.capture_stdout = true});
  if (config.wait_exit(kDeadline) != 0) throw std::runtime_error("scripts/haproxy-config failed");
  const auto file = dir_ + "/haproxy.cfg";
  std::ofstream(file) << config.read_all(kDeadline);
  process_ =
      std::make_unique<ChildProcess>(std::vector<std::string>{HAPROXY_PATH, "-db", "-f", file},
                                     ChildProcess::Options{.capture_stdout = false});
  // Its port opens once it has read the configuration: poll for it.
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (!accepts(port_)) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("haproxy did not start listening");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a poll
  }
}

HaproxyBalancer::~HaproxyBalancer() {
  process_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

}  // namespace circle::test
