// The store under a real server: kill circled with SIGKILL in the middle of
// real traffic, start it again on the same data directory, and check that
// every acknowledged message is there exactly once, in order, and that the
// room's settings, roles, bans and agreement acceptances survived.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "support/test_server.hpp"

namespace {

using namespace circle::test;
namespace client = circle::client;
using circle::v1::ServerMessage;

const std::vector<std::string> kArgs = {"--snapshot-history-events", "5000", "--store-sync",
                                        "normal"};

ServerMessage join(client::SyncClient& c, const std::string& room) {
  return call(c, client::make_join_room(room));
}

std::uint64_t member_id_of(const circle::v1::RoomSnapshot& snapshot, const std::string& name) {
  for (const auto& member : snapshot.members()) {
    if (member.display_name() == name) return member.member_id();
  }
  return 0;
}

TEST(Durability, KilledMidStreamLosesNoAcknowledgedMessageOrRoomSetting) {
  const std::string dir = make_temp_dir();
  const std::string agreement = "What is said here stays here.";
  std::map<std::uint64_t, std::string> acked;  // seq → text
  {
    auto server = std::make_unique<TestServer>(kArgs, true, dir);
    auto alex = server->sign_in("alex");
    ASSERT_TRUE(call(*alex, client::make_create_room("weekly", "Weekly group")).has_create_room());
    ASSERT_TRUE(join(*alex, "weekly").has_join_room());
    auto edit = client::make_room_action("weekly");
    edit.mutable_room_action()->mutable_edit_room()->set_agreement(agreement);
    ASSERT_TRUE(call(*alex, edit).has_room_action());
    auto sam = server->sign_in("sam");
    auto riya = server->sign_in("riya");
    auto kim = server->sign_in("kim");
    for (auto* c : {sam.get(), riya.get(), kim.get()})
      ASSERT_TRUE(join(*c, "weekly").has_join_room());
    auto accept = client::make_room_action("weekly");
    accept.mutable_room_action()->mutable_accept_agreement();
    ASSERT_TRUE(call(*sam, accept).has_room_action());
    ASSERT_TRUE(call(*riya, accept).has_room_action());
    auto view = join(*server->sign_in("observer"), "weekly").join_room().snapshot();
    auto promote = client::make_room_action("weekly");
    promote.mutable_room_action()->mutable_set_role()->set_member_id(member_id_of(view, "riya"));
    promote.mutable_room_action()->mutable_set_role()->set_role(circle::v1::ROLE_CO_FACILITATOR);
    ASSERT_TRUE(call(*alex, promote).has_room_action());
    auto ban = client::make_room_action("weekly");
    ban.mutable_room_action()->mutable_set_banned()->set_member_id(member_id_of(view, "kim"));
    ban.mutable_room_action()->mutable_set_banned()->set_banned(true);
    ASSERT_TRUE(call(*alex, ban).has_room_action());

    // Three members talk at once; every ack is recorded.
    std::mutex mutex;
    std::condition_variable acked_more;
    std::vector<std::thread> senders;
    for (auto* c : {alex.get(), sam.get(), riya.get()}) {
      senders.emplace_back([&, c, n = senders.size()] {
        for (int i = 0;; ++i) {
          const std::string text = "sender " + std::to_string(n) + " message " + std::to_string(i);
          auto reply = c->call(client::make_send_message("weekly", text, "id: " + text), kDeadline);
          if (!reply || !reply->has_send_message()) return;  // the server is gone
          std::lock_guard lock(mutex);
          acked.emplace(reply->send_message().seq(), text);
          acked_more.notify_all();
        }
      });
    }
    {
      std::unique_lock lock(mutex);
      ASSERT_TRUE(acked_more.wait_for(lock, kDeadline, [&] { return acked.size() >= 150; }));
    }
    server->process().signal(SIGKILL);  // mid-stream: sends are in flight
    for (auto& sender : senders) sender.join();
    ASSERT_TRUE(server->process().wait_exit(kDeadline));
  }

  TestServer server(kArgs, true, dir);
  // Every acknowledged message is back, exactly once and in seq order.
  auto alex = server.sign_in("alex");
  auto rejoined = join(*alex, "weekly");
  ASSERT_TRUE(rejoined.has_join_room()) << rejoined.DebugString();
  const auto& snapshot = rejoined.join_room().snapshot();
  std::map<std::uint64_t, std::string> stored;
  std::uint64_t previous = 0;
  for (const auto& event : snapshot.recent_events()) {
    EXPECT_GT(event.seq(), previous) << "in seq order, no duplicates";
    previous = event.seq();
    if (event.has_message_posted()) stored.emplace(event.seq(), event.message_posted().text());
  }
  for (const auto& [seq, text] : acked) {
    auto found = stored.find(seq);
    ASSERT_NE(found, stored.end()) << "acknowledged message " << seq << " lost";
    EXPECT_EQ(found->second, text);
  }
  // Member ids are never reused: the history's senders keep theirs.
  for (const auto& event : snapshot.recent_events()) {
    if (event.has_message_posted()) {
      EXPECT_LT(event.message_posted().sender().member_id(), snapshot.your_member_id());
    }
  }
  // Settings, roles, bans and acceptances survived.
  EXPECT_EQ(own_member(snapshot).role(), circle::v1::ROLE_FACILITATOR);
  EXPECT_EQ(snapshot.settings().agreement(), agreement);
  EXPECT_EQ(snapshot.settings().title(), "Weekly group");
  auto kim = server.sign_in("kim");
  auto refused = join(*kim, "weekly");
  ASSERT_TRUE(refused.has_error());
  EXPECT_EQ(refused.error().code(), circle::v1::ERROR_CODE_PERMISSION_DENIED);
  auto riya = server.sign_in("riya");
  auto riya_joined = join(*riya, "weekly");
  ASSERT_TRUE(riya_joined.has_join_room());
  EXPECT_EQ(own_member(riya_joined.join_room().snapshot()).role(), circle::v1::ROLE_CO_FACILITATOR);
  auto sam = server.sign_in("sam");
  ASSERT_TRUE(join(*sam, "weekly").has_join_room());
  // A retry of a message acked before the crash gets its original ack.
  for (auto it = acked.rbegin(); it != acked.rend(); ++it) {
    if (it->second.rfind("sender 1 ", 0) != 0) continue;  // sam is sender 1
    auto retry = call(*sam, client::make_send_message("weekly", it->second, "id: " + it->second));
    ASSERT_TRUE(retry.has_send_message()) << retry.DebugString();
    EXPECT_EQ(retry.send_message().seq(), it->first);
    break;
  }
  auto after = call(*sam, client::make_send_message("weekly", "still agreed, after the restart"));
  ASSERT_TRUE(after.has_send_message()) << after.DebugString();
  EXPECT_GT(after.send_message().seq(), acked.rbegin()->first) << "seq never goes back";
  std::filesystem::remove_all(dir);
}

TEST(Durability, AnEndedSessionsMessagesDoNotComeBackAfterARestart) {
  const std::string dir = make_temp_dir();
  {
    TestServer server(kArgs, true, dir);
    auto alex = server.sign_in("alex");
    ASSERT_TRUE(call(*alex, client::make_create_room("tuesday", "Tuesday")).has_create_room());
    ASSERT_TRUE(join(*alex, "tuesday").has_join_room());
    ASSERT_TRUE(call(*alex, client::make_send_message("tuesday", "what is said here stays here"))
                    .has_send_message());
    auto end = client::make_room_action("tuesday");
    end.mutable_room_action()->mutable_end_session();
    ASSERT_TRUE(call(*alex, end).has_room_action());
  }  // a clean stop (SIGKILL by the fixture; everything answered was committed)
  TestServer server(kArgs, true, dir);
  auto alex = server.sign_in("alex");
  auto rejoined = join(*alex, "tuesday");
  ASSERT_TRUE(rejoined.has_join_room()) << "the room itself stays";
  for (const auto& event : rejoined.join_room().snapshot().recent_events()) {
    EXPECT_FALSE(event.has_message_posted()) << event.DebugString();
  }
  std::filesystem::remove_all(dir);
}

TEST(Durability, ExpiredHistoryIsDeletedFromTheStore) {
  TestServer server({"--reconnect-window-seconds", "1", "--retention-sweep-seconds", "1"});
  auto alex = server.sign_in("alex");
  ASSERT_TRUE(call(*alex, client::make_create_room("brief", "Brief")).has_create_room());
  ASSERT_TRUE(join(*alex, "brief").has_join_room());
  ASSERT_TRUE(
      call(*alex, client::make_send_message("brief", "gone in a second")).has_send_message());
  // A room that keeps its history for a day keeps it through the sweeps.
  ASSERT_TRUE(call(*alex, client::make_create_room("kept", "Kept")).has_create_room());
  ASSERT_TRUE(join(*alex, "kept").has_join_room());
  auto keep = client::make_room_action("kept");
  keep.mutable_room_action()->mutable_set_retention()->set_days(1);
  ASSERT_TRUE(call(*alex, keep).has_room_action());
  ASSERT_TRUE(call(*alex, client::make_send_message("kept", "kept for a day")).has_send_message());
  const std::string db = server.data_dir() + "/circle.db";
  auto stored = [&db](const std::string& text) {
    sqlite3* handle = nullptr;
    sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* statement = nullptr;
    sqlite3_prepare_v2(handle, "SELECT COUNT(*) FROM events WHERE instr(event, ?1) > 0", -1,
                       &statement, nullptr);
    sqlite3_bind_text(statement, 1, text.c_str(), -1, SQLITE_TRANSIENT);
    const int count = sqlite3_step(statement) == SQLITE_ROW ? sqlite3_column_int(statement, 0) : -1;
    sqlite3_finalize(statement);
    sqlite3_close(handle);
    return count;
  };
  EXPECT_EQ(stored("gone in a second"), 1);
  // Polled against a deadline: the sweep runs once a second.
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (stored("gone in a second") != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(stored("gone in a second"), 0) << "deleted, not hidden";
  EXPECT_EQ(stored("kept for a day"), 1) << "the same sweep keeps what a room keeps for days";
  // And a late joiner does not see it either.
  auto sam = server.sign_in("sam");
  auto joined = join(*sam, "brief");
  ASSERT_TRUE(joined.has_join_room());
  for (const auto& event : joined.join_room().snapshot().recent_events()) {
    EXPECT_FALSE(event.has_message_posted());
  }
}

TEST(Durability, AFullStoreAcknowledgesNothingItCouldNotKeepAndTheServerGoesOn) {
  // A 1 MiB cap stands in for a full disk: past it every write fails.
  TestServer server({"--store-max-mib", "1", "--requests-per-second", "0"});
  auto alex = server.join("Alex", "group", /*create=*/true);
  auto sam = server.join("Sam", "group");
  const std::string filler(3000, 'x');
  std::vector<std::string> acked;
  int refused = 0;
  for (int i = 0; i < 2000 && refused < 3; ++i) {
    const std::string text = "message " + std::to_string(i) + " " + filler;
    auto reply = call(*alex, client::make_send_message("group", text));
    if (reply.has_send_message()) {
      ASSERT_EQ(refused, 0) << "acknowledged after the store was full";
      acked.push_back(text);
      continue;
    }
    ASSERT_TRUE(reply.has_error()) << reply.DebugString();
    EXPECT_EQ(reply.error().code(), circle::v1::ERROR_CODE_UNAVAILABLE);
    EXPECT_NE(reply.error().message().find("not saved"), std::string::npos);
    ++refused;
  }
  ASSERT_EQ(refused, 3) << "the store never filled up";
  ASSERT_FALSE(acked.empty());

  // A retry that arrives while its original still waits for the store is
  // not acknowledged when the original then cannot be stored.
  for (std::uint64_t id : {9001, 9002}) {
    auto send = client::make_send_message("group", "once " + filler, "the same id");
    send.set_request_id(id);
    alex->send_raw(send.SerializeAsString(), true);
  }
  for (std::uint64_t id : {9001, 9002}) {
    auto reply =
        alex->wait_event([id](const ServerMessage& m) { return m.request_id() == id; }, kDeadline);
    ASSERT_TRUE(reply);
    ASSERT_TRUE(reply->has_error()) << "acknowledged though not stored: " << reply->DebugString();
    EXPECT_EQ(reply->error().code(), circle::v1::ERROR_CODE_UNAVAILABLE);
  }

  // Sam saw exactly what was acknowledged. A round trip of Sam's own comes
  // after anything the server had handed Sam before it.
  ASSERT_TRUE(call(*sam, client::make_list_rooms()).has_list_rooms());
  std::vector<std::string> seen;
  while (auto event = sam->next_event(std::chrono::milliseconds(0))) {
    if (event->has_room_event() && event->room_event().has_message_posted()) {
      seen.push_back(event->room_event().message_posted().text());
    }
  }
  EXPECT_EQ(seen, acked);

  // The server goes on: what needs no write is served, and new connections
  // are welcome.
  EXPECT_TRUE(call(*alex, client::make_list_rooms()).has_list_rooms());
  EXPECT_TRUE(server.sign_in("riya") != nullptr);

  // And the store holds exactly the acknowledged messages.
  sqlite3* handle = nullptr;
  sqlite3_open_v2((server.data_dir() + "/circle.db").c_str(), &handle, SQLITE_OPEN_READONLY,
                  nullptr);
  sqlite3_stmt* statement = nullptr;
  sqlite3_prepare_v2(handle, "SELECT COUNT(*) FROM events WHERE sender_account <> ''", -1,
                     &statement, nullptr);
  EXPECT_EQ(sqlite3_step(statement), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(statement, 0), static_cast<int>(acked.size()));
  sqlite3_finalize(statement);
  sqlite3_close(handle);
}

}  // namespace

namespace {

TEST(Durability, AFailedRoomChangeIsReadBackFromTheStoreAndEveryoneReconnects) {
  // The store is filled to its cap with a few big messages (faster than the
  // history can expire, even under a sanitizer); once the room's ephemeral
  // history expires (two seconds here) there is space again.
  TestServer server({"--store-max-mib", "1", "--requests-per-second", "0", "--max-agreement-bytes",
                     "8000", "--read-message-max", "65536", "--max-text-bytes", "40000",
                     "--reconnect-window-seconds", "2", "--retention-sweep-seconds", "1"});
  auto alex = server.sign_in("alex");
  ASSERT_TRUE(call(*alex, client::make_create_room("group", "Group")).has_create_room());
  ASSERT_TRUE(join(*alex, "group").has_join_room());
  auto sam = server.sign_in("sam");
  ASSERT_TRUE(join(*sam, "group").has_join_room());
  const std::string filler(30'000, 'x');
  std::uint64_t last_acked = 0;
  bool full = false;
  for (int i = 0; i < 200 && !full; ++i) {
    auto reply = call(*alex, client::make_send_message("group", filler + std::to_string(i)));
    if (reply.has_send_message()) last_acked = reply.send_message().seq();
    full = reply.has_error();
  }
  ASSERT_TRUE(full) << "the store never filled up";

  // A change to the room's state that the store cannot take: refused, and
  // since the room's memory had changed, it is read back from the store and
  // everyone in it is sent to reconnect.
  auto edit = client::make_room_action("group");
  edit.mutable_room_action()->mutable_edit_room()->set_agreement(std::string(6000, 'a'));
  auto refused = call(*alex, edit);
  ASSERT_TRUE(refused.has_error()) << refused.DebugString();
  EXPECT_EQ(refused.error().code(), circle::v1::ERROR_CODE_UNAVAILABLE);
  EXPECT_NE(refused.error().message().find("read back"), std::string::npos);
  for (auto* c : {alex.get(), sam.get()}) {
    auto closed = c->wait_closed(kDeadline);
    ASSERT_TRUE(closed);
    EXPECT_EQ(closed->code, 1012);
  }

  // Once there is space again Alex comes back to the room as it was kept:
  // the agreement that was refused is not there, Alex still facilitates, and
  // no seq is used twice.
  std::optional<ServerMessage> joined;
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (!joined && std::chrono::steady_clock::now() < deadline) {
    auto again = server.sign_in("alex");
    auto reply = join(*again, "group");
    if (reply.has_join_room()) {
      joined = reply;
      break;
    }
    EXPECT_EQ(reply.error().code(), circle::v1::ERROR_CODE_UNAVAILABLE) << reply.DebugString();
    again->wait_closed(kDeadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polls the sweep
  }
  ASSERT_TRUE(joined) << "the room never came back";
  const auto& snapshot = joined->join_room().snapshot();
  EXPECT_EQ(snapshot.settings().agreement(), "");
  EXPECT_EQ(own_member(snapshot).role(), circle::v1::ROLE_FACILITATOR);
  EXPECT_GT(snapshot.last_seq(), last_acked + 1) << "the refused change's seq is not reused";
  EXPECT_EQ(snapshot.members_size(), 1) << "only Alex's new connection is in the room";
}

}  // namespace
