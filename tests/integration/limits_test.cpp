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
  TestServer server({"--requests-per-second", "1", "--request-burst", "5",
                     "--rate-limited-close-after", "10"});
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

}  // namespace
