// The report queue: /report keeps a report open for the room's facilitators
// until one resolves it, saying what was done; reports survive a restart and
// the session's end, reach a facilitator who arrives later, and are bounded.
#include <gtest/gtest.h>

#include "room_fixture.hpp"

namespace {

using namespace circle::test;
using namespace circle::v1;
using circle::core::Room;

class Reports : public GroupTest {
 protected:
  std::uint64_t post_as_riya() {
    auto posted = room().post(kRiya, "something hurtful", "", 20);
    EXPECT_TRUE(posted);
    return posted ? posted.value().seq() : 0;
  }
  circle::core::Result<RoomActionResponse> report(ConnectionId who, std::uint64_t seq) {
    auto r = request();
    r.set_reason("this is unkind");
    r.mutable_report_message()->set_seq(seq);
    return act(who, r);
  }
  circle::core::Result<RoomActionResponse> resolve(ConnectionId who, std::uint64_t id) {
    auto r = request();
    r.mutable_resolve_report()->set_report_id(id);
    r.mutable_resolve_report()->set_outcome(REPORT_OUTCOME_REDACTED);
    r.mutable_resolve_report()->set_note("talked with Riya");
    return act(who, r);
  }
  std::uint64_t last_report_id() {
    const auto reported = alex_->privates(PrivateEvent::kMessageReported);
    EXPECT_FALSE(reported.empty());
    return reported.empty() ? 0 : reported.back().message_reported().report_id();
  }
};

TEST_F(Reports, AReportStaysOpenForTheFacilitatorsUntilResolvedWithWhatWasDone) {
  const auto seq = post_as_riya();
  ASSERT_TRUE(report(kSam, seq));
  const auto id = last_report_id();
  EXPECT_NE(id, 0u);
  EXPECT_TRUE(riya_->privates(PrivateEvent::kMessageReported).empty()) << "never the author";

  // A facilitator arriving on another device finds it open.
  auto tablet = std::make_shared<RecordingSink>();
  auto joined = try_join_as(room(), 11, account(kAlex), "Alex", tablet, 30);
  ASSERT_TRUE(joined && joined.value().snapshot);
  ASSERT_EQ(joined.value().snapshot->open_reports_size(), 1);
  EXPECT_EQ(joined.value().snapshot->open_reports(0).seq(), seq);
  EXPECT_EQ(joined.value().snapshot->open_reports(0).note(), "this is unkind");
  EXPECT_EQ(joined.value().snapshot->open_reports(0).by().display_name(), "Sam");

  auto refused = resolve(kSam, id);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.refusal().code, ERROR_CODE_PERMISSION_DENIED);
  ASSERT_TRUE(resolve(kAlex, id));
  const auto resolved = alex_->privates(PrivateEvent::kReportResolved);
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].report_resolved().outcome(), REPORT_OUTCOME_REDACTED);
  EXPECT_EQ(resolved[0].report_resolved().note(), "talked with Riya");
  EXPECT_TRUE(sam_->privates(PrivateEvent::kReportResolved).empty());
  ASSERT_FALSE(audit_.entries.empty());
  EXPECT_EQ(audit_.entries.back().action, "resolve report " + std::to_string(id));
  EXPECT_EQ(audit_.entries.back().reason,
            "message " + std::to_string(seq) + ": redacted; talked with Riya");
  EXPECT_FALSE(resolve(kAlex, id)) << "closed once";
  auto later = try_join_as(room(), 12, account(kAlex), "Alex", tablet, 40);
  ASSERT_TRUE(later && later.value().snapshot);
  EXPECT_EQ(later.value().snapshot->open_reports_size(), 0);
}

TEST_F(Reports, ReportingTheSameMessageAgainQueuesItOnce) {
  const auto seq = post_as_riya();
  ASSERT_TRUE(report(kSam, seq));
  ASSERT_TRUE(report(kSam, seq));
  EXPECT_EQ(alex_->privates(PrivateEvent::kMessageReported).size(), 1u);
  ASSERT_TRUE(report(kRiya, seq)) << "someone else's report of it is its own";
  EXPECT_EQ(alex_->privates(PrivateEvent::kMessageReported).size(), 2u);
}

TEST_F(Reports, OpenReportsOutlastTheSessionAndARestart) {
  const auto seq = post_as_riya();
  ASSERT_TRUE(report(kSam, seq));
  const auto id = last_report_id();
  auto end = request();
  end.mutable_end_session();
  ASSERT_TRUE(act(kAlex, end, 50));
  Room restored(room().durable_state(), room().last_seq(), {}, limits_, nullptr);
  auto alex_again = std::make_shared<RecordingSink>();
  auto joined = try_join_as(restored, 80, account(kAlex), "Alex", alex_again, 60);
  ASSERT_TRUE(joined && joined.value().snapshot);
  ASSERT_EQ(joined.value().snapshot->open_reports_size(), 1);
  EXPECT_EQ(joined.value().snapshot->open_reports(0).report_id(), id);
}

TEST_F(Reports, ACoFacilitatorPromotedLaterIsBriefedOnOpenReports) {
  ASSERT_TRUE(report(kSam, post_as_riya()));
  auto promote = request();
  promote.mutable_set_role()->set_member_id(riya_id_);
  promote.mutable_set_role()->set_role(ROLE_CO_FACILITATOR);
  ASSERT_TRUE(act(kAlex, promote));
  EXPECT_EQ(riya_->privates(PrivateEvent::kMessageReported).size(), 1u);
}

TEST_F(Reports, ARoomKeepsAtMostItsLimitOpen) {
  limits_.max_open_reports = 2;
  const auto seq = post_as_riya();
  ASSERT_TRUE(report(kSam, seq));
  ASSERT_TRUE(report(kRiya, seq));
  auto refused = report(kAlex, seq);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.refusal().code, ERROR_CODE_LIMIT_EXCEEDED);
  ASSERT_TRUE(resolve(kAlex, last_report_id()));
  EXPECT_TRUE(report(kAlex, seq)) << "room again once one is resolved";
}

TEST_F(Reports, OneMemberCannotFillTheQueueAndOnlyMessagesCanBeReported) {
  limits_.max_open_reports_per_account = 1;
  const auto first = post_as_riya();
  const auto second = post_as_riya();
  ASSERT_TRUE(report(kSam, first));
  auto refused = report(kSam, second);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.refusal().code, ERROR_CODE_LIMIT_EXCEEDED);
  EXPECT_TRUE(report(kAlex, second)) << "others still can";
  // The seq of Sam's join is not a message.
  auto not_a_message = report(kRiya, 2);
  ASSERT_FALSE(not_a_message);
  EXPECT_EQ(not_a_message.refusal().code, ERROR_CODE_NOT_FOUND);
}

}  // namespace
