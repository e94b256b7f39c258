#include <gtest/gtest.h>

#include "chat/render.hpp"
#include "circle_client/room_view.hpp"

namespace {

using circle::client::RoomView;

circle::v1::RoomSnapshot snapshot() {
  circle::v1::RoomSnapshot s;
  s.mutable_room()->set_room_id("tuesday");
  s.mutable_room()->set_title("Tuesday");
  auto* alex = s.add_members();
  alex->set_member_id(1);
  alex->set_display_name("Alex");
  alex->set_role(circle::v1::ROLE_FACILITATOR);
  auto* sam = s.add_members();
  sam->set_member_id(2);
  sam->set_display_name("Sam");
  sam->set_role(circle::v1::ROLE_PARTICIPANT);
  s.set_last_seq(5);
  s.set_your_member_id(2);
  return s;
}

circle::v1::RoomEvent joined(std::uint64_t seq, std::uint64_t id, const std::string& name) {
  circle::v1::RoomEvent event;
  event.set_room_id("tuesday");
  event.set_seq(seq);
  event.mutable_member_joined()->mutable_member()->set_member_id(id);
  event.mutable_member_joined()->mutable_member()->set_display_name(name);
  event.mutable_member_joined()->mutable_member()->set_role(circle::v1::ROLE_PARTICIPANT);
  return event;
}

TEST(RoomView, TracksMembersAndDetectsDuplicatesAndGaps) {
  RoomView view(snapshot());
  EXPECT_EQ(view.me()->display_name(), "Sam");
  EXPECT_EQ(view.apply(joined(6, 3, "Riya")), RoomView::Applied::kApplied);
  EXPECT_EQ(view.members().size(), 3u);
  EXPECT_EQ(view.apply(joined(6, 3, "Riya")), RoomView::Applied::kDuplicate);
  EXPECT_EQ(view.apply(joined(4, 9, "Old")), RoomView::Applied::kDuplicate);
  EXPECT_EQ(view.members().size(), 3u);

  circle::v1::RoomEvent left;
  left.set_seq(9);
  *left.mutable_member_left()->mutable_member() = joined(0, 3, "Riya").member_joined().member();
  EXPECT_EQ(view.apply(left), RoomView::Applied::kGap);
  EXPECT_EQ(view.last_seq(), 9u);
  EXPECT_EQ(view.members().size(), 2u);
  EXPECT_EQ(view.info().member_count(), 2u);
}

TEST(Render, MembersListMarksYouAndRoles) {
  RoomView view(snapshot());
  EXPECT_EQ(circle::chat::render_members(view), "Alex (facilitator), Sam (you)");
}

TEST(Render, EventsShowTimeNameAndText) {
  circle::v1::RoomEvent event;
  event.set_room_id("tuesday");
  event.set_seq(3);
  event.set_server_time_unix_ms(3'600'000 * 21 + 60'000 * 5);  // 21:05 UTC
  event.mutable_message_posted()->mutable_sender()->set_display_name("Alex");
  event.mutable_message_posted()->set_text("welcome\neveryone");
  circle::chat::RenderOptions options;
  options.local_time = false;
  options.single_line = true;
  EXPECT_EQ(circle::chat::render_event(event, options), "[21:05] #3 Alex: welcome\\neveryone");
  options.show_room = true;
  options.single_line = false;
  EXPECT_EQ(circle::chat::render_event(event, options),
            "[21:05] (tuesday) #3 Alex: welcome\n    everyone");
}

TEST(Render, AMessageBehindAContentWarningIsShownOnlyWhenAsked) {
  RoomView view(snapshot());
  circle::v1::RoomEvent event;
  event.set_room_id("tuesday");
  event.set_seq(6);
  event.set_server_time_unix_ms(3'600'000 * 21);
  event.mutable_message_posted()->mutable_sender()->set_display_name("Sam");
  event.mutable_message_posted()->set_text("a hard week");
  event.mutable_message_posted()->set_content_warning("self-harm");
  ASSERT_EQ(view.apply(event), RoomView::Applied::kApplied);
  circle::chat::RenderOptions options;
  options.local_time = false;
  EXPECT_EQ(circle::chat::render_event(event, options),
            "[21:00] #6 Sam: [content warning: self-harm] /show #6 to read it");
  const auto* kept = view.warned_message(6);
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(circle::chat::render_revealed(*kept, options),
            "[21:00] #6 Sam [self-harm]: a hard week");

  // A facilitator puts one on an earlier message, then takes it off.
  circle::v1::RoomEvent plain = event;
  plain.set_seq(7);
  plain.mutable_message_posted()->clear_content_warning();
  ASSERT_EQ(view.apply(plain), RoomView::Applied::kApplied);
  EXPECT_EQ(view.warned_message(7), nullptr);
  circle::v1::RoomEvent warned;
  warned.set_seq(8);
  warned.mutable_content_warning_set()->set_seq(7);
  warned.mutable_content_warning_set()->set_content_warning("grief");
  ASSERT_EQ(view.apply(warned), RoomView::Applied::kApplied);
  ASSERT_NE(view.warned_message(7), nullptr);
  EXPECT_EQ(view.warned_message(7)->message_posted().content_warning(), "grief");
  warned.set_seq(9);
  warned.mutable_content_warning_set()->clear_content_warning();
  ASSERT_EQ(view.apply(warned), RoomView::Applied::kApplied);
  EXPECT_EQ(view.warned_message(7), nullptr);
}

TEST(Render, SanitizeNeutralisesTerminalEscapes) {
  const std::string hostile = "\x1b[2J\x1b]0;pwned\x07text";
  const std::string shown = circle::chat::sanitize(hostile, true);
  EXPECT_EQ(shown.find('\x1b'), std::string::npos);
  EXPECT_EQ(shown.find('\x07'), std::string::npos);
  EXPECT_NE(shown.find("text"), std::string::npos);
}

TEST(Render, ErrorsNameTheActionAndTheCode) {
  circle::v1::Error error;
  error.set_code(circle::v1::ERROR_CODE_ROOM_NOT_FOUND);
  error.set_message("join: there is no room 'x'");
  EXPECT_EQ(circle::chat::render_error("join", error),
            "! join failed: join: there is no room 'x' [ROOM_NOT_FOUND]");
}

}  // namespace
