#include <gtest/gtest.h>

#include "circle/wire.hpp"

namespace {

using circle::v1::ClientMessage;
using circle::v1::ServerMessage;

ServerMessage posted(std::uint64_t seq, const std::string& text) {
  ServerMessage message;
  auto* event = message.mutable_room_event();
  event->set_room_id("tuesday");
  event->set_seq(seq);
  event->set_server_time_unix_ms(1'700'000'000'000 + static_cast<std::int64_t>(seq));
  event->mutable_message_posted()->set_text(text);
  event->mutable_message_posted()->mutable_sender()->set_display_name("Alex");
  return message;
}

std::string concat(const circle::wire::BatchEncoder& batch) {
  std::string bytes;
  for (auto piece : batch.pieces()) bytes.append(piece);
  return bytes;
}

TEST(Wire, ClientMessageRoundTrips) {
  ClientMessage original;
  original.set_request_id(42);
  original.mutable_send_message()->set_room_id("tuesday");
  original.mutable_send_message()->set_text("héllo\nworld");
  ClientMessage decoded;
  ASSERT_TRUE(decoded.ParseFromString(original.SerializeAsString()));
  EXPECT_EQ(decoded.request_id(), 42u);
  EXPECT_EQ(decoded.send_message().text(), "héllo\nworld");
}

TEST(Wire, EncodeProducesTheSerializedMessage) {
  const ServerMessage message = posted(7, "hi");
  const circle::wire::Frame frame = circle::wire::encode(message);
  EXPECT_EQ(*frame, message.SerializeAsString());
}

TEST(Wire, BatchOfFramesIsTheSameBytesAsAServerBatch) {
  std::vector<circle::wire::Frame> frames;
  ServerMessage expected;
  for (std::uint64_t seq = 1; seq <= 5; ++seq) {
    // Different sizes, one over 127 bytes so that lengths need two varint bytes.
    const auto message = posted(seq, std::string(seq * 40, 'x'));
    frames.push_back(circle::wire::encode(message));
    *expected.mutable_batch()->add_messages() = message;
  }
  circle::wire::BatchEncoder batch;
  batch.build(frames);
  const std::string bytes = concat(batch);
  EXPECT_EQ(bytes.size(), batch.size());
  EXPECT_EQ(bytes, expected.SerializeAsString());
  std::size_t frame_bytes = 0;
  for (const auto& frame : frames) frame_bytes += frame->size();
  EXPECT_LE(batch.size(), frame_bytes + circle::wire::batch_overhead(frames.size()));
}

TEST(Wire, ForEachUnwrapsBatchesAndPassesSinglesThrough) {
  std::vector<std::uint64_t> seen;
  auto collect = [&](const ServerMessage& m) { seen.push_back(m.room_event().seq()); };

  ASSERT_TRUE(circle::wire::for_each_server_message(posted(9, "one").SerializeAsString(), collect));
  EXPECT_EQ(seen, std::vector<std::uint64_t>{9});

  seen.clear();
  std::vector<circle::wire::Frame> frames = {circle::wire::encode(posted(1, "a")),
                                             circle::wire::encode(posted(2, "b")),
                                             circle::wire::encode(posted(3, "c"))};
  circle::wire::BatchEncoder batch;
  batch.build(frames);
  ASSERT_TRUE(circle::wire::for_each_server_message(concat(batch), collect));
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{1, 2, 3}));
}

TEST(Wire, ForEachHandlesBatchesBiggerThanItsArenaBlockAndNestedCalls) {
  // 400 events of 1 KB: far past the 64 KiB block the parse starts in.
  std::vector<circle::wire::Frame> frames;
  for (std::uint64_t seq = 1; seq <= 400; ++seq) {
    frames.push_back(circle::wire::encode(posted(seq, std::string(1000, 'x'))));
  }
  circle::wire::BatchEncoder big;
  big.build(frames);
  const std::string inner_bytes = posted(7, "inner").SerializeAsString();
  std::uint64_t expected_seq = 1;
  int nested = 0;
  ASSERT_TRUE(circle::wire::for_each_server_message(concat(big), [&](const ServerMessage& m) {
    ASSERT_EQ(m.room_event().seq(), expected_seq++);
    ASSERT_EQ(m.room_event().message_posted().text().size(), 1000u);
    // A handler may parse another message while this one is in use.
    ASSERT_TRUE(circle::wire::for_each_server_message(inner_bytes, [&](const ServerMessage& i) {
      EXPECT_EQ(i.room_event().message_posted().text(), "inner");
      ++nested;
    }));
    ASSERT_EQ(m.room_event().message_posted().text(), std::string(1000, 'x'));
  }));
  EXPECT_EQ(expected_seq, 401u);
  EXPECT_EQ(nested, 400);
}

TEST(Wire, ForEachRejectsGarbage) {
  int calls = 0;
  EXPECT_FALSE(circle::wire::for_each_server_message("\xff\xff\xff\xff",
                                                     [&](const ServerMessage&) { ++calls; }));
  EXPECT_EQ(calls, 0);
}

}  // namespace
