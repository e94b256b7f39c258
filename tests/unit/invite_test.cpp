// Invite links: made and withdrawn by facilitators; a guest joins with one
// only while it is open, and may come back once they have joined with it;
// uses, withdrawals and who joined survive a restart. And the tokens: an
// invite is never an account token, nor an account token an invite.
#include <gtest/gtest.h>

#include "auth/token.hpp"
#include "room_fixture.hpp"

namespace {

using namespace circle::test;
using namespace circle::v1;
using circle::core::Room;

constexpr std::int64_t kMinute = 60'000;

class Invites : public GroupTest {
 protected:
  circle::core::Result<RoomActionResponse> invite(ConnectionId who, std::uint64_t id,
                                                  std::uint32_t ttl_s = 3600,
                                                  std::uint32_t max_uses = 0) {
    auto r = request();
    r.mutable_create_invite()->set_ttl_seconds(ttl_s);
    r.mutable_create_invite()->set_max_uses(max_uses);
    r.mutable_create_invite()->set_invite_id(id);
    r.mutable_create_invite()->set_token("token-" + std::to_string(id));
    return act(who, r);
  }
  circle::core::Result<RoomActionResponse> revoke(ConnectionId who, std::uint64_t id) {
    auto r = request();
    r.mutable_revoke_invite()->set_invite_id(id);
    return act(who, r);
  }
  circle::core::Result<circle::core::JoinOutcome> guest(Room& target, ConnectionId connection,
                                                        const std::string& account,
                                                        std::uint64_t invite_id,
                                                        std::int64_t now = 20) {
    return target.join({.connection = connection,
                        .display_name = "Guest",
                        .account_id = account,
                        .sink = std::make_shared<RecordingSink>(),
                        .invite_id = invite_id},
                       now);
  }
};

TEST_F(Invites, OnlyThoseWhoMayInviteMakeThemAndFacilitatorsSeeTheList) {
  auto refused = invite(kSam, 7);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.refusal().code, ERROR_CODE_PERMISSION_DENIED);
  auto made = invite(kAlex, 7);
  ASSERT_TRUE(made) << made.refusal().message;
  EXPECT_EQ(made.value().invite().token(), "token-7");
  EXPECT_EQ(made.value().invite().expires_at_unix_ms(), 10 + 3600 * 1000);
  const auto lists = alex_->privates(PrivateEvent::kInvites);
  ASSERT_FALSE(lists.empty());
  EXPECT_EQ(lists.back().invites().invites_size(), 1);
  EXPECT_TRUE(sam_->privates(PrivateEvent::kInvites).empty()) << "links are for facilitators";
}

TEST_F(Invites, AGuestJoinsWhileOpenAndCountsOnce) {
  ASSERT_TRUE(invite(kAlex, 7, 3600, 1));
  auto first = guest(room(), 40, "guest-a", 7);
  ASSERT_TRUE(first) << first.refusal().message;
  ASSERT_TRUE(room().leave(40, LEAVE_REASON_LEFT, 21));
  EXPECT_TRUE(guest(room(), 41, "guest-a", 7, 22)) << "the same person comes back";
  auto second = guest(room(), 42, "guest-b", 7, 23);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.refusal().code, ERROR_CODE_LIMIT_EXCEEDED);
}

TEST_F(Invites, WithdrawnOrExpiredKeepsOutOnlyThoseWhoHaveNotJoined) {
  ASSERT_TRUE(invite(kAlex, 7, 60));
  ASSERT_TRUE(guest(room(), 40, "guest-a", 7));
  ASSERT_TRUE(room().leave(40, LEAVE_REASON_LEFT, 21));
  ASSERT_TRUE(revoke(kAlex, 7));
  auto stranger = guest(room(), 42, "guest-b", 7, 30);
  ASSERT_FALSE(stranger);
  EXPECT_NE(stranger.refusal().message.find("withdrawn"), std::string::npos);
  EXPECT_TRUE(guest(room(), 41, "guest-a", 7, 31));

  ASSERT_TRUE(invite(kAlex, 8, 60));
  auto late = guest(room(), 43, "guest-c", 8, 10 + 2 * kMinute);
  ASSERT_FALSE(late);
  EXPECT_NE(late.refusal().message.find("expired"), std::string::npos);
  EXPECT_FALSE(guest(room(), 44, "guest-c", 999)) << "an invite of another room";
}

TEST_F(Invites, AGuestTurnedAwayAtTheWaitingRoomHasNotJoinedWithIt) {
  ASSERT_TRUE(invite(kAlex, 7, 3600, 1));
  auto waiting_room = [&](bool on) {
    auto r = request();
    r.mutable_set_waiting_room()->set_enabled(on);
    return act(kAlex, r);
  };
  ASSERT_TRUE(waiting_room(true));
  auto knock = guest(room(), 40, "guest-a", 7);
  ASSERT_TRUE(knock && knock.value().waiting);
  auto other = guest(room(), 41, "guest-b", 7);
  ASSERT_TRUE(other && other.value().waiting) << "knocking uses nothing up";
  const auto lists = alex_->privates(PrivateEvent::kWaitingRoom);
  ASSERT_FALSE(lists.empty());
  ASSERT_EQ(lists.back().waiting_room().waiting_size(), 2);
  auto deny = request();
  deny.mutable_admit()->set_waiting_id(lists.back().waiting_room().waiting(0).waiting_id());
  deny.mutable_admit()->set_admitted(false);
  ASSERT_TRUE(act(kAlex, deny));
  ASSERT_TRUE(revoke(kAlex, 7));
  ASSERT_TRUE(waiting_room(false));
  auto back = guest(room(), 42, "guest-a", 7, 30);
  ASSERT_FALSE(back) << "turned away, then the link was withdrawn: no way in";
  EXPECT_NE(back.refusal().message.find("withdrawn"), std::string::npos);
}

TEST_F(Invites, UsesAndWithdrawalsSurviveARestart) {
  ASSERT_TRUE(invite(kAlex, 7, 3600, 2));
  ASSERT_TRUE(guest(room(), 40, "guest-a", 7));
  ASSERT_TRUE(invite(kAlex, 8));
  ASSERT_TRUE(revoke(kAlex, 8));
  Room restored(room().durable_state(), room().last_seq(), {}, limits_, nullptr);
  EXPECT_TRUE(guest(restored, 50, "guest-a", 7, 30));
  EXPECT_TRUE(guest(restored, 51, "guest-b", 7, 31));
  EXPECT_FALSE(guest(restored, 52, "guest-c", 7, 32)) << "two uses, used";
  EXPECT_FALSE(guest(restored, 53, "guest-d", 8, 33)) << "still withdrawn";
}

TEST_F(Invites, AreBounded) {
  limits_.max_invites = 1;
  ASSERT_TRUE(invite(kAlex, 7));
  auto refused = invite(kAlex, 8);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.refusal().code, ERROR_CODE_LIMIT_EXCEEDED);
  ASSERT_TRUE(revoke(kAlex, 7));
  EXPECT_TRUE(invite(kAlex, 8)) << "a withdrawn link frees its place";
}

TEST(InviteToken, IsNeitherAnAccountTokenNorTakesOne) {
  const std::string secret(32, 's');
  const auto token = circle::auth::mint_invite(
      {.room_id = "tuesday", .invite_id = 42, .expires_at = 2'000'000'000}, secret);
  auto claims = circle::auth::verify_invite(token, secret);
  ASSERT_TRUE(claims);
  EXPECT_EQ(claims.value().room_id, "tuesday");
  EXPECT_EQ(claims.value().invite_id, 42u);
  EXPECT_FALSE(circle::auth::verify_token(token, secret, 1'000)) << "no sub: not an account";
  const auto account = circle::auth::mint_token(
      {.account_id = "sam", .name = "Sam", .expires_at = 2'000'000'000}, secret);
  EXPECT_FALSE(circle::auth::verify_invite(account, secret));
  EXPECT_FALSE(circle::auth::verify_invite(token, std::string(32, 't'))) << "another secret";
  EXPECT_FALSE(circle::auth::verify_invite(token.substr(0, token.size() - 2), secret));
}

TEST(GuestAccount, IsTheSameForTheSameKeyAndDiffersOtherwise) {
  const std::string key(40, 'k');
  EXPECT_EQ(circle::auth::guest_account_id(key), circle::auth::guest_account_id(key));
  EXPECT_NE(circle::auth::guest_account_id(key), circle::auth::guest_account_id(key + "x"));
  EXPECT_EQ(circle::auth::guest_account_id(key).rfind("guest-", 0), 0u);
  EXPECT_EQ(circle::auth::guest_account_id(key).size(), 6u + 24u);
}

}  // namespace
