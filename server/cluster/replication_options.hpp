// What a node of a cluster is told about sharing rooms (--backend nats): read
// by the cluster backend and each of its parts (cluster_backend.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/event_sink.hpp"

namespace circle::server {

struct ReplicationOptions {
  // Where nodes of this service say they are alive (core NATS).
  std::string alive_subject = "circle.nodes.alive";
  // This node's connection-id prefix (room_commands.hpp: node_prefix_of).
  std::uint64_t node_prefix = 0;
  std::chrono::milliseconds node_timeout{5000};
  std::chrono::milliseconds heartbeat{1000};
  // Copies of rooms (RoomReplica): the key-value bucket they are kept in,
  // how often a changed room is copied, and how long the room log before a
  // copy is kept after it is written (a node reading the log back from an
  // older copy meanwhile still finds what follows it).
  std::string replica_bucket = "circle_rooms";
  std::chrono::milliseconds replica_interval{60'000};
  std::chrono::milliseconds purge_delay{30'000};
  // How long a room this node has no members in is still applied here.
  std::chrono::milliseconds dormant_after{60'000};
  // This node's open connection `id` (expired when it is not open here).
  std::function<std::weak_ptr<core::EventSink>(core::ConnectionId)> find_connection;
  // The room log moved on without this node (it was cut off for longer than
  // the node timeout): its copies of rooms may differ from the others', so
  // it must stop serving. Called once, from a NATS thread; nothing is
  // applied afterwards.
  std::function<void(const std::string& why)> fatal;
};

}  // namespace circle::server
