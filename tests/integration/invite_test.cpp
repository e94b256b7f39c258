// Guests through the real server: a facilitator makes an invite link; a
// client that says hello with it and a guest key joins that room only, sees
// no other room, creates none; the same key is the same account (a ban
// holds); a forged link is refused and the connection closed.
#include <gtest/gtest.h>

#include "support/test_server.hpp"

namespace {

using namespace circle::test;
namespace client = circle::client;
using circle::v1::ServerMessage;

std::unique_ptr<client::SyncClient> guest(const TestServer& server, const std::string& invite,
                                          const std::string& key, const std::string& name,
                                          ServerMessage* reply) {
  auto c = server.connect();
  auto hello = client::make_hello(name, "invite-test");
  hello.mutable_hello()->set_invite(invite);
  hello.mutable_hello()->set_guest_key(key);
  *reply = call(*c, hello);
  return c;
}

TEST(Invite, AGuestJoinsOnlyTheRoomOfItsLinkAndABanFollowsItsKey) {
  TestServer server;
  auto alex = server.sign_in("alex");
  ASSERT_TRUE(call(*alex, client::make_create_room("group", "Group")).has_create_room());
  ASSERT_TRUE(call(*alex, client::make_create_room("other", "Other")).has_create_room());
  ASSERT_TRUE(call(*alex, client::make_join_room("group")).has_join_room());
  auto make = client::make_room_action("group");
  make.mutable_room_action()->mutable_create_invite()->set_ttl_seconds(3600);
  make.mutable_room_action()->mutable_create_invite()->set_invite_id(1);     // replaced
  make.mutable_room_action()->mutable_create_invite()->set_token("forged");  // replaced
  auto made = call(*alex, make);
  ASSERT_TRUE(made.has_room_action()) << made.DebugString();
  const auto& invite = made.room_action().invite();
  ASSERT_NE(invite.invite_id(), 1u) << "the server chooses the id";
  ASSERT_NE(invite.token(), "forged") << "and mints the link";

  const std::string key(43, 'k');
  ServerMessage welcome;
  auto river = guest(server, invite.token(), key, "River", &welcome);
  ASSERT_TRUE(welcome.has_welcome()) << welcome.DebugString();
  EXPECT_EQ(welcome.welcome().display_name(), "River");
  auto rooms = call(*river, client::make_list_rooms());
  ASSERT_EQ(rooms.list_rooms().rooms_size(), 1) << "a guest sees only its room";
  EXPECT_EQ(rooms.list_rooms().rooms(0).room_id(), "group");
  EXPECT_EQ(call(*river, client::make_join_room("other")).error().code(),
            circle::v1::ERROR_CODE_PERMISSION_DENIED);
  EXPECT_EQ(call(*river, client::make_create_room("mine", "Mine")).error().code(),
            circle::v1::ERROR_CODE_PERMISSION_DENIED);
  auto joined = call(*river, client::make_join_room("group"));
  ASSERT_TRUE(joined.has_join_room()) << joined.DebugString();
  const auto river_id = joined.join_room().snapshot().your_member_id();

  auto ban = client::make_room_action("group");
  ban.mutable_room_action()->mutable_set_banned()->set_member_id(river_id);
  ban.mutable_room_action()->mutable_set_banned()->set_banned(true);
  ASSERT_TRUE(call(*alex, ban).has_room_action());
  // The same browser (key) comes back with the same link, under another name.
  ServerMessage again;
  auto back = guest(server, invite.token(), key, "Someone else", &again);
  ASSERT_TRUE(again.has_welcome());
  auto refused = call(*back, client::make_join_room("group"));
  EXPECT_EQ(refused.error().code(), circle::v1::ERROR_CODE_PERMISSION_DENIED);
  EXPECT_NE(refused.error().message().find("banned"), std::string::npos);
}

TEST(Invite, AForgedLinkIsRefusedAndClosedAndAShortGuestKeyRefused) {
  TestServer server;
  ServerMessage reply;
  auto forged = guest(server, "eyJhbGciOiJIUzI1NiJ9.eyJyb29tIjoiZ3JvdXAifQ.bad",
                      std::string(40, 'k'), "Mallory", &reply);
  EXPECT_EQ(reply.error().code(), circle::v1::ERROR_CODE_UNAUTHENTICATED);
  auto closed = forged->wait_closed(kDeadline);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->code, 1008);

  auto short_key = guest(server, "x.y.z", "short", "Mallory", &reply);
  EXPECT_EQ(reply.error().code(), circle::v1::ERROR_CODE_INVALID_ARGUMENT);
}

}  // namespace
