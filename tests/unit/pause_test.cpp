// Pausing a room: a facilitator's one action that stops participants
// posting, raising hands, messaging each other and new people joining
// (raids, a member in crisis), and the pause a facilitated room makes by
// itself when its facilitator's grace period ends with nobody to take over.
// Asking for support always still works.
#include <gtest/gtest.h>

#include "room_fixture.hpp"

namespace {

using namespace circle::test;
using namespace circle::v1;

class Pause : public GroupTest {
 protected:
  circle::core::Result<RoomActionResponse> set_paused(ConnectionId who, bool paused) {
    auto r = request();
    r.mutable_set_paused()->set_paused(paused);
    return act(who, r);
  }
  circle::core::Result<RoomActionResponse> raise_hand(ConnectionId who) {
    auto r = request();
    r.mutable_set_hand()->set_raised(true);
    return act(who, r);
  }
  circle::core::Result<RoomActionResponse> message(ConnectionId who, std::uint64_t to) {
    auto r = request();
    r.mutable_send_direct_message()->set_member_id(to);
    r.mutable_send_direct_message()->set_text("are you ok?");
    return act(who, r);
  }
  circle::core::Result<RoomActionResponse> ask_for_support(ConnectionId who) {
    auto r = request();
    r.mutable_request_support()->set_text("this is a lot");
    return act(who, r);
  }
  // Alex drops and the grace period runs out with nobody to take over.
  void facilitator_gone() {
    ASSERT_TRUE(room().leave(kAlex, LEAVE_REASON_DISCONNECTED, 100));
    room().tick(100 + limits_.facilitator_grace_seconds * 1000LL);
  }
  void allow_peer_messages() {
    auto r = request();
    r.mutable_set_permission()->set_action(ACTION_DIRECT_MESSAGE);
    r.mutable_set_permission()->set_min_role(ROLE_PARTICIPANT);
    ASSERT_TRUE(act(kAlex, r));
  }
};

TEST_F(Pause, StopsParticipantsButNotSupportOrFacilitators) {
  allow_peer_messages();
  ASSERT_TRUE(set_paused(kAlex, true));
  const auto paused = sam_->last(RoomEvent::kRoomUpdated).room_updated();
  EXPECT_EQ(paused.change(), ROOM_CHANGE_PAUSE);
  EXPECT_TRUE(paused.settings().paused());
  EXPECT_EQ(paused.settings().pause_cause(), PAUSE_CAUSE_FACILITATOR);
  EXPECT_EQ(paused.by().display_name(), "Alex");

  auto post = room().post(kSam, "hello?", "", 20);
  ASSERT_FALSE(post);
  EXPECT_EQ(post.refusal().code, ERROR_CODE_PERMISSION_DENIED);
  EXPECT_NE(post.refusal().message.find("paused"), std::string::npos) << post.refusal().message;
  EXPECT_FALSE(raise_hand(kSam));
  EXPECT_FALSE(message(kSam, riya_id_)) << "no peer messages";
  EXPECT_TRUE(message(kSam, alex_id_)) << "the facilitators are always reachable";
  EXPECT_TRUE(ask_for_support(kSam)) << "support still works";
  EXPECT_TRUE(room().post(kAlex, "let's take a breath", "", 21));

  auto kim = std::make_shared<RecordingSink>();
  auto joined = try_join(9, "Kim", kim, 22);
  ASSERT_FALSE(joined) << "no one new joins";
  EXPECT_EQ(joined.refusal().message, "join: the room is paused; try again later");

  ASSERT_TRUE(set_paused(kAlex, false));
  EXPECT_FALSE(sam_->last(RoomEvent::kRoomUpdated).room_updated().settings().paused());
  EXPECT_TRUE(room().post(kSam, "thank you", "", 30));
  EXPECT_TRUE(raise_hand(kSam));
  ASSERT_FALSE(audit_.entries.empty());
  EXPECT_EQ(audit_.entries.back().action, "resume");
}

TEST_F(Pause, IsForFacilitatorsOnly) {
  auto refused = set_paused(kSam, true);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.refusal().code, ERROR_CODE_PERMISSION_DENIED);
  EXPECT_TRUE(room().post(kSam, "still open", "", 20));
}

TEST_F(Pause, AMemberWhoDroppedMayStillComeBack) {
  ASSERT_TRUE(room().leave(kSam, LEAVE_REASON_DISCONNECTED, 15));
  ASSERT_TRUE(set_paused(kAlex, true));
  auto phone = std::make_shared<RecordingSink>();
  EXPECT_TRUE(try_join_as(room(), 12, account(kSam), "Sam", phone, 20));
}

TEST_F(Pause, AFacilitatedGroupPausesItselfWhenNoFacilitatorIsLeftAndGoesOnWhenOneReturns) {
  facilitator_gone();
  const auto paused = sam_->last(RoomEvent::kRoomUpdated).room_updated();
  EXPECT_EQ(paused.change(), ROOM_CHANGE_PAUSE);
  EXPECT_EQ(paused.settings().pause_cause(), PAUSE_CAUSE_NO_FACILITATOR);
  EXPECT_FALSE(paused.has_by()) << "the server did it";
  EXPECT_FALSE(room().post(kSam, "anyone?", "", 200'000));
  EXPECT_TRUE(ask_for_support(kSam));

  ASSERT_TRUE(try_join_as(room(), 11, account(kAlex), "Alex", alex_, 300'000));
  const auto resumed = sam_->last(RoomEvent::kRoomUpdated).room_updated();
  EXPECT_FALSE(resumed.settings().paused());
  EXPECT_EQ(resumed.by().display_name(), "Alex");
  EXPECT_TRUE(room().post(kSam, "welcome back", "", 300'001));
}

TEST_F(Pause, AnOperatorJoiningResumesARoomLeftWithoutAFacilitator) {
  facilitator_gone();
  auto ops = std::make_shared<RecordingSink>();
  ASSERT_TRUE(try_join_as(room(), 20, "ops", "Ops", ops, 200'000, /*is_admin=*/true));
  EXPECT_TRUE(room().post(kSam, "thanks for coming", "", 200'001));
}

TEST_F(Pause, ACoFacilitatorTakesOverInsteadOfAPause) {
  auto promote = request();
  promote.mutable_set_role()->set_member_id(riya_id_);
  promote.mutable_set_role()->set_role(ROLE_CO_FACILITATOR);
  ASSERT_TRUE(act(kAlex, promote));
  facilitator_gone();
  EXPECT_TRUE(room().post(kSam, "Riya has it", "", 200'000));
}

TEST_F(Pause, TheRoomCanBeSetToStayOpenWithoutAFacilitator) {
  auto keep = request();
  keep.mutable_set_keep_open()->set_keep_open(true);
  ASSERT_TRUE(act(kAlex, keep));
  EXPECT_EQ(sam_->last(RoomEvent::kRoomUpdated).room_updated().change(), ROOM_CHANGE_KEEP_OPEN);
  facilitator_gone();
  EXPECT_TRUE(room().post(kSam, "we carry on", "", 200'000));
}

TEST_F(Pause, AFacilitatorsPauseIsNotLiftedByAnArrival) {
  ASSERT_TRUE(set_paused(kAlex, true));
  auto tablet = std::make_shared<RecordingSink>();
  ASSERT_TRUE(try_join_as(room(), 11, account(kAlex), "Alex", tablet, 20));
  auto ops = std::make_shared<RecordingSink>();
  ASSERT_TRUE(try_join_as(room(), 20, "ops", "Ops", ops, 21, /*is_admin=*/true));
  EXPECT_FALSE(room().post(kSam, "still paused", "", 22));
}

TEST_F(Pause, HoldsAcrossARestart) {
  ASSERT_TRUE(set_paused(kAlex, true));
  circle::core::Room restored(room().durable_state(), room().last_seq(), {}, limits_, nullptr);
  auto sam_again = std::make_shared<RecordingSink>();
  ASSERT_TRUE(try_join_as(restored, 12, account(kSam), "Sam", sam_again, 30));
  EXPECT_FALSE(restored.post(12, "after the restart", "", 31));
}

TEST_F(Pause, AfterACrashTheFacilitatorHasTheGracePeriodToComeBackThenTheRoomPauses) {
  circle::core::Room restored(room().durable_state(), room().last_seq(), {}, limits_, nullptr);
  restored.connections_lost(1'000);
  ASSERT_TRUE(restored.next_deadline());
  EXPECT_EQ(*restored.next_deadline(), 1'000 + limits_.facilitator_grace_seconds * 1000LL);
  auto sam_again = std::make_shared<RecordingSink>();
  ASSERT_TRUE(try_join_as(restored, 12, account(kSam), "Sam", sam_again, 2'000));
  restored.tick(1'000 + limits_.facilitator_grace_seconds * 1000LL);
  EXPECT_EQ(sam_again->last(RoomEvent::kRoomUpdated).room_updated().settings().pause_cause(),
            PAUSE_CAUSE_NO_FACILITATOR);
}

TEST_F(Pause, WhoeverResumedItLeavingStartsTheGracePeriodAgain) {
  auto promote = request();
  promote.mutable_set_role()->set_member_id(riya_id_);
  promote.mutable_set_role()->set_role(ROLE_CO_FACILITATOR);
  ASSERT_TRUE(act(kAlex, promote));
  ASSERT_TRUE(room().leave(kRiya, LEAVE_REASON_LEFT, 50));  // Riya steps out first
  facilitator_gone();
  ASSERT_TRUE(room().next_deadline());
  // Riya comes back as co-facilitator: the room goes on.
  auto riya_back = std::make_shared<RecordingSink>();
  ASSERT_TRUE(try_join_as(room(), 13, account(kRiya), "Riya", riya_back, 200'000));
  EXPECT_TRUE(room().post(kSam, "thanks Riya", "", 200'001));
  // Then Riya leaves too: after the grace period the room pauses again.
  ASSERT_TRUE(room().leave(13, LEAVE_REASON_LEFT, 300'000));
  room().tick(300'000 + limits_.facilitator_grace_seconds * 1000LL);
  EXPECT_FALSE(room().post(kSam, "anyone?", "", 400'000));
}

TEST_F(Pause, AnOperatorInTheRoomKeepsItOpen) {
  auto ops = std::make_shared<RecordingSink>();
  ASSERT_TRUE(try_join_as(room(), 20, "ops", "Ops", ops, 50, /*is_admin=*/true));
  facilitator_gone();
  EXPECT_TRUE(room().post(kSam, "the operator is here", "", 200'000));
}

}  // namespace
