// `circle chat`: the interactive terminal client. With a terminal it keeps the
// line being typed intact while messages arrive above it (GNU Readline); with
// stdin from a pipe or file it reads one line per message or command and
// prints one line per event, so scripts and tests can drive it.
#pragma once

#include <string>

#include "circle/v1/circle.pb.h"

namespace circle::chat {

struct ChatOptions {
  std::string server_url = "wss://127.0.0.1:8443";
  // Where the web app is, for invite links (empty: https://<server host>:8444).
  std::string web_url;
  std::string ca_file;       // empty: the system's trusted CAs
  std::string display_name;  // empty: the token's name
  std::string token;         // account token (JWT) from the organisation or `circled token`
  std::string room;          // joined (created if missing) at start when set
  std::string title;         // title for a room this client creates
  // Reconnect by itself after a dropped connection, re-join and show what
  // was missed; messages typed meanwhile go out after the resume.
  bool reconnect = true;
  // Preset for a room this client creates.
  circle::v1::RoomKind kind = circle::v1::ROOM_KIND_FACILITATED_GROUP;
};

// Runs until /quit, end of input, Ctrl-C, or the connection ending for good
// (refused, or dropped with reconnect off). Returns the process exit status.
int run_chat(const ChatOptions& options);

}  // namespace circle::chat
