// GET /metrics: what the server did, in Prometheus text, on its own port.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <sstream>

#include "support/test_server.hpp"

namespace {

using namespace circle::test;
namespace client = circle::client;
namespace beast = boost::beast;
namespace http = beast::http;

// GET http://host:port/path.
http::response<http::string_body> get(const std::string& url) {
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
  return response;
}

// The value of the sample line `name` (with its labels), or -1.
double sample(const std::string& text, const std::string& name) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return -1;
}

TEST(Metrics, CountWhatTheServerDid) {
  TestServer server;
  ASSERT_FALSE(server.metrics_url().empty());
  auto alex = server.join("Alex", "group", /*create=*/true);
  auto sam = server.join("Sam", "group");
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(call(*alex, client::make_send_message("group", "hi")).has_send_message());
  }
  auto refused = call(*sam, client::make_send_message("elsewhere", "hello?"));
  ASSERT_EQ(refused.error().code(), circle::v1::ERROR_CODE_NOT_IN_ROOM);

  auto response = get(server.metrics_url());
  ASSERT_EQ(response.result_int(), 200);
  EXPECT_EQ(response[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
  const auto& text = response.body();
  EXPECT_EQ(sample(text, "circle_messages_posted_total"), 3);
  EXPECT_EQ(sample(text, "circle_errors_total{code=\"ERROR_CODE_NOT_IN_ROOM\"}"), 1);
  EXPECT_EQ(sample(text, "circle_errors_total{code=\"ERROR_CODE_RATE_LIMITED\"}"), 0);
  EXPECT_EQ(sample(text, "circle_sessions"), 2);
  EXPECT_EQ(sample(text, "circle_rooms"), 1);
  EXPECT_EQ(sample(text, "circle_room_members"), 2);
  EXPECT_GE(sample(text, "circle_requests_total"), 9);  // 2 hellos, create, 2 joins, 4 sends
  EXPECT_GE(sample(text, "circle_deliveries_total"), 3 * 2);
  // Every committed action waited for the store, and was fanned out once.
  EXPECT_GE(sample(text, "circle_store_commit_seconds_count"), 3);
  EXPECT_EQ(sample(text, "circle_store_commit_seconds_bucket{le=\"+Inf\"}"),
            sample(text, "circle_store_commit_seconds_count"));
  EXPECT_GE(sample(text, "circle_fan_out_seconds_count"), 3);
  EXPECT_EQ(get(server.metrics_url().substr(0, server.metrics_url().size() - 8) + "/healthz")
                .result_int(),
            200);
}

TEST(Metrics, NoMetricsListenerWhenTurnedOff) {
  TestServer server({"--no-metrics"});
  EXPECT_TRUE(server.metrics_url().empty());
  auto alex = server.join("Alex", "group", /*create=*/true);
  EXPECT_TRUE(call(*alex, client::make_send_message("group", "still fine")).has_send_message());
}

}  // namespace
