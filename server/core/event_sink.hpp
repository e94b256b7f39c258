// The only way logic reaches a connection: hand it one shared, already
// serialised server message. Implementations must be thread-safe and must not
// block (the network floor queues the frame on the connection's strand).
#pragma once

#include <cstdint>
#include <string>

#include "circle/wire.hpp"

namespace circle::core {

// Identifies one client connection inside the server.
using ConnectionId = std::uint64_t;

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Queue `frame` for delivery, in call order.
  virtual void deliver(circle::wire::Frame frame) = 0;
  // The room dropped this connection (removed, banned, denied, session
  // ended), after delivering the event that says so. `join_token` is the
  // one the connection joined with (Joiner::join_token), so that a late
  // notice cannot undo a newer join of the same room.
  virtual void removed_from_room(const std::string& room_id, std::uint64_t join_token) = 0;
  // The room can no longer vouch for what this connection was shown (it was
  // read back after a storage fault, or this node lost the cluster): the
  // client must reconnect and resume, and is told `reason`.
  virtual void must_reconnect(const std::string& reason) = 0;
};

}  // namespace circle::core
