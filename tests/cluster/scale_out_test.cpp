// Several circled nodes sharing rooms through the test NATS cluster
// (--backend nats): real circled processes over TLS on 127.0.0.1, members on
// different nodes, the room log in JetStream.
#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "cluster/nats/jetstream_log.hpp"
#include "cluster/nats/room_replica_bucket.hpp"
#include "support/haproxy_balancer.hpp"
#include "support/load_run.hpp"
#include "support/recording_member.hpp"
#include "support/tcp_proxy.hpp"
#include "support/test_server.hpp"
#include "test_cluster.hpp"

namespace {

using namespace circle::test;
namespace v1 = circle::v1;
using circle::client::SyncClient;

// A namespace of its own for each test's nodes (a stream and subjects of
// their own in the shared test cluster), so that a node starting reads only
// its own test's room log.
std::string fresh_namespace() {
  return "t" + fresh_room().substr(5, 12);
}

std::vector<std::string> node_args(const std::string& ns) {
  std::string urls;
  for (const auto& url : test_cluster_urls()) urls += (urls.empty() ? "" : ",") + url;
  // Rooms are copied every second and the log before a copy deleted soon
  // after, so that every test here also runs with the log being cut short.
  return {"--backend",
          "nats",
          "--nats-url",
          urls,
          "--nats-namespace",
          ns,
          "--node-timeout-ms",
          "3000",
          "--room-copy-seconds",
          "1",
          "--room-log-purge-delay-seconds",
          "5"};
}

circle::cluster::NatsClusterOptions test_cluster_options() {
  return {.urls = test_cluster_urls(),
          .wait = std::chrono::milliseconds(5000),
          .replicas = 3,
          .ping_interval = std::chrono::milliseconds(2000)};
}

// Whether `done()` comes true within `within`, asked every `every`: for
// what happens inside the cluster, where there is no event to wait on.
bool poll_until(const std::function<bool()>& done, std::chrono::milliseconds every,
                std::chrono::steady_clock::duration within) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(every);  // a poll
  }
  return false;
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
  ScaleOut()
      : dir_(make_temp_dir()),
        namespace_(fresh_namespace()),
        a_(node_args(namespace_), true, dir_),
        b_(node_args(namespace_), true, dir_) {}
  ~ScaleOut() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  // A NATS node a test killed is started again, even if the test failed;
  // the test's room log is deleted (each is a replicated group the cluster
  // would otherwise keep electing leaders for).
  void TearDown() override {
    // The nodes first: none must see its room log vanish while it runs.
    a_.stop();
    b_.stop();
    if (!killed_nats_node_.empty()) run_cluster_script("restart " + killed_nats_node_);
    // Clean-up, not what the test checks: a cluster too busy to answer in
    // time keeps the stream (each test's has a name of its own).
    circle::cluster::NatsCluster cluster(test_cluster_options());
    for (const auto& ns : namespaces_) {
      for (const auto& stream :
           {stream_name(ns), "KV_" + replica_bucket(ns),
            circle::cluster::JetStreamLogOptions::audit_for_namespace(ns).stream}) {
        if (!cluster.wait_connected(kDeadline) || !cluster.delete_stream(stream)) {
          std::cerr << "note: the test's stream " << stream << " was not deleted\n";
        }
      }
    }
  }
  // As circled names them from --nats-namespace.
  static std::string stream_name(const std::string& ns) {
    return circle::cluster::JetStreamLogOptions::for_namespace(ns).stream;
  }
  static std::string replica_bucket(const std::string& ns) {
    return circle::cluster::RoomReplicaBucket::name_for_namespace(ns);
  }
  // Nodes of their own for one test (cleaned up in TearDown).
  std::string another_namespace() { return namespaces_.emplace_back(fresh_namespace()); }

  std::string dir_;
  std::string namespace_;
  std::vector<std::string> namespaces_{namespace_};
  TestServer a_, b_;
  std::string killed_nats_node_;
};

// Sends numbered messages to `room`, each once the previous one is answered,
// until stopped; remembers which were acknowledged (the others were refused
// with a typed error, as while a node's cluster link moves).
class Talker {
 public:
  Talker(SyncClient& member, std::string room, std::string prefix)
      : member_(member), room_(std::move(room)), prefix_(std::move(prefix)) {
    thread_ = std::thread([this] { run(); });
  }
  ~Talker() { stop(); }
  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Waits until `count` more messages were acknowledged than when asked.
  bool wait_acked(std::size_t more) {
    std::unique_lock lock(mutex_);
    const std::size_t target = acked_.size() + more;
    return changed_.wait_for(lock, kDeadline * 3, [&] { return acked_.size() >= target; });
  }
  std::vector<std::string> acked() {
    std::lock_guard lock(mutex_);
    return acked_;
  }
  std::map<v1::ErrorCode, int> refusals() {
    std::lock_guard lock(mutex_);
    return refusals_;
  }

 private:
  void run() {
    for (int i = 0; !stopping_ && i < 5000; ++i) {
      const std::string text = prefix_ + std::to_string(i);
      auto reply = member_.call(client::make_send_message(room_, text), kDeadline * 3);
      std::lock_guard lock(mutex_);
      if (reply && reply->has_send_message()) {
        acked_.push_back(text);
      } else if (reply && reply->has_error()) {
        ++refusals_[reply->error().code()];
      }
      changed_.notify_all();
    }
  }
  SyncClient& member_;
  const std::string room_, prefix_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> acked_;
  std::map<v1::ErrorCode, int> refusals_;
  std::thread thread_;
};

// Once both stopped talking: everything either acknowledged reached both
// exactly once, and each saw the room's events gap-free, in the same order.
void expect_every_ack_seen_once_by_both(const std::string& room, Member& alex, Member& sam,
                                        Talker& alex_talks, Talker& sam_talks) {
  ASSERT_TRUE(call(alex.client(), client::make_send_message(room, "the end")).has_send_message());
  ASSERT_TRUE(alex.wait_texts({"the end"}));
  ASSERT_TRUE(sam.wait_texts({"the end"}));
  alex.expect_every_event_once_in_order();
  sam.expect_every_event_once_in_order();
  for (auto* member : {&alex, &sam}) {
    std::map<std::string, int> counts;
    for (const auto& text : member->texts()) ++counts[text];
    for (auto* talker : {&alex_talks, &sam_talks}) {
      for (const auto& text : talker->acked()) {
        const auto found = counts.find(text);
        ASSERT_NE(found, counts.end()) << "acknowledged but lost: " << text;
        EXPECT_EQ(found->second, 1) << "posted twice: " << text;
      }
    }
  }
  EXPECT_EQ(alex.texts(), sam.texts());
}

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

// What `circled audit --backend nats` prints for `room`, line by line.
std::vector<std::string> nats_audit(const std::string& ns, const std::string& room) {
  std::string urls;
  for (const auto& url : test_cluster_urls()) urls += (urls.empty() ? "" : ",") + url;
  ChildProcess audit({circled_path(), "audit", "--room", room, "--backend", "nats", "--nats-url",
                      urls, "--nats-namespace", ns},
                     {});
  std::istringstream output(audit.read_all(kDeadline));
  EXPECT_EQ(audit.wait_exit(kDeadline), 0);
  std::vector<std::string> lines;
  for (std::string line; std::getline(output, line);) lines.push_back(line);
  return lines;
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

  // The ban is in the service's moderation audit log once, though both
  // nodes applied it; `circled audit` reads it from the cluster.
  poll_until([&] { return !nats_audit(namespace_, room).empty(); }, std::chrono::milliseconds(200),
             kDeadline);
  const auto lines = nats_audit(namespace_, room);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("\"action\":\"ban\""), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"reason\":\"harassment\""), std::string::npos) << lines[0];
  EXPECT_EQ(lines[0].find("Riya"), std::string::npos) << "no display names in the audit log";
}

std::vector<std::string> chat_argv(const TestServer& node, const std::string& name,
                                   const std::string& room) {
  return {circle_path(), "chat", "--server", node.url(), "--ca",    test_cert_dir() + "/ca.crt",
          "--name",      name,   "--room",   room,       "--token", node.token("acct-" + name)};
}

TEST_F(ScaleOut, TwoChatTerminalsOnDifferentNodesTalkTogether) {
  const auto room = fresh_room();
  // Both start at once: one creates the room, the other joins it, whichever
  // node each reached.
  ChildProcess alex(chat_argv(a_, "Alex", room), {.pipe_stdin = true});
  ChildProcess sam(chat_argv(b_, "Sam", room), {.pipe_stdin = true});
  ASSERT_TRUE(alex.wait_for_line("You joined", kDeadline)) << alex.transcript();
  ASSERT_TRUE(sam.wait_for_line("You joined", kDeadline)) << sam.transcript();

  alex.write_stdin("welcome, Sam\n");
  ASSERT_TRUE(sam.wait_for_line("Alex: welcome, Sam", kDeadline)) << sam.transcript();
  sam.write_stdin("thanks, glad to be here\n");
  ASSERT_TRUE(alex.wait_for_line("Sam: thanks, glad to be here", kDeadline)) << alex.transcript();
  alex.write_stdin("/who\n");
  ASSERT_TRUE(alex.wait_for_line("in " + room + ":", kDeadline)) << alex.transcript();
  EXPECT_NE(alex.transcript().find("Sam"), std::string::npos);

  sam.write_stdin("/quit\n");
  EXPECT_EQ(sam.wait_exit(kDeadline), 0);
  ASSERT_TRUE(alex.wait_for_line("* Sam left", kDeadline)) << alex.transcript();
  alex.write_stdin("/quit\n");
  EXPECT_EQ(alex.wait_exit(kDeadline), 0);
}

TEST_F(ScaleOut, TheLoadGeneratorSpreadsEachRoomOverBothNodesAndLosesNothing) {
  const auto figures =
      run_load(a_.url() + "," + b_.url(), dir_ + "/token-secret",
               {"--room-prefix", fresh_room(), "-n", "40", "-k", "10", "-r", "10", "-d", "2"});
  EXPECT_EQ(figures["joined"], 40);
  EXPECT_GT(figures["acked"].get<int>(), 0);
  EXPECT_EQ(figures["delivered"], figures["expected_deliveries"]);
  EXPECT_EQ(figures["lost"], 0);
  EXPECT_EQ(figures["duplicated"], 0);
  // Each node served half of the connections.
  for (const auto* node : {&a_, &b_}) {
    const auto metrics = http_get(node->metrics_url()).body;
    EXPECT_GE(metric_sample(metrics, "circle_requests_total"), 20 * 3) << metrics;
  }
}

TEST_F(ScaleOut, HealthSaysTheNodeIsConnectedToTheCluster) {
  const auto health =
      http_get(a_.metrics_url().substr(0, a_.metrics_url().rfind('/')) + "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_NE(health.body.find("\"nats\":\"connected\""), std::string::npos) << health.body;
  EXPECT_NE(health.body.find("\"room_log\":\"following\""), std::string::npos) << health.body;
  EXPECT_NE(health.body.find("\"room_limits\":\"same\""), std::string::npos) << health.body;
  // The same for Prometheus (docs/monitoring's CircleNodeCutOffFromNats).
  const auto metrics = http_get(a_.metrics_url()).body;
  EXPECT_EQ(metric_sample(metrics, "circle_nats_connected"), 1) << metrics;
  EXPECT_EQ(metric_sample(metrics, "circle_room_log_following"), 1) << metrics;
}

TEST_F(ScaleOut, ANodeKilledUnderTrafficLosesNothingAndItsClientsResumeOnTheOther) {
  const auto room = fresh_room();
  auto alex_creates = a_.sign_in("alex");
  ASSERT_TRUE(call(*alex_creates, client::make_create_room(room, "Group")).has_create_room());
  Member alex(a_, "alex");
  alex.join(room);
  // Sam reaches node B through a load balancer, which takes B out when it stops.
  TcpProxy balancer(b_.address().port);
  auto via_balancer = b_.address();
  via_balancer.port = balancer.port();
  Member sam(b_, "sam", via_balancer);
  sam.join(room);

  Talker alex_talks(alex.client(), room, "alex ");
  Talker sam_talks(sam.client(), room, "sam ");
  ASSERT_TRUE(alex_talks.wait_acked(20));
  ASSERT_TRUE(sam_talks.wait_acked(20));

  balancer.retarget(a_.address().port);
  const auto statuses_before = sam.status_count();
  b_.process().signal(SIGKILL);
  ASSERT_TRUE(b_.process().wait_exit(kDeadline));
  ASSERT_TRUE(sam.wait_status(State::kReconnecting, statuses_before));
  ASSERT_TRUE(sam.wait_status(State::kOnline, statuses_before));
  // Both go on talking on node A.
  ASSERT_TRUE(sam_talks.wait_acked(20));
  ASSERT_TRUE(alex_talks.wait_acked(20));
  alex_talks.stop();
  sam_talks.stop();

  expect_every_ack_seen_once_by_both(room, alex, sam, alex_talks, sam_talks);
  // Sam came back by resuming (the missed events replayed), not by a fresh snapshot.
  const auto rejoins = sam.rejoins();
  ASSERT_FALSE(rejoins.empty());
  ASSERT_TRUE(rejoins.back().has_join_room()) << rejoins.back().DebugString();
  EXPECT_TRUE(rejoins.back().join_room().resumed());
  // Sam's new connection joined as the member Sam already was (one account,
  // one member), so the room saw no one leave. Node B's connection is taken
  // out once B is not heard from: when Sam leaves on node A, Sam is gone
  // (had B's connection stayed, Sam would still be a member through it).
  ASSERT_TRUE(call(sam.client(), client::make_leave_room(room)).has_leave_room());
  EXPECT_TRUE(alex.wait_event([](const RoomEvent& e) {
    return e.has_member_left() && e.member_left().member().display_name() == "sam";
  }));
}

// The port of `server`'s metrics listener (its /healthz), from its URL.
std::string health_port(const TestServer& server) {
  const auto& url = server.metrics_url();  // http://127.0.0.1:PORT/metrics
  const auto colon = url.rfind(':');
  return url.substr(colon + 1, url.rfind('/') - colon - 1);
}

double sessions_on(const TestServer& server) {
  return metric_sample(http_get(server.metrics_url()).body, "circle_sessions");
}

TEST_F(ScaleOut, ThroughHaproxyAClientWhoseNodeIsKilledResumesOnAnotherAtTheSameAddress) {
  HaproxyBalancer balancer(
      {{a_.address().port, health_port(a_)}, {b_.address().port, health_port(b_)}});
  auto one_address = a_.address();
  one_address.port = balancer.port();
  const auto room = fresh_room();
  // Each member signs in through the one address; which node it got is
  // read from the nodes' session counts around its connect.
  const auto connect = [&](const std::string& account) {
    const double on_a = sessions_on(a_);
    auto member = std::make_unique<Member>(a_, account, one_address);
    return std::make_pair(std::move(member), sessions_on(a_) > on_a ? &a_ : &b_);
  };
  auto [alex, alex_node] = connect("alex");
  ASSERT_TRUE(call(alex->client(), client::make_create_room(room, "Group")).has_create_room());
  alex->join(room);
  auto [sam, sam_node] = connect("sam");
  sam->join(room);
  Talker alex_talks(alex->client(), room, "alex ");
  Talker sam_talks(sam->client(), room, "sam ");
  ASSERT_TRUE(alex_talks.wait_acked(20));
  ASSERT_TRUE(sam_talks.wait_acked(20));

  // Sam's node dies (and Alex's too, when HAProxy put both on one node).
  const auto sam_statuses = sam->status_count();
  const auto alex_statuses = alex->status_count();
  sam_node->process().signal(SIGKILL);
  ASSERT_TRUE(sam_node->process().wait_exit(kDeadline));
  ASSERT_TRUE(sam->wait_status(State::kReconnecting, sam_statuses));
  ASSERT_TRUE(sam->wait_status(State::kOnline, sam_statuses));
  if (alex_node == sam_node) {
    ASSERT_TRUE(alex->wait_status(State::kOnline, alex_statuses));
  }
  ASSERT_TRUE(sam_talks.wait_acked(20));
  ASSERT_TRUE(alex_talks.wait_acked(20));
  alex_talks.stop();
  sam_talks.stop();
  // Nothing acknowledged lost: each member saw every acknowledged message once.
  expect_every_ack_seen_once_by_both(room, *alex, *sam, alex_talks, sam_talks);
  const auto rejoins = sam->rejoins();
  ASSERT_FALSE(rejoins.empty());
  ASSERT_TRUE(rejoins.back().has_join_room()) << rejoins.back().DebugString();
  EXPECT_TRUE(rejoins.back().join_room().resumed());
}

TEST_F(ScaleOut, SanctionsFollowTheAccountToTheOtherNode) {
  const auto room = fresh_room();
  auto alex = a_.sign_in("alex");
  ASSERT_TRUE(call(*alex, client::make_create_room(room, "Group")).has_create_room());
  ASSERT_TRUE(call(*alex, client::make_join_room(room)).has_join_room());
  auto sam_on_a = a_.sign_in("sam");
  auto joined = call(*sam_on_a, client::make_join_room(room));
  ASSERT_TRUE(joined.has_join_room());
  const auto sam_id = joined.join_room().snapshot().your_member_id();
  auto mute = client::make_room_action(room);
  mute.mutable_room_action()->mutable_set_muted()->set_member_id(sam_id);
  mute.mutable_room_action()->mutable_set_muted()->set_muted(true);
  ASSERT_TRUE(call(*alex, mute).has_room_action());
  auto lock = client::make_room_action(room);
  lock.mutable_room_action()->mutable_set_locked()->set_locked(true);
  ASSERT_TRUE(call(*alex, lock).has_room_action());

  // Sam's phone, on node B, is the same member, muted too.
  auto sam_on_b = b_.sign_in("sam");
  auto on_b = call(*sam_on_b, client::make_join_room(room));
  ASSERT_TRUE(on_b.has_join_room()) << on_b.DebugString();
  EXPECT_EQ(on_b.join_room().snapshot().your_member_id(), sam_id);
  EXPECT_TRUE(own_member(on_b.join_room().snapshot()).muted());

  // Sam leaves everywhere, then comes back on node B: still muted, and let
  // into the locked room as a member who just left.
  ASSERT_TRUE(call(*sam_on_b, client::make_leave_room(room)).has_leave_room());
  ASSERT_TRUE(call(*sam_on_a, client::make_leave_room(room)).has_leave_room());
  auto back = call(*sam_on_b, client::make_join_room(room));
  ASSERT_TRUE(back.has_join_room()) << back.DebugString();
  EXPECT_TRUE(own_member(back.join_room().snapshot()).muted());
  auto refused = call(*sam_on_b, client::make_send_message(room, "on the other node"));
  ASSERT_TRUE(refused.has_error()) << refused.DebugString();
  EXPECT_EQ(refused.error().code(), v1::ERROR_CODE_PERMISSION_DENIED);

  auto kim = b_.sign_in("kim");
  auto kim_joins = call(*kim, client::make_join_room(room));
  ASSERT_TRUE(kim_joins.has_error()) << kim_joins.DebugString();
  EXPECT_EQ(kim_joins.error().message(), "join: the room is locked");
}

TEST_F(ScaleOut, ACallForHelpReachesAnOperatorOnANodeThatDoesNotHoldTheRoom) {
  const auto room = fresh_room();
  auto alex = a_.sign_in("alex");
  ASSERT_TRUE(call(*alex, client::make_create_room(room, "Group")).has_create_room());
  auto sam = a_.sign_in("sam");
  ASSERT_TRUE(call(*sam, client::make_join_room(room)).has_join_room());
  // The operator is on node B, in no room: B does not apply this room.
  auto ops = b_.connect();
  ASSERT_TRUE(
      call(*ops, client::make_hello("", "ops", b_.token("ops", "Ops", true))).has_welcome());

  auto help = client::make_room_action(room);
  help.mutable_room_action()->mutable_request_support()->set_text("not safe");
  auto asked = call(*sam, help);
  ASSERT_TRUE(asked.has_room_action()) << asked.DebugString();
  EXPECT_EQ(asked.room_action().support().facilitators_present(), 0u);
  auto told = ops->wait_event(
      [](const v1::ServerMessage& m) {
        return m.has_private_event() && m.private_event().has_support_escalated();
      },
      kDeadline);
  ASSERT_TRUE(told) << "the operator on the other node hears of it";
  EXPECT_EQ(told->private_event().room_id(), room);
  EXPECT_EQ(told->private_event().support_escalated().alert().alert_id(),
            asked.room_action().alert_id());
  EXPECT_EQ(told->private_event().support_escalated().reason(),
            v1::ESCALATION_REASON_NO_FACILITATOR);

  // Answering it from B: B starts applying the room, and the event it reads
  // there is not shown to the operator a second time.
  ASSERT_TRUE(call(*ops, client::make_join_room(room)).has_join_room());
  auto ack = client::make_room_action(room);
  ack.mutable_room_action()->mutable_acknowledge_support()->set_alert_id(
      asked.room_action().alert_id());
  ASSERT_TRUE(call(*ops, ack).has_room_action());
  EXPECT_TRUE(sam->wait_event(
      [](const v1::ServerMessage& m) {
        return m.has_private_event() && m.private_event().has_your_alert_acknowledged();
      },
      kDeadline));
  EXPECT_FALSE(ops->wait_event(
      [](const v1::ServerMessage& m) {
        return m.has_private_event() && m.private_event().has_support_escalated();
      },
      std::chrono::milliseconds(0)))
      << "once";
}

TEST_F(ScaleOut, APauseAReportAndAnIgnoreHoldOnTheOtherNode) {
  const auto room = fresh_room();
  auto alex = a_.sign_in("alex");
  ASSERT_TRUE(call(*alex, client::make_create_room(room, "Group")).has_create_room());
  ASSERT_TRUE(call(*alex, client::make_join_room(room)).has_join_room());
  auto riya = a_.sign_in("riya");
  const auto riya_id =
      call(*riya, client::make_join_room(room)).join_room().snapshot().your_member_id();
  auto posted = call(*riya, client::make_send_message(room, "on node A"));
  ASSERT_TRUE(posted.has_send_message());
  auto sam = b_.sign_in("sam");
  ASSERT_TRUE(call(*sam, client::make_join_room(room)).has_join_room());

  // Sam, on node B, ignores Riya and reports her message.
  auto ignore = client::make_room_action(room);
  ignore.mutable_room_action()->mutable_set_ignored()->set_member_id(riya_id);
  ignore.mutable_room_action()->mutable_set_ignored()->set_ignored(true);
  ASSERT_TRUE(call(*sam, ignore).has_room_action());
  auto report = client::make_room_action(room, "unkind");
  report.mutable_room_action()->mutable_report_message()->set_seq(posted.send_message().seq());
  ASSERT_TRUE(call(*sam, report).has_room_action());
  ASSERT_TRUE(alex->wait_event(
      [](const v1::ServerMessage& m) {
        return m.has_private_event() && m.private_event().has_message_reported();
      },
      kDeadline))
      << "the facilitator on node A gets the report";

  // The facilitator on node A pauses: Sam on node B cannot post.
  auto pause = client::make_room_action(room);
  pause.mutable_room_action()->mutable_set_paused()->set_paused(true);
  ASSERT_TRUE(call(*alex, pause).has_room_action());
  auto refused = call(*sam, client::make_send_message(room, "on node B"));
  ASSERT_TRUE(refused.has_error()) << refused.DebugString();
  EXPECT_EQ(refused.error().code(), v1::ERROR_CODE_PERMISSION_DENIED);

  // Sam's second device, on node A, hides Riya too and sees the report is open
  // only through the facilitator: Sam's snapshot has no reports.
  auto sam_on_a = a_.sign_in("sam");
  auto joined = call(*sam_on_a, client::make_join_room(room));
  ASSERT_TRUE(joined.has_join_room());
  ASSERT_EQ(joined.join_room().snapshot().ignored_member_ids_size(), 1);
  EXPECT_EQ(joined.join_room().snapshot().ignored_member_ids(0), riya_id);
  EXPECT_EQ(joined.join_room().snapshot().open_reports_size(), 0);
  EXPECT_TRUE(joined.join_room().snapshot().settings().paused());
}

TEST_F(ScaleOut, ANatsServerKilledUnderTrafficLosesNothingAcknowledged) {
  const auto room = fresh_room();
  auto alex_creates = a_.sign_in("alex");
  ASSERT_TRUE(call(*alex_creates, client::make_create_room(room, "Group")).has_create_room());
  Member alex(a_, "alex");
  alex.join(room);
  Member sam(b_, "sam");
  sam.join(room);
  Talker alex_talks(alex.client(), room, "alex ");
  Talker sam_talks(sam.client(), room, "sam ");
  ASSERT_TRUE(alex_talks.wait_acked(20));
  ASSERT_TRUE(sam_talks.wait_acked(20));

  // The node that leads the room log: the hardest one to lose.
  circle::cluster::NatsCluster cluster(test_cluster_options());
  circle::cluster::JetStreamLog log(
      cluster, circle::cluster::JetStreamLogOptions::for_namespace(namespace_));
  const std::string leader = log.stream_leader();
  ASSERT_EQ(leader.rfind("circle-n", 0), 0u) << leader;
  killed_nats_node_ = leader.substr(8);
  ASSERT_EQ(run_cluster_script("kill " + killed_nats_node_), 0);

  // Service goes on: both are acknowledged again after the loss.
  ASSERT_TRUE(alex_talks.wait_acked(30));
  ASSERT_TRUE(sam_talks.wait_acked(30));
  alex_talks.stop();
  sam_talks.stop();
  for (auto* talker : {&alex_talks, &sam_talks}) {
    for (const auto& [code, count] : talker->refusals()) {
      EXPECT_EQ(code, v1::ERROR_CODE_UNAVAILABLE) << count << " refused otherwise";
      RecordProperty("refused_unavailable", count);
    }
  }

  expect_every_ack_seen_once_by_both(room, alex, sam, alex_talks, sam_talks);
}

}  // namespace

namespace {

// Whether any entry the room log holds now, or the rooms' copies, contain
// `text`; nullopt when the cluster did not answer.
std::optional<bool> cluster_keeps(const std::string& ns, const std::string& room,
                                  const std::string& text) {
  circle::cluster::NatsCluster cluster(test_cluster_options());
  if (!cluster.wait_connected(kDeadline)) return std::nullopt;
  circle::cluster::JetStreamLog log(cluster,
                                    circle::cluster::JetStreamLogOptions::for_namespace(ns));
  const auto last = log.stream_last_sequence();
  if (!last.answered) return std::nullopt;
  for (std::uint64_t sequence = 1; sequence <= last.value.value_or(0); ++sequence) {
    const auto entry = log.read(sequence);
    if (!entry.answered) return std::nullopt;
    if (entry.value && entry.value->data.find(text) != std::string::npos) return true;
  }
  circle::cluster::RoomReplicaBucket copies(
      cluster, circle::cluster::RoomReplicaBucket::name_for_namespace(ns));
  const auto copy = copies.get(room);
  if (!copy.answered) return std::nullopt;
  return copy.value && copy.value->value.find(text) != std::string::npos;
}

// Whether `text` has left the cluster within a minute (polled: deletion
// happens inside the cluster, with nothing to wait on).
bool wait_until_cluster_forgets(const std::string& ns, const std::string& room,
                                const std::string& text) {
  return poll_until([&] { return cluster_keeps(ns, room, text) == false; },
                    std::chrono::milliseconds(500), std::chrono::seconds(60));
}

// Whether every event of `room` has left the room log within a minute
// (its creation stays).
bool wait_until_room_log_is_deleted(const std::string& ns, const std::string& room) {
  circle::cluster::NatsCluster cluster(test_cluster_options());
  if (!cluster.wait_connected(kDeadline)) return false;
  circle::cluster::JetStreamLog log(cluster,
                                    circle::cluster::JetStreamLogOptions::for_namespace(ns));
  return poll_until(
      [&] {
        const auto last = log.last_sequence(room);
        return last.answered && last.value == 0u;
      },
      std::chrono::milliseconds(500), std::chrono::seconds(60));
}

}  // namespace

TEST_F(ScaleOut, ARedactedMessageLeavesTheRoomLogAndANewNodeGoesOnFromTheRoomsCopy) {
  const auto room = fresh_room();
  const std::string secret = "my address is 12 Elm St";
  auto alex = a_.join("Alex", room, /*create=*/true);
  auto sam = b_.join("Sam", room);
  const auto said = call(*sam, client::make_send_message(room, secret));
  ASSERT_TRUE(said.has_send_message()) << said.DebugString();
  ASSERT_TRUE(call(*sam, client::make_send_message(room, "sorry, too much")).has_send_message());
  ASSERT_EQ(cluster_keeps(namespace_, room, secret), true);  // what the check sees works

  auto redact = client::make_room_action(room, "personal details");
  redact.mutable_room_action()->mutable_redact_message()->set_seq(said.send_message().seq());
  ASSERT_TRUE(call(*alex, redact).has_room_action());
  ASSERT_TRUE(
      call(*sam, client::make_send_message(room, "after the redaction")).has_send_message());
  // More than a snapshot's recent events (50): a resume from before the
  // redaction needs the frames the room kept for it.
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(
        call(*sam, client::make_send_message(room, "and " + std::to_string(i))).has_send_message());
  }

  // Copied at once after the redaction, and the log before the copy is
  // deleted after the purge delay (5 s here): the text is nowhere in the
  // cluster any more.
  ASSERT_TRUE(wait_until_cluster_forgets(namespace_, room, secret))
      << "the redacted text is still in the room log or the room's copy";
  // And the rest of the room's log, up to its newest entry, so that the
  // node below starts from the copy alone, after the log's last entry.
  ASSERT_TRUE(wait_until_room_log_is_deleted(namespace_, room));

  // A node started now goes on from the room's copy: its member sees the
  // room as the others do, without the redacted text, and the room's seqs
  // go on as on the other nodes.
  TestServer c(node_args(namespace_), true, dir_);
  // A client resuming there from before the redaction gets every event
  // since, as from a node that never stopped, the redacted one without its
  // text (the copy carries the frames a resume needs).
  auto robin = c.hello("Robin");
  auto resume = client::make_join_room(room);
  resume.mutable_join_room()->set_resume_after_seq(said.send_message().seq() - 1);
  const auto resumed = call(*robin, resume);
  ASSERT_TRUE(resumed.has_join_room()) << resumed.DebugString();
  EXPECT_TRUE(resumed.join_room().resumed());
  const auto& missed = resumed.join_room().snapshot().recent_events();
  EXPECT_GT(missed.size(), 60);
  std::uint64_t expected_seq = said.send_message().seq();
  bool redaction_shown = false;
  for (const auto& event : missed) {
    EXPECT_EQ(event.seq(), expected_seq++);
    EXPECT_EQ(event.DebugString().find("12 Elm St"), std::string::npos);
    redaction_shown |= event.has_message_redacted();
  }
  EXPECT_TRUE(redaction_shown);
  auto kim = c.hello("Kim");
  const auto joined = call(*kim, client::make_join_room(room));
  ASSERT_TRUE(joined.has_join_room()) << joined.DebugString();
  for (const auto& event : joined.join_room().snapshot().recent_events()) {
    EXPECT_EQ(event.DebugString().find("12 Elm St"), std::string::npos);
  }
  ASSERT_TRUE(call(*alex, client::make_send_message(room, "welcome, Kim")).has_send_message());
  auto welcome = kim->wait_event(is_post, kDeadline);
  ASSERT_TRUE(welcome);
  EXPECT_EQ(welcome->room_event().message_posted().text(), "welcome, Kim");
  const auto kims = call(*kim, client::make_send_message(room, "hello from the new node"));
  ASSERT_TRUE(kims.has_send_message()) << kims.DebugString();
  for (auto* member : {alex.get(), sam.get()}) {
    const auto seen = member->wait_event(
        [](const ServerMessage& m) {
          return is_post(m) && m.room_event().message_posted().text() == "hello from the new node";
        },
        kDeadline);
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->room_event().seq(), kims.send_message().seq());
  }
  EXPECT_EQ(welcome->room_event().seq() + 1, kims.send_message().seq());
}

TEST_F(ScaleOut, AnEphemeralRoomsMessagesLeaveTheRoomLogOnceTheReconnectWindowIsOver) {
  // A node of its own, keeping an ephemeral room's messages for a second.
  const auto ns = another_namespace();
  auto args = node_args(ns);
  args.insert(args.end(), {"--reconnect-window-seconds", "1"});
  TestServer node(args, true, dir_);
  const auto room = fresh_room();
  const std::string said = "only for tonight";
  auto alex = node.join("Alex", room, /*create=*/true);
  ASSERT_TRUE(call(*alex, client::make_send_message(room, said)).has_send_message());
  ASSERT_EQ(cluster_keeps(ns, room, said), true);

  // Nobody speaks again: the room expires the message by itself (at most
  // Room::kHistoryExpiryStepMs late), is copied, and its log is deleted.
  EXPECT_TRUE(wait_until_cluster_forgets(ns, room, said))
      << "an expired message is still in the room log or the room's copy";
  // The room itself goes on.
  ASSERT_TRUE(call(*alex, client::make_send_message(room, "still here")).has_send_message());
}

namespace {

// How many rooms `node` applies, as its /healthz says (-1: no answer).
int rooms_applied(const TestServer& node) {
  const auto url = node.metrics_url();
  const auto health = http_get(url.substr(0, url.rfind('/')) + "/healthz");
  const auto json = nlohmann::json::parse(health.body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.contains("rooms_applied")) return -1;
  return json["rooms_applied"].get<int>();
}

bool wait_rooms_applied(const TestServer& node, int count) {
  return poll_until([&] { return rooms_applied(node) == count; }, std::chrono::milliseconds(200),
                    std::chrono::seconds(30));
}

// The room's entry in `member`'s list of rooms.
std::optional<v1::RoomInfo> listed(SyncClient& member, const std::string& room) {
  const auto reply = call(member, client::make_list_rooms());
  for (const auto& info : reply.list_rooms().rooms()) {
    if (info.room_id() == room) return info;
  }
  return std::nullopt;
}

}  // namespace

TEST_F(ScaleOut, ANodeAppliesOnlyTheRoomsItHasMembersIn) {
  // Nodes of their own, leaving a room a second after their last member.
  const auto ns = another_namespace();
  auto args = node_args(ns);
  args.insert(args.end(), {"--room-dormant-seconds", "1"});
  TestServer a(args, true, dir_);
  TestServer b(args, true, dir_);
  const auto room = fresh_room();
  auto alex = a.join("Alex", room, /*create=*/true);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(call(*alex, client::make_send_message(room, "before " + std::to_string(i)))
                    .has_send_message());
  }
  // Node B has no members in the room: it does not apply it, and lists it
  // as node A says.
  ASSERT_TRUE(wait_rooms_applied(a, 1));
  EXPECT_EQ(rooms_applied(b), 0);
  auto kim = b.hello("Kim");
  EXPECT_TRUE(poll_until(
      [&] {
        const auto info = listed(*kim, room);
        return info && info->member_count() == 1;
      },
      std::chrono::milliseconds(200), std::chrono::seconds(10)));

  // A member joining on B: B goes on from the room's copy and the log after
  // it, and its member sees what the others see.
  auto sam = b.join("Sam", room);
  EXPECT_EQ(rooms_applied(b), 1);
  const auto hello = call(*alex, client::make_send_message(room, "hello Sam"));
  ASSERT_TRUE(hello.has_send_message());
  auto seen = sam->wait_event(is_post, kDeadline);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->room_event().message_posted().text(), "hello Sam");
  EXPECT_EQ(seen->room_event().seq(), hello.send_message().seq());
  const auto sams = call(*sam, client::make_send_message(room, "hi from B"));
  ASSERT_TRUE(sams.has_send_message()) << sams.DebugString();
  EXPECT_EQ(sams.send_message().seq(), hello.send_message().seq() + 1);

  // Sam's connection drops: B leaves the room to A, and A goes on alone.
  const std::uint64_t sam_saw = sams.send_message().seq();
  sam.reset();
  ASSERT_TRUE(wait_rooms_applied(b, 0)) << "node B still applies a room it has no members in";

  // A join on B while the room is dormant there, and a message right
  // behind it on the same connection: both wait while B goes on from the
  // room's copy, and reach the log in the order they were sent.
  auto kim_joins = kim->call_async(client::make_join_room(room));
  auto kim_says = kim->call_async(client::make_send_message(room, "hi, I'm Kim"));
  const auto kim_joined = kim_joins.get();
  const auto kim_said = kim_says.get();
  ASSERT_TRUE(kim_joined.has_join_room()) << kim_joined.DebugString();
  ASSERT_TRUE(kim_said.has_send_message()) << kim_said.DebugString();
  auto alex_hears_kim = alex->wait_event(
      [](const ServerMessage& m) {
        return is_post(m) && m.room_event().message_posted().text() == "hi, I'm Kim";
      },
      kDeadline);
  ASSERT_TRUE(alex_hears_kim);
  EXPECT_EQ(alex_hears_kim->room_event().seq(), kim_said.send_message().seq());
  kim.reset();
  ASSERT_TRUE(wait_rooms_applied(b, 0));
  std::vector<std::uint64_t> missed{kim_said.send_message().seq()};
  for (int i = 0; i < 3; ++i) {
    const auto said =
        call(*alex, client::make_send_message(room, "while Sam was away " + std::to_string(i)));
    ASSERT_TRUE(said.has_send_message());
    missed.push_back(said.send_message().seq());
  }
  // Sam comes back to B and resumes: every event since, in order (its own
  // leave included), and the room goes on with the same seqs on both nodes.
  auto sam_again = b.hello("Sam");
  auto resume = client::make_join_room(room);
  resume.mutable_join_room()->set_resume_after_seq(sam_saw);
  const auto resumed = call(*sam_again, resume);
  ASSERT_TRUE(resumed.has_join_room()) << resumed.DebugString();
  EXPECT_TRUE(resumed.join_room().resumed());
  std::uint64_t expected_seq = sam_saw + 1;
  std::vector<std::uint64_t> posted;
  for (const auto& event : resumed.join_room().snapshot().recent_events()) {
    EXPECT_EQ(event.seq(), expected_seq++);
    if (event.has_message_posted()) posted.push_back(event.seq());
  }
  EXPECT_EQ(posted, missed);
  const auto back = call(*sam_again, client::make_send_message(room, "back on B"));
  ASSERT_TRUE(back.has_send_message());
  auto alex_sees = alex->wait_event(
      [](const ServerMessage& m) {
        return is_post(m) && m.room_event().message_posted().text() == "back on B";
      },
      kDeadline);
  ASSERT_TRUE(alex_sees);
  EXPECT_EQ(alex_sees->room_event().seq(), back.send_message().seq());
}

TEST_F(ScaleOut, AnEmptyEphemeralRoomsMessagesLeaveTheRoomLogOnceTheReconnectWindowIsOver) {
  // Nobody applies the room once its last member has gone; its expiring
  // history is still due, so the node that writes copies takes it back for
  // long enough to expire it.
  const auto ns = another_namespace();
  auto args = node_args(ns);
  args.insert(args.end(), {"--reconnect-window-seconds", "1", "--room-dormant-seconds", "1"});
  TestServer node(args, true, dir_);
  const auto room = fresh_room();
  const std::string said = "only for tonight, then we all left";
  auto alex = node.join("Alex", room, /*create=*/true);
  ASSERT_TRUE(call(*alex, client::make_send_message(room, said)).has_send_message());
  alex.reset();
  ASSERT_TRUE(wait_rooms_applied(node, 0));
  EXPECT_TRUE(wait_until_cluster_forgets(ns, room, said))
      << "an expired message of a room nobody is in is still in the room log or its copy";
  auto sam = node.join("Sam", room);
  ASSERT_TRUE(call(*sam, client::make_send_message(room, "anyone?")).has_send_message());
}
