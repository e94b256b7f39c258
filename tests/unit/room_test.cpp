#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "room_fixture.hpp"

namespace {

using namespace circle::test;

TEST_F(RoomTest, JoinSnapshotHoldsMembersAndTheJoinersOwnEvent) {
  auto alex = try_join(kAlex, "Alex", alex_, 2000);
  ASSERT_TRUE(alex);
  EXPECT_EQ(alex.value().snapshot->last_seq(), 1u);
  EXPECT_EQ(alex.value().snapshot->members_size(), 1);
  EXPECT_EQ(alex.value().snapshot->members(0).role(), circle::v1::ROLE_FACILITATOR)
      << "creator facilitates";
  EXPECT_TRUE(alex_->events.empty()) << "the joiner's own join comes in the snapshot only";

  auto sam = try_join(kSam, "Sam", sam_, 3000);
  ASSERT_TRUE(sam);
  const auto& snapshot = *sam.value().snapshot;
  EXPECT_EQ(snapshot.last_seq(), 2u);
  ASSERT_EQ(snapshot.members_size(), 2);
  EXPECT_EQ(snapshot.members(0).display_name(), "Alex");
  EXPECT_EQ(snapshot.members(1).display_name(), "Sam");
  EXPECT_EQ(snapshot.members(1).role(), circle::v1::ROLE_PARTICIPANT);
  EXPECT_EQ(snapshot.your_member_id(), snapshot.members(1).member_id());
  ASSERT_EQ(snapshot.recent_events_size(), 2);
  EXPECT_EQ(snapshot.recent_events(1).seq(), 2u);
  EXPECT_TRUE(snapshot.recent_events(1).has_member_joined());
  EXPECT_EQ(snapshot.room().member_count(), 2u);

  ASSERT_EQ(alex_->events.size(), 1u);
  EXPECT_EQ(alex_->events[0].member_joined().member().display_name(), "Sam");
  EXPECT_EQ(alex_->events[0].server_time_unix_ms(), 3000);
}

TEST_F(RoomTest, PostsGetGapFreeSeqAndReachEveryMemberWithOneSharedFrame) {
  join(kAlex, "Alex", alex_, 1);
  join(kSam, "Sam", sam_, 2);
  join(kRiya, "Riya", riya_, 3);
  for (int i = 0; i < 10; ++i) {
    auto ack = room().post(i % 2 ? kSam : kAlex, "message " + std::to_string(i),
                           "c" + std::to_string(i), 10 + i);
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack.value().seq(), 4u + static_cast<unsigned>(i));
    EXPECT_EQ(ack.value().room_id(), "tuesday");
  }
  ASSERT_EQ(riya_->events.size(), 10u);
  for (std::size_t i = 0; i < riya_->events.size(); ++i) {
    EXPECT_EQ(riya_->events[i].seq(), 4u + i);
    EXPECT_EQ(riya_->events[i].message_posted().text(), "message " + std::to_string(i));
    EXPECT_EQ(riya_->events[i].message_posted().client_message_id(), "c" + std::to_string(i));
  }
  // The sender receives its own message too, and all share one buffer.
  ASSERT_EQ(alex_->frames.size(), 12u);  // Sam's and Riya's joins + 10 messages
  EXPECT_EQ(alex_->frames.back().get(), riya_->frames.back().get());
  EXPECT_EQ(room().last_seq(), 13u);
}

TEST_F(RoomTest, LeaveTellsTheOthersAndEndsDelivery) {
  join(kAlex, "Alex", alex_, 1);
  join(kSam, "Sam", sam_, 2);
  auto left = room().leave(kSam, circle::v1::LEAVE_REASON_DISCONNECTED, 3);
  ASSERT_TRUE(left);
  EXPECT_EQ(left.value(), 3u);
  ASSERT_EQ(alex_->events.size(), 2u);
  EXPECT_EQ(alex_->events[1].member_left().member().display_name(), "Sam");
  EXPECT_EQ(alex_->events[1].member_left().reason(), circle::v1::LEAVE_REASON_DISCONNECTED);
  ASSERT_TRUE(room().post(kAlex, "still here", "", 4));
  EXPECT_TRUE(sam_->events.empty());
  EXPECT_EQ(room().member_count(), 1u);
}

TEST_F(RoomTest, NonMembersAreRefusedAndNothingChanges) {
  join(kAlex, "Alex", alex_, 1);
  auto post = room().post(kSam, "not a member", "", 2);
  ASSERT_FALSE(post);
  EXPECT_EQ(post.refusal().code, circle::v1::ERROR_CODE_NOT_IN_ROOM);
  auto leave = room().leave(kSam, circle::v1::LEAVE_REASON_LEFT, 2);
  ASSERT_FALSE(leave);
  EXPECT_EQ(leave.refusal().code, circle::v1::ERROR_CODE_NOT_IN_ROOM);
  auto again = try_join(kAlex, "Alex", alex_, 2);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.refusal().code, circle::v1::ERROR_CODE_ALREADY_IN_ROOM);
  EXPECT_EQ(room().last_seq(), 1u);
  EXPECT_TRUE(alex_->events.empty());
}

TEST_F(RoomTest, HistoryIsBoundedAndFullRoomsRefuseJoins) {
  limits_.snapshot_history_events = 3;
  limits_.max_room_members = 2;
  join(kAlex, "Alex", alex_, 1);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(room().post(kAlex, "m" + std::to_string(i), "", 2));
  auto sam = try_join(kSam, "Sam", sam_, 3);
  ASSERT_TRUE(sam);
  ASSERT_EQ(sam.value().snapshot->recent_events_size(), 3);
  EXPECT_EQ(sam.value().snapshot->recent_events(0).seq(), 5u);
  EXPECT_EQ(sam.value().snapshot->recent_events(2).seq(), 7u);
  auto riya = try_join(kRiya, "Riya", riya_, 4);
  ASSERT_FALSE(riya);
  EXPECT_EQ(riya.refusal().code, circle::v1::ERROR_CODE_LIMIT_EXCEEDED);
  EXPECT_EQ(room().last_seq(), 7u);
}

TEST_F(RoomTest, DeadSinksAreSkipped) {
  join(kAlex, "Alex", alex_, 1);
  {
    auto gone = std::make_shared<RecordingSink>();
    join(kSam, "Sam", gone, 2);
  }
  EXPECT_TRUE(room().post(kAlex, "hello", "", 3));
  EXPECT_EQ(alex_->events.size(), 2u);
}

}  // namespace

namespace {

using namespace circle::test;

TEST_F(RoomTest, ARetriedSendGetsTheOriginalAckAndIsNotPostedTwice) {
  join(kAlex, "Alex", alex_);
  join(kSam, "Sam", sam_);
  auto first = room().post(kSam, "are we still on for tonight?", "sam-1", 10);
  ASSERT_TRUE(first);
  const auto events_before = alex_->events.size();
  auto retry = room().post(kSam, "are we still on for tonight?", "sam-1", 20);
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry.value().seq(), first.value().seq());
  EXPECT_EQ(retry.value().server_time_unix_ms(), 10);
  EXPECT_EQ(retry.value().room_id(), first.value().room_id());
  EXPECT_EQ(alex_->events.size(), events_before) << "delivered once";
  // Another account may use the same id; an id is remembered across
  // connections of the same account (a reconnecting client).
  auto other = room().post(kAlex, "yes", "sam-1", 21);
  ASSERT_TRUE(other);
  EXPECT_GT(other.value().seq(), first.value().seq());
  ASSERT_TRUE(room().leave(kSam, circle::v1::LEAVE_REASON_DISCONNECTED, 22));
  auto again = std::make_shared<RecordingSink>();
  ASSERT_TRUE(room().join({.connection = 42,
                           .display_name = "Sam",
                           .account_id = account(kSam),
                           .is_admin = false,
                           .sink = again,
                           .join_token = 0},
                          23));
  auto after_reconnect = room().post(42, "are we still on for tonight?", "sam-1", 24);
  ASSERT_TRUE(after_reconnect);
  EXPECT_EQ(after_reconnect.value().seq(), first.value().seq());
}

TEST_F(RoomTest, RememberedClientMessageIdsAreBounded) {
  limits_.remembered_client_message_ids = 2;
  join(kSam, "Sam", sam_);
  auto oldest = room().post(kSam, "one", "m-1", 10);
  ASSERT_TRUE(room().post(kSam, "two", "m-2", 11));
  EXPECT_FALSE(room().may_have_forgotten_sent()) << "a miss is final: no store lookup needed";
  ASSERT_TRUE(room().post(kSam, "three", "m-3", 12));
  EXPECT_TRUE(room().may_have_forgotten_sent()) << "from now on a miss asks the store";
  auto forgotten = room().post(kSam, "one", "m-1", 13);
  ASSERT_TRUE(forgotten);
  EXPECT_NE(forgotten.value().seq(), oldest.value().seq());
}

}  // namespace

namespace {

using namespace circle::test;

TEST_F(RoomTest, HistoryOlderThanTheReconnectWindowIsForgotten) {
  limits_.reconnect_window_seconds = 60;
  join(kAlex, "Alex", alex_, 1'000);
  ASSERT_TRUE(room().post(kAlex, "said an hour ago", "", 2'000));
  ASSERT_TRUE(room().post(kAlex, "said just now", "", 3'000'000));
  const auto snapshot = join(kSam, "Sam", sam_, 3'030'000);
  for (const auto& event : snapshot.recent_events()) {
    if (event.has_message_posted()) {
      EXPECT_NE(event.message_posted().text(), "said an hour ago");
    }
  }
  bool recent_kept = false;
  for (const auto& event : snapshot.recent_events()) {
    recent_kept |= event.has_message_posted() && event.message_posted().text() == "said just now";
  }
  EXPECT_TRUE(recent_kept);
}

TEST_F(RoomTest, HistoryLeavesByItselfWhenNobodySpeaks) {
  limits_.reconnect_window_seconds = 60;
  join(kAlex, "Alex", alex_, 1'000);
  ASSERT_TRUE(room().post(kAlex, "said once", "", 2'000));
  // The join event is the oldest: the room wakes once it has expired.
  const auto deadline = room().next_deadline();
  ASSERT_EQ(deadline, 1'000 + 60'000 + Room::kHistoryExpiryStepMs);
  room().tick(*deadline);
  EXPECT_FALSE(room().next_deadline());  // nothing left to forget
  const auto snapshot = join(kSam, "Sam", sam_, *deadline);
  for (const auto& event : snapshot.recent_events()) {
    EXPECT_FALSE(event.has_message_posted()) << "an expired message was still shown";
  }
  EXPECT_TRUE(room().replica(0).history_size() <= 1);  // Sam's own join at most
}

}  // namespace

namespace {

using namespace circle::test;

TEST_F(RoomTest, JoinsAreThrottledPerRoomButNeverTheFacilitator) {
  limits_.room_joins_per_second = 1;
  limits_.room_join_burst = 2;
  join(kSam, "Sam", sam_, 5000);
  join(kRiya, "Riya", riya_, 5000);  // just under: the burst
  auto kim = std::make_shared<RecordingSink>();
  auto refused = try_join(4, "Kim", kim, 5000);  // just over
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.refusal().code, circle::v1::ERROR_CODE_RATE_LIMITED);
  // The facilitator (acct-1, the creator) gets in regardless.
  join(kAlex, "Alex", alex_, 5000);
  // A second later there is room for one more.
  EXPECT_TRUE(try_join(4, "Kim", kim, 6000));
}

TEST_F(RoomTest, AJoinRefusedForAnotherReasonTakesNoPlaceInTheJoinPace) {
  limits_.room_joins_per_second = 1;
  limits_.room_join_burst = 1;
  limits_.max_room_members = 1;
  join(kAlex, "Alex", alex_, 5000);  // the facilitator fills the room
  for (int i = 0; i < 3; ++i) {
    auto full = try_join(kSam, "Sam", sam_, 5000);
    ASSERT_FALSE(full);
    EXPECT_EQ(full.refusal().code, circle::v1::ERROR_CODE_LIMIT_EXCEEDED);
  }
  ASSERT_TRUE(room().leave(kAlex, circle::v1::LEAVE_REASON_LEFT, 5000));
  EXPECT_TRUE(try_join(kSam, "Sam", sam_, 5000)) << "the burst is still there";
}

}  // namespace
