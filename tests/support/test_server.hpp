// A real circled started for one test: ephemeral port on 127.0.0.1, the
// certificate the `certs` ctest fixture made, its own data directory. Plus
// helpers to connect real client-library clients to it.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
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
  // `extra_args` may name a --port (default: a free one). `data_dir`: run on this data directory
  // (kept afterwards, so that a test can restart a server on it); empty: a fresh one, removed
  // afterwards.
  // `capture_log`: circled's log (stderr) is kept for log_until_exit instead of
  // going to the test's output.
  explicit TestServer(std::vector<std::string> extra_args = {}, bool tls = true,
                      std::string data_dir = {}, bool capture_log = false);
  ~TestServer();

  const std::string& url() const { return url_; }
  const std::string& data_dir() const { return data_dir_; }
  const circle::client::ServerAddress& address() const { return address_; }
  // http://127.0.0.1:PORT/metrics (empty with --no-metrics).
  const std::string& metrics_url() const { return metrics_url_; }
  // https://127.0.0.1:PORT/ of the web app (with --web-root only).
  const std::string& web_url() const { return web_url_; }
  ChildProcess& process() { return *process_; }
  // Stops circled now (the destructor does it too).
  void stop() { process_.reset(); }
  // With capture_log: stops circled with SIGTERM and returns all it logged.
  std::string log_until_exit();
  std::shared_ptr<boost::asio::ssl::context> client_tls() const;

  // The server's token secret (its data directory's token-secret).
  const std::string& token_secret() const { return token_secret_; }
  // An account token this server accepts, valid for `ttl_s` seconds (negative:
  // already expired).
  std::string token(const std::string& account, const std::string& name = {}, bool admin = false,
                    std::int64_t ttl_s = 3600) const;

  // A client connected to this server (not yet said hello).
  std::unique_ptr<circle::client::SyncClient> connect() const;
  // A client that said hello with a token for `account` (named after it):
  // the same account each time, as a person signing in again.
  std::unique_ptr<circle::client::SyncClient> sign_in(const std::string& account) const;
  // A client that said hello as `name` with a token for a fresh account of
  // its own (so two clients never share an account unless a test says so).
  std::unique_ptr<circle::client::SyncClient> hello(const std::string& name) const;
  // A client that said hello as `name` and joined `room` (creating it first
  // when `create` is set).
  std::unique_ptr<circle::client::SyncClient> join(const std::string& name, const std::string& room,
                                                   bool create = false) const;
  // `circle chat` signed in as `account` (named after it) in `room`, typing
  // through stdin.
  ChildProcess chat(const std::string& account, const std::string& room = "group") const;

 private:
  bool tls_;
  bool own_data_dir_;
  std::string data_dir_;
  std::unique_ptr<ChildProcess> process_;
  std::string url_;
  circle::client::ServerAddress address_;
  std::string metrics_url_;
  std::string web_url_;
  std::string token_secret_;
};

// The snapshot's member entry for the joiner itself (fails the test if absent).
circle::v1::Member own_member(const circle::v1::RoomSnapshot& snapshot);

// A Hello for `name` with a token for a fresh account on `server`.
circle::v1::ClientMessage hello_with_token(const TestServer& server, const std::string& name);

// GET http://host:port/path (the metrics listener); {status, body}.
struct HttpAnswer {
  int status = 0;
  std::string content_type;
  std::string body;
};
HttpAnswer http_get(const std::string& url);
// The value of the Prometheus sample line `name` (with its labels) in
// `text`, or -1 when there is none.
double metric_sample(const std::string& text, const std::string& name);

// Sends `request` and waits for its reply; fails the test on timeout.
circle::v1::ServerMessage call(circle::client::SyncClient& client,
                               circle::v1::ClientMessage request);

}  // namespace circle::test
