#include "outbound_queue.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace {

using circle::server::OutboundQueue;

circle::wire::Frame frame(std::string bytes) {
  return std::make_shared<const std::string>(std::move(bytes));
}

TEST(OutboundQueue, FramesLeaveInOrderAndBytesFollowThem) {
  OutboundQueue queue;
  EXPECT_TRUE(queue.empty());
  queue.push(frame("one"));
  queue.push(frame("three"));
  EXPECT_EQ(queue.size(), 2u);
  EXPECT_EQ(queue.bytes(), 8u);
  EXPECT_EQ(*queue.front(), "one");
  EXPECT_EQ(*queue.pop(), "one");
  EXPECT_EQ(queue.bytes(), 5u);
  EXPECT_EQ(*queue.pop(), "three");
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.bytes(), 0u);
}

TEST(OutboundQueue, ALongQueueTakenInBatchesKeepsItsOrder) {
  OutboundQueue queue;
  int next_in = 0, next_out = 0;
  // Push 3, take 2, many times over: the queue grows, its taken front is
  // dropped now and then, and nothing is lost or reordered.
  for (int round = 0; round < 500; ++round) {
    for (int i = 0; i < 3; ++i) queue.push(frame(std::to_string(next_in++)));
    for (int i = 0; i < 2; ++i) ASSERT_EQ(*queue.pop(), std::to_string(next_out++));
  }
  EXPECT_EQ(queue.size(), 500u);
  while (!queue.empty()) ASSERT_EQ(*queue.pop(), std::to_string(next_out++));
  EXPECT_EQ(next_out, next_in);
  EXPECT_EQ(queue.bytes(), 0u);
}

TEST(OutboundQueue, ClearForgetsEverything) {
  OutboundQueue queue;
  queue.push(frame("a"));
  queue.push(frame("bc"));
  queue.clear();
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.bytes(), 0u);
  queue.push(frame("d"));
  EXPECT_EQ(*queue.front(), "d");
}

}  // namespace
