// `circled backup` while the server is busy: the copy holds every message
// acknowledged before the backup began, and a second server starts on it.
#include <gtest/gtest.h>

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

TEST(Backup, ACopyTakenDuringTrafficHoldsEveryMessageAcknowledgedBeforeIt) {
  // No request rate limit: one client sends as fast as acks come back.
  const std::vector<std::string> args = {"--snapshot-history-events", "100000",
                                         "--requests-per-second", "0"};
  auto server = std::make_unique<TestServer>(args);
  auto alex = server->sign_in("alex");
  ASSERT_TRUE(call(*alex, client::make_create_room("weekly", "Weekly group")).has_create_room());
  ASSERT_TRUE(call(*alex, client::make_join_room("weekly")).has_join_room());

  std::mutex mutex;
  std::condition_variable acked_more;
  std::map<std::uint64_t, std::string> acked;  // seq → text
  std::atomic<bool> stop{false};
  std::thread sender([&] {
    for (int i = 0; !stop; ++i) {
      const std::string text = "message " + std::to_string(i);
      auto reply = alex->call(client::make_send_message("weekly", text), kDeadline);
      if (!reply || !reply->has_send_message()) return;
      std::lock_guard lock(mutex);
      acked.emplace(reply->send_message().seq(), text);
      acked_more.notify_all();
    }
  });
  // However the test ends, the sender stops first.
  struct StopSender {
    std::atomic<bool>& stop;
    std::thread& sender;
    ~StopSender() {
      stop = true;
      if (sender.joinable()) sender.join();
    }
  } stop_sender{stop, sender};
  std::map<std::uint64_t, std::string> acked_before;
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(acked_more.wait_for(lock, kDeadline, [&] { return acked.size() >= 200; }));
    acked_before = acked;
  }
  const std::string copy_dir = make_temp_dir();
  const std::string copy = copy_dir + "/circle.db";
  ChildProcess backup({circled_path(), "backup", "--data-dir", server->data_dir(), "--out", copy},
                      {.capture_stdout = true});
  ASSERT_EQ(backup.wait_exit(kDeadline), 0);
  EXPECT_NE(backup.read_all(kDeadline).find("copied to " + copy), std::string::npos);
  {
    // Traffic went on during the backup.
    std::unique_lock lock(mutex);
    ASSERT_TRUE(acked_more.wait_for(lock, kDeadline,
                                    [&] { return acked.size() >= acked_before.size() + 50; }));
  }
  stop = true;
  if (sender.joinable()) sender.join();
  EXPECT_FALSE(std::filesystem::exists(copy + ".partial"));
  // The groups' history: for its owner's eyes only, whatever the umask.
  EXPECT_EQ(std::filesystem::status(copy).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

  // A second server on the copy, while the first one still runs.
  TestServer restored(args, true, copy_dir);
  auto back = restored.sign_in("alex");
  auto joined = call(*back, client::make_join_room("weekly"));
  ASSERT_TRUE(joined.has_join_room()) << joined.DebugString();
  const auto& snapshot = joined.join_room().snapshot();
  EXPECT_EQ(snapshot.settings().title(), "Weekly group");
  EXPECT_EQ(own_member(snapshot).role(), circle::v1::ROLE_FACILITATOR);
  std::map<std::uint64_t, std::string> stored;
  for (const auto& event : snapshot.recent_events()) {
    if (event.has_message_posted()) stored.emplace(event.seq(), event.message_posted().text());
  }
  for (const auto& [seq, text] : acked_before) {
    const auto found = stored.find(seq);
    ASSERT_NE(found, stored.end()) << "message " << seq << " acknowledged before the backup";
    EXPECT_EQ(found->second, text);
  }
}

TEST(Backup, WithoutAStoreThereIsNothingToCopy) {
  const std::string empty = make_temp_dir();
  ChildProcess backup({circled_path(), "backup", "--data-dir", empty, "--out", empty + "/copy.db"},
                      {.capture_stdout = true, .capture_stderr = true});
  EXPECT_EQ(backup.wait_exit(kDeadline), 1);
  EXPECT_NE(backup.read_stderr(kDeadline).find("no such database"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(empty + "/copy.db"));
}

}  // namespace
