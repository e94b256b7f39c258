// room_commands: each RoomCommand becomes one room call and one reply, the
// same whichever backend ordered it (here the memory backend, no network).
#include <gtest/gtest.h>

#include "rooms/room_commands.hpp"
#include "rooms_fixture.hpp"

namespace circle::test {
namespace {

using namespace circle::v1;

class RoomCommandsTest : public RoomsOnMemory {
 protected:
  static constexpr core::ConnectionId kAlex = 1, kSam = 2;
};

TEST_F(RoomCommandsTest, CreateAnswersWithTheRoomAndASecondCreateIsRefused) {
  create(kAlex, alex_, 1);
  const auto created = alex_->reply(1);
  ASSERT_TRUE(created.has_create_room()) << created.DebugString();
  EXPECT_EQ(created.create_room().room().room_id(), kRoom);
  EXPECT_EQ(created.create_room().room().title(), "Tuesday evening");

  create(kSam, sam_, 2);
  EXPECT_EQ(sam_->reply(2).error().code(), ERROR_CODE_ROOM_ALREADY_EXISTS);
  EXPECT_EQ(rooms_.list_size(), 1u);
}

TEST_F(RoomCommandsTest, JoinAnswersWithASnapshotAndTheOthersSeeTheJoin) {
  create(kAlex, alex_);
  join(kAlex, alex_, 2);
  join(kSam, sam_, 3);
  const auto joined = sam_->reply(3);
  ASSERT_TRUE(joined.has_join_room()) << joined.DebugString();
  EXPECT_FALSE(joined.join_room().waiting());
  EXPECT_EQ(joined.join_room().snapshot().room().room_id(), kRoom);
  const bool alex_saw_it = std::ranges::any_of(alex_->received, [](const ServerMessage& m) {
    return m.has_room_event() && m.room_event().has_member_joined();
  });
  EXPECT_TRUE(alex_saw_it);
}

TEST_F(RoomCommandsTest, PostAnswersWithTheSeqEveryMemberSees) {
  create(kAlex, alex_);
  join(kAlex, alex_, 2);
  join(kSam, sam_, 3);
  post(kSam, sam_, 4, "hello");
  const auto ack = sam_->reply(4);
  ASSERT_TRUE(ack.has_send_message()) << ack.DebugString();
  ASSERT_FALSE(alex_->received.empty());
  const auto& seen = alex_->received.back();
  ASSERT_TRUE(seen.has_room_event());
  EXPECT_EQ(seen.room_event().seq(), ack.send_message().seq());
  EXPECT_EQ(seen.room_event().message_posted().text(), "hello");
}

TEST_F(RoomCommandsTest, ActAnswersWithTheActionsResultAndAParticipantIsRefusedByPolicy) {
  create(kAlex, alex_);
  join(kAlex, alex_, 2);
  join(kSam, sam_, 3);
  lock(kSam, sam_, 4);
  EXPECT_EQ(sam_->reply(4).error().code(), ERROR_CODE_PERMISSION_DENIED);
  lock(kAlex, alex_, 5);
  EXPECT_TRUE(alex_->reply(5).has_room_action()) << alex_->reply(5).DebugString();
  EXPECT_TRUE(rooms_.find(kRoom)->info_snapshot().locked());
}

TEST_F(RoomCommandsTest, LeaveAnswersWithItsSeqAndAClosedConnectionsLeaveIsNotAnswered) {
  create(kAlex, alex_);
  join(kAlex, alex_, 2);
  join(kSam, sam_, 3);
  auto leave = command(kSam, 4);
  leave.mutable_leave()->set_reason(LEAVE_REASON_LEFT);
  leave.mutable_leave()->set_join_token(3);
  submit(std::move(leave), sam_);
  const auto left = sam_->reply(4);
  ASSERT_TRUE(left.has_leave_room()) << left.DebugString();
  EXPECT_GT(left.leave_room().seq(), 0u);

  join(kSam, sam_, 5);
  auto closed = command(kSam, 0);
  closed.mutable_leave()->set_reason(LEAVE_REASON_DISCONNECTED);
  closed.mutable_leave()->set_join_token(5);
  const auto before = sam_->received.size();
  submit(std::move(closed), {});
  EXPECT_EQ(sam_->received.size(), before);
  EXPECT_EQ(rooms_.find(kRoom)->info_snapshot().member_count(), 1u);
}

TEST_F(RoomCommandsTest, ACommandForNoRoomIsAnsweredRoomNotFoundAndAJoinIsTakenBack) {
  join(kSam, sam_, 7);
  EXPECT_EQ(sam_->reply(7).error().code(), ERROR_CODE_ROOM_NOT_FOUND);
  EXPECT_EQ(sam_->removed, (std::vector<std::string>{kRoom}));
}

TEST_F(RoomCommandsTest, ANodeGoneOfThisNodeMakesItsConnectionsReconnect) {
  create(kAlex, alex_);
  const core::ConnectionId ours = (core::ConnectionId{7} << server::kNodePrefixShift) | 1;
  const core::ConnectionId theirs = (core::ConnectionId{8} << server::kNodePrefixShift) | 1;
  join(ours, alex_, 2);
  join(theirs, sam_, 3);
  rooms_.set_node_prefix(7);
  auto gone = command(0, 0);
  gone.mutable_node_gone()->set_node_prefix(7);
  submit(std::move(gone), {});
  EXPECT_EQ(alex_->reconnect_reasons.size(), 1u);
  EXPECT_TRUE(sam_->reconnect_reasons.empty());
  EXPECT_EQ(rooms_.find(kRoom)->info_snapshot().member_count(), 1u);
}

}  // namespace
}  // namespace circle::test
