// Issue 7's limits, each just under (accepted) and just over (a typed error
// or a close), with the rest of the server unaffected.
#include <gtest/gtest.h>

#include "support/test_server.hpp"

namespace {

using namespace circle::test;
namespace client = circle::client;
namespace v1 = circle::v1;

TEST(Limits, AFlooderIsRateLimitedThenClosedWhileTheRoomGoesOn) {
  // 5 requests at once, then 1 a second; closed after 10 refusals in a row.
  TestServer server(
      {"--requests-per-second", "1", "--request-burst", "5", "--rate-limited-close-after", "10"});
  auto alex = server.join("Alex", "group", /*create=*/true);  // hello + create + join: 3
  auto sam = server.join("Sam", "group");
  // What is left of Alex's burst is accepted; the request after it is not.
  int accepted = 0;
  v1::ServerMessage refused;
  for (int i = 0; i < 6; ++i) {
    auto reply = call(*alex, client::make_send_message("group", "hello " + std::to_string(i)));
    if (!reply.has_send_message()) {
      refused = reply;
      break;
    }
    ++accepted;
  }
  EXPECT_GE(accepted, 1);
  EXPECT_LE(accepted, 4);  // signing in and joining took at least one of the 5
  ASSERT_TRUE(refused.has_error()) << refused.DebugString();
  EXPECT_EQ(refused.error().code(), v1::ERROR_CODE_RATE_LIMITED);
  EXPECT_NE(refused.error().message().find("at most 1 a second"), std::string::npos);

  // Keeping on regardless: refused each time, then closed as a policy violation.
  for (int i = 0; i < 20 && !alex->is_closed(); ++i) {
    alex->call(client::make_send_message("group", "flood"), kDeadline);
  }
  auto closed = alex->wait_closed(kDeadline);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->code, 1008);
  EXPECT_NE(closed->reason.find("rate limit"), std::string::npos) << closed->reason;

  // Sam, in the same room, was never limited and still talks.
  EXPECT_TRUE(call(*sam, client::make_send_message("group", "still here")).has_send_message());
}

// Connects a fresh client; the failure's reason, or "" when it connected.
std::string try_connect(const TestServer& server, std::unique_ptr<client::SyncClient>& out,
                        const std::string& origin = {}) {
  out = std::make_unique<client::SyncClient>(server.client_tls());
  client::ConnectOptions options;
  options.origin = origin;
  auto failure = out->connect(server.address(), options);
  return failure ? failure->reason : "";
}

// Connects until it succeeds (a closed connection's place comes back once
// the server has let it go) or the deadline passes.
bool connects_again(const TestServer& server) {
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  std::unique_ptr<client::SyncClient> again;
  while (std::chrono::steady_clock::now() < deadline) {
    if (try_connect(server, again).empty()) return true;
  }
  return false;
}

TEST(Limits, OneAddressGetsItsCapOfConnectionsAndAPlaceBackWhenOneCloses) {
  TestServer server({"--max-connections-per-address", "2"});
  auto first = server.connect();
  auto second = server.connect();  // just under
  std::unique_ptr<client::SyncClient> third;
  const auto refused = try_connect(server, third);  // just over
  EXPECT_NE(refused.find("HTTP 429"), std::string::npos) << refused;
  EXPECT_NE(refused.find("too many connections from your network address"), std::string::npos);
  // The two inside are unaffected.
  EXPECT_TRUE(call(*first, client::make_hello("", "t", server.token("a", "A"))).has_welcome());
  first->close(1000, "bye");
  ASSERT_TRUE(first->wait_closed(kDeadline));
  EXPECT_TRUE(connects_again(server));
}

TEST(Limits, AFullServerSaysSo) {
  TestServer server({"--max-connections", "1"});
  auto only = server.connect();
  std::unique_ptr<client::SyncClient> another;
  const auto refused = try_connect(server, another);
  EXPECT_NE(refused.find("HTTP 503"), std::string::npos) << refused;
  EXPECT_NE(refused.find("the server is full"), std::string::npos) << refused;
  EXPECT_TRUE(call(*only, client::make_hello("", "t", server.token("a", "A"))).has_welcome());
}

TEST(Limits, AnAccountGetsItsCapOfSignedInConnections) {
  TestServer server({"--max-connections-per-account", "2"});
  auto phone = server.sign_in("sam");
  auto laptop = server.sign_in("sam");  // just under
  auto tablet = server.connect();       // just over
  auto refused = call(*tablet, client::make_hello("", "t", server.token("sam", "Sam")));
  ASSERT_TRUE(refused.has_error()) << refused.DebugString();
  EXPECT_EQ(refused.error().code(), v1::ERROR_CODE_LIMIT_EXCEEDED);
  auto closed = tablet->wait_closed(kDeadline);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->code, 1008);
  // Another account is not affected, and the first two still work.
  EXPECT_TRUE(server.sign_in("alex") != nullptr);
  EXPECT_TRUE(call(*phone, client::make_list_rooms()).has_list_rooms());
  laptop->close(1000, "bye");
  ASSERT_TRUE(laptop->wait_closed(kDeadline));
  // Its place comes back once the server has let the connection go.
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  bool signed_in = false;
  while (!signed_in && std::chrono::steady_clock::now() < deadline) {
    auto again = server.connect();
    signed_in = call(*again, client::make_hello("", "t", server.token("sam", "Sam"))).has_welcome();
  }
  EXPECT_TRUE(signed_in);
}

TEST(Limits, OnlyAllowedBrowserOriginsMayConnect) {
  TestServer server({"--allowed-origin", "https://circle.example.org"});
  std::unique_ptr<client::SyncClient> c;
  const auto refused = try_connect(server, c, "https://elsewhere.example");
  EXPECT_NE(refused.find("HTTP 403"), std::string::npos) << refused;
  EXPECT_EQ(try_connect(server, c, "https://circle.example.org"), "");
  EXPECT_EQ(try_connect(server, c), "");  // not a browser: no Origin, no check
}

}  // namespace
