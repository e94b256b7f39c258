// Several circled nodes sharing rooms through the test NATS cluster
// (--backend nats): real circled processes over TLS on 127.0.0.1, members on
// different nodes, the room log in JetStream.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "support/test_server.hpp"

namespace {

using namespace circle::test;
namespace client = circle::client;
namespace v1 = circle::v1;
using circle::client::SyncClient;
using circle::v1::ServerMessage;

std::string nats_urls() {
  const int base = std::stoi(CIRCLE_TEST_NATS_PORT);
  std::string urls;
  for (int n = 0; n < 3; ++n) {
    if (n) urls += ",";
    urls += "nats://127.0.0.1:" + std::to_string(base + n);
  }
  return urls;
}

std::vector<std::string> node_args() {
  return {"--backend", "nats", "--nats-url", nats_urls(), "--node-timeout-ms", "2000"};
}

// A room id no other test (or earlier run on this cluster) used.
std::string fresh_room() {
  static std::mt19937_64 random(std::random_device{}());
  return "shared-" + std::to_string(random() % 1'000'000'000'000);
}

bool is_post(const ServerMessage& m) {
  return m.has_room_event() && m.room_event().has_message_posted();
}

// The next `count` messages posted, as (seq, text), in the order they came.
std::vector<std::pair<std::uint64_t, std::string>> posts(SyncClient& member, std::size_t count) {
  std::vector<std::pair<std::uint64_t, std::string>> seen;
  while (seen.size() < count) {
    auto next = member.wait_event(is_post, kDeadline);
    if (!next) break;
    seen.emplace_back(next->room_event().seq(), next->room_event().message_posted().text());
  }
  return seen;
}

// Two nodes on one data directory (for the token secret they share; the
// rooms are in the cluster).
class ScaleOut : public ::testing::Test {
 protected:
  ScaleOut() : dir_(make_temp_dir()), a_(node_args(), true, dir_), b_(node_args(), true, dir_) {}
  ~ScaleOut() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::string dir_;
  TestServer a_, b_;
};

TEST_F(ScaleOut, MembersOnDifferentNodesSeeEveryMessageOnceInTheSameOrder) {
  const auto room = fresh_room();
  auto alex = a_.join("Alex", room, /*create=*/true);
  auto sam = b_.join("Sam", room);
  constexpr int kEach = 40;
  auto send_all = [&](SyncClient& member, const std::string& who) {
    for (int i = 0; i < kEach; ++i) {
      auto ack = call(member, client::make_send_message(room, who + std::to_string(i)));
      EXPECT_TRUE(ack.has_send_message()) << ack.DebugString();
    }
  };
  std::thread alex_sends([&] { send_all(*alex, "alex-"); });
  send_all(*sam, "sam-");
  alex_sends.join();

  const auto on_a = posts(*alex, 2 * kEach);
  const auto on_b = posts(*sam, 2 * kEach);
  ASSERT_EQ(on_a.size(), 2u * kEach);
  EXPECT_EQ(on_a, on_b);  // the same messages, the same seqs, the same order
  std::set<std::string> texts;
  for (std::size_t i = 0; i < on_a.size(); ++i) {
    texts.insert(on_a[i].second);
    if (i > 0) {
      EXPECT_EQ(on_a[i].first, on_a[i - 1].first + 1) << "seq must be gap-free";
    }
  }
  EXPECT_EQ(texts.size(), 2u * kEach);  // each once
}

TEST_F(ScaleOut, ABanOnOneNodeRefusesTheBannedMembersNextMessageOnTheOther) {
  const auto room = fresh_room();
  auto alex = a_.join("Alex", room, /*create=*/true);
  auto riya = b_.join("Riya", room);
  auto riya_joined = alex->wait_event(
      [](const ServerMessage& m) {
        return m.has_room_event() && m.room_event().has_member_joined() &&
               m.room_event().member_joined().member().display_name() == "Riya";
      },
      kDeadline);
  ASSERT_TRUE(riya_joined);
  auto ban = client::make_room_action(room, "harassment");
  ban.mutable_room_action()->mutable_set_banned()->set_member_id(
      riya_joined->room_event().member_joined().member().member_id());
  ban.mutable_room_action()->mutable_set_banned()->set_banned(true);
  ASSERT_TRUE(call(*alex, ban).has_room_action());

  // At once, on the other node: refused, whether or not that node has
  // delivered the ban yet (it applies the room's commands in order).
  auto refused = call(*riya, client::make_send_message(room, "you can't stop me"));
  ASSERT_TRUE(refused.has_error()) << refused.DebugString();
  EXPECT_EQ(refused.error().code(), v1::ERROR_CODE_NOT_IN_ROOM);
  ASSERT_TRUE(call(*alex, client::make_send_message(room, "marker")).has_send_message());
  auto next = alex->wait_event(is_post, kDeadline);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->room_event().message_posted().text(), "marker");
  auto rejoin = call(*riya, client::make_join_room(room));
  ASSERT_TRUE(rejoin.has_error());
  EXPECT_EQ(rejoin.error().code(), v1::ERROR_CODE_PERMISSION_DENIED);
}

TEST_F(ScaleOut, HealthSaysTheNodeIsConnectedToTheCluster) {
  const auto health =
      http_get(a_.metrics_url().substr(0, a_.metrics_url().rfind('/')) + "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_NE(health.body.find("\"nats\":\"connected\""), std::string::npos) << health.body;
}

}  // namespace
