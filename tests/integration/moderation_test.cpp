// Facilitator powers over real TLS connections: each action's effect as the
// members see it, enforced by the server.
#include <gtest/gtest.h>

#include <sstream>

#include "support/test_server.hpp"

namespace {

using namespace circle::test;
using circle::client::SyncClient;
using circle::v1::ServerMessage;
namespace client = circle::client;
namespace v1 = circle::v1;

bool is_event(const ServerMessage& m, v1::RoomEvent::KindCase kind) {
  return m.has_room_event() && m.room_event().kind_case() == kind;
}
bool is_private(const ServerMessage& m, v1::PrivateEvent::KindCase kind) {
  return m.has_private_event() && m.private_event().kind_case() == kind;
}

// A room with a facilitator and participants, each a real connection.
class Moderation : public ::testing::Test {
 protected:
  explicit Moderation(std::vector<std::string> server_args = {}) : server_(server_args) {}

  void SetUp() override {
    alex_ = server_.join("Alex", "group", /*create=*/true);
    sam_ = server_.join("Sam", "group");
    riya_ = server_.join("Riya", "group");
    sam_id_ = member_id(*sam_);
    riya_id_ = member_id(*riya_);
    alex_id_ = 1;
  }
  // The member id of the latest join, as the facilitator saw it arrive.
  std::uint64_t member_id(SyncClient&) {
    auto joined = alex_->wait_event(
        [](const ServerMessage& m) { return is_event(m, v1::RoomEvent::kMemberJoined); },
        kDeadline);
    EXPECT_TRUE(joined);
    return joined ? joined->room_event().member_joined().member().member_id() : 0;
  }
  v1::ServerMessage act(SyncClient& c, const std::function<void(v1::RoomActionRequest&)>& fill,
                        const std::string& reason = {}) {
    auto message = client::make_room_action("group", reason);
    fill(*message.mutable_room_action());
    return call(c, message);
  }
  static void expect_ok(const ServerMessage& reply) {
    EXPECT_TRUE(reply.has_room_action()) << reply.DebugString();
  }
  static void expect_denied(const ServerMessage& reply, const std::string& action) {
    ASSERT_TRUE(reply.has_error()) << reply.DebugString();
    EXPECT_EQ(reply.error().code(), v1::ERROR_CODE_PERMISSION_DENIED);
    EXPECT_EQ(reply.error().message().rfind(action + ":", 0), 0u) << reply.error().message();
  }

  TestServer server_;
  std::unique_ptr<SyncClient> alex_, sam_, riya_;
  std::uint64_t alex_id_ = 0, sam_id_ = 0, riya_id_ = 0;
};

TEST_F(Moderation, MutedMembersMessageIsRefusedAndNobodyReceivesIt) {
  expect_ok(act(
      *alex_,
      [&](auto& r) {
        r.mutable_set_muted()->set_member_id(sam_id_);
        r.mutable_set_muted()->set_muted(true);
      },
      "talking over others"));
  auto muted = riya_->wait_event(
      [](const ServerMessage& m) { return is_event(m, v1::RoomEvent::kMemberUpdated); }, kDeadline);
  ASSERT_TRUE(muted);
  EXPECT_EQ(muted->room_event().member_updated().change(), v1::MEMBER_CHANGE_MUTED);
  EXPECT_EQ(muted->room_event().member_updated().note(), "talking over others");

  auto refused = call(*sam_, client::make_send_message("group", "let me speak"));
  expect_denied(refused, "send message");
  // Riya's next message is the first thing she sees after the mute: Sam's never arrived.
  ASSERT_TRUE(call(*riya_, client::make_send_message("group", "marker")).has_send_message());
  auto next = riya_->wait_event(
      [](const ServerMessage& m) { return is_event(m, v1::RoomEvent::kMessagePosted); }, kDeadline);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->room_event().message_posted().text(), "marker");
}

TEST_F(Moderation, KickedMemberLeavesAndBannedOneCannotRejoin) {
  expect_ok(act(
      *alex_, [&](auto& r) { r.mutable_remove_member()->set_member_id(riya_id_); }, "disruptive"));
  auto removed = riya_->wait_event(
      [](const ServerMessage& m) { return is_event(m, v1::RoomEvent::kMemberLeft); }, kDeadline);
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->room_event().member_left().reason(), v1::LEAVE_REASON_REMOVED);
  EXPECT_EQ(removed->room_event().member_left().by().display_name(), "Alex");
  auto not_in = call(*riya_, client::make_send_message("group", "still here?"));
  ASSERT_TRUE(not_in.has_error());
  EXPECT_EQ(not_in.error().code(), v1::ERROR_CODE_NOT_IN_ROOM);
  // A removal is not a ban: Riya may come back.
  ASSERT_TRUE(call(*riya_, client::make_join_room("group")).has_join_room());

  auto riya_again = alex_->wait_event(
      [](const ServerMessage& m) { return is_event(m, v1::RoomEvent::kMemberJoined); }, kDeadline);
  ASSERT_TRUE(riya_again);
  const auto riya_now = riya_again->room_event().member_joined().member().member_id();
  expect_ok(act(*alex_, [&](auto& r) {
    r.mutable_set_banned()->set_member_id(riya_now);
    r.mutable_set_banned()->set_banned(true);
  }));
  auto banned = riya_->wait_event(
      [](const ServerMessage& m) {
        return is_event(m, v1::RoomEvent::kMemberLeft) &&
               m.room_event().member_left().reason() == v1::LEAVE_REASON_BANNED;
      },
      kDeadline);
  ASSERT_TRUE(banned);
  auto rejoin = call(*riya_, client::make_join_room("group"));
  expect_denied(rejoin, "join");
}

TEST_F(Moderation, CoFacilitatorCannotRemoveTheFacilitator) {
  expect_ok(act(*alex_, [&](auto& r) {
    r.mutable_set_role()->set_member_id(sam_id_);
    r.mutable_set_role()->set_role(v1::ROLE_CO_FACILITATOR);
  }));
  expect_denied(act(*sam_, [&](auto& r) { r.mutable_remove_member()->set_member_id(alex_id_); }),
                "remove");
  expect_denied(act(*sam_,
                    [&](auto& r) {
                      r.mutable_set_muted()->set_member_id(alex_id_);
                      r.mutable_set_muted()->set_muted(true);
                    }),
                "mute");
  expect_denied(act(*riya_, [&](auto& r) { r.mutable_remove_member()->set_member_id(sam_id_); }),
                "remove");
  // The co-facilitator can remove a participant.
  expect_ok(act(*sam_, [&](auto& r) { r.mutable_remove_member()->set_member_id(riya_id_); }));
}

TEST_F(Moderation, WaitingRoomHoldsJoinsUntilAdmitted) {
  expect_ok(act(*alex_, [&](auto& r) { r.mutable_set_waiting_room()->set_enabled(true); }));
  auto kim = server_.hello("Kim");
  auto waiting = call(*kim, client::make_join_room("group"));
  ASSERT_TRUE(waiting.has_join_room());
  EXPECT_TRUE(waiting.join_room().waiting());
  EXPECT_FALSE(waiting.join_room().has_snapshot());
  auto refused = call(*kim, client::make_send_message("group", "hello?"));
  ASSERT_TRUE(refused.has_error());

  auto list = alex_->wait_event(
      [](const ServerMessage& m) {
        return is_private(m, v1::PrivateEvent::kWaitingRoom) &&
               m.private_event().waiting_room().waiting_size() == 1;
      },
      kDeadline);
  ASSERT_TRUE(list);
  const auto waiting_id = list->private_event().waiting_room().waiting(0).waiting_id();
  EXPECT_EQ(list->private_event().waiting_room().waiting(0).display_name(), "Kim");
  expect_ok(act(*alex_, [&](auto& r) {
    r.mutable_admit()->set_waiting_id(waiting_id);
    r.mutable_admit()->set_admitted(true);
  }));
  auto admitted = kim->wait_event(
      [](const ServerMessage& m) { return is_private(m, v1::PrivateEvent::kAdmission); },
      kDeadline);
  ASSERT_TRUE(admitted);
  EXPECT_TRUE(admitted->private_event().admission().admitted());
  EXPECT_EQ(admitted->private_event().admission().snapshot().members_size(), 4);
  EXPECT_TRUE(call(*kim, client::make_send_message("group", "thanks")).has_send_message());
}

TEST_F(Moderation, RedactedMessageIsGoneForLaterJoiners) {
  auto ack = call(*sam_, client::make_send_message("group", "my address is 12 Elm St"));
  ASSERT_TRUE(ack.has_send_message());
  const auto seq = ack.send_message().seq();
  expect_ok(act(
      *alex_, [&](auto& r) { r.mutable_redact_message()->set_seq(seq); }, "personal details"));
  auto redacted = riya_->wait_event(
      [](const ServerMessage& m) { return is_event(m, v1::RoomEvent::kMessageRedacted); },
      kDeadline);
  ASSERT_TRUE(redacted);
  EXPECT_EQ(redacted->room_event().message_redacted().seq(), seq);
  auto kim = server_.hello("Kim");
  auto joined = call(*kim, client::make_join_room("group"));
  ASSERT_TRUE(joined.has_join_room());
  for (const auto& event : joined.join_room().snapshot().recent_events()) {
    EXPECT_EQ(event.message_posted().text().find("12 Elm St"), std::string::npos);
  }
}

TEST_F(Moderation, SupportAlertReachesFacilitatorsAndNoOneElse) {
  auto alert =
      act(*riya_, [](auto& r) { r.mutable_request_support()->set_text("I'm struggling"); });
  ASSERT_TRUE(alert.has_room_action());
  const auto alert_id = alert.room_action().alert_id();
  auto seen = alex_->wait_event(
      [](const ServerMessage& m) { return is_private(m, v1::PrivateEvent::kSupportAlert); },
      kDeadline);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->private_event().support_alert().text(), "I'm struggling");
  EXPECT_EQ(seen->private_event().support_alert().from().display_name(), "Riya");
  expect_ok(act(*alex_, [&](auto& r) { r.mutable_acknowledge_support()->set_alert_id(alert_id); }));
  auto acknowledged = riya_->wait_event(
      [](const ServerMessage& m) {
        return is_private(m, v1::PrivateEvent::kYourAlertAcknowledged);
      },
      kDeadline);
  ASSERT_TRUE(acknowledged);
  // Sam saw nothing of it: after the joins, his next event is the marker.
  ASSERT_TRUE(call(*riya_, client::make_send_message("group", "marker")).has_send_message());
  auto next = sam_->wait_event(
      [](const ServerMessage& m) {
        return m.has_private_event() || (m.has_room_event() && !m.room_event().has_member_joined());
      },
      kDeadline);
  ASSERT_TRUE(next);
  ASSERT_TRUE(next->has_room_event()) << next->DebugString();
  EXPECT_EQ(next->room_event().message_posted().text(), "marker");
}

TEST_F(Moderation, RoundGivesTurnsInOrderAndRefusesOutOfTurn) {
  expect_ok(act(*alex_, [](auto& r) { r.mutable_start_round(); }));
  auto started = sam_->wait_event(
      [](const ServerMessage& m) { return is_event(m, v1::RoomEvent::kRoundUpdated); }, kDeadline);
  ASSERT_TRUE(started);
  const auto& round = started->room_event().round_updated().round();
  ASSERT_EQ(round.order_size(), 3);
  EXPECT_EQ(round.order(1), sam_id_);
  EXPECT_EQ(round.speaker_member_id(), alex_id_);
  expect_ok(act(*alex_, [](auto& r) { r.mutable_end_turn()->set_passed(true); }));
  expect_denied(call(*riya_, client::make_send_message("group", "out of turn")), "send message");
  ASSERT_TRUE(call(*sam_, client::make_send_message("group", "my check-in")).has_send_message());
  expect_ok(act(*sam_, [](auto& r) { r.mutable_end_turn(); }));
  ASSERT_TRUE(call(*riya_, client::make_send_message("group", "mine")).has_send_message());
  expect_ok(act(*riya_, [](auto& r) { r.mutable_end_turn(); }));
  auto ended = alex_->wait_event(
      [](const ServerMessage& m) {
        return is_event(m, v1::RoomEvent::kRoundUpdated) &&
               !m.room_event().round_updated().round().active();
      },
      kDeadline);
  ASSERT_TRUE(ended);
}

class ModerationWithShortGrace : public Moderation {
 protected:
  ModerationWithShortGrace() : Moderation({"--facilitator-grace-seconds", "1"}) {}
};

TEST_F(ModerationWithShortGrace, FacilitationPassesOnWhenTheFacilitatorDrops) {
  expect_ok(act(*alex_, [&](auto& r) {
    r.mutable_set_role()->set_member_id(riya_id_);
    r.mutable_set_role()->set_role(v1::ROLE_CO_FACILITATOR);
  }));
  alex_.reset();  // the facilitator's connection drops
  auto handed = sam_->wait_event(
      [](const ServerMessage& m) {
        return is_event(m, v1::RoomEvent::kMemberUpdated) &&
               m.room_event().member_updated().change() == v1::MEMBER_CHANGE_FACILITATION;
      },
      kDeadline);
  ASSERT_TRUE(handed);
  EXPECT_EQ(handed->room_event().member_updated().members(0).member_id(), riya_id_);
  EXPECT_EQ(handed->room_event().member_updated().members(0).role(), v1::ROLE_FACILITATOR);
  expect_ok(act(
      *riya_, [](auto& r) { r.mutable_end_session(); }, "time is up"));
  auto ended = sam_->wait_event(
      [](const ServerMessage& m) { return is_event(m, v1::RoomEvent::kSessionEnded); }, kDeadline);
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->room_event().session_ended().note(), "time is up");
  auto after = call(*sam_, client::make_send_message("group", "hello?"));
  ASSERT_TRUE(after.has_error());
  EXPECT_EQ(after.error().code(), v1::ERROR_CODE_NOT_IN_ROOM);
}

TEST_F(Moderation, EveryModerationActionIsAudited) {
  expect_ok(act(
      *alex_,
      [&](auto& r) {
        r.mutable_set_muted()->set_member_id(sam_id_);
        r.mutable_set_muted()->set_muted(true);
      },
      "talking over others"));
  expect_ok(act(
      *alex_, [&](auto& r) { r.mutable_remove_member()->set_member_id(riya_id_); }, "disruptive"));
  // Each reply comes after its audit entry is stored (in the same write as
  // the action). An operator reads the log with `circled audit`, also while
  // the server runs.
  ChildProcess audit({circled_path(), "audit", "--data-dir", server_.data_dir()}, {});
  std::istringstream log(audit.read_all(kDeadline));
  EXPECT_EQ(audit.wait_exit(kDeadline), 0);
  std::vector<std::string> lines;
  for (std::string line; std::getline(log, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 2u) << log.str();
  EXPECT_NE(lines[0].find("\"action\":\"mute\""), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"reason\":\"talking over others\""), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"target_account\":\"acct-"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("\"action\":\"remove\""), std::string::npos) << lines[1];
  for (const auto& line : lines) {
    EXPECT_EQ(line.find("Sam"), std::string::npos) << "no display names in the audit log";
    EXPECT_EQ(line.find("Riya"), std::string::npos) << "no display names in the audit log";
  }
}

TEST_F(Moderation, ParticipantsNeverSeeAccountIdsButFacilitatorsDo) {
  auto kim = server_.hello("Kim");
  auto as_participant = call(*kim, client::make_join_room("group"));
  ASSERT_TRUE(as_participant.has_join_room());
  EXPECT_EQ(as_participant.join_room().snapshot().identities_size(), 0);
  auto identity = alex_->wait_event(
      [](const ServerMessage& m) { return is_private(m, v1::PrivateEvent::kMemberIdentity); },
      kDeadline);
  ASSERT_TRUE(identity);
  EXPECT_FALSE(identity->private_event().member_identity().account_id().empty());
}

}  // namespace
