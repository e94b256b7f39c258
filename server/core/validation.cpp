#include "core/validation.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace circle::core {
namespace {

using circle::v1::ClientMessage;

Refusal invalid(std::string message) {
  return Refusal{circle::v1::ERROR_CODE_INVALID_ARGUMENT, std::move(message)};
}

// Decodes the code point starting at text[i] and advances i; nullopt when the
// sequence is not well-formed UTF-8 (RFC 3629).
std::optional<char32_t> next_code_point(std::string_view text, std::size_t& i) {
  const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(text[k]); };
  const std::uint8_t lead = byte(i);
  std::size_t length = 0;
  char32_t value = 0;
  char32_t minimum = 0;
  if (lead < 0x80) {
    ++i;
    return lead;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2, value = lead & 0x1F, minimum = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, value = lead & 0x0F, minimum = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, value = lead & 0x07, minimum = 0x10000;
  } else {
    return std::nullopt;
  }
  if (i + length > text.size()) return std::nullopt;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return std::nullopt;
    value = (value << 6) | (byte(i + k) & 0x3F);
  }
  if (value < minimum || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
    return std::nullopt;
  }
  i += length;
  return value;
}

bool is_control(char32_t c) {
  return c < 0x20 || (c >= 0x7F && c <= 0x9F);
}
bool is_blank(char32_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == 0xA0;
}

struct TextRules {
  const char* what;  // named in the error message
  std::size_t max_bytes;
  bool allow_newline_and_tab;
  circle::v1::ErrorCode too_long_code;
};

Check check_utf8_text(std::string_view text, const TextRules& rules) {
  if (text.empty()) return invalid(std::string(rules.what) + " must not be empty");
  if (text.size() > rules.max_bytes) {
    return Refusal{rules.too_long_code, std::string(rules.what) + " is longer than " +
                                            std::to_string(rules.max_bytes) + " bytes"};
  }
  bool all_blank = true;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = next_code_point(text, i);
    if (!c) return invalid(std::string(rules.what) + " is not valid UTF-8");
    const bool allowed_control = rules.allow_newline_and_tab && (*c == '\n' || *c == '\t');
    if (is_control(*c) && !allowed_control) {
      return invalid(std::string(rules.what) + " contains a control character");
    }
    if (!is_blank(*c)) all_blank = false;
  }
  if (all_blank) return invalid(std::string(rules.what) + " must not be blank");
  return std::nullopt;
}

// proto3 enums are open: a client may send any number. Only named values,
// and never the UNSPECIFIED zero, reach the rooms.
template <class Enum>
bool is_known(Enum value, bool (*is_valid)(int)) {
  return value != 0 && is_valid(static_cast<int>(value));
}

Check check_optional_text(std::string_view text, const char* what, std::size_t max_bytes) {
  if (text.empty()) return std::nullopt;
  return check_utf8_text(text, {what, max_bytes, true, circle::v1::ERROR_CODE_INVALID_ARGUMENT});
}

Check check_room_action(const circle::v1::RoomActionRequest& request, const Limits& limits) {
  using circle::v1::RoomActionRequest;
  if (auto refused = check_room_id(request.room_id(), limits)) return refused;
  if (auto refused = check_optional_text(request.reason(), "reason", limits.max_reason_bytes)) {
    return refused;
  }
  switch (request.action_case()) {
    case RoomActionRequest::kSetMuted:
      if (request.set_muted().duration_seconds() > limits.max_mute_seconds) {
        return invalid("mute: duration is longer than " + std::to_string(limits.max_mute_seconds) +
                       " seconds");
      }
      return std::nullopt;
    case RoomActionRequest::kEditRoom: {
      const auto& edit = request.edit_room();
      if (!edit.has_title() && !edit.has_topic() && !edit.has_agreement()) {
        return invalid("edit room: nothing to change");
      }
      if (edit.has_title()) {
        if (auto refused = check_room_title(edit.title(), limits)) return refused;
      }
      if (auto refused = check_optional_text(edit.topic(), "topic", limits.max_topic_bytes)) {
        return refused;
      }
      return check_optional_text(edit.agreement(), "agreement", limits.max_agreement_bytes);
    }
    case RoomActionRequest::kSetRetention:
      if (request.set_retention().days() > limits.max_retention_days) {
        return invalid("retention: this server keeps history at most " +
                       std::to_string(limits.max_retention_days) + " days");
      }
      return std::nullopt;
    case RoomActionRequest::kSetRole:
      if (!is_known(request.set_role().role(), circle::v1::Role_IsValid)) {
        return invalid("change role: role must be one of the roles this server knows");
      }
      return std::nullopt;
    case RoomActionRequest::kSetHand:
      return check_optional_text(request.set_hand().question(), "question", limits.max_text_bytes);
    case RoomActionRequest::kSetContentWarning:
      return check_optional_text(request.set_content_warning().content_warning(), "content warning",
                                 limits.max_content_warning_bytes);
    case RoomActionRequest::kResolveReport:
      if (!is_known(request.resolve_report().outcome(), circle::v1::ReportOutcome_IsValid)) {
        return invalid("resolve report: say what was done (outcome)");
      }
      return check_optional_text(request.resolve_report().note(), "resolution note",
                                 limits.max_reason_bytes);
    case RoomActionRequest::kResolveSupport:
      return check_optional_text(request.resolve_support().note(), "resolution note",
                                 limits.max_reason_bytes);
    case RoomActionRequest::kRequestSupport:
      return check_optional_text(request.request_support().text(), "support message",
                                 limits.max_text_bytes);
    case RoomActionRequest::kSendDirectMessage:
      return check_text(request.send_direct_message().text(), limits);
    case RoomActionRequest::kSetPermission:
      if (!is_known(request.set_permission().action(), circle::v1::Action_IsValid) ||
          !is_known(request.set_permission().min_role(), circle::v1::Role_IsValid)) {
        return invalid("change permissions: action and min_role must be ones this server knows");
      }
      return std::nullopt;
    case RoomActionRequest::ACTION_NOT_SET:
      return invalid("room action has no action, or one this server does not know");
    default:
      return std::nullopt;
  }
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    if (!next_code_point(text, i)) return false;
  }
  return true;
}

Check check_display_name(std::string_view name, const Limits& limits) {
  return check_utf8_text(name, {"display name", limits.max_display_name_bytes, false,
                                circle::v1::ERROR_CODE_INVALID_ARGUMENT});
}

Check check_room_title(std::string_view title, const Limits& limits) {
  return check_utf8_text(title, {"room title", limits.max_room_title_bytes, false,
                                 circle::v1::ERROR_CODE_INVALID_ARGUMENT});
}

Check check_text(std::string_view text, const Limits& limits) {
  return check_utf8_text(
      text, {"message text", limits.max_text_bytes, true, circle::v1::ERROR_CODE_TEXT_TOO_LONG});
}

Check check_room_id(std::string_view room_id, const Limits& limits) {
  if (room_id.empty()) return invalid("room id must not be empty");
  if (room_id.size() > limits.max_room_id_bytes) {
    return invalid("room id is longer than " + std::to_string(limits.max_room_id_bytes) + " bytes");
  }
  for (char c : room_id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return invalid("room id may contain only a-z, 0-9, '-' and '_'");
  }
  return std::nullopt;
}

Check check_client_message(const ClientMessage& message, const Limits& limits) {
  if (message.request_id() == 0) return invalid("request_id must be non-zero");
  switch (message.payload_case()) {
    case ClientMessage::kHello: {
      const auto& hello = message.hello();
      if (hello.protocol_version() == circle::v1::PROTOCOL_VERSION_UNSPECIFIED) {
        return invalid("hello: protocol_version must be set");
      }
      if (hello.client_name().size() > 128) return invalid("hello: client_name is too long");
      if (hello.token().size() > limits.max_token_bytes) {
        return invalid("hello: token is longer than " + std::to_string(limits.max_token_bytes) +
                       " bytes");
      }
      if (hello.invite().size() > limits.max_token_bytes) {
        return invalid("hello: invite is longer than " + std::to_string(limits.max_token_bytes) +
                       " bytes");
      }
      if (!hello.invite().empty() && !hello.token().empty()) {
        return invalid("hello: give a token or an invite, not both");
      }
      if (!hello.invite().empty() &&
          (hello.guest_key().size() < 32 || hello.guest_key().size() > 128)) {
        return invalid("hello: a guest_key of 32 to 128 characters comes with an invite");
      }
      // An empty name may come from the token instead; the dispatcher checks
      // the name it ends up with.
      if (hello.display_name().empty()) return std::nullopt;
      return check_display_name(hello.display_name(), limits);
    }
    case ClientMessage::kCreateRoom: {
      const auto& create = message.create_room();
      if (!create.room_id().empty()) {
        if (auto refused = check_room_id(create.room_id(), limits)) return refused;
      }
      if (create.has_kind() && !is_known(create.kind(), circle::v1::RoomKind_IsValid)) {
        return invalid(
            "create room: kind must be a room kind this server knows (omit it for the "
            "default)");
      }
      return check_room_title(create.title(), limits);
    }
    case ClientMessage::kListRooms:
      return std::nullopt;
    case ClientMessage::kJoinRoom:
      return check_room_id(message.join_room().room_id(), limits);
    case ClientMessage::kLeaveRoom:
      return check_room_id(message.leave_room().room_id(), limits);
    case ClientMessage::kSendMessage: {
      const auto& send = message.send_message();
      if (auto refused = check_room_id(send.room_id(), limits)) return refused;
      if (send.client_message_id().size() > limits.max_client_message_id_bytes) {
        return invalid("client_message_id is longer than " +
                       std::to_string(limits.max_client_message_id_bytes) + " bytes");
      }
      if (auto refused = check_optional_text(send.content_warning(), "content warning",
                                             limits.max_content_warning_bytes)) {
        return refused;
      }
      return check_text(send.text(), limits);
    }
    case ClientMessage::kRoomAction:
      return check_room_action(message.room_action(), limits);
    case ClientMessage::PAYLOAD_NOT_SET:
      break;
  }
  return invalid("request has no payload, or one this server does not know");
}

Result<ClientMessage> decode_client_message(std::string_view bytes) {
  ClientMessage message;
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Refusal{circle::v1::ERROR_CODE_MALFORMED_MESSAGE,
                   "the message is not a valid circle.v1.ClientMessage"};
  }
  return message;
}

}  // namespace circle::core
