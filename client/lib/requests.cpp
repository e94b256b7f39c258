#include "circle_client/requests.hpp"

namespace circle::client {

using circle::v1::ClientMessage;

ClientMessage make_hello(const std::string& display_name, const std::string& client_name,
                         const std::string& token) {
  ClientMessage message;
  auto* hello = message.mutable_hello();
  hello->set_token(token);
  hello->set_protocol_version(circle::v1::PROTOCOL_VERSION_1);
  hello->set_client_name(client_name);
  hello->set_display_name(display_name);
  return message;
}

ClientMessage make_create_room(const std::string& room_id, const std::string& title) {
  ClientMessage message;
  message.mutable_create_room()->set_room_id(room_id);
  message.mutable_create_room()->set_title(title);
  return message;
}

ClientMessage make_list_rooms() {
  ClientMessage message;
  message.mutable_list_rooms();
  return message;
}

ClientMessage make_join_room(const std::string& room_id) {
  ClientMessage message;
  message.mutable_join_room()->set_room_id(room_id);
  return message;
}

ClientMessage make_leave_room(const std::string& room_id) {
  ClientMessage message;
  message.mutable_leave_room()->set_room_id(room_id);
  return message;
}

ClientMessage make_room_action(const std::string& room_id, const std::string& reason) {
  ClientMessage message;
  message.mutable_room_action()->set_room_id(room_id);
  message.mutable_room_action()->set_reason(reason);
  return message;
}

ClientMessage make_send_message(const std::string& room_id, const std::string& text,
                                const std::string& client_message_id,
                                const std::string& content_warning) {
  ClientMessage message;
  auto* send = message.mutable_send_message();
  send->set_room_id(room_id);
  send->set_text(text);
  send->set_client_message_id(client_message_id);
  send->set_content_warning(content_warning);
  return message;
}

}  // namespace circle::client
