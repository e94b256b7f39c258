// Account tokens against the real server: who gets in, with which typed
// error the others are turned away, and that a session ends with its token.
#include <gtest/gtest.h>

#include "support/test_server.hpp"

namespace {

using namespace circle::test;
namespace client = circle::client;

// Hello with `token` must be refused with `code` and the connection closed
// with 1008 and `reason`.
void expect_refused(const TestServer& server, const std::string& token, circle::v1::ErrorCode code,
                    const std::string& reason) {
  auto c = server.connect();
  auto reply = call(*c, client::make_hello("Sam", "test", token));
  ASSERT_TRUE(reply.has_error()) << reply.DebugString();
  EXPECT_EQ(reply.error().code(), code) << reply.error().message();
  auto closed = c->wait_closed(kDeadline);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->code, 1008);
  EXPECT_EQ(closed->reason, reason);
}

TEST(Auth, HelloWithoutATokenIsRefused) {
  TestServer server;
  expect_refused(server, "", circle::v1::ERROR_CODE_UNAUTHENTICATED, "unauthenticated");
}

TEST(Auth, ForgedMalformedAndExpiredTokensAreRefused) {
  TestServer server;
  TestServer other_server;  // its own secret: its tokens are forgeries here
  expect_refused(server, other_server.token("sam"), circle::v1::ERROR_CODE_UNAUTHENTICATED,
                 "unauthenticated");
  expect_refused(server, "this.is.not-a-token", circle::v1::ERROR_CODE_UNAUTHENTICATED,
                 "unauthenticated");
  // Past the default leeway of 30 s.
  expect_refused(server, server.token("sam", "Sam", false, -60),
                 circle::v1::ERROR_CODE_TOKEN_EXPIRED, "token expired");
  // The server goes on serving valid tokens.
  EXPECT_TRUE(server.hello("Robin"));
}

TEST(Auth, TheTokenNameIsTheDefaultDisplayName) {
  TestServer server;
  auto c = server.connect();
  auto named = call(*c, client::make_hello("", "test", server.token("u-1", "Robin")));
  ASSERT_TRUE(named.has_welcome()) << named.DebugString();
  EXPECT_EQ(named.welcome().display_name(), "Robin");
  // A pseudonym given in Hello wins over the token's name.
  auto d = server.connect();
  auto chosen = call(*d, client::make_hello("Kit", "test", server.token("u-2", "Robin")));
  ASSERT_TRUE(chosen.has_welcome());
  EXPECT_EQ(chosen.welcome().display_name(), "Kit");
  // No name anywhere: refused.
  auto e = server.connect();
  auto nameless = call(*e, client::make_hello("", "test", server.token("u-3")));
  ASSERT_TRUE(nameless.has_error());
  EXPECT_EQ(nameless.error().code(), circle::v1::ERROR_CODE_INVALID_ARGUMENT);
}

TEST(Auth, AnAdminTokenIsAdminInEveryRoom) {
  TestServer server;
  auto host = server.join("Alex", "group", /*create=*/true);
  auto c = server.connect();
  ASSERT_TRUE(call(*c, client::make_hello("Operator", "test", server.token("ops", "", true)))
                  .has_welcome());
  auto joined = call(*c, client::make_join_room("group"));
  ASSERT_TRUE(joined.has_join_room()) << joined.DebugString();
  EXPECT_EQ(own_member(joined.join_room().snapshot()).role(), circle::v1::ROLE_ADMIN);
}

TEST(Auth, ASessionEndsWhenItsTokenExpires) {
  TestServer server({"--token-leeway-seconds", "0"});
  auto c = server.connect();
  ASSERT_TRUE(
      call(*c, client::make_hello("Sam", "test", server.token("u-1", "", false, 2))).has_welcome());
  auto notice = c->wait_event(
      [](const circle::v1::ServerMessage& m) {
        return m.has_error() && m.error().code() == circle::v1::ERROR_CODE_TOKEN_EXPIRED;
      },
      kDeadline);
  ASSERT_TRUE(notice);
  auto closed = c->wait_closed(kDeadline);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->code, 1008);
  EXPECT_EQ(closed->reason, "token expired");
}

TEST(Auth, AllowAnonymousLetsATokenlessHelloIn) {
  TestServer server({"--allow-anonymous"});
  auto c = server.connect();
  EXPECT_TRUE(call(*c, client::make_hello("Sam")).has_welcome());
  // Tokens still count when given.
  expect_refused(server, "garbage", circle::v1::ERROR_CODE_UNAUTHENTICATED, "unauthenticated");
}

TEST(Auth, CircledTokenMintsWhatTheServerAccepts) {
  TestServer server;
  ChildProcess mint({circled_path(), "--data-dir", server.data_dir(), "token", "--sub", "sam",
                     "--name", "Sam", "--ttl", "30m"},
                    {.capture_stdout = true});
  ASSERT_EQ(mint.wait_exit(kDeadline), 0);
  std::string token = mint.read_all(kDeadline);
  while (!token.empty() && token.back() == '\n') token.pop_back();
  auto c = server.connect();
  auto welcome = call(*c, client::make_hello("", "test", token));
  ASSERT_TRUE(welcome.has_welcome()) << welcome.DebugString();
  EXPECT_EQ(welcome.welcome().display_name(), "Sam");

  ChildProcess bad_ttl(
      {circled_path(), "--data-dir", server.data_dir(), "token", "--sub", "sam", "--ttl", "soon"},
      {.capture_stdout = true, .capture_stderr = true});
  EXPECT_EQ(bad_ttl.wait_exit(kDeadline), 2);
}

}  // namespace
