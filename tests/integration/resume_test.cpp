// Resume after a dropped connection: a member's socket goes away while the
// others keep talking; joining again with the last seq it saw replays every
// missed event exactly once, in order, and live events follow with no gap.
#include <gtest/gtest.h>

#include "support/test_server.hpp"

namespace {

using namespace circle::test;
namespace client = circle::client;
using circle::v1::ServerMessage;

ServerMessage join(client::SyncClient& c, const std::string& room, std::uint64_t resume_after) {
  auto request = client::make_join_room(room);
  request.mutable_join_room()->set_resume_after_seq(resume_after);
  return call(c, request);
}

class Resume : public ::testing::Test {
 protected:
  // Alex opens the room, Sam joins and hears one message; returns the last
  // seq Sam saw before its connection is cut.
  std::uint64_t sam_drops_out() {
    alex_ = server_.sign_in("alex");
    EXPECT_TRUE(call(*alex_, client::make_create_room("group", "Group")).has_create_room());
    EXPECT_TRUE(join(*alex_, "group", 0).has_join_room());
    auto sam = server_.sign_in("sam");
    auto joined = join(*sam, "group", 0);
    EXPECT_TRUE(joined.has_join_room());
    EXPECT_TRUE(call(*alex_, client::make_send_message("group", "welcome")).has_send_message());
    auto heard = sam->wait_event(
        [](const ServerMessage& m) {
          return m.has_room_event() && m.room_event().has_message_posted();
        },
        kDeadline);
    EXPECT_TRUE(heard);
    const std::uint64_t last_seen = heard ? heard->room_event().seq() : 0;
    sam.reset();  // the connection is gone, without a goodbye
    return last_seen;
  }
  std::vector<std::uint64_t> alex_says(int count) {
    std::vector<std::uint64_t> seqs;
    for (int i = 0; i < count; ++i) {
      auto ack =
          call(*alex_, client::make_send_message("group", "while away " + std::to_string(i)));
      EXPECT_TRUE(ack.has_send_message());
      seqs.push_back(ack.send_message().seq());
    }
    return seqs;
  }

  TestServer server_{{"--max-resume-events", "30"}};
  std::unique_ptr<client::SyncClient> alex_;
};

TEST_F(Resume, EveryMissedEventExactlyOnceInOrderThenLiveEvents) {
  const std::uint64_t last_seen = sam_drops_out();
  ASSERT_GT(last_seen, 0u);
  const auto missed_seqs = alex_says(20);

  auto sam = server_.sign_in("sam");
  auto resumed = join(*sam, "group", last_seen);
  ASSERT_TRUE(resumed.has_join_room()) << resumed.DebugString();
  EXPECT_TRUE(resumed.join_room().resumed());
  const auto& snapshot = resumed.join_room().snapshot();
  std::uint64_t expected = last_seen + 1;
  std::vector<std::string> texts;
  for (const auto& event : snapshot.recent_events()) {
    EXPECT_EQ(event.seq(), expected) << "gap-free, once each";
    expected = event.seq() + 1;
    if (event.has_message_posted()) texts.push_back(event.message_posted().text());
  }
  EXPECT_EQ(expected, snapshot.last_seq() + 1);
  ASSERT_EQ(texts.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(texts[i], "while away " + std::to_string(i));

  // Live events continue right after the snapshot.
  auto ack = call(*alex_, client::make_send_message("group", "good to have you back"));
  ASSERT_TRUE(ack.has_send_message());
  auto live = sam->wait_event(
      [](const ServerMessage& m) {
        return m.has_room_event() && m.room_event().has_message_posted();
      },
      kDeadline);
  ASSERT_TRUE(live);
  EXPECT_EQ(live->room_event().seq(), snapshot.last_seq() + 1);
}

TEST_F(Resume, AGapLongerThanTheServerReplaysGetsAFreshSnapshot) {
  const std::uint64_t last_seen = sam_drops_out();
  alex_says(40);  // more than --max-resume-events 30
  auto sam = server_.sign_in("sam");
  auto joined = join(*sam, "group", last_seen);
  ASSERT_TRUE(joined.has_join_room());
  EXPECT_FALSE(joined.join_room().resumed());
  // A fresh snapshot: the recent history, ending with Sam's own join.
  const auto& snapshot = joined.join_room().snapshot();
  ASSERT_GT(snapshot.recent_events_size(), 0);
  EXPECT_EQ(snapshot.recent_events(snapshot.recent_events_size() - 1).seq(), snapshot.last_seq());
}

}  // namespace
