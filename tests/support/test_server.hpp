// A real circled started for one test: ephemeral port on 127.0.0.1, the
// certificate the `certs` ctest fixture made, its own data directory. Plus
// helpers to connect real client-library clients to it.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "circle_client/requests.hpp"
#include "circle_client/sync_client.hpp"

namespace circle::test {

using namespace std::chrono_literals;

// Generous: CI machines are slow; a passing test never waits this long.
inline constexpr auto kDeadline = 10s;

std::string test_cert_dir();
std::string circled_path();
std::string circle_path();
std::string make_temp_dir();

class TestServer {
 public:
  explicit TestServer(std::vector<std::string> extra_args = {}, bool tls = true);
  ~TestServer();

  const std::string& url() const { return url_; }
  const std::string& data_dir() const { return data_dir_; }
  const circle::client::ServerAddress& address() const { return address_; }
  ChildProcess& process() { return *process_; }
  std::shared_ptr<boost::asio::ssl::context> client_tls() const;

  // A client connected to this server (not yet said hello).
  std::unique_ptr<circle::client::SyncClient> connect() const;
  // A client that said hello as `name`.
  std::unique_ptr<circle::client::SyncClient> hello(const std::string& name) const;
  // A client that said hello as `name` and joined `room` (creating it first
  // when `create` is set).
  std::unique_ptr<circle::client::SyncClient> join(const std::string& name, const std::string& room,
                                                   bool create = false) const;

 private:
  bool tls_;
  std::string data_dir_;
  std::unique_ptr<ChildProcess> process_;
  std::string url_;
  circle::client::ServerAddress address_;
};

// Sends `request` and waits for its reply; fails the test on timeout.
circle::v1::ServerMessage call(circle::client::SyncClient& client,
                               circle::v1::ClientMessage request);

}  // namespace circle::test
