// The client library comes back by itself: a member's socket is cut (or the
// server is killed and started again) while the others keep talking; the
// library reconnects with backoff, re-joins with the last seq it saw, and
// the member ends up with every event of the room exactly once, in order.
// Messages typed while offline go out after the resume, each exactly once.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>

#include "support/recording_member.hpp"
#include "support/test_server.hpp"

namespace {

using namespace circle::test;
namespace client = circle::client;
using circle::v1::RoomEvent;
using circle::v1::ServerMessage;
using State = client::LinkStatus::State;

std::vector<std::string> numbered(const std::string& prefix, int from, int to) {
  std::vector<std::string> texts;
  for (int i = from; i < to; ++i) texts.push_back(prefix + std::to_string(i));
  return texts;
}

void say_all(client::SyncClient& c, const std::vector<std::string>& texts) {
  for (const auto& text : texts) {
    ASSERT_TRUE(call(c, client::make_send_message("group", text)).has_send_message()) << text;
  }
}

std::vector<std::string> concat(std::initializer_list<std::vector<std::string>> parts) {
  std::vector<std::string> all;
  for (const auto& part : parts) all.insert(all.end(), part.begin(), part.end());
  return all;
}

// `all` with the texts of `part` taken out, in order.
std::vector<std::string> without(std::vector<std::string> all,
                                 const std::vector<std::string>& part) {
  std::erase_if(
      all, [&](const std::string& text) { return std::ranges::find(part, text) != part.end(); });
  return all;
}

// `account` signs in, creates the room "group" and joins it.
std::unique_ptr<client::SyncClient> opens_group(const TestServer& server,
                                                const std::string& account) {
  auto facilitator = server.sign_in(account);
  EXPECT_TRUE(call(*facilitator, client::make_create_room("group", "Group")).has_create_room());
  EXPECT_TRUE(call(*facilitator, client::make_join_room("group")).has_join_room());
  return facilitator;
}

TEST(Reconnect, ACutConnectionResumesWithEveryEventOnceAndSendsWhatWasTypedOffline) {
  TestServer server;
  auto alex = opens_group(server, "alex");
  Member sam(server, "sam");
  sam.join("group");

  const auto before = numbered("before ", 0, 5);
  say_all(*alex, before);
  ASSERT_TRUE(sam.wait_texts(before));

  sam.client().drop();  // the socket goes away under the client
  ASSERT_TRUE(sam.wait_status(State::kReconnecting));
  // Typed while offline: queued, and answered once the link is back.
  std::vector<std::future<ServerMessage>> offline_acks;
  const auto offline = numbered("typed offline ", 0, 3);
  for (const auto& text : offline) {
    offline_acks.push_back(sam.client().call_async(client::make_send_message("group", text)));
  }
  // The others keep talking meanwhile.
  const auto away = numbered("while away ", 0, 20);
  say_all(*alex, away);

  ASSERT_TRUE(sam.wait_status(State::kOnline));
  for (auto& ack : offline_acks) {
    ASSERT_EQ(ack.wait_for(kDeadline), std::future_status::ready);
    const auto reply = ack.get();
    EXPECT_TRUE(reply.has_send_message()) << reply.DebugString();
  }
  const auto after = numbered("after ", 0, 5);
  say_all(*alex, after);

  // Sam's offline messages may land among Alex's "while away" ones (the
  // client is back as soon as it resumes, maybe before Alex is done): each
  // part keeps its own order, and every message is there once.
  ASSERT_TRUE(sam.wait_texts(concat({before, away, after})));
  ASSERT_TRUE(sam.wait_texts(concat({before, offline, after})));
  sam.expect_every_event_once_in_order();
  const auto texts = sam.texts();
  EXPECT_EQ(texts.size(), before.size() + away.size() + offline.size() + after.size());
  EXPECT_EQ(without(texts, offline), concat({before, away, after}));
  EXPECT_EQ(without(texts, away), concat({before, offline, after}));
  ASSERT_EQ(sam.rejoins().size(), 1u);
  EXPECT_TRUE(sam.rejoins()[0].join_room().resumed());
}

TEST(Reconnect, AMessageWhoseAckWasLostInTheDropIsPostedOnce) {
  TestServer server;
  auto alex = opens_group(server, "alex");
  Member sam(server, "sam");
  sam.join("group");

  // Each message goes out and the socket is cut straight after: the server
  // may have stored it (the ack is lost) or never seen it. Either way the
  // library sends it again after the resume with the same client_message_id.
  std::vector<std::string> sent;
  for (int round = 0; round < 5; ++round) {
    const std::string text = "said just before a drop " + std::to_string(round);
    sent.push_back(text);
    const std::size_t statuses = sam.status_count();
    auto ack = sam.client().call_async(client::make_send_message("group", text));
    sam.client().drop();
    ASSERT_TRUE(sam.wait_status(State::kOnline, statuses)) << "round " << round;
    ASSERT_EQ(ack.wait_for(kDeadline), std::future_status::ready);
    const auto reply = ack.get();
    ASSERT_TRUE(reply.has_send_message()) << reply.DebugString();
  }
  ASSERT_TRUE(sam.wait_texts(sent));
  sam.expect_every_event_once_in_order();
  EXPECT_EQ(sam.texts(), sent);

  // The others saw each exactly once too.
  auto fresh = server.sign_in("observer");
  auto snapshot = call(*fresh, client::make_join_room("group")).join_room().snapshot();
  std::vector<std::string> posted;
  for (const auto& e : snapshot.recent_events()) {
    if (e.has_message_posted()) posted.push_back(e.message_posted().text());
  }
  EXPECT_EQ(posted, sent);
}

TEST(Reconnect, TheServerKilledAndStartedAgainIsRejoinedWithNothingLost) {
  const std::string dir = make_temp_dir();
  auto server = std::make_unique<TestServer>(std::vector<std::string>{}, true, dir);
  const std::string port = server->address().port;
  auto alex = opens_group(*server, "alex");
  Member sam(*server, "sam");
  sam.join("group");
  const auto before = numbered("before ", 0, 5);
  say_all(*alex, before);
  ASSERT_TRUE(sam.wait_texts(before));

  server->process().signal(SIGKILL);
  ASSERT_TRUE(server->process().wait_exit(kDeadline));
  ASSERT_TRUE(sam.wait_status(State::kReconnecting));
  server.reset();
  server = std::make_unique<TestServer>(std::vector<std::string>{"--port", port}, true, dir);

  ASSERT_TRUE(sam.wait_status(State::kOnline));
  alex = server->sign_in("alex");
  ASSERT_TRUE(call(*alex, client::make_join_room("group")).has_join_room());
  const auto after = numbered("after the restart ", 0, 5);
  say_all(*alex, after);
  ASSERT_TRUE(sam.wait_texts(concat({before, after})));
  sam.expect_every_event_once_in_order();
  EXPECT_EQ(sam.texts(), concat({before, after}));
  ASSERT_FALSE(sam.rejoins().empty());
  EXPECT_TRUE(sam.rejoins().back().join_room().resumed()) << sam.rejoins().back().DebugString();
  server.reset();
  std::filesystem::remove_all(dir);
}

TEST(Reconnect, ARoomThatTakesJoinsSlowlyAfterARestartGetsEveryoneBack) {
  const std::string dir = make_temp_dir();
  auto server = std::make_unique<TestServer>(std::vector<std::string>{}, true, dir);
  const std::string port = server->address().port;
  auto alex = opens_group(*server, "alex");
  std::vector<std::unique_ptr<Member>> members;
  for (const char* account : {"sam", "riya", "kim"}) {
    members.push_back(std::make_unique<Member>(*server, account));
    members.back()->join("group");
  }
  server->process().signal(SIGKILL);
  ASSERT_TRUE(server->process().wait_exit(kDeadline));
  for (auto& member : members) ASSERT_TRUE(member->wait_status(State::kReconnecting));
  server.reset();
  // One join at once, then one a second: the three come back together and two
  // are turned away for now.
  server = std::make_unique<TestServer>(
      std::vector<std::string>{"--port", port, "--room-joins-per-second", "1", "--room-join-burst",
                               "1"},
      true, dir);
  for (auto& member : members) ASSERT_TRUE(member->wait_status(State::kOnline));
  alex = server->sign_in("alex");
  ASSERT_TRUE(call(*alex, client::make_join_room("group")).has_join_room());
  const std::vector<std::string> hello{"good to have you all back"};
  say_all(*alex, hello);
  for (auto& member : members) {
    EXPECT_TRUE(member->wait_texts(hello));
    ASSERT_FALSE(member->rejoins().empty());
    EXPECT_TRUE(member->rejoins().back().has_join_room()) << member->rejoins().back().DebugString();
  }
  // Some were turned away on the way, and asked again.
  EXPECT_GT(metric_sample(http_get(server->metrics_url()).body,
                          "circle_errors_total{code=\"ERROR_CODE_RATE_LIMITED\"}"),
            0);
  server.reset();
  std::filesystem::remove_all(dir);
}

TEST(Reconnect, AnAccountWhoseConnectionsAreAllTakenTriesAgainUntilOneIsFree) {
  TestServer server({"--max-connections-per-account", "1"});
  auto alex = opens_group(server, "alex");
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<client::LinkStatus> statuses;
  // Slow to come back, so that the laptop below signs in first.
  client::SyncClient phone(server.client_tls(), {.enabled = true,
                                                 .initial_delay = std::chrono::milliseconds(1500),
                                                 .max_delay = std::chrono::milliseconds(1500),
                                                 .max_attempts = 0,
                                                 .max_refused_retries = 10});
  phone.set_status_callback([&](const client::LinkStatus& status) {
    std::lock_guard lock(mutex);
    statuses.push_back(status);
    changed.notify_all();
  });
  const auto wait_for = [&](auto&& seen) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, kDeadline, [&] { return std::ranges::any_of(statuses, seen); });
  };
  ASSERT_FALSE(phone.connect(server.address()));
  ASSERT_TRUE(
      call(phone, client::make_hello("", "phone", server.token("sam", "Sam"))).has_welcome());
  ASSERT_TRUE(call(phone, client::make_join_room("group")).has_join_room());

  phone.drop();
  // The laptop takes Sam's one place as soon as the server has let the
  // phone's old connection go.
  std::unique_ptr<client::SyncClient> laptop;
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (!laptop && std::chrono::steady_clock::now() < deadline) {
    auto c = server.connect();
    if (call(*c, client::make_hello("", "laptop", server.token("sam", "Sam"))).has_welcome()) {
      laptop = std::move(c);
    }
  }
  ASSERT_TRUE(laptop);
  // The phone is turned away for now, and keeps trying.
  ASSERT_TRUE(wait_for([](const client::LinkStatus& s) {
    return s.state == State::kReconnecting && s.reason.find("hello refused") != std::string::npos;
  }));
  laptop->close(1000, "bye");
  ASSERT_TRUE(laptop->wait_closed(kDeadline));
  ASSERT_TRUE(wait_for([](const client::LinkStatus& s) { return s.state == State::kOnline; }));
  auto ack = call(phone, client::make_send_message("group", "back on my phone"));
  EXPECT_TRUE(ack.has_send_message()) << ack.DebugString();
}

TEST(Reconnect, AQueueBiggerThanTheRequestBurstIsPacedAndNoneIsRefused) {
  // 20 requests at once, then 40 a second; Sam types 30 while offline.
  TestServer server({"--request-burst", "20", "--requests-per-second", "40"});
  auto alex = opens_group(server, "alex");
  Member sam(server, "sam");
  sam.join("group");
  sam.client().drop();
  ASSERT_TRUE(sam.wait_status(State::kReconnecting));
  std::vector<std::future<ServerMessage>> acks;
  const auto offline = numbered("typed offline ", 0, 30);
  for (const auto& text : offline) {
    acks.push_back(sam.client().call_async(client::make_send_message("group", text)));
  }
  ASSERT_TRUE(sam.wait_status(State::kOnline));
  std::uint64_t previous = 0;
  for (auto& ack : acks) {
    ASSERT_EQ(ack.wait_for(kDeadline), std::future_status::ready);
    const auto reply = ack.get();
    ASSERT_TRUE(reply.has_send_message()) << reply.DebugString();
    EXPECT_GT(reply.send_message().seq(), previous) << "in the order typed";
    previous = reply.send_message().seq();
  }
  ASSERT_TRUE(sam.wait_texts(offline));
}

TEST(Reconnect, AJoinWaitingToBeAdmittedIsAskedAgainAfterADrop) {
  TestServer server;
  auto alex = opens_group(server, "alex");
  auto waiting_room = client::make_room_action("group", "");
  waiting_room.mutable_room_action()->mutable_set_waiting_room()->set_enabled(true);
  ASSERT_TRUE(call(*alex, waiting_room).has_room_action());
  Member sam(server, "sam");
  sam.join("group");  // into the waiting room
  auto waiting = [&](int size) {
    return alex->wait_event(
        [size](const ServerMessage& m) {
          return m.has_private_event() && m.private_event().has_waiting_room() &&
                 m.private_event().waiting_room().waiting_size() == size;
        },
        kDeadline);
  };
  ASSERT_TRUE(waiting(1));

  // The drop takes Sam out of the waiting room; the library asks again.
  sam.client().drop();
  ASSERT_TRUE(waiting(0));
  ASSERT_TRUE(sam.wait_status(State::kOnline));
  ASSERT_EQ(sam.rejoins().size(), 1u);
  EXPECT_TRUE(sam.rejoins()[0].join_room().waiting()) << sam.rejoins()[0].DebugString();
  auto again = waiting(1);
  ASSERT_TRUE(again);

  auto admit = client::make_room_action("group", "");
  admit.mutable_room_action()->mutable_admit()->set_waiting_id(
      again->private_event().waiting_room().waiting(0).waiting_id());
  admit.mutable_room_action()->mutable_admit()->set_admitted(true);
  ASSERT_TRUE(call(*alex, admit).has_room_action());
  const std::vector<std::string> welcome{"welcome, Sam"};
  say_all(*alex, welcome);
  ASSERT_TRUE(sam.wait_texts(welcome));
}

TEST(Reconnect, ARefusalIsFinalAndQueuedMessagesFailRatherThanWaitForever) {
  TestServer server({"--token-leeway-seconds", "0"});  // the session ends at exp itself
  client::SyncClient sam(server.client_tls(), kQuickReconnect);
  ASSERT_FALSE(sam.connect(server.address()));
  // A token that expires in a second: the server ends the session then, and
  // a reconnect would be refused, so the library must not retry.
  auto hello = client::make_hello("Sam", "circle-test", server.token("sam", "Sam", false, 1));
  ASSERT_TRUE(call(sam, hello).has_welcome());
  auto closed = sam.wait_closed(kDeadline);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->code, 1008);
  auto late = sam.call(client::make_send_message("group", "anyone?"), kDeadline);
  ASSERT_TRUE(late);
  EXPECT_EQ(late->error().code(), circle::v1::ERROR_CODE_UNAVAILABLE);
}

TEST(Reconnect, AMessageSentBeforeTheConnectionIsUpIsSentOrAnsweredOnce) {
  TestServer server;
  // Queued before connect(): it goes out once the connection is up (this
  // server wants a Hello first, so its answer is a refusal; what matters is
  // that there is exactly one).
  client::SyncClient early(server.client_tls(), kQuickReconnect);
  auto answer = early.call_async(client::make_send_message("group", "too early"));
  ASSERT_FALSE(early.connect(server.address()));
  ASSERT_EQ(answer.wait_for(kDeadline), std::future_status::ready);
  EXPECT_TRUE(answer.get().has_error());

  // And when the connection never comes up, it is answered, not kept forever.
  client::SyncClient nowhere(server.client_tls(), kQuickReconnect);
  auto unsent = nowhere.call_async(client::make_send_message("group", "into the void"));
  auto address = server.address();
  address.port = "1";  // nothing listens there
  ASSERT_TRUE(nowhere.connect(address));
  ASSERT_EQ(unsent.wait_for(kDeadline), std::future_status::ready);
  EXPECT_EQ(unsent.get().error().code(), circle::v1::ERROR_CODE_UNAVAILABLE);
}

TEST(Reconnect, AConnectionClosingWhenItsIoContextGoesIsFreedWithIt) {
  TestServer server;
  auto sentinel = std::make_shared<int>(0);  // held by the connection's close handler
  {
    boost::asio::io_context ioc;
    auto link = client::ReconnectingConnection::create(ioc.get_executor(), server.client_tls(),
                                                       kQuickReconnect);
    link->on_close([sentinel](const client::CloseInfo&) {});
    std::optional<std::optional<client::CloseInfo>> connected;
    link->connect(server.address(), {},
                  [&](const std::optional<client::CloseInfo>& failure) { connected = failure; });
    while (!connected && ioc.run_one_for(kDeadline) > 0) {
    }
    ASSERT_TRUE(connected);
    ASSERT_FALSE(*connected);
    // A server that does not answer: the close handshake stays under way.
    ASSERT_TRUE(server.process().stop());
    link.reset();  // closes
    ioc.poll();
    EXPECT_GT(sentinel.use_count(), 1) << "still closing";
  }  // the io_context goes first, with the close still under way
  server.process().signal(SIGCONT);
  EXPECT_EQ(sentinel.use_count(), 1) << "the connection was not freed";
}

TEST(Reconnect, WorthReconnectingOnlyAfterClosesThatHealByThemselves) {
  EXPECT_TRUE(client::worth_reconnecting({0, "connection reset"}));
  EXPECT_TRUE(client::worth_reconnecting({1001, "server shutting down"}));
  EXPECT_TRUE(client::worth_reconnecting({1011, "server error"}));
  EXPECT_TRUE(client::worth_reconnecting({1008, "too slow: outbound queue full"}));
  EXPECT_FALSE(client::worth_reconnecting({1008, "token expired"}));
  EXPECT_FALSE(client::worth_reconnecting({1008, "unauthenticated"}));
  EXPECT_FALSE(client::worth_reconnecting({1002, "protocol error"}));
  EXPECT_FALSE(client::worth_reconnecting({1000, "bye"}));
}

}  // namespace
