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
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "beast.hpp"
#include "cluster/nats/jetstream_log.hpp"
#include "cluster/nats/nats_cluster.hpp"
#include "cluster/nats/room_replica_bucket.hpp"
#include "health.hpp"
#include "metrics.hpp"
#include "rooms/recent_events.hpp"
#include "rooms/room_backend.hpp"
#include "rooms/room_registry.hpp"

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

// The largest copy written (NATS refuses messages over its max_payload,
// 1 MiB by default): a copy over it is not written, so the room keeps its
// log from its last copy on.
inline constexpr std::size_t kMaxReplicaBytes = 900 * 1024;

class ClusterJournal;

class ClusterBackend final : public RoomBackend {
 public:
  // `audit_log` (may be null) keeps the moderation audit log.
  ClusterBackend(net::io_context& ioc, circle::cluster::NatsCluster& cluster,
                 circle::cluster::JetStreamLog& log, const core::Limits& limits, Metrics& metrics,
                 ReplicationOptions options, circle::cluster::JetStreamLog* audit_log = nullptr);
  ~ClusterBackend() override;

  // RoomBackend. The registry must be `rooms` (set_rooms) too.
  void attach(CommandApplier& applier) override { applier_ = &applier; }
  void order(circle::v1::RoomCommand command, std::weak_ptr<core::EventSink> requester,
             std::string message_id) override;
  std::unique_ptr<RoomJournal> journal_for(const std::string& room_id) override;
  std::vector<core::Room> restore(const core::Limits&) override { return {}; }
  bool shared_with_other_nodes() const override { return true; }
  // The room's copies are written by its leader, which also tells the webhook.
  bool leads(const std::string& room_id) const override { return keeps_replica_of(room_id); }
  // The rooms this backend's commands are applied to; before start().
  void set_rooms(RoomRegistry& rooms) { rooms_ = &rooms; }

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

  // Copies of a room: written by one node at a time (the lowest-numbered
  // node heard from that applies the room), only once it has read the room
  // log back.
  bool keeps_replica_of(const std::string& room_id) const;
  std::chrono::milliseconds replica_interval() const { return options_.replica_interval; }
  void keep_replica(const std::string& room_id, circle::v1::RoomReplica replica);
  // Every node appends the entries of what it applies; the audit log keeps
  // one of each (a message id per log entry and entry).
  void keep_audit(const std::vector<core::AuditEntry>& entries, std::uint64_t log_position);

 private:
  // The rooms this node applies, and the dormant ones (every room is known
  // here: every node applies every creation).
  struct FollowedRoom {
    enum class State { kDormant, kStarting, kApplied };
    State state = State::kDormant;
    std::uint64_t created = 0;  // its creation's log entry
    std::uint64_t applied = 0;  // the last of its log entries handed to it
    // The last entry it caught up with when this node last went on from
    // its copy (applied elsewhere first).
    std::uint64_t caught_up_through = 0;
    // Going dormant as the last to apply it waits (a few heartbeats) for a
    // copy as new as the room: since when.
    std::optional<std::chrono::steady_clock::time_point> copy_asked_at;
    // While starting: entries the log brought meanwhile, and this node's
    // requests, relayed once it is applied.
    std::vector<circle::cluster::JetStreamLog::Entry> arrived;
    struct Held {
      circle::v1::RoomCommand command;
      std::string message_id;
      std::function<void(const core::Refusal&)> refused;
    };
    std::vector<Held> held;
    std::chrono::steady_clock::time_point wanted_at;  // last asked for, or had members here
    circle::v1::RoomCommand creation;                 // to go on from without a copy
  };
  // Goes on from `copy` (null: from its creation, when it was never copied):
  // the room is applied here from then on. False: no such room here.
  bool go_on_from(const std::string& room_id, const circle::v1::RoomReplica* copy);
  // What this node's journal of `room_id` says (null: none yet).
  std::shared_ptr<ClusterJournal> journal_of(const std::string& room_id) const;
  // Goes on from each room asked for while dormant: its copy and the room
  // log after it (blocking calls to the cluster), on a thread of its own.
  void start_rooms(std::stop_token stop);
  // False: the cluster did not answer (the room is dormant again).
  bool start_room(const std::string& room_id);
  // The room's copy (none: never copied) and its log after it, as of one
  // moment; empty, or why they could not be read.
  std::string read_room_from_copy(const std::string& room_id,
                                  std::optional<circle::v1::RoomReplica>& copy,
                                  std::vector<circle::cluster::JetStreamLog::Entry>& after_copy);
  // Hands a command from the log to its room; a join of this node's that
  // was answered "unavailable" and stored after all comes back as a leave
  // to relay.
  // `replay`: read again while going on from the room's copy.
  std::optional<circle::v1::RoomCommand> hand_over(
      const circle::cluster::JetStreamLog::Entry& entry, circle::v1::RoomCommand command,
      bool replay);
  // A request of this node's that its room will not be handed here: its
  // asker, if still waiting, is refused UNAVAILABLE, and a join comes back
  // as the leave to relay.
  std::optional<circle::v1::RoomCommand> give_up(const circle::v1::RoomCommand& command,
                                                 const std::string& why);
  // relay() for a room applied here (or not known here): to the room log.
  void append(circle::v1::RoomCommand command, std::string message_id,
              std::function<void(const core::Refusal&)> refused);
  // Every heartbeat: rooms without members here for long become dormant;
  // dormant ones show what the nodes applying them say.
  void rest_rooms();
  // The global writer, every copy interval: dormant rooms nobody applies
  // whose copy is behind their log, or due (expiring history, a node gone),
  // are applied here for a while.
  void adopt_neglected_rooms();
  // The replica writer's thread: writes copies (blocking calls to the
  // cluster), then deletes the room log before each once the purge delay
  // has passed.
  void write_replicas(std::stop_token stop);
  // Whether it was written or is not needed; false: try again later.
  bool write_replica(const std::string& room_id, const circle::v1::RoomReplica& replica);
  void schedule_purge(const std::string& room_id, std::uint64_t through);
  void purge_due();
  void on_entry(const circle::cluster::JetStreamLog::Entry& entry);
  void keep_unsent_leave(const circle::v1::RoomCommand& command);
  // The rooms applied here (a snapshot: the heartbeat thread never waits
  // for rooms_mutex_, which a start holds while it appends held requests).
  std::vector<std::string> applied_rooms() const;
  // Under rooms_mutex_, after a room's state changed to or from applied.
  void applied_rooms_changed();
  // keeps_replica_of, for a room known to be applied here (under
  // rooms_mutex_ or not).
  bool writes_replica_of(const std::string& room_id) const;
  bool try_follow();
  // Every heartbeat (on the io_context): follow if not yet, send leaves that
  // could not be stored yet, and find stopped nodes.
  void beat();
  void find_stopped_nodes();
  // Heartbeats go out from a thread of their own, so that a busy io_context
  // never makes this node look stopped.
  void send_heartbeats(std::stop_token stop);

  net::io_context& ioc_;
  circle::cluster::NatsCluster& cluster_;
  circle::cluster::JetStreamLog& log_;
  const core::Limits& limits_;
  CommandApplier* applier_ = nullptr;
  RoomRegistry* rooms_ = nullptr;
  Metrics& metrics_;
  ReplicationOptions options_;
  net::steady_timer beat_timer_;
  std::unique_ptr<circle::cluster::NatsCluster::Subscription,
                  void (*)(circle::cluster::NatsCluster::Subscription*)>
      heard_{nullptr, nullptr};
  std::jthread heartbeats_;
  const std::string limits_fingerprint_;  // see room_limits_fingerprint

  std::atomic<bool> following_{false};
  // Read the room log back up to its end (an entry came with nothing
  // pending after it, or there was nothing to read). Set under
  // applied_mutex_.
  std::atomic<bool> caught_up_{false};
  // The stream's last sequence when following began: entries after it must
  // come in turn (on_entry). Guarded by applied_mutex_ (written before
  // following, read by the follower).
  std::uint64_t follow_baseline_ = 0;
  // The lowest-numbered node heard from that has read the log back: it
  // adopts neglected rooms. Decided every heartbeat.
  std::atomic<bool> keeps_replicas_{false};
  circle::cluster::RoomReplicaBucket replica_bucket_;
  circle::cluster::JetStreamLog* audit_log_;
  std::mutex applied_mutex_;
  std::condition_variable applied_changed_;
  std::uint64_t applied_up_to_ = 0;  // guarded by applied_mutex_

  mutable std::mutex mutex_;
  // Requests of this node relayed and not yet answered, or answered
  // "unavailable" (no answer in time) while they may yet be stored: one
  // answer each, whichever comes first; a refused one stored after all is
  // applied without a second answer.
  enum class Answer { kPending, kRefused };
  struct PendingAnswer {
    Answer answer = Answer::kPending;
    std::function<void(const core::Refusal&)> refused;  // while pending
  };
  std::map<std::pair<core::ConnectionId, std::uint64_t>, PendingAnswer> answers_;
  // Leaves the log did not store: sent again until it does, or the member
  // would stay in the room on every node.
  std::vector<circle::v1::RoomCommand> unsent_leaves_;
  // What each node said last, and when (this one included: its own
  // heartbeats come back); and since when the link has been up without a
  // break (others are judged only after a whole node timeout of it).
  struct HeardNode {
    std::chrono::steady_clock::time_point at;
    std::uint64_t position = 0;  // the last room log entry it applied
    bool caught_up = false;      // it has read the room log back
  };
  std::map<std::uint64_t, HeardNode> last_heard_;
  // The rooms each node applies, with their public info, as it said last.
  std::map<std::uint64_t, std::map<std::string, circle::v1::RoomInfo>> heard_rooms_;
  std::set<std::uint64_t> differing_nodes_;  // heard with other room limits
  std::uint64_t links_seen_ = 0;
  std::chrono::steady_clock::time_point up_since_;
  // Copies handed over by rooms and not written yet (the newest per room).
  std::mutex replicas_mutex_;
  std::condition_variable_any replicas_handed_;
  std::map<std::string, circle::v1::RoomReplica> replicas_to_write_;
  // What the bucket holds per room (after load_replicas), and copies the
  // writer tries again.
  struct WrittenReplica {
    std::uint64_t revision = 0;
    std::uint64_t log_position = 0;
  };
  std::map<std::string, WrittenReplica> written_replicas_;  // guarded by replicas_mutex_
  std::map<std::string, circle::v1::RoomReplica> replicas_to_retry_;
  // Room log to delete, per room: up to `through` (a copy's position) once
  // `at` has passed and every node heard from has read past it; `deleted`
  // so far. Guarded by replicas_mutex_.
  struct DuePurge {
    std::chrono::steady_clock::time_point at;
    std::uint64_t through = 0;
    std::uint64_t deleted = 0;
    std::chrono::steady_clock::time_point warned;
  };
  std::map<std::string, DuePurge> purges_;
  std::jthread replica_writer_;
  mutable std::mutex rooms_mutex_;          // before mutex_ and replicas_mutex_
  mutable std::mutex applied_rooms_mutex_;  // last; guards applied_rooms_
  std::vector<std::string> applied_rooms_;
  std::map<std::string, FollowedRoom> followed_;
  std::deque<std::string> to_start_;  // guarded by rooms_mutex_
  std::condition_variable_any start_asked_;
  std::jthread starter_;
  // On the replica writer's thread: when rooms were last looked at for
  // adoption, and since when each has looked neglected.
  std::chrono::steady_clock::time_point adopted_at_;
  std::map<std::string, std::chrono::steady_clock::time_point> neglected_since_;
  std::unique_ptr<circle::cluster::NatsCluster::Subscription,
                  void (*)(circle::cluster::NatsCluster::Subscription*)>
      heard_rooms_sub_{nullptr, nullptr};
  // Each room's journal here (rooms are never dropped across nodes).
  mutable std::mutex journals_mutex_;  // last
  std::map<std::string, std::shared_ptr<ClusterJournal>> journals_;
  std::atomic<bool> failed_{false};  // options_.fatal was called
  // (room, node) → when its NodeGoneCommand was last relayed.
  std::map<std::pair<std::string, std::uint64_t>, std::chrono::steady_clock::time_point> gone_sent_;
};

}  // namespace circle::server
