// Copies of rooms (RoomReplica), one key per room, in a JetStream key-value
// bucket: a node starting up goes on from them instead of the room log's
// start, so the log before them can be deleted (docs/ARCHITECTURE.md,
// "Scale-out"). Writes name the revision they read (optimistic): of two
// nodes writing from the same revision, one is refused and reads again.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/nats/nats_cluster.hpp"

namespace circle::cluster {

class RoomReplicaBucket {
 public:
  enum class Outcome {
    kWritten,      // `revision` is the new one
    kConflict,     // someone wrote since the revision named (or created it first)
    kUnavailable,  // no answer from the cluster in time
  };
  struct Written {
    Outcome outcome = Outcome::kUnavailable;
    std::uint64_t revision = 0;
    std::string error;  // what failed, for the log (never the state)
  };
  struct Entry {
    std::string value;
    std::uint64_t revision = 0;
  };

  // A service's bucket, named after its --nats-namespace.
  static std::string name_for_namespace(const std::string& ns) { return ns + "_rooms"; }

  // Binds to (or creates) the bucket; `cluster` must outlive it.
  explicit RoomReplicaBucket(NatsCluster& cluster, std::string bucket = "circle_rooms");
  ~RoomReplicaBucket();
  RoomReplicaBucket(const RoomReplicaBucket&) = delete;
  RoomReplicaBucket& operator=(const RoomReplicaBucket&) = delete;

  Lookup<Entry> get(const std::string& room_id);
  // Every room with a copy.
  Lookup<std::vector<std::string>> keys();
  // Writes `value` if the room's state is still at `revision` (0: the room
  // has none yet).
  Written put(const std::string& room_id, const std::string& value, std::uint64_t revision);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace circle::cluster
