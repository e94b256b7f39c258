#include <gtest/gtest.h>

#include "core/validation.hpp"

namespace {

using circle::core::Limits;
using circle::v1::ClientMessage;

TEST(Utf8, AcceptsWellFormedText) {
  EXPECT_TRUE(circle::core::is_valid_utf8(""));
  EXPECT_TRUE(circle::core::is_valid_utf8("plain ascii"));
  EXPECT_TRUE(circle::core::is_valid_utf8("Zoë, 你好, 🙂"));
  EXPECT_TRUE(circle::core::is_valid_utf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
}

TEST(Utf8, RejectsMalformedSequences) {
  EXPECT_FALSE(circle::core::is_valid_utf8("\xC3"));              // truncated
  EXPECT_FALSE(circle::core::is_valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(circle::core::is_valid_utf8("\xE0\x80\xAF"));      // overlong
  EXPECT_FALSE(circle::core::is_valid_utf8("\xED\xA0\x80"));      // surrogate U+D800
  EXPECT_FALSE(circle::core::is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(circle::core::is_valid_utf8("\x80"));              // lone continuation
  EXPECT_FALSE(circle::core::is_valid_utf8("ok\xFF"));
}

TEST(Validation, DisplayNames) {
  const Limits limits;
  EXPECT_FALSE(circle::core::check_display_name("Sam", limits));
  EXPECT_FALSE(circle::core::check_display_name("Zoë", limits));
  EXPECT_TRUE(circle::core::check_display_name("", limits));
  EXPECT_TRUE(circle::core::check_display_name("   ", limits));
  EXPECT_TRUE(circle::core::check_display_name("Sam\n", limits));
  EXPECT_TRUE(circle::core::check_display_name("\x1b[31mRed", limits));
  EXPECT_TRUE(circle::core::check_display_name(std::string(limits.max_display_name_bytes + 1, 'a'),
                                               limits));
  EXPECT_FALSE(
      circle::core::check_display_name(std::string(limits.max_display_name_bytes, 'a'), limits));
}

TEST(Validation, RoomIds) {
  const Limits limits;
  EXPECT_FALSE(circle::core::check_room_id("tuesday-evening_2", limits));
  EXPECT_TRUE(circle::core::check_room_id("", limits));
  EXPECT_TRUE(circle::core::check_room_id("Tuesday", limits));
  EXPECT_TRUE(circle::core::check_room_id("a/b", limits));
  EXPECT_TRUE(circle::core::check_room_id(std::string(limits.max_room_id_bytes + 1, 'a'), limits));
}

TEST(Validation, TextAllowsNewlinesButNotOtherControls) {
  const Limits limits;
  EXPECT_FALSE(circle::core::check_text("line one\nline two\twith tab", limits));
  EXPECT_TRUE(circle::core::check_text("bell\a", limits));
  EXPECT_TRUE(circle::core::check_text("", limits));
  EXPECT_TRUE(circle::core::check_text(" \n ", limits));
  EXPECT_TRUE(circle::core::check_text("bad \xC3", limits));
  auto too_long = circle::core::check_text(std::string(limits.max_text_bytes + 1, 'a'), limits);
  ASSERT_TRUE(too_long);
  EXPECT_EQ(too_long->code, circle::v1::ERROR_CODE_TEXT_TOO_LONG);
  EXPECT_FALSE(circle::core::check_text(std::string(limits.max_text_bytes, 'a'), limits));
}

TEST(Validation, EnvelopeRules) {
  const Limits limits;
  ClientMessage message;
  message.mutable_list_rooms();
  auto refused = circle::core::check_client_message(message, limits);
  ASSERT_TRUE(refused) << "request_id 0 must be refused";
  EXPECT_EQ(refused->code, circle::v1::ERROR_CODE_INVALID_ARGUMENT);

  message.set_request_id(1);
  EXPECT_FALSE(circle::core::check_client_message(message, limits));

  ClientMessage empty;
  empty.set_request_id(2);
  refused = circle::core::check_client_message(empty, limits);
  ASSERT_TRUE(refused) << "a request without payload must be refused";
  EXPECT_NE(refused->message.find("payload"), std::string::npos);
}

TEST(Validation, HelloRejectsUnspecifiedProtocolVersion) {
  const Limits limits;
  ClientMessage hello;
  hello.set_request_id(1);
  hello.mutable_hello()->set_display_name("Sam");
  auto refused = circle::core::check_client_message(hello, limits);
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->message.find("protocol_version"), std::string::npos);
  hello.mutable_hello()->set_protocol_version(circle::v1::PROTOCOL_VERSION_1);
  EXPECT_FALSE(circle::core::check_client_message(hello, limits));
}

TEST(Validation, UnknownOneofIsRefused) {
  // Field 99 is not a known payload: it parses (unknown fields are kept) but
  // leaves no payload set.
  const std::string bytes = std::string("\x08\x05", 2) + std::string("\x9a\x06\x00", 3);
  auto decoded = circle::core::decode_client_message(bytes);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded.value().request_id(), 5u);
  auto refused = circle::core::check_client_message(decoded.value(), Limits{});
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->code, circle::v1::ERROR_CODE_INVALID_ARGUMENT);
}

TEST(Validation, GarbageIsMalformed) {
  auto decoded = circle::core::decode_client_message("\xff\xff\xff\xff\xff");
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.refusal().code, circle::v1::ERROR_CODE_MALFORMED_MESSAGE);
}

TEST(Validation, SendMessageChecksEveryField) {
  const Limits limits;
  ClientMessage send;
  send.set_request_id(1);
  send.mutable_send_message()->set_room_id("tuesday");
  send.mutable_send_message()->set_text("hello");
  EXPECT_FALSE(circle::core::check_client_message(send, limits));
  send.mutable_send_message()->set_client_message_id(
      std::string(limits.max_client_message_id_bytes + 1, 'x'));
  EXPECT_TRUE(circle::core::check_client_message(send, limits));
  send.mutable_send_message()->set_client_message_id("m1");
  send.mutable_send_message()->set_room_id("NOPE");
  EXPECT_TRUE(circle::core::check_client_message(send, limits));
}

TEST(Validation, RetentionIsBoundedByTheServersLimit) {
  Limits limits;
  limits.max_retention_days = 30;
  ClientMessage set;
  set.set_request_id(1);
  set.mutable_room_action()->set_room_id("tuesday");
  set.mutable_room_action()->mutable_set_retention()->set_days(30);
  EXPECT_FALSE(circle::core::check_client_message(set, limits)) << "just under: accepted";
  set.mutable_room_action()->mutable_set_retention()->set_days(31);
  auto refused = circle::core::check_client_message(set, limits);
  ASSERT_TRUE(refused) << "just over: refused";
  EXPECT_EQ(refused->code, circle::v1::ERROR_CODE_INVALID_ARGUMENT);
  EXPECT_NE(refused->message.find("30 days"), std::string::npos);
}

}  // namespace

// proto3 enums are open: a number no version of the protocol names parses
// fine, so every enum a client sends is checked before a room sees it.
TEST(Validation, EveryEnumAClientSendsMustBeOneTheServerKnows) {
  const Limits limits;
  const auto refused_as_invalid = [&](const ClientMessage& message) {
    auto refused = circle::core::check_client_message(message, limits);
    return refused && refused->code == circle::v1::ERROR_CODE_INVALID_ARGUMENT;
  };
  ClientMessage create;
  create.set_request_id(1);
  create.mutable_create_room()->set_title("Tuesday");
  create.mutable_create_room()->set_kind(circle::v1::ROOM_KIND_PEER_CIRCLE);
  EXPECT_FALSE(circle::core::check_client_message(create, limits));
  create.mutable_create_room()->set_kind(static_cast<circle::v1::RoomKind>(42));
  EXPECT_TRUE(refused_as_invalid(create));
  create.mutable_create_room()->set_kind(circle::v1::ROOM_KIND_UNSPECIFIED);
  EXPECT_TRUE(refused_as_invalid(create));

  ClientMessage set_role;
  set_role.set_request_id(2);
  set_role.mutable_room_action()->set_room_id("tuesday");
  set_role.mutable_room_action()->mutable_set_role()->set_member_id(7);
  set_role.mutable_room_action()->mutable_set_role()->set_role(circle::v1::ROLE_OBSERVER);
  EXPECT_FALSE(circle::core::check_client_message(set_role, limits));
  set_role.mutable_room_action()->mutable_set_role()->set_role(static_cast<circle::v1::Role>(99));
  EXPECT_TRUE(refused_as_invalid(set_role));
  set_role.mutable_room_action()->mutable_set_role()->set_role(static_cast<circle::v1::Role>(-1));
  EXPECT_TRUE(refused_as_invalid(set_role));

  ClientMessage permission;
  permission.set_request_id(3);
  permission.mutable_room_action()->set_room_id("tuesday");
  auto* rule = permission.mutable_room_action()->mutable_set_permission();
  rule->set_action(circle::v1::ACTION_RAISE_HAND);
  rule->set_min_role(circle::v1::ROLE_PARTICIPANT);
  EXPECT_FALSE(circle::core::check_client_message(permission, limits));
  rule->set_action(static_cast<circle::v1::Action>(1000));
  EXPECT_TRUE(refused_as_invalid(permission));
  rule->set_action(circle::v1::ACTION_RAISE_HAND);
  rule->set_min_role(static_cast<circle::v1::Role>(6));
  EXPECT_TRUE(refused_as_invalid(permission));

  ClientMessage hello;
  hello.set_request_id(4);
  hello.mutable_hello()->set_protocol_version(static_cast<circle::v1::ProtocolVersion>(7));
  // An unknown protocol version is not invalid input: the dispatcher answers it
  // with UNSUPPORTED_PROTOCOL_VERSION (see the integration test).
  EXPECT_FALSE(circle::core::check_client_message(hello, limits));
}
