// What every connection shares: settings, rooms, and the session list.
#pragma once

#include <atomic>

#include "config.hpp"
#include "connection_limits.hpp"
#include "metrics.hpp"
#include "room_registry.hpp"
#include "session_tracker.hpp"

namespace circle::server {

struct ServerContext {
  const Config& config;
  RoomRegistry& rooms;
  SessionTracker& sessions;
  ConnectionLimits& limits;
  Metrics& metrics;
  std::atomic<core::ConnectionId> last_connection_id{0};
};

}  // namespace circle::server
