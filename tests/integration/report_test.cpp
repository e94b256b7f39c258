// The report queue through the real server and the terminal client: a
// participant's /report stays open for the facilitators across a crash and
// restart, shows in /who, and is closed with what was done, in the audit log.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "support/test_server.hpp"

namespace {

using namespace circle::test;
namespace client = circle::client;

TEST(Reports, AReportOutlastsARestartAndIsClosedWithWhatWasDone) {
  const std::string dir = make_temp_dir();
  std::uint64_t seq = 0;
  {
    TestServer server({}, true, dir);
    auto alex = server.sign_in("alex");
    ASSERT_TRUE(call(*alex, client::make_create_room("group", "Group")).has_create_room());
    ASSERT_TRUE(call(*alex, client::make_join_room("group")).has_join_room());
    auto riya = server.sign_in("riya");
    ASSERT_TRUE(call(*riya, client::make_join_room("group")).has_join_room());
    auto posted = call(*riya, client::make_send_message("group", "something hurtful"));
    ASSERT_TRUE(posted.has_send_message());
    seq = posted.send_message().seq();

    auto sam = server.chat("sam");
    ASSERT_TRUE(sam.wait_for_line("You joined", kDeadline)) << sam.transcript();
    sam.write_stdin("/report #" + std::to_string(seq) + " that was unkind\n");
    ASSERT_TRUE(sam.wait_for_line("Reported to the facilitators", kDeadline)) << sam.transcript();
    auto reported = alex->wait_event(
        [](const circle::v1::ServerMessage& m) {
          return m.has_private_event() && m.private_event().has_message_reported();
        },
        kDeadline);
    ASSERT_TRUE(reported);
    EXPECT_EQ(reported->private_event().message_reported().report_id(), 1u);
    sam.write_stdin("/quit\n");
    EXPECT_EQ(sam.wait_exit(kDeadline), 0);
    server.stop();  // SIGKILL: a crash
  }
  TestServer server({}, true, dir);
  auto alex = server.chat("alex");
  ASSERT_TRUE(alex.wait_for_line("You joined", kDeadline)) << alex.transcript();
  alex.write_stdin("/who\n");
  ASSERT_TRUE(alex.wait_for_line(
      "Open report 1: message #" + std::to_string(seq) + ", reported by sam: that was unkind",
      kDeadline))
      << alex.transcript();
  alex.write_stdin("/closereport 1 redacted spoke with Riya\n");
  ASSERT_TRUE(alex.wait_for_line("Report 1 closed.", kDeadline)) << alex.transcript();
  alex.write_stdin("/quit\n");
  EXPECT_EQ(alex.wait_exit(kDeadline), 0);

  ChildProcess audit({circled_path(), "audit", "--data-dir", server.data_dir()}, {});
  const std::string log = audit.read_all(kDeadline);
  EXPECT_EQ(audit.wait_exit(kDeadline), 0);
  EXPECT_NE(log.find("\"action\":\"report message " + std::to_string(seq) + "\""),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("\"action\":\"resolve report 1\""), std::string::npos) << log;
  EXPECT_NE(log.find("redacted; spoke with Riya"), std::string::npos) << log;
  EXPECT_EQ(log.find("something hurtful"), std::string::npos) << "never the message's text";
  server.stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
