// The replica writer (cluster_backend.hpp): writes the copies of rooms
// (RoomReplica) handed over by their journals to the key-value bucket, on a
// thread of its own (blocking calls to the cluster), and deletes the room
// log before each copy once the purge delay has passed and every node heard
// from has read past it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

#include "circle/v1/room_command.pb.h"
#include "cluster/nats/jetstream_log.hpp"
#include "cluster/nats/nats_cluster.hpp"
#include "cluster/nats/room_replica_bucket.hpp"
#include "cluster/node_liveness.hpp"
#include "cluster/replication_options.hpp"

namespace circle::server {

// The largest copy written (NATS refuses messages over its max_payload,
// 1 MiB by default): a copy over it is not written, so the room keeps its
// log from its last copy on.
inline constexpr std::size_t kMaxReplicaBytes = 900 * 1024;

class ReplicaWriter {
 public:
  ReplicaWriter(circle::cluster::NatsCluster& cluster, circle::cluster::JetStreamLog& log,
                const NodeLiveness& liveness, const ReplicationOptions& options);
  ~ReplicaWriter() { stop(); }

  // Starts the writer's thread. `caught_up`: whether this node has read the
  // room log back (nothing is deleted before). `each_round`: work to do on
  // this thread after each round of writing and deleting.
  void start(std::function<bool()> caught_up, std::function<void()> each_round);
  // Stops the thread (after the write in progress) and joins it.
  void stop() { thread_ = {}; }

  // The bucket of copies (read by nodes going on from a copy too).
  circle::cluster::RoomReplicaBucket& bucket() { return bucket_; }
  // A copy handed over by a room: written soon (the newest per room).
  void keep(const std::string& room_id, circle::v1::RoomReplica replica);
  // The bucket was read to hold a copy of `room_id` up to `log_position`,
  // as its `revision`.
  void note_read(const std::string& room_id, std::uint64_t revision, std::uint64_t log_position);
  // The log position of the newest copy of `room_id` known written (0: none).
  std::uint64_t copied_through(const std::string& room_id);
  // Deletes the room log of `room_id` up to `through` (a copy's position)
  // once the purge delay has passed and every node has read past it.
  void schedule_purge(const std::string& room_id, std::uint64_t through);

 private:
  // The writer's thread: writes copies (blocking calls to the cluster),
  // then deletes the room log before each once the purge delay has passed.
  void write_replicas(std::stop_token stop);
  // Whether it was written or is not needed; false: try again later.
  bool write_replica(const std::string& room_id, const circle::v1::RoomReplica& replica);
  void purge_due();

  circle::cluster::JetStreamLog& log_;
  const NodeLiveness& liveness_;
  const ReplicationOptions& options_;
  circle::cluster::RoomReplicaBucket bucket_;
  std::function<bool()> caught_up_;
  std::function<void()> each_round_;

  std::mutex mutex_;  // guards all below but replicas_to_retry_; nothing is called under it
  // Copies handed over by rooms and not written yet (the newest per room).
  std::condition_variable_any replicas_handed_;
  std::map<std::string, circle::v1::RoomReplica> replicas_to_write_;
  // What the bucket holds per room (after load_replicas), and copies the
  // writer tries again (only on its thread).
  struct WrittenReplica {
    std::uint64_t revision = 0;
    std::uint64_t log_position = 0;
  };
  std::map<std::string, WrittenReplica> written_replicas_;
  std::map<std::string, circle::v1::RoomReplica> replicas_to_retry_;
  // Room log to delete, per room: up to `through` (a copy's position) once
  // `at` has passed and every node heard from has read past it; `deleted`
  // so far.
  struct DuePurge {
    std::chrono::steady_clock::time_point at;
    std::uint64_t through = 0;
    std::uint64_t deleted = 0;
    std::chrono::steady_clock::time_point warned;
  };
  std::map<std::string, DuePurge> purges_;
  std::jthread thread_;  // last: stopped before the rest goes
};

}  // namespace circle::server
