// Ignoring through the real server and the terminal client: Sam hides Riya's
// messages for Sam only, on each of Sam's devices; Riya is never told;
// everyone else still sees Riya; facilitators cannot be ignored.
#include <gtest/gtest.h>

#include "support/test_server.hpp"

namespace {

using namespace circle::test;
namespace client = circle::client;
using circle::v1::ServerMessage;

bool is_message(const ServerMessage& m, const std::string& text) {
  return m.has_room_event() && m.room_event().has_message_posted() &&
         m.room_event().message_posted().text() == text;
}

TEST(Ignore, HidesAMemberForOneAccountOnlyAndTheyAreNotTold) {
  TestServer server;
  auto alex = server.sign_in("alex");
  ASSERT_TRUE(call(*alex, client::make_create_room("group", "Group")).has_create_room());
  ASSERT_TRUE(call(*alex, client::make_join_room("group")).has_join_room());
  auto riya = server.sign_in("riya");
  ASSERT_TRUE(call(*riya, client::make_join_room("group")).has_join_room());
  auto sam = server.chat("sam");
  ASSERT_TRUE(sam.wait_for_line("You joined", kDeadline)) << sam.transcript();

  sam.write_stdin("/ignore alex\n");
  ASSERT_TRUE(sam.wait_for_line("facilitators cannot be ignored", kDeadline)) << sam.transcript();
  sam.write_stdin("/ignore riya\n");
  ASSERT_TRUE(sam.wait_for_line("You no longer see riya's messages here", kDeadline))
      << sam.transcript();

  ASSERT_TRUE(
      call(*riya, client::make_send_message("group", "riya says hello")).has_send_message());
  ASSERT_TRUE(alex->wait_event(
      [](const ServerMessage& m) { return is_message(m, "riya says hello"); }, kDeadline))
      << "everyone else still sees Riya";
  ASSERT_TRUE(
      call(*alex, client::make_send_message("group", "alex says hello")).has_send_message());
  ASSERT_TRUE(sam.wait_for_line("alex says hello", kDeadline)) << sam.transcript();
  EXPECT_EQ(sam.transcript().find("riya says hello"), std::string::npos) << sam.transcript();

  // Riya heard nothing of it: the next thing Riya gets is Alex's message.
  auto next = riya->wait_event(
      [](const ServerMessage& m) { return m.has_room_event() || m.has_private_event(); },
      kDeadline);
  ASSERT_TRUE(next);
  EXPECT_FALSE(next->has_private_event()) << next->DebugString();

  // Sam's other device hides Riya too.
  auto tablet = server.sign_in("sam");
  auto joined = call(*tablet, client::make_join_room("group"));
  ASSERT_TRUE(joined.has_join_room());
  ASSERT_EQ(joined.join_room().snapshot().ignored_member_ids_size(), 1);

  sam.write_stdin("/unignore riya\n");
  ASSERT_TRUE(sam.wait_for_line("You see riya's messages again", kDeadline)) << sam.transcript();
  ASSERT_TRUE(call(*riya, client::make_send_message("group", "riya again")).has_send_message());
  ASSERT_TRUE(sam.wait_for_line("riya again", kDeadline)) << sam.transcript();
  sam.write_stdin("/quit\n");
  EXPECT_EQ(sam.wait_exit(kDeadline), 0);
}

}  // namespace
