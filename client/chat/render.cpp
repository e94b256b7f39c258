#include "render.hpp"

#include <ctime>
#include <sstream>

namespace circle::chat {

std::string role_name(circle::v1::Role role) {
  switch (role) {
    case circle::v1::ROLE_OBSERVER:
      return "observer";
    case circle::v1::ROLE_PARTICIPANT:
      return "participant";
    case circle::v1::ROLE_CO_FACILITATOR:
      return "co-facilitator";
    case circle::v1::ROLE_FACILITATOR:
      return "facilitator";
    default:
      return "member";
  }
}

std::string error_code_name(circle::v1::ErrorCode code) {
  std::string name = circle::v1::ErrorCode_Name(code);
  constexpr std::string_view prefix = "ERROR_CODE_";
  if (name.starts_with(prefix)) name.erase(0, prefix.size());
  return name.empty() ? "ERROR_" + std::to_string(static_cast<int>(code)) : name;
}

std::string sanitize(const std::string& text, bool single_line) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c == '\n') {
      out += single_line ? "\\n" : "\n    ";
    } else if (c == '\t') {
      out += "    ";
    } else if (c < 0x20 || c == 0x7f) {
      out += '?';
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

namespace {

std::string clock_time(std::int64_t unix_ms, bool local) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm parts{};
  if (local) {
    localtime_r(&seconds, &parts);
  } else {
    gmtime_r(&seconds, &parts);
  }
  char text[8];
  std::strftime(text, sizeof text, "%H:%M", &parts);
  return text;
}

std::string name_of(const circle::v1::Member& member) {
  return sanitize(member.display_name(), true);
}

}  // namespace

std::string render_event(const circle::v1::RoomEvent& event, const RenderOptions& options) {
  std::string line = "[" + clock_time(event.server_time_unix_ms(), options.local_time) + "] ";
  if (options.show_room) line += "(" + event.room_id() + ") ";
  switch (event.kind_case()) {
    case circle::v1::RoomEvent::kMessagePosted:
      line += name_of(event.message_posted().sender()) + ": " +
              sanitize(event.message_posted().text(), options.single_line);
      break;
    case circle::v1::RoomEvent::kMemberJoined:
      line += "* " + name_of(event.member_joined().member()) + " joined";
      break;
    case circle::v1::RoomEvent::kMemberLeft:
      line +=
          "* " + name_of(event.member_left().member()) +
          (event.member_left().reason() == circle::v1::LEAVE_REASON_DISCONNECTED ? " disconnected"
                                                                                 : " left");
      break;
    default:
      line += "* (an event this client does not know)";
      break;
  }
  return line;
}

std::string render_members(const circle::client::RoomView& room) {
  std::string list;
  for (const auto& [id, member] : room.members()) {
    if (!list.empty()) list += ", ";
    list += name_of(member);
    if (id == room.my_member_id()) {
      list += " (you)";
    } else if (member.role() != circle::v1::ROLE_PARTICIPANT) {
      list += " (" + role_name(member.role()) + ")";
    }
  }
  return list;
}

std::vector<std::string> render_join(const circle::client::RoomView& room,
                                     const circle::v1::RoomSnapshot& snapshot,
                                     const RenderOptions& options) {
  std::vector<std::string> lines;
  const auto* me = room.me();
  std::ostringstream summary;
  summary << "* You joined \"" << sanitize(room.info().title(), true) << "\" ("
          << room.info().room_id() << ") as " << (me ? name_of(*me) : "?") << ", "
          << (me ? role_name(me->role()) : "member") << ". " << room.members().size()
          << " here: " << render_members(room);
  lines.push_back(summary.str());
  for (const auto& event : snapshot.recent_events()) {
    if (event.has_message_posted()) lines.push_back(render_event(event, options));
  }
  return lines;
}

std::string render_error(const std::string& action, const circle::v1::Error& error) {
  return "! " + action + " failed: " + sanitize(error.message(), true) + " [" +
         error_code_name(error.code()) + "]";
}

std::string render_rooms(const circle::v1::ListRoomsResponse& rooms) {
  if (rooms.rooms().empty()) return "* No rooms yet. Start one with /join <room-id>";
  std::string text = "* Rooms:";
  for (const auto& room : rooms.rooms()) {
    text += "\n    " + room.room_id() + "  \"" + sanitize(room.title(), true) + "\"  " +
            std::to_string(room.member_count()) + " here";
  }
  return text;
}

}  // namespace circle::chat
