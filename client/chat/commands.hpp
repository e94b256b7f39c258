// The in-room slash commands of `circle chat` (/mute, /kick, /hand, /round,
// /support, ...): parsing, help filtered by the user's role, and the
// RoomActionRequest each one sends. The server decides; these only ask.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "circle/v1/circle.pb.h"
#include "circle_client/room_view.hpp"

namespace circle::chat {

struct CommandContext {
  // A copy of the current room's view; nullopt when not in a room.
  std::function<std::optional<circle::client::RoomView>()> room;
  // Sends one room action to the current room; prints `done` when it
  // succeeds (if non-empty) or the error when it is refused.
  // `command` (e.g. "/mute") names it in an error line.
  std::function<void(const circle::v1::RoomActionRequest& action, const std::string& done,
                     const std::string& command)>
      act;
  std::function<void(std::string line)> print;
};

// Runs `command` (e.g. "/mute") with the rest of the line in `args`.
// Returns false when `command` is not an in-room command.
bool run_room_command(const std::string& command, const std::string& args, CommandContext& ctx);

// Help lines for the in-room commands `room` lets this user use (all of the
// everyone-commands when not in a room).
std::vector<std::string> room_command_help(const circle::client::RoomView* room);

// The commands a role needs `action`'s minimum for (e.g. "/lock", "/unlock"
// for ACTION_LOCK), in /help's order: docs/FACILITATOR_GUIDE.md's permission
// table is generated from these and the server's defaults.
std::vector<std::string> commands_needing(circle::v1::Action action);

// "10m" -> 600, "2h" -> 7200, "45s" -> 45; a bare number counts in
// `bare_unit_seconds` (60: minutes). nullopt when not a duration.
std::optional<std::uint32_t> parse_duration(const std::string& text,
                                            std::uint32_t bare_unit_seconds = 1);

}  // namespace circle::chat
