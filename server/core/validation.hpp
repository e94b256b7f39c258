// Input rules for everything a client sends. Pure functions: no I/O.
#pragma once

#include <string_view>

#include "circle/v1/circle.pb.h"
#include "core/limits.hpp"
#include "core/result.hpp"

namespace circle::core {

// True when `text` is well-formed UTF-8 (no overlongs, surrogates or values
// above U+10FFFF).
bool is_valid_utf8(std::string_view text);

// Display names: 1..max bytes of UTF-8, no control characters, not blank.
Check check_display_name(std::string_view name, const Limits& limits);
// Room titles: as display names, with their own length limit.
Check check_room_title(std::string_view title, const Limits& limits);
// Room ids: 1..max of [a-z0-9_-].
Check check_room_id(std::string_view room_id, const Limits& limits);
// Chat text: 1..max bytes of UTF-8; tab and newline allowed, other control
// characters refused; not blank.
Check check_text(std::string_view text, const Limits& limits);

// Envelope-level rules every request must meet: a non-zero request_id, a
// payload, no UNSPECIFIED enum, and the per-request field rules above.
Check check_client_message(const circle::v1::ClientMessage& message, const Limits& limits);

// Parses one binary WebSocket message. Refuses with MALFORMED_MESSAGE.
Result<circle::v1::ClientMessage> decode_client_message(std::string_view bytes);

}  // namespace circle::core
