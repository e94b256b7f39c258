// Content warnings through the real server and the terminal client: a
// message sent behind a warning reaches others as the warning only, until
// they ask for it (/show #N); a facilitator can put one on a message already
// sent, which late joiners get with it.
#include <gtest/gtest.h>

#include "support/test_server.hpp"

namespace {

using namespace circle::test;
namespace client = circle::client;

TEST(ContentWarnings, AWarnedMessageIsReadOnlyByChoiceAndAFacilitatorCanWarnLater) {
  TestServer server;
  auto alex = server.sign_in("alex");
  ASSERT_TRUE(call(*alex, client::make_create_room("group", "Group")).has_create_room());
  ASSERT_TRUE(call(*alex, client::make_join_room("group")).has_join_room());
  auto sam = server.chat("sam");
  ASSERT_TRUE(sam.wait_for_line("You joined", kDeadline)) << sam.transcript();
  auto riya = server.chat("riya");
  ASSERT_TRUE(riya.wait_for_line("You joined", kDeadline)) << riya.transcript();

  sam.write_stdin("/cw self-harm: it was a really hard week\n");
  auto posted = alex->wait_event(
      [](const circle::v1::ServerMessage& m) {
        return m.has_room_event() && m.room_event().has_message_posted();
      },
      kDeadline);
  ASSERT_TRUE(posted);
  EXPECT_EQ(posted->room_event().message_posted().content_warning(), "self-harm");
  const std::string seq = std::to_string(posted->room_event().seq());
  ASSERT_TRUE(riya.wait_for_line("sam: [content warning: self-harm] /show #" + seq + " to read it",
                                 kDeadline))
      << riya.transcript();
  EXPECT_EQ(riya.transcript().find("a really hard week"), std::string::npos)
      << "not shown before Riya chooses to read it";
  riya.write_stdin("/show #" + seq + "\n");
  ASSERT_TRUE(riya.wait_for_line("sam [self-harm]: it was a really hard week", kDeadline))
      << riya.transcript();

  // Riya shares something plain; the facilitator puts a warning on it.
  riya.write_stdin("what happened to me back then\n");
  auto plain = alex->wait_event(
      [](const circle::v1::ServerMessage& m) {
        return m.has_room_event() && m.room_event().has_message_posted() &&
               m.room_event().message_posted().content_warning().empty();
      },
      kDeadline);
  ASSERT_TRUE(plain);
  const auto plain_seq = plain->room_event().seq();
  auto warn = client::make_room_action("group");
  warn.mutable_room_action()->mutable_set_content_warning()->set_seq(plain_seq);
  warn.mutable_room_action()->mutable_set_content_warning()->set_content_warning("abuse");
  ASSERT_TRUE(call(*alex, warn).has_room_action());
  ASSERT_TRUE(sam.wait_for_line(
      "alex put a content warning on #" + std::to_string(plain_seq) + ": abuse", kDeadline))
      << sam.transcript();

  auto kim = server.sign_in("kim");
  auto joined = call(*kim, client::make_join_room("group"));
  ASSERT_TRUE(joined.has_join_room());
  bool found = false;
  for (const auto& event : joined.join_room().snapshot().recent_events()) {
    if (event.seq() != plain_seq) continue;
    found = true;
    EXPECT_EQ(event.message_posted().content_warning(), "abuse");
  }
  EXPECT_TRUE(found) << "a late joiner gets the message with its warning";

  sam.write_stdin("/quit\n");
  riya.write_stdin("/quit\n");
  EXPECT_EQ(sam.wait_exit(kDeadline), 0);
  EXPECT_EQ(riya.wait_exit(kDeadline), 0);
}

}  // namespace
