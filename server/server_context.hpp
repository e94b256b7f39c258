// What every connection shares: settings, rooms, and the session list.
#pragma once

#include <atomic>

#include "config.hpp"
#include "connection_limits.hpp"
#include "metrics.hpp"
#include "published_keys.hpp"
#include "rooms/room_registry.hpp"
#include "session_tracker.hpp"
#include "support_escalation.hpp"

namespace circle::server {

struct ServerContext {
  const Config& config;
  RoomRegistry& rooms;
  SessionTracker& sessions;
  ConnectionLimits& limits;
  Metrics& metrics;
  // Operators (admin sessions) connected now: escalated support alerts.
  OperatorDesk& operators;
  // The identity provider's keys (--jwks-file/--jwks-url); null: none.
  PublishedKeys* published_keys = nullptr;
  std::atomic<core::ConnectionId> last_connection_id{0};
};

}  // namespace circle::server
