// Room actions as pure logic: effects, events, private events, audit.
#include <gtest/gtest.h>

#include "room_fixture.hpp"

namespace {

using namespace circle::test;
using namespace circle::v1;

using RoomActions = GroupTest;

TEST_F(RoomActions, MutedMemberCannotPostAndNobodyReceivesIt) {
  auto mute = request();
  mute.set_reason("cross-talk");
  mute.mutable_set_muted()->set_member_id(sam_id_);
  mute.mutable_set_muted()->set_muted(true);
  ASSERT_TRUE(act(kAlex, mute));
  const auto before = riya_->events.size();
  auto post = room().post(kSam, "can I speak?", "", 11);
  ASSERT_FALSE(post);
  EXPECT_EQ(post.refusal().code, ERROR_CODE_PERMISSION_DENIED);
  EXPECT_EQ(riya_->events.size(), before);
  ASSERT_FALSE(audit_.entries.empty());
  EXPECT_EQ(audit_.entries.back().action, "mute");
  EXPECT_EQ(audit_.entries.back().target_account, "acct-2");
  EXPECT_EQ(audit_.entries.back().reason, "cross-talk");
}

TEST_F(RoomActions, TimedMuteEndsByItself) {
  auto mute = request();
  mute.mutable_set_muted()->set_member_id(sam_id_);
  mute.mutable_set_muted()->set_muted(true);
  mute.mutable_set_muted()->set_duration_seconds(60);
  ASSERT_TRUE(act(kAlex, mute, 1'000));
  ASSERT_EQ(room().next_deadline(), 61'000);
  room().tick(60'999);
  EXPECT_FALSE(room().post(kSam, "too early", "", 60'999));
  room().tick(61'000);
  EXPECT_TRUE(room().post(kSam, "back", "", 61'001));
  EXPECT_EQ(riya_->events[riya_->events.size() - 2].member_updated().change(),
            MEMBER_CHANGE_UNMUTED);
  // Only the history's expiry is left to wake the room for.
  const auto next = room().next_deadline();
  ASSERT_TRUE(next);
  EXPECT_GT(*next, 61'001 + limits_.reconnect_window_seconds * 1000LL / 2);
}

TEST_F(RoomActions, CoFacilitatorCannotRemoveTheFacilitator) {
  auto promote = request();
  promote.mutable_set_role()->set_member_id(sam_id_);
  promote.mutable_set_role()->set_role(ROLE_CO_FACILITATOR);
  ASSERT_TRUE(act(kAlex, promote));
  auto kick = request();
  kick.mutable_remove_member()->set_member_id(alex_id_);
  const auto seq = room().last_seq();
  auto refused = act(kSam, kick);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.refusal().code, ERROR_CODE_PERMISSION_DENIED);
  EXPECT_EQ(refused.refusal().message.rfind("remove:", 0), 0u) << refused.refusal().message;
  EXPECT_EQ(room().last_seq(), seq) << "a refusal changes nothing";
  EXPECT_EQ(room().member_count(), 3u);
  // But the co-facilitator can remove a participant.
  kick.mutable_remove_member()->set_member_id(riya_id_);
  ASSERT_TRUE(act(kSam, kick));
  EXPECT_EQ(riya_->removed, std::vector<std::string>{"tuesday"});
  EXPECT_EQ(riya_->events.back().member_left().reason(), LEAVE_REASON_REMOVED);
}

TEST_F(RoomActions, BannedAccountCannotRejoinUntilUnbanned) {
  auto ban = request();
  ban.set_reason("harassment");
  ban.mutable_set_banned()->set_member_id(riya_id_);
  ban.mutable_set_banned()->set_banned(true);
  ASSERT_TRUE(act(kAlex, ban));
  EXPECT_FALSE(room().is_member(kRiya));
  auto again = try_join(kRiya, "Riya", riya_, 20);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.refusal().code, ERROR_CODE_PERMISSION_DENIED);
  auto unban = request();
  unban.mutable_set_banned()->set_banned(false);
  unban.mutable_set_banned()->set_account_id("acct-3");
  ASSERT_TRUE(act(kAlex, unban));
  EXPECT_TRUE(try_join(kRiya, "Riya", riya_, 30));
}

TEST_F(RoomActions, WaitingRoomHoldsJoinsUntilAdmitted) {
  auto on = request();
  on.mutable_set_waiting_room()->set_enabled(true);
  ASSERT_TRUE(act(kAlex, on));
  auto kim = std::make_shared<RecordingSink>();
  auto waiting = try_join(4, "Kim", kim, 20);
  ASSERT_TRUE(waiting);
  EXPECT_TRUE(waiting.value().waiting);
  EXPECT_FALSE(room().is_member(4));
  ASSERT_FALSE(alex_->privates(PrivateEvent::kWaitingRoom).empty());
  const auto list = alex_->privates(PrivateEvent::kWaitingRoom).back().waiting_room();
  ASSERT_EQ(list.waiting_size(), 1);
  EXPECT_EQ(list.waiting(0).display_name(), "Kim");
  EXPECT_TRUE(sam_->privates(PrivateEvent::kWaitingRoom).empty())
      << "participants do not see the waiting room";

  auto admit = request();
  admit.mutable_admit()->set_waiting_id(list.waiting(0).waiting_id());
  admit.mutable_admit()->set_admitted(true);
  ASSERT_TRUE(act(kAlex, admit));
  EXPECT_TRUE(room().is_member(4));
  ASSERT_FALSE(kim->private_events.empty());
  EXPECT_TRUE(kim->private_events.back().admission().admitted());
  EXPECT_EQ(kim->private_events.back().admission().snapshot().members_size(), 4);
}

TEST_F(RoomActions, RedactedTextIsGoneFromHistory) {
  auto ack = room().post(kSam, "something I regret", "", 11);
  ASSERT_TRUE(ack);
  auto redact = request();
  redact.set_reason("personal details");
  redact.mutable_redact_message()->set_seq(ack.value().seq());
  ASSERT_TRUE(act(kAlex, redact));
  auto kim = std::make_shared<RecordingSink>();
  auto snapshot = join(4, "Kim", kim, 20);
  bool found = false;
  for (const auto& event : snapshot.recent_events()) {
    if (event.seq() == ack.value().seq()) {
      found = true;
      EXPECT_TRUE(event.message_posted().text().empty());
      EXPECT_EQ(event.message_posted().sender().display_name(), "Sam") << "who/when stays";
    }
    EXPECT_NE(event.message_posted().text(), "something I regret");
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(riya_->last(RoomEvent::kMessageRedacted).message_redacted().seq(), ack.value().seq());
}

TEST_F(RoomActions, SupportAlertReachesFacilitatorsOnly) {
  auto help = request();
  help.mutable_request_support()->set_text("I am not OK");
  auto alert = act(kRiya, help);
  ASSERT_TRUE(alert);
  EXPECT_EQ(alert.value().seq(), 0u) << "no room event";
  const auto alerts = alex_->privates(PrivateEvent::kSupportAlert);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].support_alert().text(), "I am not OK");
  EXPECT_EQ(alerts[0].support_alert().from().display_name(), "Riya");
  EXPECT_TRUE(sam_->private_events.empty());
  EXPECT_EQ(sam_->events.size(), 1u) << "only Riya's join, nothing about the alert";

  auto ack = request();
  ack.mutable_acknowledge_support()->set_alert_id(alert.value().alert_id());
  EXPECT_FALSE(act(kSam, ack)) << "participants cannot acknowledge";
  ASSERT_TRUE(act(kAlex, ack));
  ASSERT_FALSE(riya_->private_events.empty());
  EXPECT_TRUE(riya_->private_events.back().has_your_alert_acknowledged());
  EXPECT_EQ(audit_.entries.back().action,
            "acknowledge support " + std::to_string(alert.value().alert_id()));
}

TEST_F(RoomActions, RoundGivesTurnsInOrderAndRefusesOutOfTurn) {
  auto start = request();
  start.mutable_start_round();
  ASSERT_TRUE(act(kAlex, start));
  EXPECT_EQ(sam_->events.back().round_updated().round().speaker_member_id(), alex_id_);
  EXPECT_TRUE(room().post(kAlex, "facilitators may always speak", "", 11));
  auto pass = request();
  pass.mutable_end_turn()->set_passed(true);
  ASSERT_TRUE(act(kAlex, pass));
  EXPECT_EQ(riya_->events.back().round_updated().round().speaker_member_id(), sam_id_);
  auto out_of_turn = room().post(kRiya, "me first", "", 12);
  ASSERT_FALSE(out_of_turn);
  EXPECT_EQ(out_of_turn.refusal().code, ERROR_CODE_PERMISSION_DENIED);
  EXPECT_FALSE(act(kRiya, pass)) << "not Riya's turn";
  EXPECT_TRUE(room().post(kSam, "my check-in", "", 13));
  auto done = request();
  done.mutable_end_turn();
  ASSERT_TRUE(act(kSam, done));
  EXPECT_TRUE(room().post(kRiya, "mine", "", 14));
  ASSERT_TRUE(act(kRiya, done));
  EXPECT_FALSE(riya_->events.back().round_updated().round().active()) << "round over";
  EXPECT_TRUE(room().post(kSam, "open discussion", "", 15));
}

TEST_F(RoomActions, AgreementMustBeAcceptedBeforePosting) {
  auto edit = request();
  edit.mutable_edit_room()->set_agreement("Confidentiality; one voice at a time.");
  ASSERT_TRUE(act(kAlex, edit));
  auto refused = room().post(kSam, "hi", "", 11);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.refusal().code, ERROR_CODE_AGREEMENT_REQUIRED);
  auto accept = request();
  accept.mutable_accept_agreement();
  ASSERT_TRUE(act(kSam, accept, 12));
  EXPECT_TRUE(room().post(kSam, "hi", "", 13));
  EXPECT_EQ(audit_.entries.back().action, "accept agreement");
  EXPECT_EQ(audit_.entries.back().time_unix_ms, 12);
}

TEST_F(RoomActions, FacilitationPassesToACoFacilitatorAfterTheGracePeriod) {
  limits_.facilitator_grace_seconds = 30;
  auto promote = request();
  promote.mutable_set_role()->set_member_id(riya_id_);
  promote.mutable_set_role()->set_role(ROLE_CO_FACILITATOR);
  ASSERT_TRUE(act(kAlex, promote));
  ASSERT_TRUE(room().leave(kAlex, LEAVE_REASON_DISCONNECTED, 1'000));
  ASSERT_EQ(room().next_deadline(), 31'000);
  room().tick(31'000);
  const auto& change = sam_->events.back().member_updated();
  EXPECT_EQ(change.change(), MEMBER_CHANGE_FACILITATION);
  ASSERT_EQ(change.members_size(), 1);
  EXPECT_EQ(change.members(0).member_id(), riya_id_);
  EXPECT_EQ(change.members(0).role(), ROLE_FACILITATOR);
  auto kick = request();
  kick.mutable_remove_member()->set_member_id(sam_id_);
  EXPECT_TRUE(act(kRiya, kick, 32'000)) << "the new facilitator has the tools";
}

TEST_F(RoomActions, SlowModeSpacesParticipantsOut) {
  auto slow = request();
  slow.mutable_set_slow_mode()->set_seconds(10);
  ASSERT_TRUE(act(kAlex, slow));
  EXPECT_TRUE(room().post(kSam, "one", "", 1'000));
  auto second = room().post(kSam, "two", "", 5'000);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.refusal().code, ERROR_CODE_RATE_LIMITED);
  EXPECT_TRUE(room().post(kSam, "two", "", 11'000));
  EXPECT_TRUE(room().post(kAlex, "a", "", 11'001));
  EXPECT_TRUE(room().post(kAlex, "b", "", 11'002)) << "facilitators are exempt";
}

TEST_F(RoomActions, RetentionKeepsHistoryForDaysOrOnlyForTheReconnectWindow) {
  limits_.reconnect_window_seconds = 60;
  auto keep = request();
  keep.mutable_set_retention()->set_days(2);
  EXPECT_FALSE(act(kSam, keep)) << "participants cannot change it";
  ASSERT_TRUE(act(kAlex, keep));
  EXPECT_EQ(room().settings().history_retention_days(), 2u);
  const auto& updated = riya_->events.back().room_updated();
  EXPECT_EQ(updated.change(), ROOM_CHANGE_RETENTION);
  EXPECT_EQ(updated.settings().history_retention_days(), 2u);

  constexpr std::int64_t kDay = 86'400'000;
  ASSERT_TRUE(room().post(kSam, "kept for two days", "", 1'000));
  auto said = [&](std::int64_t when) {
    room().leave(kRiya, LEAVE_REASON_LEFT, when);
    const auto snapshot = join(kRiya, "Riya", riya_, when);
    for (const auto& e : snapshot.recent_events()) {
      if (e.has_message_posted() && e.message_posted().text() == "kept for two days") return true;
    }
    return false;
  };
  EXPECT_TRUE(said(kDay)) << "a day later: long past the reconnect window, still kept";
  EXPECT_FALSE(said(2 * kDay + 2'000)) << "past two days: gone";

  auto ephemeral = request();
  ephemeral.mutable_set_retention()->set_days(0);
  ASSERT_TRUE(act(kAlex, ephemeral, 2 * kDay + 3'000));
  ASSERT_TRUE(room().post(kSam, "kept for two days", "", 2 * kDay + 4'000));
  EXPECT_FALSE(said(2 * kDay + 4'000 + 61'000)) << "ephemeral: the reconnect window only";
}

TEST_F(RoomActions, DirectMessagesFollowTheRoomsSettings) {
  auto to_sam = request();
  to_sam.mutable_send_direct_message()->set_member_id(sam_id_);
  to_sam.mutable_send_direct_message()->set_text("psst");
  auto refused = act(kRiya, to_sam);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.refusal().code, ERROR_CODE_PERMISSION_DENIED);
  auto to_facilitators = request();
  to_facilitators.mutable_send_direct_message()->set_text("can we talk after?");
  ASSERT_TRUE(act(kRiya, to_facilitators));
  const auto messages = alex_->privates(PrivateEvent::kDirectMessage);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].direct_message().text(), "can we talk after?");
  EXPECT_TRUE(sam_->private_events.empty());

  auto allow = request();
  allow.mutable_set_permission()->set_action(ACTION_DIRECT_MESSAGE);
  allow.mutable_set_permission()->set_min_role(ROLE_PARTICIPANT);
  ASSERT_TRUE(act(kAlex, allow));
  ASSERT_TRUE(act(kRiya, to_sam));
  ASSERT_EQ(sam_->private_events.size(), 1u);
  EXPECT_EQ(sam_->private_events[0].direct_message().from().display_name(), "Riya");
}

TEST_F(RoomActions, EndSessionClosesTheRoomForEveryone) {
  ASSERT_TRUE(room().post(kSam, "thanks all", "", 11));
  auto end = request();
  end.mutable_end_session();
  auto refused = act(kSam, end);
  ASSERT_FALSE(refused);
  ASSERT_TRUE(act(kAlex, end));
  EXPECT_TRUE(sam_->events.back().has_session_ended());
  EXPECT_EQ(room().member_count(), 0u);
  for (auto* sink : {alex_.get(), sam_.get(), riya_.get()}) {
    EXPECT_EQ(sink->removed, std::vector<std::string>{"tuesday"});
  }
  auto next_week = join(kSam, "Sam", sam_, 100);
  for (const auto& event : next_week.recent_events()) {
    EXPECT_FALSE(event.has_message_posted()) << "what was said stays with that session";
  }
}

TEST_F(RoomActions, HandsQueueInOrderAndTheFloorAnswersThem) {
  auto moderated = request();
  moderated.mutable_set_moderated()->set_moderated(true);
  ASSERT_TRUE(act(kAlex, moderated));
  auto raise = request();
  raise.mutable_set_hand()->set_raised(true);
  raise.mutable_set_hand()->set_question("What about relapse?");
  ASSERT_TRUE(act(kRiya, raise));
  ASSERT_TRUE(act(kSam, raise));
  auto kim = std::make_shared<RecordingSink>();
  auto snapshot = join(4, "Kim", kim, 20);
  ASSERT_EQ(snapshot.hand_queue_size(), 2);
  EXPECT_EQ(snapshot.hand_queue(0), riya_id_);
  ASSERT_EQ(alex_->privates(PrivateEvent::kQuestion).size(), 2u);  // Riya, then Sam
  EXPECT_EQ(alex_->privates(PrivateEvent::kQuestion)[0].question().text(), "What about relapse?");
  EXPECT_TRUE(sam_->privates(PrivateEvent::kQuestion).empty());
  EXPECT_FALSE(room().post(kRiya, "question", "", 21));
  auto floor = request();
  floor.mutable_set_floor()->set_member_id(riya_id_);
  floor.mutable_set_floor()->set_has_floor(true);
  ASSERT_TRUE(act(kAlex, floor));
  EXPECT_TRUE(room().post(kRiya, "question", "", 22));
  auto later = join(5, "Lee", std::make_shared<RecordingSink>(), 23);
  ASSERT_EQ(later.hand_queue_size(), 1);
  EXPECT_EQ(later.hand_queue(0), sam_id_);
}

}  // namespace

namespace {

TEST_F(RoomActions, ANewCoFacilitatorIsBriefedOnWhatFacilitatorsSee) {
  auto help = request();
  help.mutable_request_support();
  ASSERT_TRUE(act(kRiya, help));
  EXPECT_TRUE(sam_->privates(PrivateEvent::kSupportAlert).empty());
  auto promote = request();
  promote.mutable_set_role()->set_member_id(sam_id_);
  promote.mutable_set_role()->set_role(ROLE_CO_FACILITATOR);
  ASSERT_TRUE(act(kAlex, promote));
  EXPECT_EQ(sam_->privates(PrivateEvent::kSupportAlert).size(), 1u);
  EXPECT_EQ(sam_->privates(PrivateEvent::kMemberIdentity).size(), 3u);
  EXPECT_TRUE(sam_->privates(PrivateEvent::kWaitingRoom).empty()) << "nobody waits: nothing to say";
}

TEST_F(RoomActions, TheAgreementAlsoGatesHandsAndPeerMessagesButNeverSupport) {
  auto edit = request();
  edit.mutable_edit_room()->set_agreement("Be kind.");
  ASSERT_TRUE(act(kAlex, edit));
  auto raise = request();
  raise.mutable_set_hand()->set_raised(true);
  auto refused = act(kSam, raise);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.refusal().code, ERROR_CODE_AGREEMENT_REQUIRED);
  auto help = request();
  help.mutable_request_support();
  EXPECT_TRUE(act(kSam, help));
  auto to_facilitators = request();
  to_facilitators.mutable_send_direct_message()->set_text("hello");
  EXPECT_TRUE(act(kSam, to_facilitators));
}

}  // namespace

namespace {

TEST_F(RoomActions, ACoFacilitatorCannotHandOverTheFacilitatorsRoleEvenWhenAllowed) {
  auto allow = request();
  allow.mutable_set_permission()->set_action(ACTION_HAND_OVER);
  allow.mutable_set_permission()->set_min_role(ROLE_CO_FACILITATOR);
  ASSERT_TRUE(act(kAlex, allow));
  auto promote = request();
  promote.mutable_set_role()->set_member_id(sam_id_);
  promote.mutable_set_role()->set_role(ROLE_CO_FACILITATOR);
  ASSERT_TRUE(act(kAlex, promote));
  auto hand_over = request();
  hand_over.mutable_hand_over()->set_member_id(riya_id_);
  auto refused = act(kSam, hand_over);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.refusal().code, ERROR_CODE_PERMISSION_DENIED);
}

TEST_F(RoomActions, OnlyMessagesStillInHistoryCanBeRedacted) {
  auto redact = request();
  redact.mutable_redact_message()->set_seq(1);  // Alex's join, not a message
  auto refused = act(kAlex, redact);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.refusal().code, ERROR_CODE_NOT_FOUND);
}

TEST_F(RoomActions, EndingTheSessionTurnsTheWaitingRoomAway) {
  auto on = request();
  on.mutable_set_waiting_room()->set_enabled(true);
  ASSERT_TRUE(act(kAlex, on));
  auto kim = std::make_shared<RecordingSink>();
  ASSERT_TRUE(try_join(4, "Kim", kim, 20));
  auto end = request();
  end.mutable_end_session();
  ASSERT_TRUE(act(kAlex, end));
  const auto outcomes = kim->privates(PrivateEvent::kAdmission);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_FALSE(outcomes[0].admission().admitted());
  EXPECT_EQ(kim->removed, std::vector<std::string>{"tuesday"});
}

}  // namespace

namespace {

using namespace circle::test;
using namespace circle::v1;

class DurableRoom : public RoomActions {};

TEST_F(DurableRoom, WhatSurvivesARestartComesBackFromTheStoredState) {
  auto edit = request();
  edit.mutable_edit_room()->set_agreement("What is said here stays here.");
  edit.mutable_edit_room()->set_topic("Week 3");
  ASSERT_TRUE(act(kAlex, edit));
  auto keep = request();
  keep.mutable_set_retention()->set_days(30);
  ASSERT_TRUE(act(kAlex, keep));
  auto accept = request();
  accept.mutable_accept_agreement();
  ASSERT_TRUE(act(kSam, accept, 11));
  auto promote = request();
  promote.mutable_set_role()->set_member_id(riya_id_);
  promote.mutable_set_role()->set_role(ROLE_CO_FACILITATOR);
  ASSERT_TRUE(act(kAlex, promote, 12));
  ASSERT_TRUE(room().post(kSam, "hello", "", 13));
  auto ban = request();
  ban.mutable_set_banned()->set_member_id(sam_id_);
  ban.mutable_set_banned()->set_banned(true);
  ASSERT_TRUE(act(kAlex, ban, 14));

  // Stored and read back as the store would.
  std::string bytes;
  ASSERT_TRUE(room().durable_state().SerializeToString(&bytes));
  StoredRoomState state;
  ASSERT_TRUE(state.ParseFromString(bytes));
  std::vector<RoomEvent> recent(alex_->events.end() - 2, alex_->events.end());
  Room restored(state, room().last_seq(), recent, limits_, &audit_);

  EXPECT_EQ(restored.last_seq(), room().last_seq());
  EXPECT_EQ(restored.settings().agreement(), "What is said here stays here.");
  EXPECT_EQ(restored.settings().topic(), "Week 3");
  EXPECT_EQ(restored.settings().history_retention_days(), 30u);
  auto alex = std::make_shared<RecordingSink>(), sam = std::make_shared<RecordingSink>(),
       riya = std::make_shared<RecordingSink>();
  const auto join_as = [&](ConnectionId connection, const std::shared_ptr<RecordingSink>& sink) {
    return restored.join({.connection = connection + 10,
                          .display_name = "again",
                          .account_id = account(connection),
                          .is_admin = false,
                          .sink = sink,
                          .join_token = 0},
                         20);
  };
  // The creator's account facilitates again; the co-facilitator's account
  // co-facilitates; the ban holds; new events continue the seq.
  auto alex_again = join_as(kAlex, alex);
  ASSERT_TRUE(alex_again);
  const auto& snapshot = *alex_again.value().snapshot;
  EXPECT_EQ(snapshot.last_seq(), room().last_seq() + 1);
  EXPECT_GT(snapshot.your_member_id(), riya_id_) << "member ids are not reused";
  auto riya_again = join_as(kRiya, riya);
  ASSERT_TRUE(riya_again);
  EXPECT_EQ(alex->events.back().member_joined().member().role(), ROLE_CO_FACILITATOR);
  auto sam_again = join_as(kSam, sam);
  ASSERT_FALSE(sam_again);
  EXPECT_EQ(sam_again.refusal().code, ERROR_CODE_PERMISSION_DENIED);
  for (const auto& member : snapshot.members()) {
    if (member.member_id() == snapshot.your_member_id()) {
      EXPECT_EQ(member.role(), ROLE_FACILITATOR);
    }
  }
}

TEST_F(DurableRoom, AnAcceptedAgreementStaysAcceptedForThatAccount) {
  auto edit = request();
  edit.mutable_edit_room()->set_agreement("One voice at a time.");
  ASSERT_TRUE(act(kAlex, edit));
  auto accept = request();
  accept.mutable_accept_agreement();
  ASSERT_TRUE(act(kSam, accept, 11));
  ASSERT_TRUE(room().leave(kSam, LEAVE_REASON_LEFT, 12));
  // The same account on a new connection.
  auto again = std::make_shared<RecordingSink>();
  auto rejoined = room().join({.connection = 99,
                               .display_name = "Sam",
                               .account_id = account(kSam),
                               .is_admin = false,
                               .sink = again,
                               .join_token = 0},
                              14);
  ASSERT_TRUE(rejoined);
  EXPECT_TRUE(room().post(99, "still agreed", "", 15));
  // A new agreement needs accepting again.
  edit.mutable_edit_room()->set_agreement("One voice at a time; no advice unless asked.");
  ASSERT_TRUE(act(kAlex, edit, 16));
  EXPECT_FALSE(room().post(99, "not yet", "", 17));
}

TEST_F(RoomActions, ARemovalNamesTheJoinItEnds) {
  auto kim = std::make_shared<RecordingSink>();
  auto joined = room().join({.connection = 40,
                             .display_name = "Kim",
                             .account_id = "acct-kim",
                             .is_admin = false,
                             .sink = kim,
                             .join_token = 7},
                            20);
  ASSERT_TRUE(joined);
  auto remove = request();
  remove.mutable_remove_member()->set_member_id(joined.value().snapshot->your_member_id());
  ASSERT_TRUE(act(kAlex, remove, 21));
  ASSERT_EQ(kim->removed_tokens.size(), 1u);
  EXPECT_EQ(kim->removed_tokens[0], 7u) << "a late removal cannot undo a newer join";
}

TEST_F(DurableRoom, AJoinSavesTheMemberIdCounter) {
  circle::core::ActionOutput output;
  room().capture(&output);
  join(kRiya + 10, "Kim", std::make_shared<RecordingSink>(), 30);
  room().capture(nullptr);
  EXPECT_TRUE(output.state_changed) << "member ids must not be reused after a restart";
  EXPECT_EQ(room().durable_state().last_member_id(), riya_id_ + 1);
}

TEST_F(DurableRoom, CaptureHoldsDeliveriesAndRecordsWhatToStore) {
  circle::core::ActionOutput output;
  room().capture(&output);
  const auto delivered_before = sam_->events.size();
  auto posted = room().post(kSam, "held", "m-1", 20);
  ASSERT_TRUE(posted);
  ServerMessage reply;
  reply.mutable_private_event()->set_room_id("tuesday");
  room().reply(sam_, circle::wire::encode(reply));
  room().capture(nullptr);
  EXPECT_EQ(sam_->events.size(), delivered_before) << "nothing delivered while capturing";
  ASSERT_EQ(output.events.size(), 1u);
  EXPECT_EQ(output.events[0].sender_account, account(kSam));
  EXPECT_EQ(output.events[0].client_message_id, "m-1");
  EXPECT_EQ(output.events[0].seq, posted.value().seq());
  EXPECT_EQ(output.deliveries.size(), 4u);  // three members and the reply
  EXPECT_FALSE(output.state_changed);
  output.deliver_all();
  EXPECT_EQ(sam_->events.size(), delivered_before + 1);
  EXPECT_EQ(sam_->events.back().seq(), posted.value().seq());
}

class ContentWarnings : public GroupTest {
 protected:
  circle::core::Result<RoomActionResponse> warn(ConnectionId who, std::uint64_t seq,
                                                const std::string& warning) {
    auto r = request();
    r.mutable_set_content_warning()->set_seq(seq);
    r.mutable_set_content_warning()->set_content_warning(warning);
    return act(who, r);
  }
};

TEST_F(ContentWarnings, ASenderMayPutOneOnTheirMessageAndEveryoneGetsIt) {
  auto posted = room().post(kSam, "a hard week", "", 20, "self-harm");
  ASSERT_TRUE(posted);
  const auto seen = riya_->last(RoomEvent::kMessagePosted).message_posted();
  EXPECT_EQ(seen.content_warning(), "self-harm");
  EXPECT_EQ(seen.text(), "a hard week") << "the reader's client decides when to show it";
}

TEST_F(ContentWarnings, AFacilitatorPutsOneOnAMessageForEveryoneAndLateJoinersToo) {
  auto posted = room().post(kRiya, "what happened to me", "", 20);
  ASSERT_TRUE(posted);
  const auto seq = posted.value().seq();
  auto refused = warn(kSam, seq, "abuse");
  ASSERT_FALSE(refused) << "a participant cannot";
  EXPECT_EQ(refused.refusal().code, ERROR_CODE_PERMISSION_DENIED);
  ASSERT_TRUE(warn(kAlex, seq, "abuse"));
  const auto set = sam_->last(RoomEvent::kContentWarningSet).content_warning_set();
  EXPECT_EQ(set.seq(), seq);
  EXPECT_EQ(set.content_warning(), "abuse");
  EXPECT_EQ(set.by().display_name(), "Alex");
  ASSERT_FALSE(audit_.entries.empty());
  EXPECT_EQ(audit_.entries.back().action, "content warning " + std::to_string(seq));
  EXPECT_EQ(audit_.entries.back().reason, "set") << "not the warning's words";

  auto kim = std::make_shared<RecordingSink>();
  auto joined = try_join(9, "Kim", kim, 30);
  ASSERT_TRUE(joined && joined.value().snapshot);
  bool found = false;
  for (const auto& event : joined.value().snapshot->recent_events()) {
    if (event.seq() == seq) {
      found = true;
      EXPECT_EQ(event.message_posted().content_warning(), "abuse");
    }
  }
  EXPECT_TRUE(found);
  EXPECT_FALSE(warn(kAlex, 999, "x")) << "no such message";
}

TEST_F(ContentWarnings, RedactingAMessageRemovesItsWarningToo) {
  auto posted = room().post(kSam, "words", "", 20, "the sender's own words");
  ASSERT_TRUE(posted);
  const auto seq = posted.value().seq();
  auto redact = request();
  redact.mutable_redact_message()->set_seq(seq);
  ASSERT_TRUE(act(kAlex, redact));
  auto kim = std::make_shared<RecordingSink>();
  auto joined = try_join(9, "Kim", kim, 30);
  ASSERT_TRUE(joined && joined.value().snapshot);
  for (const auto& event : joined.value().snapshot->recent_events()) {
    if (event.seq() == seq) {
      EXPECT_TRUE(event.message_posted().content_warning().empty());
    }
  }
  EXPECT_FALSE(warn(kAlex, seq, "x")) << "nothing left to warn about";
}

}  // namespace
