// A room made from another's replica (several nodes: a node starting up goes
// on from a copy instead of the room log's start) takes the same turns as
// the original: same seqs, same events, same refusals, same state.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "room_fixture.hpp"

namespace {

using namespace circle::test;
using namespace circle::v1;
using circle::core::ActionOutput;
using circle::core::Room;

class RoomReplicaTest : public RoomTest {
 protected:
  static constexpr ConnectionId kKim = 4;
  RoomActionRequest request() {
    RoomActionRequest r;
    r.set_room_id("tuesday");
    return r;
  }
  // What `step` made `target` publish and reply: every event frame, and
  // whether the step was refused and why.
  static std::vector<std::string> outcome(Room& target,
                                          const std::function<std::string(Room&)>& step) {
    ActionOutput output;
    target.capture(&output);
    std::vector<std::string> seen{step(target)};
    target.capture(nullptr);
    for (const auto& event : output.events) seen.push_back(*event.frame);
    return seen;
  }
  template <class T>
  static std::string describe(const circle::core::Result<T>& result) {
    if (!result) return "refused " + result.refusal().message;
    if constexpr (std::is_same_v<T, circle::core::JoinOutcome>) {
      const auto& joined = result.value();
      return joined.snapshot ? "joined " + joined.snapshot->SerializeAsString() : "waiting";
    } else {
      return "ok " + result.value().SerializeAsString();
    }
  }
  std::shared_ptr<RecordingSink> kim_ = std::make_shared<RecordingSink>();
};

TEST_F(RoomReplicaTest, ACopyTakesTheSameTurnsAsTheOriginal) {
  const auto alex_id = join(kAlex, "Alex", alex_, 1'000).your_member_id();
  const auto sam_id = join(kSam, "Sam", sam_, 1'100).your_member_id();
  join(kRiya, "Riya", riya_, 1'200);
  auto waiting_room = request();
  waiting_room.mutable_set_waiting_room()->set_enabled(true);
  ASSERT_TRUE(room().act(kAlex, waiting_room, 1'300));
  ASSERT_TRUE(try_join(kKim, "Kim", kim_, 1'400));  // waits
  ASSERT_TRUE(room().post(kSam, "first", "sam-1", 2'000));
  auto mute = request();
  mute.mutable_set_muted()->set_member_id(sam_id);
  mute.mutable_set_muted()->set_muted(true);
  mute.mutable_set_muted()->set_duration_seconds(60);
  ASSERT_TRUE(room().act(kAlex, mute, 2'100));
  auto hand = request();
  hand.mutable_set_hand()->set_raised(true);
  hand.mutable_set_hand()->set_question("may I?");
  ASSERT_TRUE(room().act(kRiya, hand, 2'200));
  auto round = request();
  round.mutable_start_round();
  ASSERT_TRUE(room().act(kAlex, round, 2'300));
  auto support = request();
  support.mutable_request_support()->set_text("struggling tonight");
  ASSERT_TRUE(room().act(kRiya, support, 2'400));
  ASSERT_TRUE(room().leave(kAlex, LEAVE_REASON_DISCONNECTED, 2'500));  // grace runs

  Room copy(room().replica(77), limits_, nullptr);
  EXPECT_EQ(copy.replica(77).SerializeAsString(), room().replica(77).SerializeAsString());
  EXPECT_EQ(copy.last_seq(), room().last_seq());
  EXPECT_EQ(copy.next_deadline(), room().next_deadline());
  EXPECT_EQ(copy.member_count(), room().member_count());

  // The same commands from here on, to both.
  const std::vector<std::function<std::string(Room&)>> steps = {
      [](Room& r) { return describe(r.post(kSam, "muted still", "sam-2", 3'000)); },
      [](Room& r) { return describe(r.post(kSam, "first", "sam-1", 3'100)); },  // a retry
      [](Room& r) { return describe(r.post(kRiya, "my turn", "riya-1", 3'200)); },
      [&](Room& r) {
        r.tick(2'100 + 60'000);  // the mute ends
        return std::string("tick");
      },
      [&](Room& r) {
        r.tick(2'500 + limits_.facilitator_grace_seconds * 1000LL);  // facilitation moves on
        return std::string("tick");
      },
      [&](Room& r) {
        auto admit = request();
        admit.mutable_admit()->set_waiting_id(1);
        admit.mutable_admit()->set_admitted(true);
        return describe(r.act(kRiya, admit, 200'000));
      },
      [&](Room& r) {
        return describe(r.join({.connection = kAlex,
                                .display_name = "Alex",
                                .account_id = account(kAlex),
                                .is_admin = false,
                                .sink = {},
                                .join_token = 9},
                               200'100));
      },
      [&](Room& r) {
        auto lower = request();
        lower.mutable_set_hand()->set_raised(false);
        lower.mutable_set_hand()->set_member_id(alex_id);
        return describe(r.act(kSam, lower, 200'200));
      },
      [](Room& r) { return describe(r.post(kKim, "hello all", "kim-1", 200'300)); },
  };
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto original = outcome(room(), steps[i]);
    const auto copied = outcome(copy, steps[i]);
    EXPECT_EQ(copied, original) << "step " << i << " differs: " << original.front() << " / "
                                << copied.front();
  }
  EXPECT_EQ(copy.replica(99).SerializeAsString(), room().replica(99).SerializeAsString());
}

TEST_F(RoomReplicaTest, ARetryAfterTheCopyIsStillAnsweredWithTheOriginalAck) {
  join(kAlex, "Alex", alex_, 1'000);
  const auto first = room().post(kAlex, "once", "alex-1", 2'000);
  ASSERT_TRUE(first);
  Room copy(room().replica(5), limits_, nullptr);
  const auto retry = copy.post(kAlex, "once", "alex-1", 3'000);
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry.value().seq(), first.value().seq());
  EXPECT_EQ(copy.last_seq(), room().last_seq());
  EXPECT_EQ(copy.replica(5).log_position(), 5u);
}

}  // namespace
