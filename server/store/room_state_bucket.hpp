// Room state that permission checks need (settings, roles, bans, agreement
// acceptances), kept in a JetStream key-value bucket so that every node sees
// the same (issue 8; docs/ARCHITECTURE.md, "Scale-out"). Writes name the
// revision they read (optimistic): of two nodes writing from the same
// revision, one is refused and reads again.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "store/nats_cluster.hpp"

namespace circle::store {

class RoomStateBucket {
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

  // Binds to (or creates) the bucket; `cluster` must outlive it.
  explicit RoomStateBucket(NatsCluster& cluster, std::string bucket = "circle_rooms");
  ~RoomStateBucket();
  RoomStateBucket(const RoomStateBucket&) = delete;
  RoomStateBucket& operator=(const RoomStateBucket&) = delete;

  Lookup<Entry> get(const std::string& room_id);
  // Writes `value` if the room's state is still at `revision` (0: the room
  // has none yet).
  Written put(const std::string& room_id, const std::string& value, std::uint64_t revision);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace circle::store
