// Nodes tell each other they are alive (core NATS, every heartbeat;
// cluster_backend.hpp): this node's heartbeats go out from a thread of their
// own, so that a busy io_context never makes this node look stopped, and
// every node's (this one's included) are handed to NodeLiveness.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <thread>

#include "circle/v1/room_command.pb.h"
#include "cluster/nats/nats_cluster.hpp"
#include "cluster/node_liveness.hpp"
#include "cluster/replication_options.hpp"

namespace circle::server {

class Heartbeats {
 public:
  Heartbeats(circle::cluster::NatsCluster& cluster, NodeLiveness& liveness,
             const ReplicationOptions& options)
      : cluster_(cluster), liveness_(liveness), options_(options) {}
  ~Heartbeats() {
    stop_sending();
    stop_hearing();
  }

  // Hands what every node says to NodeLiveness, from NATS threads.
  void hear();
  // Stops that; no callback runs into it afterwards.
  void stop_hearing();
  // Sends, every heartbeat: `heartbeat()` (NodeLiveness::heartbeat), then
  // the rooms applied here (`applied`: adds them), on alive_subject.rooms.
  // Neither may wait for a lock a start of a room holds.
  void start_sending(std::function<std::string()> heartbeat,
                     std::function<void(circle::v1::NodeRooms&)> applied);
  // Stops the thread and joins it.
  void stop_sending() { sender_ = {}; }

 private:
  void send(std::stop_token stop);

  circle::cluster::NatsCluster& cluster_;
  NodeLiveness& liveness_;
  const ReplicationOptions& options_;
  std::function<std::string()> heartbeat_;
  std::function<void(circle::v1::NodeRooms&)> applied_;
  using Subscription = std::unique_ptr<circle::cluster::NatsCluster::Subscription,
                                       void (*)(circle::cluster::NatsCluster::Subscription*)>;
  Subscription heard_{nullptr, nullptr};
  Subscription heard_rooms_{nullptr, nullptr};
  std::jthread sender_;  // last: stopped before the rest goes
};

}  // namespace circle::server
