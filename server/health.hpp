// What GET /healthz answers: 200 when `ok`, else 503; `json` is the body.
#pragma once

#include <optional>
#include <string>

namespace circle::server {

struct Health {
  bool ok = true;
  std::string json = "{\"status\":\"ok\"}";
  // --backend nats: whether this node reaches NATS and follows the room log.
  std::optional<bool> nats_connected;
  std::optional<bool> room_log_following;
};

}  // namespace circle::server
