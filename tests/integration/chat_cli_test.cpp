// Drives the `circle` binary through stdin as a script would, against a real
// server, with a library client on the other side of the conversation.
#include <gtest/gtest.h>

#include "support/tcp_proxy.hpp"
#include "support/test_server.hpp"

namespace {

using namespace circle::test;
namespace client = circle::client;

std::vector<std::string> chat_argv(const TestServer& server, const std::string& name,
                                   const std::string& room) {
  return {circle_path(), "chat", "--server", server.url(), "--ca",    test_cert_dir() + "/ca.crt",
          "--name",      name,   "--room",   room,         "--token", server.token("acct-" + name)};
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

TEST(ChatCli, ServerShutdownIsReportedAndExitsNonZeroWithoutReconnect) {
  TestServer server;
  auto argv = chat_argv(server, "Sam", "group");
  argv.push_back("--no-reconnect");
  ChildProcess chat(argv, {.pipe_stdin = true});
  ASSERT_TRUE(chat.wait_for_line("You joined", kDeadline)) << chat.transcript();
  server.process().signal(SIGTERM);
  auto line = chat.wait_for_line("! disconnected", kDeadline);
  ASSERT_TRUE(line) << chat.transcript();
  EXPECT_NE(line->find("server shutting down (1001)"), std::string::npos) << *line;
  EXPECT_EQ(chat.wait_exit(kDeadline), 1);
}

std::size_t count_lines_with(const std::string& transcript, const std::string& needle) {
  std::size_t count = 0;
  for (auto at = transcript.find(needle); at != std::string::npos;
       at = transcript.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

TEST(ChatCli, ADroppedConnectionReconnectsAndShowsWhatWasMissed) {
  TestServer server;
  auto alex = server.join("Alex", "group", true);
  TcpProxy network(server.address().port);
  auto argv = chat_argv(server, "Sam", "group");
  argv[3] = "wss://127.0.0.1:" + network.port();  // --server: through the flaky network
  ChildProcess sam(argv, {.pipe_stdin = true});
  ASSERT_TRUE(sam.wait_for_line("You joined", kDeadline)) << sam.transcript();

  network.cut();
  ASSERT_TRUE(sam.wait_for_line("Reconnecting…", kDeadline)) << sam.transcript();
  sam.write_stdin("typed while offline\n");
  ASSERT_TRUE(sam.wait_for_line("sent when the connection is back", kDeadline)) << sam.transcript();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(call(*alex, client::make_send_message("group", "while away " + std::to_string(i)))
                    .has_send_message());
  }
  network.restore();

  ASSERT_TRUE(sam.wait_for_line("* Reconnected.", kDeadline)) << sam.transcript();
  ASSERT_TRUE(sam.wait_for_line("Back in group. While you were away:", kDeadline))
      << sam.transcript();
  ASSERT_TRUE(sam.wait_for_line("Alex: while away 2", kDeadline)) << sam.transcript();
  auto offline = alex->wait_event(
      [](const circle::v1::ServerMessage& m) {
        return m.has_room_event() && m.room_event().has_message_posted() &&
               m.room_event().message_posted().text() == "typed while offline";
      },
      kDeadline);
  ASSERT_TRUE(offline) << "the message typed offline went out after the resume";
  ASSERT_TRUE(sam.wait_for_line("Sam: typed while offline", kDeadline)) << sam.transcript();
  sam.close_stdin();
  EXPECT_EQ(sam.wait_exit(kDeadline), 0);
  for (const char* line : {"Alex: while away 0", "Alex: while away 1", "Alex: while away 2",
                           "Sam: typed while offline"}) {
    EXPECT_EQ(count_lines_with(sam.transcript(), line), 1u) << line << "\n" << sam.transcript();
  }
  auto observer = server.hello("Observer");
  auto history = call(*observer, client::make_join_room("group"));
  int posted = 0;
  for (const auto& e : history.join_room().snapshot().recent_events()) {
    if (e.has_message_posted() && e.message_posted().text() == "typed while offline") ++posted;
  }
  EXPECT_EQ(posted, 1) << "posted once";
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

namespace {

bool is_room_event(const circle::v1::ServerMessage& m, circle::v1::RoomEvent::KindCase kind) {
  return m.has_room_event() && m.room_event().kind_case() == kind;
}

TEST(ChatCli, AFacilitatorRunsASessionWithSlashCommands) {
  TestServer server;
  ChildProcess alex(chat_argv(server, "Alex", "tuesday"), {.pipe_stdin = true});
  ASSERT_TRUE(alex.wait_for_line("You joined", kDeadline)) << alex.transcript();
  auto sam = server.join("Sam", "tuesday");
  auto riya = server.join("Riya", "tuesday");
  ASSERT_TRUE(alex.wait_for_line("* Riya joined", kDeadline)) << alex.transcript();

  alex.write_stdin("/help\n");
  ASSERT_TRUE(alex.wait_for_line("/mute <name>", kDeadline)) << alex.transcript();

  alex.write_stdin("/setagreement What is said here stays here.\n");
  ASSERT_TRUE(alex.wait_for_line("Alex set the group agreement", kDeadline)) << alex.transcript();
  auto refused = call(*sam, client::make_send_message("tuesday", "hi"));
  ASSERT_TRUE(refused.has_error());
  EXPECT_EQ(refused.error().code(), circle::v1::ERROR_CODE_AGREEMENT_REQUIRED);
  auto accept = client::make_room_action("tuesday");
  accept.mutable_room_action()->mutable_accept_agreement();
  ASSERT_TRUE(call(*sam, accept).has_room_action());
  ASSERT_TRUE(alex.wait_for_line("Sam accepted the group agreement", kDeadline));

  alex.write_stdin("/mute Sam 10m talking over others\n");
  auto muted = alex.wait_for_line("muted Sam", kDeadline);
  ASSERT_TRUE(muted) << alex.transcript();
  EXPECT_NE(muted->find("for 10 min: talking over others"), std::string::npos) << *muted;
  auto denied = call(*sam, client::make_send_message("tuesday", "hello?"));
  ASSERT_TRUE(denied.has_error());
  EXPECT_EQ(denied.error().code(), circle::v1::ERROR_CODE_PERMISSION_DENIED);

  auto help = client::make_room_action("tuesday");
  help.mutable_room_action()->mutable_request_support()->set_text("rough week");
  ASSERT_TRUE(call(*riya, help).has_room_action());
  auto alert = alex.wait_for_line("asked for support", kDeadline);
  ASSERT_TRUE(alert) << alex.transcript();
  EXPECT_NE(alert->find("Riya asked for support: rough week  (/ack 1"), std::string::npos)
      << *alert;
  alex.write_stdin("/ack 1\n");
  auto acknowledged = riya->wait_event(
      [](const circle::v1::ServerMessage& m) {
        return m.has_private_event() && m.private_event().has_your_alert_acknowledged();
      },
      kDeadline);
  ASSERT_TRUE(acknowledged);

  alex.write_stdin("/round start\n");
  ASSERT_TRUE(alex.wait_for_line("started a round: Alex, Sam, Riya. Alex's turn.", kDeadline))
      << alex.transcript();
  alex.write_stdin("/pass\n");
  ASSERT_TRUE(alex.wait_for_line("Alex passed. Sam's turn.", kDeadline)) << alex.transcript();
  alex.write_stdin("/round end\n");
  ASSERT_TRUE(alex.wait_for_line("The round is over", kDeadline)) << alex.transcript();

  alex.write_stdin("/kick Riya\n");
  auto removed = riya->wait_event(
      [](const circle::v1::ServerMessage& m) {
        return is_room_event(m, circle::v1::RoomEvent::kMemberLeft) &&
               m.room_event().member_left().reason() == circle::v1::LEAVE_REASON_REMOVED;
      },
      kDeadline);
  ASSERT_TRUE(removed);
  alex.write_stdin("/kick Nobody\n");
  ASSERT_TRUE(alex.wait_for_line("no one here is called 'Nobody'", kDeadline));

  alex.write_stdin("/end thank you all\n");
  auto ended = sam->wait_event(
      [](const circle::v1::ServerMessage& m) {
        return is_room_event(m, circle::v1::RoomEvent::kSessionEnded);
      },
      kDeadline);
  ASSERT_TRUE(ended);
  ASSERT_TRUE(alex.wait_for_line("You are no longer in tuesday", kDeadline)) << alex.transcript();
  alex.close_stdin();
  EXPECT_EQ(alex.wait_exit(kDeadline), 0);
}

TEST(ChatCli, ParticipantsHelpListsOnlyWhatTheyMayDo) {
  TestServer server;
  auto alex = server.join("Alex", "tuesday", /*create=*/true);
  ChildProcess sam(chat_argv(server, "Sam", "tuesday"), {.pipe_stdin = true});
  ASSERT_TRUE(sam.wait_for_line("You joined", kDeadline)) << sam.transcript();
  sam.write_stdin("/help\n");
  ASSERT_TRUE(sam.wait_for_line("Anything else is sent", kDeadline)) << sam.transcript();
  const std::string help = sam.transcript();
  EXPECT_NE(help.find("/support"), std::string::npos);
  EXPECT_NE(help.find("/hand"), std::string::npos);
  EXPECT_EQ(help.find("/kick"), std::string::npos);
  EXPECT_EQ(help.find("/mute"), std::string::npos);
  sam.write_stdin("/kick Alex\n");
  ASSERT_TRUE(sam.wait_for_line("! /kick refused: remove:", kDeadline)) << sam.transcript();
  sam.close_stdin();
  EXPECT_EQ(sam.wait_exit(kDeadline), 0);
}

}  // namespace
