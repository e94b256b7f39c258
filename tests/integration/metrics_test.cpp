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

  auto response = http_get(server.metrics_url());
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "text/plain; version=0.0.4; charset=utf-8");
  const auto& text = response.body;
  EXPECT_EQ(metric_sample(text, "circle_messages_posted_total"), 3);
  EXPECT_EQ(metric_sample(text, "circle_errors_total{code=\"ERROR_CODE_NOT_IN_ROOM\"}"), 1);
  EXPECT_EQ(metric_sample(text, "circle_errors_total{code=\"ERROR_CODE_RATE_LIMITED\"}"), 0);
  EXPECT_EQ(metric_sample(text, "circle_sessions"), 2);
  EXPECT_EQ(metric_sample(text, "circle_rooms"), 1);
  EXPECT_EQ(metric_sample(text, "circle_room_members"), 2);
  EXPECT_GE(metric_sample(text, "circle_requests_total"), 9);  // 2 hellos, create, 2 joins, 4 sends
  EXPECT_GE(metric_sample(text, "circle_deliveries_total"), 3 * 2);
  // Every committed action waited for the store, and was fanned out once.
  EXPECT_GE(metric_sample(text, "circle_store_commit_seconds_count"), 3);
  EXPECT_EQ(metric_sample(text, "circle_store_commit_seconds_bucket{le=\"+Inf\"}"),
            metric_sample(text, "circle_store_commit_seconds_count"));
  EXPECT_GE(metric_sample(text, "circle_fan_out_seconds_count"), 3);
  EXPECT_EQ(
      http_get(server.metrics_url().substr(0, server.metrics_url().size() - 8) + "/healthz").status,
      200);
}

TEST(Metrics, NoMetricsListenerWhenTurnedOff) {
  TestServer server({"--no-metrics"});
  EXPECT_TRUE(server.metrics_url().empty());
  auto alex = server.join("Alex", "group", /*create=*/true);
  EXPECT_TRUE(call(*alex, client::make_send_message("group", "still fine")).has_send_message());
}

}  // namespace
