// How the terminal client shows things: one function per kind of thing, each
// returning the text of one line (or a few). Pure: no I/O, testable.
#pragma once

#include <string>
#include <vector>

#include "circle/v1/circle.pb.h"
#include "circle_client/room_view.hpp"

namespace circle::chat {

struct RenderOptions {
  // Show the room id before each event (when several rooms are joined).
  bool show_room = false;
  // Keep each event on one line (for scripts): newlines in text become "\n".
  bool single_line = false;
  // Local time zone for timestamps; false uses UTC (tests).
  bool local_time = true;
};

std::string role_name(circle::v1::Role role);
std::string error_code_name(circle::v1::ErrorCode code);

// "[21:30] #12 Alex: hello", "[21:31] * Sam joined", ... `room` (when given)
// names members that events refer to by id.
std::string render_event(const circle::v1::RoomEvent& event, const RenderOptions& options,
                         const circle::client::RoomView* room = nullptr);
// Private events: direct messages, support alerts, the waiting room, ...
// Empty when there is nothing to show.
std::string render_private(const circle::v1::PrivateEvent& event, const RenderOptions& options,
                           const circle::client::RoomView* room = nullptr);
// The lines to show after joining: a summary and the recent messages.
std::vector<std::string> render_join(const circle::client::RoomView& room,
                                     const circle::v1::RoomSnapshot& snapshot,
                                     const RenderOptions& options);
// "Alex (facilitator), Sam (you), ..."
std::string render_members(const circle::client::RoomView& room);
// /who: members, hands, the round; facilitators also see ids, accounts,
// flags, the waiting room and open support alerts.
std::vector<std::string> render_who(const circle::client::RoomView& room);
// "! could not join: there is no room 'x' [ROOM_NOT_FOUND]"
std::string render_error(const std::string& action, const circle::v1::Error& error);
// What the asker is told at once about a request for support: whom it
// reached (truthfully: no facilitator present is said so), then the
// operator's crisis resources, if any.
// An invite link /invite made: where to open it and what it allows.
// `web_url`: the web app's address (empty: https://127.0.0.1:8444).
std::string render_invite(const circle::v1::Invite& invite, const std::string& web_url);

std::string render_support_outcome(const circle::v1::SupportOutcome& outcome);
// The asker's line when their request went to the service's operators:
// whom it reached, as it is (none connected is said so).
std::string render_your_alert_escalated(const circle::v1::YourAlertEscalated& escalated);
// A message behind a content warning, as /show prints it.
std::string render_revealed(const circle::v1::RoomEvent& event, const RenderOptions& options);
std::string render_rooms(const circle::v1::ListRoomsResponse& rooms);
// Replaces control characters so that nothing a peer sends can move the
// cursor or recolour the terminal.
std::string sanitize(const std::string& text, bool single_line);

}  // namespace circle::chat
