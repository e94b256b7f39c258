// Sanctions follow the person, through the real server and client library:
// one account is one member in a room, and a mute holds across leaving and
// joining again, a second device, a dropped line and a restart. A locked room
// takes back its own members after a dropped line or a restart, and refuses
// new people.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/recording_member.hpp"
#include "support/test_server.hpp"

namespace {

using namespace circle::test;
namespace client = circle::client;
namespace v1 = circle::v1;
using circle::v1::ServerMessage;

std::unique_ptr<client::SyncClient> opens_group(const TestServer& server) {
  auto alex = server.sign_in("alex");
  EXPECT_TRUE(call(*alex, client::make_create_room("group", "Group")).has_create_room());
  EXPECT_TRUE(call(*alex, client::make_join_room("group")).has_join_room());
  return alex;
}

// Joins "group" and returns the snapshot (empty when refused).
v1::RoomSnapshot join_group(client::SyncClient& c) {
  auto joined = call(c, client::make_join_room("group"));
  EXPECT_TRUE(joined.has_join_room()) << joined.DebugString();
  return joined.join_room().snapshot();
}

void act(client::SyncClient& c, const std::function<void(v1::RoomActionRequest&)>& fill) {
  auto message = client::make_room_action("group");
  fill(*message.mutable_room_action());
  auto reply = call(c, message);
  ASSERT_TRUE(reply.has_room_action()) << reply.DebugString();
}

void mute(client::SyncClient& facilitator, std::uint64_t member_id, std::uint32_t seconds) {
  act(facilitator, [&](auto& r) {
    r.mutable_set_muted()->set_member_id(member_id);
    r.mutable_set_muted()->set_muted(true);
    r.mutable_set_muted()->set_duration_seconds(seconds);
  });
}

void expect_refused(const ServerMessage& reply, v1::ErrorCode code, const std::string& starts) {
  ASSERT_TRUE(reply.has_error()) << reply.DebugString();
  EXPECT_EQ(reply.error().code(), code);
  EXPECT_EQ(reply.error().message().rfind(starts, 0), 0u) << reply.error().message();
}

TEST(Standing, AMuteHoldsAfterLeavingAndJoiningTheRoomAgain) {
  TestServer server;
  auto alex = opens_group(server);
  auto sam = server.sign_in("sam");
  const auto sam_id = join_group(*sam).your_member_id();
  mute(*alex, sam_id, 600);

  ASSERT_TRUE(call(*sam, client::make_leave_room("group")).has_leave_room());
  const auto again = join_group(*sam);
  EXPECT_TRUE(own_member(again).muted()) << "Sam comes back muted";
  EXPECT_GT(own_member(again).muted_until_unix_ms(), 0);
  expect_refused(call(*sam, client::make_send_message("group", "the mute is gone?")),
                 v1::ERROR_CODE_PERMISSION_DENIED, "send message: you are muted");
}

TEST(Standing, ASecondConnectionOfTheAccountIsTheSameMember) {
  TestServer server;
  auto alex = opens_group(server);
  auto laptop = server.sign_in("sam");
  const auto sam_id = join_group(*laptop).your_member_id();
  mute(*alex, sam_id, 0);
  ASSERT_TRUE(alex->wait_event(
      [](const ServerMessage& m) {
        return m.has_room_event() && m.room_event().has_member_updated() &&
               m.room_event().member_updated().change() == v1::MEMBER_CHANGE_MUTED;
      },
      kDeadline));

  auto phone = server.sign_in("sam");
  const auto on_phone = join_group(*phone);
  EXPECT_EQ(on_phone.your_member_id(), sam_id);
  EXPECT_EQ(on_phone.members_size(), 2) << "Alex and Sam, not a second Sam";
  EXPECT_TRUE(own_member(on_phone).muted()) << "a second device is no clean slate";
  expect_refused(call(*phone, client::make_send_message("group", "from my phone")),
                 v1::ERROR_CODE_PERMISSION_DENIED, "send message: you are muted");

  // Both devices get the room's messages; Alex saw no second join.
  ASSERT_TRUE(call(*alex, client::make_send_message("group", "welcome")).has_send_message());
  for (auto* device : {laptop.get(), phone.get()}) {
    auto seen = device->wait_event(
        [](const ServerMessage& m) {
          return m.has_room_event() && m.room_event().has_message_posted();
        },
        kDeadline);
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->room_event().message_posted().text(), "welcome");
  }
  auto first_event =
      alex->wait_event([](const ServerMessage& m) { return m.has_room_event(); }, kDeadline);
  ASSERT_TRUE(first_event);
  EXPECT_TRUE(first_event->room_event().has_message_posted())
      << "no MemberJoined for the phone: " << first_event->DebugString();

  // Closing the laptop leaves Sam in the room on the phone.
  laptop->close(1000, "bye");
  ASSERT_TRUE(laptop->wait_closed(kDeadline));
  ASSERT_TRUE(call(*alex, client::make_send_message("group", "still there?")).has_send_message());
  auto next =
      alex->wait_event([](const ServerMessage& m) { return m.has_room_event(); }, kDeadline);
  ASSERT_TRUE(next);
  EXPECT_TRUE(next->room_event().has_message_posted()) << next->DebugString();
  auto on_phone_still = phone->wait_event(
      [](const ServerMessage& m) {
        return m.has_room_event() && m.room_event().has_message_posted() &&
               m.room_event().message_posted().text() == "still there?";
      },
      kDeadline);
  EXPECT_TRUE(on_phone_still);
}

TEST(Standing, ALockedRoomTakesBackAMemberWhoseLineDroppedAndRefusesNewPeople) {
  TestServer server;
  auto alex = opens_group(server);
  Member sam(server, "sam");
  sam.join("group");
  act(*alex, [](auto& r) { r.mutable_set_locked()->set_locked(true); });

  sam.client().drop();  // a Wi-Fi blip
  ASSERT_TRUE(sam.wait_status(State::kReconnecting));
  ASSERT_TRUE(sam.wait_status(State::kOnline));
  auto rejoins = sam.rejoins();
  ASSERT_FALSE(rejoins.empty());
  EXPECT_TRUE(rejoins.back().has_join_room()) << rejoins.back().DebugString();
  EXPECT_TRUE(call(sam.client(), client::make_send_message("group", "back")).has_send_message());

  auto kim = server.sign_in("kim");
  expect_refused(call(*kim, client::make_join_room("group")), v1::ERROR_CODE_PERMISSION_DENIED,
                 "join: the room is locked");
}

TEST(Standing, AMuteAndALockHoldAcrossARestartAndThoseWhoWereThereMayReturn) {
  const std::string dir = make_temp_dir();
  {
    TestServer server({}, true, dir);
    auto alex = opens_group(server);
    auto sam = server.sign_in("sam");
    const auto sam_id = join_group(*sam).your_member_id();
    mute(*alex, sam_id, 0);
    act(*alex, [](auto& r) { r.mutable_set_locked()->set_locked(true); });
    server.stop();  // SIGKILL: nobody leaves, a crash
  }
  TestServer server({}, true, dir);
  auto sam = server.sign_in("sam");
  const auto back = join_group(*sam);
  EXPECT_TRUE(own_member(back).muted());
  expect_refused(call(*sam, client::make_send_message("group", "after the restart")),
                 v1::ERROR_CODE_PERMISSION_DENIED, "send message: you are muted");
  auto kim = server.sign_in("kim");
  expect_refused(call(*kim, client::make_join_room("group")), v1::ERROR_CODE_PERMISSION_DENIED,
                 "join: the room is locked");
  std::filesystem::remove_all(dir);
}

}  // namespace
