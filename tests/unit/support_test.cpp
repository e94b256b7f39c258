// A call for help is never left in the void: the asker is told at once and
// truthfully whether anyone who can answer is in the room; the alert stays
// open until a facilitator resolves it (acknowledging is "seen", not done),
// across the asker re-joining, the session's end and a restart.
#include <gtest/gtest.h>

#include "room_fixture.hpp"

namespace {

using namespace circle::test;
using namespace circle::v1;
using circle::core::Room;

class Support : public GroupTest {
 protected:
  std::uint64_t ask(ConnectionId who, std::int64_t now, std::uint32_t* present = nullptr) {
    auto r = request();
    r.mutable_request_support()->set_text("I'm not feeling safe right now");
    auto asked = room().act(who, r, now);
    EXPECT_TRUE(asked);
    if (!asked) return 0;
    EXPECT_TRUE(asked.value().has_support());
    if (present) *present = asked.value().support().facilitators_present();
    return asked.value().alert_id();
  }
  circle::core::Result<RoomActionResponse> acknowledge(ConnectionId who, std::uint64_t id) {
    auto r = request();
    r.mutable_acknowledge_support()->set_alert_id(id);
    return room().act(who, r, 100);
  }
  circle::core::Result<RoomActionResponse> resolve(ConnectionId who, std::uint64_t id) {
    auto r = request();
    r.mutable_resolve_support()->set_alert_id(id);
    r.mutable_resolve_support()->set_note("called Sam; safe at home");
    return room().act(who, r, 200);
  }
};

TEST_F(Support, TheAskerIsToldHowManyFacilitatorsTheRequestReached) {
  std::uint32_t present = 99;
  ask(kSam, 20, &present);
  EXPECT_EQ(present, 1u);
  EXPECT_EQ(alex_->privates(PrivateEvent::kSupportAlert).size(), 1u);
  EXPECT_TRUE(riya_->privates(PrivateEvent::kSupportAlert).empty()) << "never other participants";
}

TEST_F(Support, WithNoFacilitatorPresentTheAskerIsToldSoAndTheAlertWaitsForThem) {
  ASSERT_TRUE(room().leave(kAlex, LEAVE_REASON_DISCONNECTED, 10));
  std::uint32_t present = 99;
  const auto id = ask(kSam, 20, &present);
  EXPECT_EQ(present, 0u) << "nobody is there: the reply must not pretend otherwise";
  // The facilitator coming back finds it open.
  auto snapshot = try_join_as(room(), 51, account(kAlex), "Alex", alex_, 31);
  ASSERT_TRUE(snapshot && snapshot.value().snapshot);
  ASSERT_EQ(snapshot.value().snapshot->open_alerts_size(), 1);
  EXPECT_EQ(snapshot.value().snapshot->open_alerts(0).alert_id(), id);
}

TEST_F(Support, AcknowledgingIsSeenNotDoneAndResolvingClosesItWithANote) {
  const auto id = ask(kSam, 20);
  ASSERT_TRUE(acknowledge(kAlex, id));
  EXPECT_EQ(sam_->privates(PrivateEvent::kYourAlertAcknowledged).size(), 1u);
  // Still open, marked seen, for a facilitator joining now.
  auto tablet = std::make_shared<RecordingSink>();
  auto later = try_join_as(room(), 60, account(kAlex), "Alex", tablet, 150);
  ASSERT_TRUE(later && later.value().snapshot);
  ASSERT_EQ(later.value().snapshot->open_alerts_size(), 1);
  EXPECT_EQ(later.value().snapshot->open_alerts(0).acknowledged_by().display_name(), "Alex");

  auto refused = resolve(kRiya, id);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.refusal().code, ERROR_CODE_PERMISSION_DENIED);
  ASSERT_TRUE(resolve(kAlex, id));
  const auto resolved = alex_->privates(PrivateEvent::kSupportResolved);
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].support_resolved().note(), "called Sam; safe at home");
  EXPECT_TRUE(sam_->privates(PrivateEvent::kSupportResolved).empty());
  ASSERT_FALSE(audit_.entries.empty());
  EXPECT_EQ(audit_.entries.back().action, "resolve support " + std::to_string(id));
  EXPECT_EQ(audit_.entries.back().target_account, account(kSam));
  EXPECT_EQ(audit_.entries.back().reason, "called Sam; safe at home");
  EXPECT_FALSE(resolve(kAlex, id)) << "resolved once";
}

TEST_F(Support, TheAskerHearsItWasSeenAfterJoiningAgain) {
  const auto id = ask(kSam, 20);
  ASSERT_TRUE(room().leave(kSam, LEAVE_REASON_DISCONNECTED, 30));
  auto phone = std::make_shared<RecordingSink>();
  auto joined = try_join_as(room(), 70, account(kSam), "Sam", phone, 40);
  ASSERT_TRUE(joined && joined.value().snapshot);
  ASSERT_EQ(joined.value().snapshot->your_open_alerts_size(), 1) << "the asker sees it is open";
  EXPECT_EQ(joined.value().snapshot->your_open_alerts(0).alert_id(), id);
  EXPECT_EQ(joined.value().snapshot->open_alerts_size(), 0) << "and no one else's";
  ASSERT_TRUE(acknowledge(kAlex, id));
  EXPECT_EQ(phone->privates(PrivateEvent::kYourAlertAcknowledged).size(), 1u);
  auto tablet = std::make_shared<RecordingSink>();
  auto later = try_join_as(room(), 71, account(kSam), "Sam", tablet, 50);
  ASSERT_TRUE(later && later.value().snapshot);
  ASSERT_EQ(later.value().snapshot->your_open_alerts_size(), 1);
  EXPECT_EQ(later.value().snapshot->your_open_alerts(0).acknowledged_by().display_name(), "Alex");
  auto riya_tablet = std::make_shared<RecordingSink>();
  auto riya = try_join_as(room(), 72, account(kRiya), "Riya", riya_tablet, 51);
  ASSERT_TRUE(riya && riya.value().snapshot);
  EXPECT_EQ(riya.value().snapshot->your_open_alerts_size(), 0);
}

TEST_F(Support, OpenAlertsOutlastTheSessionAndARestart) {
  const auto id = ask(kSam, 20);
  auto end = request();
  end.mutable_end_session();
  ASSERT_TRUE(room().act(kAlex, end, 30));
  Room restored(room().durable_state(), room().last_seq(), {}, limits_, nullptr);
  auto alex_again = std::make_shared<RecordingSink>();
  auto joined = try_join_as(restored, 80, account(kAlex), "Alex", alex_again, 40);
  ASSERT_TRUE(joined && joined.value().snapshot);
  ASSERT_EQ(joined.value().snapshot->open_alerts_size(), 1);
  EXPECT_EQ(joined.value().snapshot->open_alerts(0).alert_id(), id);
  // And the next alert gets a new id.
  auto sam_again = std::make_shared<RecordingSink>();
  ASSERT_TRUE(try_join_as(restored, 81, account(kSam), "Sam", sam_again, 41));
  auto r = request();
  r.mutable_request_support();
  auto next = restored.act(81, r, 42);
  ASSERT_TRUE(next);
  EXPECT_GT(next.value().alert_id(), id);
}

TEST_F(Support, WithNoFacilitatorPresentItGoesToTheOperatorsAtOnce) {
  ASSERT_TRUE(room().leave(kAlex, LEAVE_REASON_DISCONNECTED, 10));
  const auto id = ask(kSam, 20);
  ASSERT_FALSE(audit_.entries.empty());
  EXPECT_EQ(audit_.entries.back().action, "escalate support " + std::to_string(id));
  EXPECT_EQ(audit_.entries.back().reason, "no facilitator present");
  EXPECT_EQ(audit_.entries.back().actor_account, "server");
  // A facilitator coming back sees it was escalated.
  auto joined = try_join_as(room(), 51, account(kAlex), "Alex", alex_, 31);
  ASSERT_TRUE(joined && joined.value().snapshot);
  ASSERT_EQ(joined.value().snapshot->open_alerts_size(), 1);
  EXPECT_EQ(joined.value().snapshot->open_alerts(0).escalated_at_unix_ms(), 20);
}

TEST_F(Support, AnAlertNobodyAcknowledgesIsEscalatedWhenItsTimeIsUpAndOnlyOnce) {
  limits_.support_escalate_after_seconds = 120;
  const auto id = ask(kSam, 1000);
  EXPECT_TRUE(alex_->privates(PrivateEvent::kSupportEscalated).empty()) << "a facilitator is here";
  ASSERT_TRUE(room().next_deadline());
  EXPECT_LE(*room().next_deadline(), 1000 + 120'000);
  room().tick(1000 + 119'999);
  EXPECT_TRUE(alex_->privates(PrivateEvent::kSupportEscalated).empty()) << "not yet";
  room().tick(1000 + 120'000);
  const auto escalated = alex_->privates(PrivateEvent::kSupportEscalated);
  ASSERT_EQ(escalated.size(), 1u) << "the facilitators hear it went further";
  EXPECT_EQ(escalated[0].support_escalated().alert().alert_id(), id);
  EXPECT_EQ(escalated[0].support_escalated().reason(), ESCALATION_REASON_NOT_ACKNOWLEDGED);
  EXPECT_TRUE(riya_->privates(PrivateEvent::kSupportEscalated).empty());
  room().tick(1000 + 240'000);
  EXPECT_EQ(alex_->privates(PrivateEvent::kSupportEscalated).size(), 1u) << "once";
}

TEST_F(Support, AnAcknowledgedAlertIsNotEscalated) {
  const auto id = ask(kSam, 1000);
  ASSERT_TRUE(acknowledge(kAlex, id));
  room().tick(1000 + 10 * 60'000);
  EXPECT_TRUE(alex_->privates(PrivateEvent::kSupportEscalated).empty());
}

}  // namespace
