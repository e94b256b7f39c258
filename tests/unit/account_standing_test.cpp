// Sanctions and roles belong to the account, not to a connection or one
// membership: one account is one member however many connections it has, and
// what a facilitator decided about it holds across leaving and re-joining, a
// dropped line, a restart (durable state) and a copy of the room (another
// node). A locked room or a waiting room keeps new people out, not the
// group's own members who dropped.
#include <gtest/gtest.h>

#include "room_fixture.hpp"

namespace {

using namespace circle::test;
using namespace circle::v1;
using circle::core::Room;

class AccountStanding : public GroupTest {
 protected:
  static constexpr ConnectionId kSamPhone = 12, kSamLater = 22, kKim = 4;

  // Sam's account on another connection.
  circle::core::Result<circle::core::JoinOutcome> join_sam(
      ConnectionId connection, const std::shared_ptr<RecordingSink>& sink, std::int64_t now) {
    return try_join_as(room(), connection, account(kSam), "Sam", sink, now);
  }
  std::uint64_t rejoin_sam(ConnectionId connection, const std::shared_ptr<RecordingSink>& sink,
                           std::int64_t now) {
    auto joined = join_sam(connection, sink, now);
    EXPECT_TRUE(joined) << (joined ? "" : joined.refusal().message);
    if (!joined || !joined.value().snapshot) return 0;
    return joined.value().snapshot->your_member_id();
  }
  void mute_sam(std::uint32_t seconds, std::int64_t now) {
    auto mute = request();
    mute.mutable_set_muted()->set_member_id(sam_id_);
    mute.mutable_set_muted()->set_muted(true);
    mute.mutable_set_muted()->set_duration_seconds(seconds);
    ASSERT_TRUE(room().act(kAlex, mute, now));
  }
  void lock(std::int64_t now) {
    auto locked = request();
    locked.mutable_set_locked()->set_locked(true);
    ASSERT_TRUE(room().act(kAlex, locked, now));
  }
  std::shared_ptr<RecordingSink> phone_ = std::make_shared<RecordingSink>();
  std::shared_ptr<RecordingSink> later_ = std::make_shared<RecordingSink>();
};

TEST_F(AccountStanding, AMuteHoldsAfterLeavingAndJoiningAgain) {
  mute_sam(600, 1'000);
  ASSERT_TRUE(room().leave(kSam, LEAVE_REASON_LEFT, 2'000));
  const auto again = rejoin_sam(kSamLater, later_, 3'000);
  ASSERT_NE(again, 0u);
  auto refused = room().post(kSamLater, "back, and talking", "", 3'001);
  ASSERT_FALSE(refused) << "a mute is about the person, not one membership";
  EXPECT_EQ(refused.refusal().code, ERROR_CODE_PERMISSION_DENIED);
  // Everyone sees Sam come back muted, with the same end time.
  const auto joined = riya_->last(RoomEvent::kMemberJoined).member_joined().member();
  EXPECT_TRUE(joined.muted());
  EXPECT_EQ(joined.muted_until_unix_ms(), 601'000);
  EXPECT_EQ(room().next_deadline(), 601'000);
}

TEST_F(AccountStanding, ATimedMuteCountsRealTimeWhileThePersonIsAway) {
  mute_sam(60, 1'000);
  ASSERT_TRUE(room().leave(kSam, LEAVE_REASON_DISCONNECTED, 2'000));
  rejoin_sam(kSamLater, later_, 70'000);  // the minute passed while away
  EXPECT_TRUE(room().post(kSamLater, "hello again", "", 70'001));
  EXPECT_FALSE(riya_->last(RoomEvent::kMemberJoined).member_joined().member().muted());
}

TEST_F(AccountStanding, TheFloorAndAnObserverRoleHoldAfterJoiningAgain) {
  auto moderated = request();
  moderated.mutable_set_moderated()->set_moderated(true);
  ASSERT_TRUE(room().act(kAlex, moderated, 10));
  auto floor = request();
  floor.mutable_set_floor()->set_member_id(sam_id_);
  floor.mutable_set_floor()->set_has_floor(true);
  ASSERT_TRUE(room().act(kAlex, floor, 11));
  auto observer = request();
  observer.mutable_set_role()->set_member_id(riya_id_);
  observer.mutable_set_role()->set_role(ROLE_OBSERVER);
  ASSERT_TRUE(room().act(kAlex, observer, 12));

  ASSERT_TRUE(room().leave(kSam, LEAVE_REASON_DISCONNECTED, 20));
  ASSERT_TRUE(room().leave(kRiya, LEAVE_REASON_LEFT, 21));
  rejoin_sam(kSamLater, later_, 30);
  EXPECT_TRUE(room().post(kSamLater, "I still have the floor", "", 31));
  ASSERT_TRUE(try_join_as(room(), 13, account(kRiya), "Riya", riya_, 32));
  const auto riya_member = alex_->last(RoomEvent::kMemberJoined).member_joined().member();
  EXPECT_EQ(riya_member.role(), ROLE_OBSERVER) << "a demotion holds for the account";
}

TEST_F(AccountStanding, ASecondConnectionJoinsAsTheSameMember) {
  mute_sam(0, 100);
  const auto events_before = riya_->events.size();
  auto phone = join_sam(kSamPhone, phone_, 200);
  ASSERT_TRUE(phone);
  ASSERT_TRUE(phone.value().snapshot);
  const auto& snapshot = *phone.value().snapshot;
  EXPECT_EQ(snapshot.your_member_id(), sam_id_);
  EXPECT_EQ(snapshot.members_size(), 3) << "no second Sam";
  EXPECT_EQ(riya_->events.size(), events_before) << "the room sees nothing new";
  EXPECT_EQ(room().member_count(), 3u);
  // The same member, with its mute: a second device is no clean slate.
  EXPECT_FALSE(room().post(kSamPhone, "from my phone", "", 201));

  // Each connection gets its own delivery of the room's events.
  ASSERT_TRUE(room().post(kRiya, "hello both", "", 300));
  EXPECT_EQ(sam_->last(RoomEvent::kMessagePosted).message_posted().text(), "hello both");
  EXPECT_EQ(phone_->last(RoomEvent::kMessagePosted).message_posted().text(), "hello both");

  // Closing one device keeps Sam in the room; closing both is Sam leaving.
  auto first = room().leave(kSam, LEAVE_REASON_DISCONNECTED, 400);
  ASSERT_TRUE(first);
  EXPECT_EQ(first.value(), 0u);
  EXPECT_TRUE(room().is_member(kSamPhone));
  EXPECT_EQ(room().member_count(), 3u);
  auto last = room().leave(kSamPhone, LEAVE_REASON_LEFT, 500);
  ASSERT_TRUE(last);
  EXPECT_GT(last.value(), 0u);
  EXPECT_EQ(riya_->last(RoomEvent::kMemberLeft).member_left().member().member_id(), sam_id_);
  EXPECT_EQ(room().member_count(), 2u);
}

TEST_F(AccountStanding, ABanRemovesEveryConnectionOfTheAccount) {
  ASSERT_TRUE(join_sam(kSamPhone, phone_, 200));
  auto ban = request();
  ban.mutable_set_banned()->set_member_id(sam_id_);
  ban.mutable_set_banned()->set_banned(true);
  ASSERT_TRUE(room().act(kAlex, ban, 300));
  EXPECT_FALSE(room().is_member(kSam));
  EXPECT_FALSE(room().is_member(kSamPhone));
  EXPECT_EQ(sam_->removed.size(), 1u);
  EXPECT_EQ(phone_->removed.size(), 1u);
  auto again = join_sam(kSamLater, later_, 400);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.refusal().code, ERROR_CODE_PERMISSION_DENIED);
}

TEST_F(AccountStanding, ALockedRoomLetsBackItsOwnMembersWithinTheReconnectWindowOnly) {
  lock(1'000);
  ASSERT_TRUE(room().leave(kSam, LEAVE_REASON_DISCONNECTED, 2'000));
  EXPECT_NE(rejoin_sam(kSamLater, later_, 7'000), 0u) << "a five-second blip";

  // Someone new is refused.
  auto kim = try_join(kKim, "Kim", riya_, 7'001);
  ASSERT_FALSE(kim);
  EXPECT_EQ(kim.refusal().message, "join: the room is locked");

  // Past the reconnect window, a member who left is someone new again.
  ASSERT_TRUE(room().leave(kSamLater, LEAVE_REASON_LEFT, 8'000));
  const std::int64_t window_ms = limits_.reconnect_window_seconds * 1000LL;
  EXPECT_FALSE(join_sam(30, later_, 8'000 + window_ms + 1));
}

TEST_F(AccountStanding, KickedAndBannedPeopleAreNotMembersWhoLeft) {
  lock(1'000);
  auto kick = request();
  kick.mutable_remove_member()->set_member_id(sam_id_);
  ASSERT_TRUE(room().act(kAlex, kick, 2'000));
  auto back = join_sam(kSamLater, later_, 2'500);
  ASSERT_FALSE(back) << "removed from a locked room means out";
  EXPECT_EQ(back.refusal().message, "join: the room is locked");
}

TEST_F(AccountStanding, AWaitingRoomLetsReturningMembersStraightBackIn) {
  auto waiting = request();
  waiting.mutable_set_waiting_room()->set_enabled(true);
  ASSERT_TRUE(room().act(kAlex, waiting, 1'000));
  ASSERT_TRUE(room().leave(kSam, LEAVE_REASON_DISCONNECTED, 2'000));
  auto back = join_sam(kSamLater, later_, 3'000);
  ASSERT_TRUE(back);
  EXPECT_FALSE(back.value().waiting);
  auto kim = try_join(kKim, "Kim", riya_, 3'001);
  ASSERT_TRUE(kim);
  EXPECT_TRUE(kim.value().waiting) << "someone new still waits";
}

TEST_F(AccountStanding, StandingsSurviveARestartAndAPresentMemberMayReturn) {
  mute_sam(0, 1'000);
  lock(1'100);
  ASSERT_TRUE(room().leave(kRiya, LEAVE_REASON_LEFT, 1'200));
  const auto state = room().durable_state();
  // A restart: the room read back from its store, with no connections.
  Room restored(state, room().last_seq(), {}, limits_, nullptr);
  restored.connections_lost(50'000);
  auto sam_back = try_join_as(restored, kSamLater, account(kSam), "Sam", later_, 60'000);
  ASSERT_TRUE(sam_back) << "Sam was there when the server stopped: a dropped line";
  EXPECT_FALSE(restored.post(kSamLater, "muted still?", "", 60'001)) << "the mute survives";
  auto kim = try_join_as(restored, kKim, "acct-kim", "Kim", riya_, 60'002);
  EXPECT_FALSE(kim) << "the lock survives for new people";
}

TEST_F(AccountStanding, ACopyOfTheRoomKeepsEveryConnectionAndStanding) {
  mute_sam(0, 1'000);
  ASSERT_TRUE(join_sam(kSamPhone, phone_, 1'100));
  ASSERT_TRUE(room().leave(kRiya, LEAVE_REASON_LEFT, 1'200));
  Room copy(room().replica(7), limits_, nullptr);
  EXPECT_TRUE(copy.is_member(kSam));
  EXPECT_TRUE(copy.is_member(kSamPhone));
  EXPECT_EQ(copy.member_count(), 2u);
  EXPECT_EQ(copy.connection_ids().size(), 3u);
  EXPECT_FALSE(copy.post(kSamPhone, "muted on the other node too", "", 1'300));
  lock(1'400);
  Room locked(room().replica(8), limits_, nullptr);
  auto riya_back = try_join_as(locked, 33, account(kRiya), "Riya", riya_, 1'500);
  EXPECT_TRUE(riya_back) << "who may return travels with the copy";
}

TEST_F(AccountStanding, AFacilitatorDemotedByAnOperatorDoesNotFacilitateOnReturn) {
  auto admin_sink = std::make_shared<RecordingSink>();
  ASSERT_TRUE(try_join_as(room(), 40, "ops", "Operator", admin_sink, 10, /*is_admin=*/true));
  auto demote = request();
  demote.mutable_set_role()->set_member_id(alex_id_);
  demote.mutable_set_role()->set_role(ROLE_PARTICIPANT);
  ASSERT_TRUE(room().act(40, demote, 20));
  ASSERT_TRUE(room().leave(kAlex, LEAVE_REASON_LEFT, 30));
  auto back = try_join_as(room(), 50, account(kAlex), "Alex", alex_, 40);
  ASSERT_TRUE(back);
  EXPECT_EQ(riya_->last(RoomEvent::kMemberJoined).member_joined().member().role(),
            ROLE_PARTICIPANT);
}

}  // namespace
