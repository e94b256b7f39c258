// The rooms this node applies, and the dormant ones (cluster_backend.hpp;
// "dormant" and "adopt" are Circle's words, docs/ARCHITECTURE.md): every
// room is known here (every node applies every creation), but a node applies
// only the rooms it has members in. A request for a dormant room first makes
// the node go on from the room's copy and the log after it, on a thread of
// its own; a room without members here for long becomes dormant again; and
// the node that writes copies adopts rooms nobody applies when something in
// them is due.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "circle/v1/room_command.pb.h"
#include "cluster/cluster_journal.hpp"
#include "cluster/nats/jetstream_log.hpp"
#include "cluster/node_liveness.hpp"
#include "cluster/replica_writer.hpp"
#include "cluster/replication_options.hpp"
#include "cluster/request_answers.hpp"
#include "rooms/room_registry.hpp"

namespace circle::server {

class DormantRooms {
 public:
  // `relay`: relays a command of the node's own (a leave, a tick) to the
  // room log, unanswered (ClusterBackend::relay, which may hold it here).
  // Never called under this class's locks.
  using Relay = std::function<void(circle::v1::RoomCommand command, std::string message_id)>;

  DormantRooms(circle::cluster::JetStreamLog& log, RequestAnswers& answers, ReplicaWriter& writer,
               const NodeLiveness& liveness, ClusterJournals& journals, const core::Limits& limits,
               const ReplicationOptions& options, Relay relay);
  ~DormantRooms() { stop(); }

  // The rooms the commands are applied to; before start().
  void set_rooms(RoomRegistry& rooms) { rooms_ = &rooms; }
  // Starts (and stops, joining it) the thread that goes on from the rooms
  // asked for while dormant.
  void start();
  void stop() { starter_ = {}; }

  // relay() for a room that is not applied here: held (true) until the
  // room has gone on from its copy (its answer then comes from a room
  // holding everything before it), or refused when too many are. False:
  // the room is applied here, or not known here (yet): to be appended (the
  // arguments are left as they were; they are taken only when held).
  bool hold(circle::v1::RoomCommand& command, std::string& message_id,
            RequestAnswers::Refused& refused);
  // A command from the log, for its room: handed over if the room is
  // applied here, kept while it starts, skipped while it is dormant (a
  // request of this node's makes it start). What comes back is a leave to
  // relay (see RequestAnswers::hand_over).
  std::optional<circle::v1::RoomCommand> deliver(const circle::cluster::JetStreamLog::Entry& entry,
                                                 circle::v1::RoomCommand command);

  // Every heartbeat: rooms without members here for long become dormant;
  // dormant ones show what the nodes applying them say.
  void rest_rooms();
  // Whether this node adopts neglected rooms (it writes copies: the
  // lowest-numbered node heard from that has read the log back). Decided
  // every heartbeat.
  void set_adopting(bool adopting) { adopting_ = adopting; }
  // The global writer, every copy interval: dormant rooms nobody applies
  // whose copy is behind their log, or due (expiring history, a node gone),
  // are applied here for a while. On the replica writer's thread.
  void adopt_neglected_rooms();

  bool applied(const std::string& room_id) const;
  // The rooms applied here (a snapshot: the heartbeat thread never waits
  // for rooms_mutex_, which a start holds while it appends held requests).
  std::vector<std::string> applied_rooms() const;
  // Adds the rooms applied here to `said`, with only what a dormant room's
  // list entry takes from them (from the snapshot: see applied_rooms).
  void show_applied(circle::v1::NodeRooms& said) const;
  // Whether the room's entry at `log_position` was applied by another node
  // before this one last went on from the room's copy.
  bool applied_elsewhere(const std::string& room_id, std::uint64_t log_position) const;

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
      RequestAnswers::Refused refused;
    };
    std::vector<Held> held;
    std::chrono::steady_clock::time_point wanted_at;  // last asked for, or had members here
    circle::v1::RoomCommand creation;                 // to go on from without a copy
  };
  // Under rooms_mutex_: the room is to go on from its copy (the starter's).
  void ask_start(const std::string& room_id, FollowedRoom& room);
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
  // Goes on from `copy` (null: from its creation, when it was never copied):
  // the room is applied here from then on. False: no such room here.
  bool go_on_from(const std::string& room_id, const circle::v1::RoomReplica* copy);
  // Under rooms_mutex_, after a room's state changed to or from applied.
  void applied_rooms_changed();

  circle::cluster::JetStreamLog& log_;
  RequestAnswers& answers_;
  ReplicaWriter& writer_;
  const NodeLiveness& liveness_;
  ClusterJournals& journals_;
  const core::Limits& limits_;
  const ReplicationOptions& options_;
  const Relay relay_;
  RoomRegistry* rooms_ = nullptr;
  std::atomic<bool> adopting_{false};

  // Before RequestAnswers', ReplicaWriter's, ClusterJournals' and the
  // applied rooms' locks (and the rooms' own), which are taken under it.
  mutable std::mutex rooms_mutex_;
  std::map<std::string, FollowedRoom> followed_;
  std::deque<std::string> to_start_;  // guarded by rooms_mutex_
  std::condition_variable_any start_asked_;
  mutable std::mutex applied_rooms_mutex_;  // last; guards applied_rooms_
  std::vector<std::string> applied_rooms_;
  // Only on the thread that adopts (the replica writer's): when rooms were
  // last looked at for adoption, and since when each has looked neglected.
  std::chrono::steady_clock::time_point adopted_at_;
  std::map<std::string, std::chrono::steady_clock::time_point> neglected_since_;
  std::jthread starter_;  // last: stopped before the rest goes
};

}  // namespace circle::server
