// Room events and room state in a real 3-node NATS JetStream cluster on
// loopback (the nats_cluster ctest fixture starts it with scripts/cluster):
// order, a second writer refused, retries stored once, the stream leader
// killed under traffic without losing anything acknowledged, and room state
// written only from the revision it read.
#include "cluster/nats/jetstream_log.hpp"
#include "cluster/nats/room_replica_bucket.hpp"
#include "test_cluster.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>

namespace {

using circle::cluster::JetStreamLog;
using circle::cluster::JetStreamLogOptions;
using circle::cluster::NatsCluster;
using circle::cluster::NatsClusterOptions;
using circle::cluster::RoomReplicaBucket;
using circle::test::fresh_room;
using circle::test::run_cluster_script;
using circle::test::test_cluster_urls;
using Outcome = JetStreamLog::Outcome;
using namespace std::chrono_literals;

constexpr auto kDeadline = 30s;  // generous: a new stream leader is elected within seconds

NatsClusterOptions cluster_options() {
  NatsClusterOptions options;
  options.urls = test_cluster_urls();
  return options;
}

JetStreamLogOptions log_options() {
  return {.stream = "CIRCLE_TEST_EVENTS",
          .subject_prefix = "circle-test.room.",
          .duplicate_window = std::chrono::seconds(120)};
}

// A connection to the test cluster, the test stream, and a room of its own.
// A node a test killed is started again afterwards, even if the test failed
// halfway, so that the next test has all three.
class Cluster : public ::testing::Test {
 protected:
  // A cluster that just started may answer before its JetStream does.
  void SetUp() override {
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    std::string error;
    while (!log.ready(error) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // a retry's backoff
    }
  }
  void TearDown() override {
    if (!killed_node.empty()) run_cluster_script("restart " + killed_node);
  }
  void kill_node(const std::string& node) {
    ASSERT_EQ(run_cluster_script("kill " + node), 0);
    killed_node = node;
  }
  void restart_node() {
    ASSERT_EQ(run_cluster_script("restart " + killed_node), 0);
    killed_node.clear();
  }
  std::string killed_node;
  NatsCluster cluster{cluster_options()};
  JetStreamLog log{cluster, log_options()};
  const std::string room = fresh_room();
};

TEST_F(Cluster, AppendsInOrderAndRefusesASecondWriterOfTheSameEvent) {
  auto first = log.append(room, "one", 0);
  ASSERT_EQ(first.outcome, Outcome::kStored) << first.error;
  // Another node, still believing the room empty, is refused.
  EXPECT_EQ(log.append(room, "also one", 0).outcome, Outcome::kConflict);
  auto second = log.append(room, "two", first.sequence);
  ASSERT_EQ(second.outcome, Outcome::kStored) << second.error;
  EXPECT_GT(second.sequence, first.sequence);
  EXPECT_EQ(log.append(room, "stale", first.sequence).outcome, Outcome::kConflict);
  EXPECT_EQ(log.last_sequence(room).value, second.sequence);
  // Another room's events do not count against this one.
  EXPECT_EQ(log.append(fresh_room(), "elsewhere", 0).outcome, Outcome::kStored);
  auto read = log.read(second.sequence);
  ASSERT_TRUE(read.answered && read.value);
  EXPECT_EQ(read.value->room_id, room);
  EXPECT_EQ(read.value->data, "two");
  // A room with no events is an answer, not an outage.
  const auto none = log.last_sequence(fresh_room());
  EXPECT_TRUE(none.answered);
  EXPECT_EQ(none.value, 0u);
}

TEST_F(Cluster, ARetryWithTheSameMessageIdIsStoredOnce) {
  auto sent = log.append(room, "hello", 0, room + "/sam/m1");
  ASSERT_EQ(sent.outcome, Outcome::kStored) << sent.error;
  // The ack was lost; the retry names the same id (and the old last event).
  auto retry = log.append(room, "hello", 0, room + "/sam/m1");
  EXPECT_EQ(retry.outcome, Outcome::kDuplicate);
  EXPECT_EQ(retry.sequence, sent.sequence);
  EXPECT_EQ(log.last_sequence(room).value, sent.sequence);
}

TEST_F(Cluster, ANodeKilledUnderTrafficLosesNothingAcknowledged) {
  std::map<std::uint64_t, std::string> acked;
  std::uint64_t last = 0;
  int unavailable = 0;
  // The node that leads the stream: killing it makes the other two elect a
  // new leader while appends keep coming (scripts/cluster names nodes
  // circle-n1..3).
  const std::string leader = log.stream_leader();
  ASSERT_EQ(leader.rfind("circle-n", 0), 0u) << leader;
  const std::string node = leader.substr(8);
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  bool killed = false;
  for (int i = 0; acked.size() < 200 && std::chrono::steady_clock::now() < deadline; ++i) {
    if (acked.size() == 50 && !killed) {
      kill_node(node);
      killed = true;
    }
    const std::string data = "event " + std::to_string(i);
    auto appended = log.append(room, data, last, room + "/" + std::to_string(i));
    switch (appended.outcome) {
      case Outcome::kStored:
        acked.emplace(appended.sequence, data);
        last = appended.sequence;
        break;
      case Outcome::kConflict:
        // An append that timed out was stored after all: go on from it.
        last = log.last_sequence(room).value.value_or(last);
        break;
      case Outcome::kDuplicate:
      case Outcome::kUnavailable:
        ++unavailable;  // the cluster is choosing a new leader; try again
        break;
    }
  }
  ASSERT_TRUE(killed);
  EXPECT_EQ(acked.size(), 200u) << "service did not continue on two nodes of three";
  EXPECT_NE(log.stream_leader(), leader) << "another node leads the stream now";
  restart_node();
  for (const auto& [sequence, data] : acked) {
    // The cluster may not answer for a moment while the restarted node
    // rejoins; "no answer" is asked again, "not there" is a loss.
    auto stored = log.read(sequence);
    const auto read_deadline = std::chrono::steady_clock::now() + kDeadline;
    while (!stored.answered && std::chrono::steady_clock::now() < read_deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a retry's backoff
      stored = log.read(sequence);
    }
    ASSERT_TRUE(stored.answered) << "no answer for the event at " << sequence;
    ASSERT_TRUE(stored.value) << "acknowledged event at " << sequence << " lost";
    EXPECT_EQ(stored.value->data, data);
  }
  RecordProperty("unavailable_while_electing", unavailable);
}

TEST_F(Cluster, TheConnectionMovesToAnotherNodeWhenItsNodeIsKilled) {
  auto first = log.append(room, "before", 0);
  ASSERT_EQ(first.outcome, Outcome::kStored) << first.error;
  const std::string url = cluster.connected_url();
  const std::string port = url.substr(url.rfind(':') + 1);
  const int node = std::stoi(port) - std::stoi(CIRCLE_TEST_NATS_PORT) + 1;
  ASSERT_TRUE(node >= 1 && node <= 3) << url;
  kill_node(std::to_string(node));
  // Appends fail while the link is away (nothing acknowledged), then go on
  // through another node.
  std::uint64_t last = first.sequence;
  bool stored = false;
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (!stored && std::chrono::steady_clock::now() < deadline) {
    auto appended = log.append(room, "after", last, room + "/after");
    stored = appended.outcome == Outcome::kStored || appended.outcome == Outcome::kDuplicate;
    if (appended.outcome == Outcome::kConflict) {
      last = log.last_sequence(room).value.value_or(last);
    }
  }
  EXPECT_TRUE(stored) << "no append got through another node";
  EXPECT_TRUE(cluster.connected());
  EXPECT_NE(cluster.connected_url(), url);
  restart_node();
}

TEST_F(Cluster, ARoomStateWriteFromAStaleRevisionIsRefused) {
  RoomReplicaBucket bucket(cluster, "circle_test_rooms");
  const auto nothing = bucket.get(room);
  EXPECT_TRUE(nothing.answered);
  EXPECT_FALSE(nothing.value);
  auto created = bucket.put(room, "settings v1", 0);
  ASSERT_EQ(created.outcome, RoomReplicaBucket::Outcome::kWritten) << created.error;
  // A second node creating the same room loses.
  EXPECT_EQ(bucket.put(room, "someone else's", 0).outcome, RoomReplicaBucket::Outcome::kConflict);
  auto updated = bucket.put(room, "settings v2 (a ban)", created.revision);
  ASSERT_EQ(updated.outcome, RoomReplicaBucket::Outcome::kWritten) << updated.error;
  // A node that read v1 and writes again is refused, and reads what is there.
  auto stale = bucket.put(room, "settings v1 + a mute", created.revision);
  EXPECT_EQ(stale.outcome, RoomReplicaBucket::Outcome::kConflict);
  auto now = bucket.get(room);
  ASSERT_TRUE(now.answered && now.value);
  EXPECT_EQ(now.value->value, "settings v2 (a ban)");
  EXPECT_EQ(now.value->revision, updated.revision);
}

}  // namespace

namespace {

// Erasing a room's entries (the log before a room's copy) while a follower
// of the whole log is behind: the follower still gets every entry of every
// other room. (A purge by subject would not do: nats-server before 2.10.11
// moves every consumer of the stream past it.)
TEST(RoomLogErase, ErasingOneRoomSkipsNothingOfAnotherRoomForAFollowerBehind) {
  NatsCluster cluster(cluster_options());
  const std::string id = fresh_room().substr(5, 10);
  JetStreamLog log(cluster, {.stream = "CIRCLE_TEST_ERASE_" + id,
                             .subject_prefix = "circle-erase-" + id + ".room.",
                             .duplicate_window = std::chrono::seconds(120)});
  std::string error;
  const auto ready_by = std::chrono::steady_clock::now() + kDeadline;
  while (!log.ready(error) && std::chrono::steady_clock::now() < ready_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // a retry's backoff
  }
  ASSERT_TRUE(log.ready(error)) << error;

  // Two rooms' entries, interleaved: enough bytes that the server holds
  // most of them back while the follower does not take them.
  constexpr int kEach = 2000;
  const std::string padding(1024, '.');
  std::atomic<int> failed{0};
  for (int i = 0; i < kEach; ++i) {
    for (const char* room : {"kept", "erased"}) {
      log.append_async(room, JetStreamLog::Topic::kEvents, std::to_string(i) + padding,
                       std::nullopt, {}, [&failed](const JetStreamLog::Appended& appended) {
                         if (appended.outcome != Outcome::kStored) ++failed;
                       });
    }
  }
  log.flush();
  ASSERT_EQ(failed, 0);
  const auto last = log.stream_last_sequence();
  ASSERT_TRUE(last.answered && last.value);

  // The follower stops at its first entry until the erasing is done.
  std::mutex mutex;
  std::condition_variable changed;
  bool first_seen = false, released = false;
  int kept_seen = 0;
  std::uint64_t kept_last = 0;
  bool kept_in_order = true;
  std::string follow_error;
  ASSERT_TRUE(log.follow(
      [&](const JetStreamLog::Entry& entry) {
        std::unique_lock lock(mutex);
        if (!first_seen) {
          first_seen = true;
          changed.notify_all();
          changed.wait(lock, [&] { return released; });
        }
        if (entry.room_id == "kept") {
          kept_in_order &= entry.sequence > kept_last;
          kept_last = entry.sequence;
          ++kept_seen;
          changed.notify_all();
        }
      },
      follow_error))
      << follow_error;
  // Released however the test ends, before the log stops following.
  struct Release {
    std::mutex& mutex;
    std::condition_variable& changed;
    bool& released;
    ~Release() {
      std::lock_guard lock(mutex);
      released = true;
      changed.notify_all();
    }
  } release{mutex, changed, released};
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(changed.wait_for(lock, kDeadline, [&] { return first_seen; }));
  }
  ASSERT_TRUE(log.purge_room("erased", *last.value, error)) << error;
  const auto left = log.last_sequence("erased");
  ASSERT_TRUE(left.answered);
  EXPECT_EQ(left.value, 0u) << "entries of the erased room are left";
  {
    std::lock_guard lock(mutex);
    released = true;
    changed.notify_all();
  }
  std::unique_lock lock(mutex);
  EXPECT_TRUE(changed.wait_for(lock, kDeadline, [&] { return kept_seen == kEach; }))
      << "the follower got " << kept_seen << " of " << kEach << " entries of the other room";
  EXPECT_TRUE(kept_in_order);
  lock.unlock();
  log.stop_following();
  cluster.delete_stream("CIRCLE_TEST_ERASE_" + id);
}

}  // namespace
