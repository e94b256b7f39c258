// Ignoring: a member hides another's messages for themselves only, on every
// device of their account and across re-joins and a restart; the one ignored
// is never told; facilitators cannot be ignored.
#include <gtest/gtest.h>

#include "circle_client/room_view.hpp"
#include "room_fixture.hpp"

namespace {

using namespace circle::test;
using namespace circle::v1;
using circle::core::Room;

class Ignore : public GroupTest {
 protected:
  circle::core::Result<RoomActionResponse> ignore(ConnectionId who, std::uint64_t member_id,
                                                  bool ignored = true) {
    auto r = request();
    r.mutable_set_ignored()->set_member_id(member_id);
    r.mutable_set_ignored()->set_ignored(ignored);
    return act(who, r);
  }
  static std::vector<std::uint64_t> last_list(const RecordingSink& sink) {
    const auto lists = sink.privates(PrivateEvent::kIgnoreList);
    if (lists.empty()) return {};
    const auto& ids = lists.back().ignore_list().member_ids();
    return {ids.begin(), ids.end()};
  }
};

TEST_F(Ignore, OnlyTheAccountsOwnDevicesHearOfItNeverTheOneIgnored) {
  auto phone = std::make_shared<RecordingSink>();
  ASSERT_TRUE(try_join_as(room(), 12, account(kSam), "Sam", phone, 5));
  ASSERT_TRUE(ignore(kSam, riya_id_));
  EXPECT_EQ(last_list(*sam_), std::vector<std::uint64_t>{riya_id_});
  EXPECT_EQ(last_list(*phone), std::vector<std::uint64_t>{riya_id_});
  EXPECT_TRUE(riya_->privates(PrivateEvent::kIgnoreList).empty());
  EXPECT_TRUE(alex_->privates(PrivateEvent::kIgnoreList).empty());
  EXPECT_TRUE(audit_.entries.empty() ||
              audit_.entries.back().action.find("ignore") == std::string::npos)
      << "a private choice, not a moderation action";

  ASSERT_TRUE(ignore(kSam, riya_id_, false));
  EXPECT_TRUE(last_list(*sam_).empty());
}

TEST_F(Ignore, FacilitatorsAndOneselfCannotBeIgnored) {
  auto refused = ignore(kSam, alex_id_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.refusal().code, ERROR_CODE_PERMISSION_DENIED);
  EXPECT_FALSE(ignore(kSam, sam_id_));
  auto facilitator = ignore(kAlex, sam_id_);
  ASSERT_FALSE(facilitator) << "a facilitator must not miss a member's distress";
  EXPECT_EQ(facilitator.refusal().code, ERROR_CODE_PERMISSION_DENIED);
}

TEST_F(Ignore, FollowsTheAccountAcrossReJoiningAndARestart) {
  ASSERT_TRUE(ignore(kSam, riya_id_));
  // Riya leaves and comes back as a new member: still hidden from Sam.
  ASSERT_TRUE(room().leave(kRiya, LEAVE_REASON_LEFT, 20));
  auto riya_back = std::make_shared<RecordingSink>();
  auto back = try_join_as(room(), 13, account(kRiya), "Riya", riya_back, 21);
  ASSERT_TRUE(back && back.value().snapshot);
  const auto new_id = back.value().snapshot->your_member_id();
  EXPECT_EQ(last_list(*sam_), std::vector<std::uint64_t>{new_id});
  EXPECT_TRUE(riya_back->privates(PrivateEvent::kIgnoreList).empty());
  EXPECT_EQ(back.value().snapshot->ignored_member_ids_size(), 0);

  // Sam leaves and comes back: the snapshot says whom Sam hides.
  ASSERT_TRUE(room().leave(kSam, LEAVE_REASON_LEFT, 30));
  auto sam_back = std::make_shared<RecordingSink>();
  auto joined = try_join_as(room(), 14, account(kSam), "Sam", sam_back, 31);
  ASSERT_TRUE(joined && joined.value().snapshot);
  ASSERT_EQ(joined.value().snapshot->ignored_member_ids_size(), 1);
  EXPECT_EQ(joined.value().snapshot->ignored_member_ids(0), new_id);

  Room restored(room().durable_state(), room().last_seq(), {}, limits_, nullptr);
  auto riya_again = std::make_shared<RecordingSink>();
  auto sam_again = std::make_shared<RecordingSink>();
  auto riya_joined = try_join_as(restored, 15, account(kRiya), "Riya", riya_again, 40);
  ASSERT_TRUE(riya_joined && riya_joined.value().snapshot);
  auto sam_joined = try_join_as(restored, 16, account(kSam), "Sam", sam_again, 41);
  ASSERT_TRUE(sam_joined && sam_joined.value().snapshot);
  ASSERT_EQ(sam_joined.value().snapshot->ignored_member_ids_size(), 1);
  EXPECT_EQ(sam_joined.value().snapshot->ignored_member_ids(0),
            riya_joined.value().snapshot->your_member_id());
}

TEST_F(Ignore, IsBounded) {
  limits_.max_ignored_per_account = 1;
  auto kim = std::make_shared<RecordingSink>();
  auto kim_joined = try_join(9, "Kim", kim, 5);
  ASSERT_TRUE(kim_joined && kim_joined.value().snapshot);
  ASSERT_TRUE(ignore(kSam, riya_id_));
  auto refused = ignore(kSam, kim_joined.value().snapshot->your_member_id());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.refusal().code, ERROR_CODE_LIMIT_EXCEEDED);
}

TEST(IgnoreView, HidesAnIgnoredParticipantsMessagesButNeverAFacilitators) {
  RoomSnapshot snapshot;
  snapshot.set_your_member_id(2);
  snapshot.add_ignored_member_ids(3);
  circle::client::RoomView view(snapshot);
  RoomEvent message;
  message.mutable_message_posted()->mutable_sender()->set_member_id(3);
  message.mutable_message_posted()->mutable_sender()->set_role(ROLE_PARTICIPANT);
  EXPECT_TRUE(view.hides(message));
  message.mutable_message_posted()->mutable_sender()->set_role(ROLE_CO_FACILITATOR);
  EXPECT_FALSE(view.hides(message)) << "promoted since: the room's notices are never hidden";
  message.mutable_message_posted()->mutable_sender()->set_member_id(4);
  message.mutable_message_posted()->mutable_sender()->set_role(ROLE_PARTICIPANT);
  EXPECT_FALSE(view.hides(message));
  RoomEvent joined;
  joined.mutable_member_joined()->mutable_member()->set_member_id(3);
  EXPECT_FALSE(view.hides(joined)) << "only messages";
}

}  // namespace
