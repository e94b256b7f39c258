// Several circled nodes sharing rooms (--backend nats; docs/ARCHITECTURE.md,
// "Scale-out"). Every room command is appended to the room log, a NATS
// JetStream stream with a subject per room, and every node that applies a
// room applies its commands in the log's order, so each node's copy of a
// room goes through the same states and hands out the same seqs. Only the
// asking node holds the connection that gets the answer; each node delivers
// events to its own connections.
//
// A node applies only the rooms it has members in: the others are dormant
// there (their entries are skipped). A request for a dormant room first
// makes the node go on from the room's copy and the log after it.
//
// Nodes also tell each other they are alive (core NATS, every heartbeat).
// A node not heard from for the node timeout is taken for stopped: its
// connections leave every room (one NodeGoneCommand per room, sent by any
// node that notices; the log keeps one).
//
// The parts, each with its own lock (and thread, where it has one), each
// calling only those below it (those above only through a callback or an
// interface it is given):
//
//   ClusterBackend  (this)  the RoomBackend: relaying, following the log,
//                           the beat (on the io_context), finding stopped
//                           nodes, health
//   DormantRooms            rooms applied here or dormant: start from a copy
//                           (its thread), rest, adopt
//   ReplicaWriter           copies and erasing the log before them (its thread)
//   RequestAnswers          appending this node's requests, one answer each
//   ClusterJournals         each room's journal (ClusterJournal)
//   Heartbeats              sending heartbeats (its thread), hearing them
//   NodeLiveness            who is alive, as their heartbeats say
//
// Locks: only DormantRooms' rooms lock is held while another is taken, and
// it comes first: under it, RequestAnswers', ReplicaWriter's,
// ClusterJournals', a ClusterJournal's, DormantRooms' applied-rooms lock and
// those the rooms take to apply a command. Every other lock (the backend's
// applied lock, NodeLiveness') is held only while nothing else is called.
// The heartbeat thread never waits for the rooms lock (a start holds it
// while it appends held requests): it reads a snapshot of the applied rooms.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "beast.hpp"
#include "cluster/cluster_journal.hpp"
#include "cluster/dormant_rooms.hpp"
#include "cluster/heartbeats.hpp"
#include "cluster/nats/jetstream_log.hpp"
#include "cluster/nats/nats_cluster.hpp"
#include "cluster/node_liveness.hpp"
#include "cluster/replica_writer.hpp"
#include "cluster/replication_options.hpp"
#include "cluster/request_answers.hpp"
#include "health.hpp"
#include "metrics.hpp"
#include "rooms/room_backend.hpp"
#include "rooms/room_registry.hpp"

namespace circle::server {

class ClusterBackend final : public RoomBackend, public ClusterJournal::Backend {
 public:
  // `audit_log` (may be null) keeps the moderation audit log.
  ClusterBackend(net::io_context& ioc, circle::cluster::NatsCluster& cluster,
                 circle::cluster::JetStreamLog& log, const core::Limits& limits, Metrics& metrics,
                 ReplicationOptions options, circle::cluster::JetStreamLog* audit_log = nullptr);
  ~ClusterBackend() override;

  // RoomBackend. The registry must be `rooms` (set_rooms) too.
  void attach(CommandApplier& applier) override { answers_.attach(applier); }
  void order(circle::v1::RoomCommand command, std::weak_ptr<core::EventSink> requester,
             std::string message_id) override;
  std::shared_ptr<RoomJournal> journal_for(const std::string& room_id) override {
    return journals_.make(*this, room_id);
  }
  std::vector<core::Room> restore(const core::Limits&) override { return {}; }
  bool shared_with_other_nodes() const override { return true; }
  // The room's copies are written by its leader, which also tells the webhook.
  bool leads(const std::string& room_id) const override { return keeps_replica_of(room_id); }
  // The rooms this backend's commands are applied to; before start().
  void set_rooms(RoomRegistry& rooms) {
    rooms_ = &rooms;
    dormant_.set_rooms(rooms);
  }

  // Follows the room log (retrying until the cluster answers) and waits, at
  // most `catch_up`, until what the log held has been handed to the rooms;
  // then starts the heartbeats. Before serving.
  void start(std::chrono::milliseconds catch_up);
  // Stops following, answers what is in flight (at most the cluster's
  // wait); no callback runs into this object afterwards.
  void stop();

  // Appends `command` to the room log; every node (this one included)
  // applies it once the log has stored it. `message_id` (may be empty)
  // de-duplicates commands several nodes send for the same thing (ticks, a
  // node gone). Should it not be stored, `refused` runs (on any thread).
  void relay(circle::v1::RoomCommand command, std::string message_id,
             std::function<void(const core::Refusal&)> refused);

  Health health() const;

  // ClusterJournal::Backend.
  // Copies of a room: written by one node at a time (the lowest-numbered
  // node heard from that applies the room), only once it has read the room
  // log back.
  bool keeps_replica_of(const std::string& room_id) const override;
  std::chrono::milliseconds replica_interval() const override { return options_.replica_interval; }
  void keep_replica(const std::string& room_id, circle::v1::RoomReplica replica) override {
    writer_.keep(room_id, std::move(replica));
  }
  // Every node appends the entries of what it applies; the audit log keeps
  // one of each (a message id per log entry and entry).
  void keep_audit(const std::vector<core::AuditEntry>& entries,
                  std::uint64_t log_position) override;

 private:
  void on_entry(const circle::cluster::JetStreamLog::Entry& entry);
  bool try_follow();
  // Every heartbeat (on the io_context): follow if not yet, send leaves that
  // could not be stored yet, and find stopped nodes.
  void beat();
  void find_stopped_nodes();
  // Whether this node writes copies: it follows the log, has read it back,
  // and no lower-numbered node heard from lately that has (and applies
  // `room_id`, if not null) does.
  bool lowest_writer(const std::string* room_id) const;

  net::io_context& ioc_;
  circle::cluster::NatsCluster& cluster_;
  circle::cluster::JetStreamLog& log_;
  const core::Limits& limits_;
  RoomRegistry* rooms_ = nullptr;
  Metrics& metrics_;
  const ReplicationOptions options_;
  circle::cluster::JetStreamLog* audit_log_;
  net::steady_timer beat_timer_;

  std::atomic<bool> following_{false};
  // Read the room log back up to its end (an entry came with nothing
  // pending after it, or there was nothing to read). Set under
  // applied_mutex_.
  std::atomic<bool> caught_up_{false};
  std::mutex applied_mutex_;  // nothing is called under it
  std::condition_variable applied_changed_;
  // The stream's last sequence when following began: entries after it must
  // come in turn (on_entry). Guarded by applied_mutex_ (written before
  // following, read by the follower).
  std::uint64_t follow_baseline_ = 0;
  std::uint64_t applied_up_to_ = 0;  // guarded by applied_mutex_
  std::atomic<bool> failed_{false};  // options_.fatal was called
  // Only on the beat: (room, node) → when its NodeGoneCommand was last relayed.
  std::map<std::pair<std::string, std::uint64_t>, std::chrono::steady_clock::time_point> gone_sent_;

  // The parts, each on those before it (destroyed in the reverse order,
  // after stop() joined their threads).
  NodeLiveness liveness_;
  Heartbeats heartbeats_;
  RequestAnswers answers_;
  ClusterJournals journals_;
  ReplicaWriter writer_;
  DormantRooms dormant_;
};

}  // namespace circle::server
