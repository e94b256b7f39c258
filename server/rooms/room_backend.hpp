// The one seam between rooms and where they are kept (docs/ARCHITECTURE.md,
// "The rooms floor"). A backend decides two things about every room:
//
//   order   - what happens to a command before a room applies it: applied at
//             once on one node, or appended to a log every node follows and
//             applied in the log's order;
//   persist - what happens to an action's output before it is delivered:
//             written to a store (members never see what could still be
//             lost), or already durable because its command was.
//
// and answers what a room needs later: replay (events after a seq, for a
// resuming member), recall (a sent message only the backend still knows,
// for a retry), read-back (after a failed write) and restore (at start-up).
//
// Implementations, each named after what it is: LocalBackend (one node, a
// store::Store such as SQLite), MemoryBackend (tests and benchmarks), and
// cluster::ClusterBackend (several nodes, NATS JetStream).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "circle/v1/room_command.pb.h"
#include "core/event_sink.hpp"
#include "core/result.hpp"
#include "core/room.hpp"
#include "metrics.hpp"
#include "store/store.hpp"

namespace circle::server {

// What applies commands once their order is settled: the room registry.
class CommandApplier {
 public:
  virtual ~CommandApplier() = default;
  // Applies `command` to its room, answering `requester` if it is still open.
  // `log_position`: the ordered log entry it came from (0: none).
  virtual void apply(circle::v1::RoomCommand command, std::weak_ptr<core::EventSink> requester,
                     std::uint64_t log_position) = 0;
};

// A send that only the backend still remembers: the seq and time its retry's
// ack repeats.
struct SentRecord {
  std::uint64_t seq = 0;
  std::int64_t time_ms = 0;
};

// What a read-back after a failed write found.
struct ReadBack {
  enum class Outcome {
    kRead,        // `room` is the room as kept
    kNeverKept,   // its creation was never kept: the room goes
    kUnreadable,  // it cannot be read back: the room stays as it is
  };
  Outcome outcome = Outcome::kUnreadable;
  std::optional<core::Room> room;
};

// One room's record in its backend. Used only on the room's strand.
class RoomJournal {
 public:
  virtual ~RoomJournal() = default;
  using Persisted = std::function<void(const store::Status&)>;

  // Makes `output` (what one action of `room` did; `log_position`: the log
  // entry it applied, 0 none) durable before it is delivered. True: it is
  // durable now (`persisted` is dropped). False: `persisted` runs once, on
  // any thread, when it is or when it failed (then none of it was kept).
  virtual bool persist(const core::Room& room, const core::ActionOutput& output,
                       std::uint64_t log_position, Persisted persisted) = 0;
  // Replay: the durable events after `after_seq`, at most `max_events`, in
  // seq order (the room's own history holds the rest); nullopt when they
  // cannot be read.
  virtual std::optional<std::vector<circle::v1::RoomEvent>> events_after(
      std::uint64_t after_seq, std::uint32_t max_events) = 0;
  // Recall: a send older than what the room remembers.
  virtual std::optional<SentRecord> recall_sent(const std::string& account,
                                                const std::string& client_message_id) = 0;
  // The room as kept, after a failed write left `room` ahead of it.
  virtual ReadBack read_back(const core::Room& room) = 0;
};

class RoomBackend {
 public:
  virtual ~RoomBackend() = default;

  // The registry that applies ordered commands; set once, before anything
  // is ordered.
  virtual void attach(CommandApplier& applier) = 0;
  // Order: `command` (from one of this node's connections, or a room's own
  // tick) reaches the applier once its turn is settled, answered on
  // `requester`; if it never will be, `requester` gets the refusal.
  // `message_id` (may be empty) de-duplicates commands several nodes send
  // for the same thing.
  virtual void order(circle::v1::RoomCommand command, std::weak_ptr<core::EventSink> requester,
                     std::string message_id = {}) = 0;
  // A journal for room `room_id`, made when the room is. Shared: its room's
  // host uses it on the strand, and a backend may keep it too (the cluster
  // reads what a room's journal says from its own threads).
  virtual std::shared_ptr<RoomJournal> journal_for(const std::string& room_id) = 0;
  // Restore: the rooms kept, at start-up (before serving).
  virtual std::vector<core::Room> restore(const core::Limits& limits) = 0;
  // Whether other nodes apply these rooms too: then rooms start at rest here
  // (applied only once someone asks for them), a room another node has just
  // created may not be known here yet, and a join is applied even after its
  // connection closed (the others cannot know it did).
  virtual bool shared_with_other_nodes() const = 0;
  // Whether this node leads `room_id`: the one that tells the outside world
  // (the on-call webhook) what every node applying the room does.
  virtual bool leads(const std::string& room_id) const = 0;
};

// Answers `requester` (if still open) that `command` was refused, taking
// back a join it asked for.
void refuse_command(const circle::v1::RoomCommand& command,
                    const std::weak_ptr<core::EventSink>& requester, const core::Refusal& refusal,
                    Metrics& metrics);

}  // namespace circle::server
