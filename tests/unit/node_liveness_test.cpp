#include "cluster/node_liveness.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace {

using circle::server::format_heartbeat;
using circle::server::Heartbeat;
using circle::server::NodeLiveness;
using circle::server::parse_heartbeat;
using namespace std::chrono_literals;

constexpr std::uint64_t kSelf = 2;
constexpr auto kTimeout = 5000ms;
constexpr auto kBeat = 1000ms;
const std::string kFingerprint = "00000000000000aa";

// A fake clock: time only moves when a test says so.
struct FakeClock {
  NodeLiveness::Clock::time_point now{std::chrono::hours(1)};
  void advance(std::chrono::milliseconds by) { now += by; }
};

std::string heartbeat(std::uint64_t prefix, std::uint64_t position = 0, bool caught_up = false,
                      const std::string& fingerprint = kFingerprint) {
  return format_heartbeat(
      {.prefix = prefix, .fingerprint = fingerprint, .position = position, .caught_up = caught_up});
}

std::string rooms_of(std::uint64_t prefix, const std::vector<std::string>& room_ids) {
  circle::v1::NodeRooms rooms;
  rooms.set_node_prefix(prefix);
  for (const auto& room_id : room_ids) {
    auto& info = *rooms.add_applied();
    info.set_room_id(room_id);
    info.set_member_count(static_cast<std::uint32_t>(prefix));
  }
  return rooms.SerializeAsString();
}

struct NodeLivenessTest : ::testing::Test {
  FakeClock clock;
  NodeLiveness liveness{kSelf, kFingerprint, kTimeout, kBeat};
};

TEST_F(NodeLivenessTest, ANodeHeardIsAliveUntilTheTimeoutPassesAndAgainAfterAHeartbeat) {
  EXPECT_FALSE(liveness.alive(7, clock.now)) << "never heard";
  ASSERT_TRUE(liveness.hear(heartbeat(7), clock.now));
  EXPECT_TRUE(liveness.alive(7, clock.now));
  clock.advance(kTimeout - 1ms);
  EXPECT_TRUE(liveness.alive(7, clock.now)) << "just inside the timeout";
  EXPECT_TRUE(liveness.gone({7}, clock.now).empty());
  clock.advance(1ms);
  EXPECT_FALSE(liveness.alive(7, clock.now)) << "a whole timeout without a heartbeat";
  EXPECT_EQ(liveness.gone({7}, clock.now), std::vector<std::uint64_t>{7});
  EXPECT_FALSE(liveness.alive_nodes(clock.now).contains(7));
  ASSERT_TRUE(liveness.hear(heartbeat(7), clock.now));
  EXPECT_TRUE(liveness.alive(7, clock.now)) << "back after a heartbeat";
  EXPECT_TRUE(liveness.gone({7}, clock.now).empty());
  EXPECT_TRUE(liveness.alive_nodes(clock.now).contains(7));
}

TEST_F(NodeLivenessTest, ThisNodeIsNeverAmongTheGone) {
  liveness.hear(heartbeat(5), clock.now);
  clock.advance(kTimeout * 2);
  EXPECT_EQ(liveness.gone({kSelf, 5, 9}, clock.now), (std::vector<std::uint64_t>{5, 9}));
}

TEST_F(NodeLivenessTest, NodesAreJudgedOnlyAfterAWholeTimeoutOfLinkAndWithOwnHeartbeatsBack) {
  const std::uint64_t link = 1;
  EXPECT_FALSE(liveness.may_judge(true, link, clock.now)) << "a new link: the count starts";
  liveness.hear(heartbeat(kSelf), clock.now);
  clock.advance(kTimeout - 1ms);
  liveness.hear(heartbeat(kSelf), clock.now);
  EXPECT_FALSE(liveness.may_judge(true, link, clock.now)) << "not a whole timeout yet";
  clock.advance(1ms);
  EXPECT_TRUE(liveness.may_judge(true, link, clock.now));

  // Own heartbeats no longer come back: the link does not carry them.
  clock.advance(3 * kBeat + 1ms);
  EXPECT_FALSE(liveness.may_judge(true, link, clock.now));
  liveness.hear(heartbeat(kSelf), clock.now);
  EXPECT_TRUE(liveness.may_judge(true, link, clock.now));

  // Down, or down and up again in between: counting starts again.
  EXPECT_FALSE(liveness.may_judge(false, link, clock.now));
  clock.advance(kTimeout);
  liveness.hear(heartbeat(kSelf), clock.now);
  EXPECT_FALSE(liveness.may_judge(true, link + 1, clock.now)) << "another link";
  clock.advance(kTimeout - 1ms);
  liveness.hear(heartbeat(kSelf), clock.now);
  EXPECT_FALSE(liveness.may_judge(true, link + 1, clock.now));
  clock.advance(1ms);
  EXPECT_TRUE(liveness.may_judge(true, link + 1, clock.now));
}

TEST_F(NodeLivenessTest, NotJudgedBeforeOwnHeartbeatWasEverHeard) {
  EXPECT_FALSE(liveness.may_judge(true, 1, clock.now));
  clock.advance(kTimeout * 2);
  EXPECT_FALSE(liveness.may_judge(true, 1, clock.now)) << "own heartbeat never came back";
  liveness.hear(heartbeat(kSelf), clock.now);
  EXPECT_TRUE(liveness.may_judge(true, 1, clock.now));
}

TEST_F(NodeLivenessTest, TheLowestCaughtUpAliveNodeWritesCopies) {
  EXPECT_FALSE(liveness.lowest_caught_up(false, clock.now)) << "this node has not read back";
  EXPECT_TRUE(liveness.lowest_caught_up(true, clock.now)) << "nobody else heard";
  liveness.hear(heartbeat(9, 10, true), clock.now);
  EXPECT_TRUE(liveness.lowest_caught_up(true, clock.now)) << "a higher node does not count";
  liveness.hear(heartbeat(1, 10, false), clock.now);
  EXPECT_TRUE(liveness.lowest_caught_up(true, clock.now)) << "a lower one still reading back";
  liveness.hear(heartbeat(1, 10, true), clock.now);
  EXPECT_FALSE(liveness.lowest_caught_up(true, clock.now)) << "a lower one caught up";

  // Of a room: only lower nodes that apply it count.
  const std::string room = "room-a";
  EXPECT_TRUE(liveness.lowest_caught_up(true, clock.now, &room));
  liveness.hear_rooms(rooms_of(1, {room}));
  EXPECT_FALSE(liveness.lowest_caught_up(true, clock.now, &room));

  clock.advance(kTimeout);
  EXPECT_TRUE(liveness.lowest_caught_up(true, clock.now)) << "the lower one is gone";
  EXPECT_TRUE(liveness.lowest_caught_up(true, clock.now, &room));
}

TEST_F(NodeLivenessTest, PurgesWaitForTheNodeFurthestBehind) {
  EXPECT_EQ(liveness.read_by_everyone(clock.now, 10s), 0u) << "nobody heard";
  liveness.hear(heartbeat(kSelf, 40, true), clock.now);
  liveness.hear(heartbeat(3, 25, true), clock.now);
  liveness.hear(heartbeat(4, 30, true), clock.now);
  EXPECT_EQ(liveness.read_by_everyone(clock.now, 10s), 25u);
  clock.advance(6s);
  liveness.hear(heartbeat(kSelf, 41, true), clock.now);
  liveness.hear(heartbeat(4, 31, true), clock.now);
  EXPECT_EQ(liveness.read_by_everyone(clock.now, 10s), 25u) << "node 3 still counted";
  clock.advance(4s);
  EXPECT_EQ(liveness.read_by_everyone(clock.now, 10s), 31u) << "node 3 silent for too long";
  liveness.hear("5 " + kFingerprint, clock.now);  // an earlier version: position unknown
  EXPECT_EQ(liveness.read_by_everyone(clock.now, 10s), 0u);
}

TEST_F(NodeLivenessTest, RoomsAppliedByLiveNodesWithTheInfoTheyShow) {
  liveness.hear(heartbeat(kSelf), clock.now);
  liveness.hear(heartbeat(3), clock.now);
  ASSERT_TRUE(liveness.hear_rooms(rooms_of(kSelf, {"mine"})));
  ASSERT_TRUE(liveness.hear_rooms(rooms_of(3, {"theirs"})));
  ASSERT_TRUE(liveness.hear_rooms(rooms_of(8, {"unheard"})));  // no heartbeat from 8
  const auto others = liveness.rooms_applied(clock.now, /*others=*/true);
  ASSERT_EQ(others.size(), 1u);
  EXPECT_EQ(others.at("theirs").member_count(), 3u);
  const auto all = liveness.rooms_applied(clock.now, /*others=*/false);
  EXPECT_EQ(all.size(), 2u);
  EXPECT_TRUE(all.contains("mine"));
  clock.advance(kTimeout);
  EXPECT_TRUE(liveness.rooms_applied(clock.now, false).empty()) << "every node gone";
  EXPECT_FALSE(liveness.hear_rooms("\xff\xff not a NodeRooms"));
}

TEST_F(NodeLivenessTest, AHeartbeatWithOtherRoomLimitsIsFlagged) {
  liveness.hear(heartbeat(3), clock.now);
  EXPECT_FALSE(liveness.limits_differ());
  liveness.hear(heartbeat(4, 0, false, "00000000000000bb"), clock.now);
  EXPECT_TRUE(liveness.limits_differ());
  EXPECT_TRUE(liveness.alive(4, clock.now)) << "heard all the same";
}

TEST_F(NodeLivenessTest, BadHeartbeatsAreIgnored) {
  for (const std::string& bad : std::vector<std::string>{
           "", "7", "x " + kFingerprint, "7 " + kFingerprint + " -1", "7 " + kFingerprint + " 3 2",
           "7 " + kFingerprint + " 3 1 extra", "7  3", "7 " + kFingerprint + " 3x",
           "99999999999999999999 " + kFingerprint}) {
    EXPECT_FALSE(liveness.hear(bad, clock.now)) << "'" << bad << "'";
  }
  EXPECT_FALSE(liveness.alive(7, clock.now));
  EXPECT_TRUE(liveness.alive_nodes(clock.now).empty());
  EXPECT_FALSE(liveness.limits_differ());
}

TEST(Heartbeat, ReadsWhatItWritesAndWhatEarlierVersionsSend) {
  const auto heard = parse_heartbeat(
      format_heartbeat({.prefix = 12, .fingerprint = "ab", .position = 345, .caught_up = true}));
  ASSERT_TRUE(heard);
  EXPECT_EQ(heard->prefix, 12u);
  EXPECT_EQ(heard->fingerprint, "ab");
  EXPECT_EQ(heard->position, 345u);
  EXPECT_TRUE(heard->caught_up);
  EXPECT_EQ(format_heartbeat({.prefix = 1, .fingerprint = "f", .position = 2, .caught_up = false}),
            "1 f 2 0");

  const auto older = parse_heartbeat("12 ab");
  ASSERT_TRUE(older);
  EXPECT_EQ(older->position, 0u);
  EXPECT_FALSE(older->caught_up);
  const auto three = parse_heartbeat("12 ab 9");
  ASSERT_TRUE(three);
  EXPECT_EQ(three->position, 9u);
  EXPECT_FALSE(three->caught_up);
}

TEST(Heartbeat, ThisNodeSaysItsPrefixFingerprintPositionAndWhetherCaughtUp) {
  const NodeLiveness liveness{kSelf, kFingerprint, kTimeout, kBeat};
  EXPECT_EQ(liveness.heartbeat(17, true), "2 " + kFingerprint + " 17 1");
  EXPECT_EQ(liveness.heartbeat(0, false), "2 " + kFingerprint + " 0 0");
}

}  // namespace
