// Pausing a room through the real server: a facilitator's pause stops
// participants (and new people) until they resume it, and a facilitated
// group whose facilitator dropped and did not come back within the grace
// period pauses itself, saying why, and goes on when they return. Support
// requests work throughout.
#include <gtest/gtest.h>

#include "support/test_server.hpp"

namespace {

using namespace circle::test;
namespace client = circle::client;
namespace v1 = circle::v1;
using circle::v1::ServerMessage;

ServerMessage act(client::SyncClient& c, const std::function<void(v1::RoomActionRequest&)>& fill) {
  auto message = client::make_room_action("group");
  fill(*message.mutable_room_action());
  return call(c, message);
}

ServerMessage ask_for_support(client::SyncClient& c) {
  return act(c, [](auto& r) { r.mutable_request_support()->set_text("this is too much"); });
}

// Waits for the room's next pause or resume.
std::optional<ServerMessage> pause_changed(client::SyncClient& c, bool paused) {
  return c.wait_event(
      [paused](const ServerMessage& m) {
        return m.has_room_event() && m.room_event().has_room_updated() &&
               m.room_event().room_updated().change() == v1::ROOM_CHANGE_PAUSE &&
               m.room_event().room_updated().settings().paused() == paused;
      },
      kDeadline);
}

TEST(Pause, AFacilitatorPausesAndResumesTheRoom) {
  TestServer server;
  auto alex = server.sign_in("alex");
  ASSERT_TRUE(call(*alex, client::make_create_room("group", "Group")).has_create_room());
  ASSERT_TRUE(call(*alex, client::make_join_room("group")).has_join_room());
  auto sam = server.sign_in("sam");
  ASSERT_TRUE(call(*sam, client::make_join_room("group")).has_join_room());

  ASSERT_TRUE(
      act(*alex, [](auto& r) { r.mutable_set_paused()->set_paused(true); }).has_room_action());
  ASSERT_TRUE(pause_changed(*sam, true));
  auto refused = call(*sam, client::make_send_message("group", "hello?"));
  ASSERT_TRUE(refused.has_error()) << refused.DebugString();
  EXPECT_EQ(refused.error().code(), v1::ERROR_CODE_PERMISSION_DENIED);
  EXPECT_EQ(refused.error().message(),
            "send message: a facilitator has paused the room (asking for support still works)");
  EXPECT_TRUE(ask_for_support(*sam).has_room_action());
  auto kim = server.sign_in("kim");
  EXPECT_TRUE(call(*kim, client::make_join_room("group")).has_error()) << "no one new joins";

  ASSERT_TRUE(
      act(*alex, [](auto& r) { r.mutable_set_paused()->set_paused(false); }).has_room_action());
  ASSERT_TRUE(pause_changed(*sam, false));
  EXPECT_TRUE(call(*sam, client::make_send_message("group", "thank you")).has_send_message());
  EXPECT_TRUE(call(*kim, client::make_join_room("group")).has_join_room());
}

TEST(Pause, AGroupLeftWithoutItsFacilitatorPausesItselfUntilTheyReturn) {
  TestServer server({"--facilitator-grace-seconds", "1"});
  auto alex = server.sign_in("alex");
  ASSERT_TRUE(call(*alex, client::make_create_room("group", "Group")).has_create_room());
  ASSERT_TRUE(call(*alex, client::make_join_room("group")).has_join_room());
  auto sam = server.sign_in("sam");
  ASSERT_TRUE(call(*sam, client::make_join_room("group")).has_join_room());

  alex->close();
  const auto paused = pause_changed(*sam, true);
  ASSERT_TRUE(paused) << "the grace period ends with nobody to take over";
  EXPECT_EQ(paused->room_event().room_updated().settings().pause_cause(),
            v1::PAUSE_CAUSE_NO_FACILITATOR);
  EXPECT_FALSE(paused->room_event().room_updated().has_by());
  EXPECT_TRUE(call(*sam, client::make_send_message("group", "anyone?")).has_error());
  auto asked = ask_for_support(*sam);
  ASSERT_TRUE(asked.has_room_action()) << "support still works";
  EXPECT_EQ(asked.room_action().support().facilitators_present(), 0u);

  auto alex_again = server.sign_in("alex");
  ASSERT_TRUE(call(*alex_again, client::make_join_room("group")).has_join_room());
  ASSERT_TRUE(pause_changed(*sam, false));
  EXPECT_TRUE(call(*sam, client::make_send_message("group", "welcome back")).has_send_message());
}

}  // namespace
