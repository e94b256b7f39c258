// Builders for every client request, so callers never assemble envelopes by
// hand. The Connection fills in request_id.
#pragma once

#include <string>

#include "circle/v1/circle.pb.h"

namespace circle::client {

// `display_name` may be empty when `token` carries a name; `token` may be
// empty only for servers run with --allow-anonymous.
circle::v1::ClientMessage make_hello(const std::string& display_name,
                                     const std::string& client_name = "circle-client/0.1",
                                     const std::string& token = {});
circle::v1::ClientMessage make_create_room(const std::string& room_id, const std::string& title);
circle::v1::ClientMessage make_list_rooms();
circle::v1::ClientMessage make_join_room(const std::string& room_id);
circle::v1::ClientMessage make_leave_room(const std::string& room_id);
// A RoomActionRequest for `room_id`; set the action on
// message.mutable_room_action() before sending.
circle::v1::ClientMessage make_room_action(const std::string& room_id,
                                           const std::string& reason = {});
circle::v1::ClientMessage make_send_message(const std::string& room_id, const std::string& text,
                                            const std::string& client_message_id = {},
                                            const std::string& content_warning = {});

}  // namespace circle::client
