// A room's actor on the memory backend, with persists held and finished by
// the test: what is delivered, when, and what a failed write leaves behind.
#include <gtest/gtest.h>

#include "rooms_fixture.hpp"

namespace circle::test {
namespace {

using circle::v1::ERROR_CODE_UNAVAILABLE;

// Alex created the room (so facilitates it); Alex and Sam are in it.
class RoomHostTest : public RoomsOnMemory {
 protected:
  static constexpr core::ConnectionId kAlex = 1, kSam = 2;
  void SetUp() override {
    create(kAlex, alex_);
    join(kAlex, alex_, 2);
    join(kSam, sam_, 3);
    ASSERT_TRUE(sam_->reply(3).has_join_room());
  }
};

TEST_F(RoomHostTest, NothingIsDeliveredUntilItIsDurableAndThenInTheOrderTheActionsRan) {
  backend_.hold_persists(true);
  post(kSam, sam_, 10, "first");
  post(kSam, sam_, 11, "second");
  ASSERT_EQ(backend_.held_persists(), 2u);
  EXPECT_TRUE(alex_->texts().empty());
  EXPECT_EQ(sam_->replies_to(10), 0u) << "a send is not acknowledged before it is durable";

  // The second is durable first: it still waits for the first.
  ASSERT_TRUE(backend_.finish_persist({}, 1));
  settle();
  EXPECT_TRUE(alex_->texts().empty());
  EXPECT_EQ(sam_->replies_to(11), 0u);

  ASSERT_TRUE(backend_.finish_persist());
  settle();
  EXPECT_EQ(alex_->texts(), (std::vector<std::string>{"first", "second"}));
  EXPECT_EQ(sam_->reply(10).send_message().seq() + 1, sam_->reply(11).send_message().seq());
}

TEST_F(RoomHostTest, AFailedPersistAnswersUnavailableAndShowsNobodyAnything) {
  backend_.hold_persists(true);
  post(kSam, sam_, 10, "lost");
  ASSERT_TRUE(backend_.finish_persist({.ok = false, .message = "disk full"}));
  settle();
  const auto refused = sam_->reply(10);
  ASSERT_TRUE(refused.has_error());
  EXPECT_EQ(refused.error().code(), ERROR_CODE_UNAVAILABLE);
  EXPECT_TRUE(alex_->texts().empty());
  EXPECT_TRUE(sam_->texts().empty());

  // The room forgot it: the next message takes its place, and only that is seen.
  backend_.hold_persists(false);
  post(kSam, sam_, 11, "kept");
  EXPECT_EQ(alex_->texts(), (std::vector<std::string>{"kept"}));
  EXPECT_TRUE(sam_->reply(11).has_send_message());
}

TEST_F(RoomHostTest, ARetriedSendIsAnsweredOnceWithTheOriginalAckAndShownOnce) {
  post(kSam, sam_, 10, "hello", "m-1");
  post(kSam, sam_, 11, "hello", "m-1");  // the retry of a client that lost the ack
  const auto first = sam_->reply(10).send_message();
  const auto retry = sam_->reply(11).send_message();
  EXPECT_EQ(retry.seq(), first.seq());
  EXPECT_EQ(retry.server_time_unix_ms(), first.server_time_unix_ms());
  EXPECT_EQ(alex_->texts(), (std::vector<std::string>{"hello"}));
}

TEST_F(RoomHostTest, ARetryAnsweredWhileTheOriginalWaitsFailsWithIt) {
  backend_.hold_persists(true);
  post(kSam, sam_, 10, "hello", "m-1");
  post(kSam, sam_, 11, "hello", "m-1");
  ASSERT_TRUE(backend_.finish_persist({.ok = false, .message = "disk full"}));
  while (backend_.finish_persist()) {
  }
  settle();
  EXPECT_EQ(sam_->reply(10).error().code(), ERROR_CODE_UNAVAILABLE);
  EXPECT_EQ(sam_->reply(11).error().code(), ERROR_CODE_UNAVAILABLE)
      << "a retry is never acked for a message that was not kept";
  EXPECT_TRUE(alex_->texts().empty());
}

TEST_F(RoomHostTest, AFailedStateChangeReadsTheRoomBackAndEveryoneReconnects) {
  backend_.hold_persists(true);
  lock(kAlex, alex_, 10);
  ASSERT_TRUE(rooms_.find(kRoom));
  ASSERT_TRUE(backend_.finish_persist({.ok = false, .message = "disk full"}));
  settle();
  EXPECT_EQ(alex_->reply(10).error().code(), ERROR_CODE_UNAVAILABLE);
  EXPECT_FALSE(rooms_.find(kRoom)->info_snapshot().locked()) << "read back as kept: unlocked";
  EXPECT_EQ(alex_->reconnect_reasons.size(), 1u);
  EXPECT_EQ(sam_->reconnect_reasons.size(), 1u);
}

TEST_F(RoomHostTest, AResumingMemberGetsEverythingAfterItsLastSeqFromTheJournal) {
  post(kAlex, alex_, 10, "one");
  const auto last_seen = alex_->reply(10).send_message().seq();
  post(kAlex, alex_, 11, "two");
  post(kAlex, alex_, 12, "three");
  auto back = std::make_shared<RecordingConnection>();
  join(kSam + 10, back, 13, last_seen);
  const auto joined = back->reply(13).join_room();
  ASSERT_TRUE(joined.resumed());
  std::vector<std::string> missed;
  for (const auto& event : joined.snapshot().recent_events()) {
    EXPECT_GT(event.seq(), last_seen);
    if (event.has_message_posted()) missed.push_back(event.message_posted().text());
  }
  EXPECT_EQ(missed, (std::vector<std::string>{"two", "three"}));
}

}  // namespace
}  // namespace circle::test
