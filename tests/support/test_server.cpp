#include "test_server.hpp"

#include "auth/secret.hpp"
#include "auth/token.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <sstream>
#include <stdexcept>

namespace circle::test {

std::string test_cert_dir() {
  return CIRCLE_TEST_CERT_DIR;
}
std::string circled_path() {
  return CIRCLED_PATH;
}
std::string circle_path() {
  return CIRCLE_PATH;
}

ChildProcess TestServer::chat(const std::string& account, const std::string& room) const {
  return ChildProcess(
      {circle_path(), "chat", "--server", url(), "--ca", test_cert_dir() + "/ca.crt", "--room",
       room, "--token", token(account, account)},
      {.pipe_stdin = true});
}

HttpAnswer http_get(const std::string& url) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  const std::string rest = url.substr(url.find("//") + 2);
  const std::string authority = rest.substr(0, rest.find('/'));
  const std::string host = authority.substr(0, authority.find(':'));
  const std::string port = authority.substr(authority.find(':') + 1);
  boost::asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(kDeadline);
  boost::asio::ip::tcp::resolver resolver(ioc);
  stream.connect(resolver.resolve(host, port));
  http::request<http::empty_body> request(http::verb::get, rest.substr(authority.size()), 11);
  request.set(http::field::host, host);
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  return {static_cast<int>(response.result_int()), std::string(response[http::field::content_type]),
          response.body()};
}

double metric_sample(const std::string& text, const std::string& name) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return -1;
}

std::string make_temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "circle-test-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

TestServer::TestServer(std::vector<std::string> extra_args, bool tls, std::string data_dir,
                       bool capture_log)
    : tls_(tls),
      own_data_dir_(data_dir.empty()),
      data_dir_(own_data_dir_ ? make_temp_dir() : std::move(data_dir)) {
  std::vector<std::string> argv = {circled_path(), "--listen", "127.0.0.1", "--threads", "2",
                                   "--data-dir",   data_dir_};
  const auto has = [&](const char* option) {
    return std::find(extra_args.begin(), extra_args.end(), option) != extra_args.end();
  };
  // Quiet unless the test asks for a level. A free port unless the test names
  // one (to restart a server where its clients will look for it).
  if (!has("--log-level")) argv.insert(argv.end(), {"--log-level", "warn"});
  if (!has("--port")) argv.insert(argv.end(), {"--port", "0"});
  // Many test servers run at once: /metrics on a free port too.
  const bool metrics = !has("--no-metrics");
  if (metrics && !has("--metrics-port")) argv.insert(argv.end(), {"--metrics-port", "0"});
  // The web app only where a test asks for it (--web-root), on a free port.
  const bool web = has("--web-root");
  if (!web) argv.push_back("--no-web");
  if (web && !has("--web-port")) argv.insert(argv.end(), {"--web-port", "0"});
  if (tls && !has("--cert")) {
    argv.insert(argv.end(), {"--cert", test_cert_dir() + "/server.crt", "--key",
                             test_cert_dir() + "/server.key"});
  } else if (!tls) {
    argv.push_back("--insecure-plaintext");
  }
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  process_ =
      std::make_unique<ChildProcess>(argv, ChildProcess::Options{.capture_stderr = capture_log});
  auto line = process_->wait_for_line("listening on ", kDeadline);
  if (!line) throw std::runtime_error("circled did not start listening");
  url_ = line->substr(line->find("listening on ") + 13);
  if (web) {
    auto web_line = process_->wait_for_line("web app on ", kDeadline);
    if (!web_line) throw std::runtime_error("circled did not say where its web app is");
    web_url_ = web_line->substr(web_line->find("web app on ") + 11);
  }
  if (metrics) {
    auto metrics_line = process_->wait_for_line("metrics on ", kDeadline);
    if (!metrics_line) throw std::runtime_error("circled did not say where /metrics is");
    metrics_url_ = metrics_line->substr(metrics_line->find("metrics on ") + 11);
  }
  std::string error;
  auto address = circle::client::parse_server_url(url_, &error);
  if (!address) throw std::runtime_error("bad url from circled: " + error);
  address_ = *address;
  token_secret_ = circle::auth::load_token_secret(data_dir_ + "/token-secret", "");
}

std::string TestServer::token(const std::string& account, const std::string& name, bool admin,
                              std::int64_t ttl_s) const {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return circle::auth::mint_token({.account_id = account,
                                   .name = name,
                                   .issued_at = now,
                                   .expires_at = now + ttl_s,
                                   .admin = admin},
                                  token_secret_);
}

circle::v1::ClientMessage hello_with_token(const TestServer& server, const std::string& name) {
  static std::atomic<unsigned> accounts{0};
  const std::string account = "acct-" + std::to_string(++accounts);
  return circle::client::make_hello(name, "circle-test", server.token(account));
}

std::string TestServer::log_until_exit() {
  process_->signal(SIGTERM);
  if (!process_->wait_exit(kDeadline)) ADD_FAILURE() << "circled did not exit on SIGTERM";
  return process_->read_stderr(kDeadline);
}

TestServer::~TestServer() {
  process_.reset();
  if (!own_data_dir_) return;
  std::error_code ignored;
  std::filesystem::remove_all(data_dir_, ignored);
}

std::shared_ptr<boost::asio::ssl::context> TestServer::client_tls() const {
  return tls_ ? circle::client::make_tls_context(test_cert_dir() + "/ca.crt") : nullptr;
}

std::unique_ptr<circle::client::SyncClient> TestServer::connect() const {
  auto client = std::make_unique<circle::client::SyncClient>(client_tls());
  auto failure = client->connect(address_);
  if (failure) throw std::runtime_error("connect failed: " + failure->reason);
  return client;
}

std::unique_ptr<circle::client::SyncClient> TestServer::sign_in(const std::string& account) const {
  auto client = connect();
  auto welcome =
      call(*client, circle::client::make_hello("", "circle-test", token(account, account)));
  if (!welcome.has_welcome()) throw std::runtime_error("hello refused: " + welcome.DebugString());
  return client;
}

circle::v1::Member own_member(const circle::v1::RoomSnapshot& snapshot) {
  for (const auto& member : snapshot.members()) {
    if (member.member_id() == snapshot.your_member_id()) return member;
  }
  ADD_FAILURE() << "no own member in the snapshot";
  return {};
}

std::unique_ptr<circle::client::SyncClient> TestServer::hello(const std::string& name) const {
  auto client = connect();
  auto welcome = call(*client, hello_with_token(*this, name));
  if (!welcome.has_welcome()) throw std::runtime_error("hello refused: " + welcome.DebugString());
  return client;
}

std::unique_ptr<circle::client::SyncClient> TestServer::join(const std::string& name,
                                                             const std::string& room,
                                                             bool create) const {
  auto client = hello(name);
  if (create) {
    auto created = call(*client, circle::client::make_create_room(room, "Room " + room));
    if (!created.has_create_room()) {
      throw std::runtime_error("create refused: " + created.DebugString());
    }
  }
  auto joined = call(*client, circle::client::make_join_room(room));
  if (!joined.has_join_room()) throw std::runtime_error("join refused: " + joined.DebugString());
  return client;
}

circle::v1::ServerMessage call(circle::client::SyncClient& client,
                               circle::v1::ClientMessage request) {
  auto reply = client.call(std::move(request), kDeadline);
  if (!reply) throw std::runtime_error("no reply within the deadline");
  return *reply;
}

}  // namespace circle::test
