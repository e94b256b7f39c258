// Applying a RoomCommand to a room: the one place where a request becomes a
// room call and its reply. The same on a single node (applied at once) and
// across nodes (applied by every node, in the stream's order, with only the
// asking node holding the connection to answer).
#pragma once

#include <memory>

#include "circle/v1/room_command.pb.h"
#include "core/room.hpp"
#include "metrics.hpp"
#include "rooms/support_resources.hpp"

namespace circle::server {

class RoomHost;

struct CommandContext {
  // The asking connection, if it is on this node (else nothing is answered).
  std::weak_ptr<core::EventSink> requester;
  RoomHost& host;
  Metrics& metrics;
  const core::Limits& limits;
  // This node's connection-id prefix (NodeGone of our own closes our sessions).
  std::uint64_t own_node_prefix = 0;
  // Whether every node applies this command (--backend nats), or only this one.
  bool shared_with_other_nodes = false;
  // The operator's crisis resources, given with every answer to a request
  // for support (empty: none configured).
  const SupportResources& support_resources;
};

// On the room's strand. Not for CreateRoomCommand (the registry makes rooms).
void apply_command(core::Room& room, const circle::v1::RoomCommand& command,
                   const CommandContext& context);

// The node prefix of a connection id: ids are prefix << kNodePrefixShift | n.
inline constexpr int kNodePrefixShift = 40;
inline std::uint64_t node_prefix_of(core::ConnectionId connection) {
  return connection >> kNodePrefixShift;
}

}  // namespace circle::server
