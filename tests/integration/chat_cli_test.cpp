// Drives the `circle` binary through stdin as a script would, against a real
// server, with a library client on the other side of the conversation.
#include <gtest/gtest.h>

#include "support/test_server.hpp"

namespace {

using namespace circle::test;
namespace client = circle::client;

std::vector<std::string> chat_argv(const TestServer& server, const std::string& name,
                                   const std::string& room) {
  return {circle_path(), "chat", "--server", server.url(), "--ca", test_cert_dir() + "/ca.crt",
          "--name",      name,   "--room",   room};
}

TEST(ChatCli, TalksWithAnotherMemberThroughStdinAndStdout) {
  TestServer server;
  ChildProcess alex(chat_argv(server, "Alex", "tuesday-evening"), {.pipe_stdin = true});
  ASSERT_TRUE(alex.wait_for_line("You joined", kDeadline)) << alex.transcript();
  EXPECT_NE(alex.transcript().find("Created room tuesday-evening"), std::string::npos);
  EXPECT_NE(alex.transcript().find("as Alex, facilitator"), std::string::npos);

  auto sam = server.join("Sam", "tuesday-evening");
  ASSERT_TRUE(alex.wait_for_line("* Sam joined", kDeadline)) << alex.transcript();

  alex.write_stdin("welcome, everyone\n");
  auto heard = sam->wait_event(
      [](const circle::v1::ServerMessage& m) {
        return m.has_room_event() && m.room_event().has_message_posted();
      },
      kDeadline);
  ASSERT_TRUE(heard);
  EXPECT_EQ(heard->room_event().message_posted().text(), "welcome, everyone");
  EXPECT_EQ(heard->room_event().message_posted().sender().display_name(), "Alex");

  ASSERT_TRUE(call(*sam, client::make_send_message("tuesday-evening", "thanks\nfor having me"))
                  .has_send_message());
  auto line = alex.wait_for_line("Sam: ", kDeadline);
  ASSERT_TRUE(line) << alex.transcript();
  EXPECT_NE(line->find("Sam: thanks\\nfor having me"), std::string::npos) << *line;

  alex.write_stdin("/who\n");
  auto who = alex.wait_for_line("in tuesday-evening:", kDeadline);
  ASSERT_TRUE(who) << alex.transcript();
  EXPECT_NE(who->find("Alex (you), Sam"), std::string::npos) << *who;

  alex.write_stdin("/rooms\n");
  ASSERT_TRUE(alex.wait_for_line("tuesday-evening  \"tuesday-evening\"  2 here", kDeadline))
      << alex.transcript();

  alex.write_stdin("/join\n");
  ASSERT_TRUE(alex.wait_for_line("usage: /join", kDeadline)) << alex.transcript();
  alex.write_stdin("/frobnicate\n");
  ASSERT_TRUE(alex.wait_for_line("Unknown command /frobnicate", kDeadline));

  alex.write_stdin("/quit\n");
  auto status = alex.wait_exit(kDeadline);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0);
  auto left = sam->wait_event(
      [](const circle::v1::ServerMessage& m) {
        return m.has_room_event() && m.room_event().has_member_left();
      },
      kDeadline);
  ASSERT_TRUE(left);
  EXPECT_EQ(left->room_event().member_left().member().display_name(), "Alex");
  EXPECT_EQ(left->room_event().member_left().reason(), circle::v1::LEAVE_REASON_LEFT)
      << "a deliberate /quit leaves rather than drops";
}

TEST(ChatCli, EndOfInputSendsEverythingThenExitsCleanly) {
  TestServer server;
  auto sam = server.join("Sam", "group", true);
  ChildProcess script(chat_argv(server, "Robin", "group"), {.pipe_stdin = true});
  script.write_stdin("one\ntwo\nthree");  // the last line has no newline
  script.close_stdin();
  auto status = script.wait_exit(kDeadline);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0) << script.read_all(kDeadline);
  std::vector<std::string> texts;
  while (texts.size() < 3) {
    auto m = sam->wait_event(
        [](const circle::v1::ServerMessage& e) {
          return e.has_room_event() && e.room_event().has_message_posted();
        },
        kDeadline);
    ASSERT_TRUE(m);
    texts.push_back(m->room_event().message_posted().text());
  }
  EXPECT_EQ(texts, (std::vector<std::string>{"one", "two", "three"}));
}

TEST(ChatCli, RefusedRequestsPrintAClearErrorLine) {
  TestServer server;
  ChildProcess chat(chat_argv(server, "Sam", "group"), {.pipe_stdin = true});
  ASSERT_TRUE(chat.wait_for_line("You joined", kDeadline)) << chat.transcript();
  // Too long for the limits the server announced: refused before sending.
  chat.write_stdin(std::string(5000, 'a') + "\n");
  auto too_long = chat.wait_for_line("! Not sent", kDeadline);
  ASSERT_TRUE(too_long) << chat.transcript();
  EXPECT_NE(too_long->find("at most 4096"), std::string::npos) << *too_long;
  // Refused by the server: the error names the action and the code.
  chat.write_stdin("/leave elsewhere\n");
  auto error = chat.wait_for_line("! leave failed", kDeadline);
  ASSERT_TRUE(error) << chat.transcript();
  EXPECT_NE(error->find("[NOT_IN_ROOM]"), std::string::npos) << *error;
  chat.write_stdin("/join two words\n");
  ASSERT_TRUE(chat.wait_for_line("! usage: /join", kDeadline)) << chat.transcript();
  chat.close_stdin();
  EXPECT_EQ(chat.wait_exit(kDeadline), 0);
}

TEST(ChatCli, ServerShutdownIsReportedAndExitsNonZero) {
  TestServer server;
  ChildProcess chat(chat_argv(server, "Sam", "group"), {.pipe_stdin = true});
  ASSERT_TRUE(chat.wait_for_line("You joined", kDeadline)) << chat.transcript();
  server.process().signal(SIGTERM);
  auto line = chat.wait_for_line("! disconnected", kDeadline);
  ASSERT_TRUE(line) << chat.transcript();
  EXPECT_NE(line->find("server shutting down (1001)"), std::string::npos) << *line;
  EXPECT_EQ(chat.wait_exit(kDeadline), 1);
}

TEST(ChatCli, UnreachableServerFailsWithAMessage) {
  TestServer server;
  std::string url = server.url();
  server.process().signal(SIGTERM);
  ASSERT_TRUE(server.process().wait_exit(kDeadline));
  ChildProcess chat({circle_path(), "chat", "--server", url, "--ca", test_cert_dir() + "/ca.crt",
                     "--name", "Sam"},
                    {.pipe_stdin = true, .capture_stdout = true, .capture_stderr = true});
  EXPECT_EQ(chat.wait_exit(kDeadline), 2);
  EXPECT_NE(chat.read_stderr(kDeadline).find("cannot connect"), std::string::npos);
}

}  // namespace
