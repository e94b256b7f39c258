// All rooms on this server. Each room lives on its own strand, so its state is
// only ever touched by one thread at a time while different rooms run in
// parallel; the registry's own map is guarded by a mutex.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "beast.hpp"
#include "circle/v1/room_command.pb.h"
#include "core/limits.hpp"
#include "core/result.hpp"
#include "core/room.hpp"
#include "metrics.hpp"
#include "outbox.hpp"
#include "store/store.hpp"
#include "support_escalation.hpp"

namespace circle::server {

// Where room commands go before any room applies them, when several nodes
// share rooms: a log every node follows, applying each room's commands in
// the log's order (RoomReplication, over NATS JetStream). Without one, a
// command is applied at once.
class CommandRelay {
 public:
  virtual ~CommandRelay() = default;
  // Appends `command`; every node (this one included) applies it once the
  // log has stored it. `message_id` (may be empty) de-duplicates commands
  // several nodes send for the same thing (ticks, a node gone). Should it
  // not be stored, `refused` runs (on any thread) with why.
  virtual void relay(circle::v1::RoomCommand command, std::string message_id,
                     std::function<void(const core::Refusal&)> refused) = 0;

  // Copies of rooms (RoomReplica), from which a node starting to apply a
  // room goes on so that the log before them can be deleted: whether this
  // node writes the room's now, how often a changed room is copied, and
  // taking one (on the room's strand; written elsewhere).
  virtual bool keeps_replica_of(const std::string& room_id) const {
    (void)room_id;
    return false;
  }
  // The largest copy written (NATS refuses messages over its max_payload,
  // 1 MiB by default): a copy over it is not written, so the room keeps its
  // log from its last copy on.
  static constexpr std::size_t kMaxReplicaBytes = 900 * 1024;
  virtual std::chrono::milliseconds replica_interval() const { return std::chrono::minutes(1); }
  virtual void keep_replica(const std::string& room_id, circle::v1::RoomReplica replica) {
    (void)room_id;
    (void)replica;
  }
  // Moderation audit entries the room recorded applying log entry
  // `log_position` (every node's copy records the same ones).
  virtual void keep_audit(const std::vector<core::AuditEntry>& entries,
                          std::uint64_t log_position) {
    (void)entries;
    (void)log_position;
  }
};

// A Room together with the strand it runs on, and the store it is kept in.
class RoomHost : public std::enable_shared_from_this<RoomHost> {
 public:
  // `forget` takes the room out of the registry (a room whose creation was
  // never stored, found after a store failure).
  // With a `relay`, the room's ticks are relayed (every node's copy of the
  // room must tick at the same point of its command order).
  RoomHost(Strand strand, core::Room room, store::Store* store, Metrics* metrics,
           std::function<void()> forget = {}, CommandRelay* relay = nullptr)
      : strand_(std::move(strand)),
        room_(std::move(room)),
        timer_(strand_),
        store_(store),
        metrics_(metrics),
        relay_(relay),
        forget_(std::move(forget)),
        dormant_(relay != nullptr) {
    publish_info();
  }

  // Runs `fn(Room&)` on the room's strand, makes what it did durable, then
  // delivers it; re-arms the room's timer. `save_state`: store the room's
  // durable state with it even if `fn` changed nothing (a new room).
  //
  // Actions handed over while earlier ones wait are run together, by one
  // post: with several nodes the room log hands a busy room's commands over
  // one at a time from a NATS thread, and this wakes the strand once per
  // batch rather than once per command.
  template <class Fn>
  void run(Fn&& fn, bool save_state = false) {
    {
      std::lock_guard lock(queued_mutex_);
      queued_.push_back({std::forward<Fn>(fn), save_state});
      if (queued_.size() > 1) return;  // the post that runs them is on its way
    }
    boost::asio::post(strand_, [self = shared_from_this()] { self->run_queued(); });
  }

  // On the strand (inside run), for a resuming joiner: replaces the
  // snapshot's recent events with every event after `after_seq` (from the
  // store and the room's history) when they are complete and within
  // `max_events`. Returns whether it did.
  bool resume(circle::v1::RoomSnapshot& snapshot, std::uint64_t after_seq,
              std::uint32_t max_events);

  // On the strand (inside run): makes the room remember a send that only the
  // store still knows, so that its retry is answered with the original ack.
  void recall_sent(const std::string& account, const std::string& client_message_id);

  // Public info, readable from any thread (it may lag by a moment).
  circle::v1::RoomInfo info_snapshot() const;
  // Its open alerts that went to the operators, from any thread (as of the
  // room's last change).
  std::vector<circle::v1::SupportAlert> escalated_alerts() const;
  // The node prefixes of the room's connections (kept only with a relay),
  // readable from any thread (it may lag by a moment).
  std::vector<std::uint64_t> node_prefixes() const;

  // With a relay, a room this node has no members in is dormant here: its
  // log entries are not applied (the relay skips them), its timers are off
  // and it is not copied, until the node goes on from its copy (below).
  // Rooms start dormant.
  bool dormant() const { return dormant_; }
  void make_dormant();
  // On the strand, inside run(): `room` replaces the room (made from its
  // copy, or from its creation), `position` being the last log entry it
  // holds, with the events a resume may need from the copy; it is applied
  // again from then on.
  void go_on_from(core::Room& room, core::Room made, std::uint64_t position,
                  const google::protobuf::RepeatedPtrField<circle::v1::ResumeFrame>& frames);
  // Where support alerts nobody answered go (null: nowhere but the room).
  void set_escalation(SupportEscalation* escalation) { escalation_ = escalation; }
  // Public info of a dormant room, as another node that applies it says.
  void show_info(const circle::v1::RoomInfo& info);
  // From any thread: copy the room as soon as it is the writer's turn.
  void copy_soon();
  // On the strand, inside run(): the room applied log entry `position`.
  void applied_entry(std::uint64_t position);
  // From any thread: hands a copy of the room to the relay if one is due.
  void offer_replica();

 private:
  // On the strand: runs what run() queued, in order.
  void run_queued() {
    std::vector<HeldAction> actions;
    {
      std::lock_guard lock(queued_mutex_);
      actions.swap(queued_);
    }
    for (auto& queued : actions) perform(queued.action, queued.save_state);
  }
  // On the strand: runs `action` with the room capturing its output, then
  // hands the output to the store (or straight to the members without one).
  template <class Fn>
  void perform(Fn& action, bool save_state = false) {
    if (reload_needed_) {
      // The room is about to be read back from its store: what comes
      // meanwhile runs on what was kept, not on what was refused.
      auto held = std::make_shared<std::decay_t<Fn>>(std::move(action));
      held_actions_.push_back({[held](core::Room& room) { (*held)(room); }, save_state});
      return;
    }
    auto output = std::make_shared<core::ActionOutput>();
    // Most actions deliver one event to everyone plus a reply: grow once.
    output->deliveries.reserve(room_.member_count() + 1);
    room_.capture(output.get());
    action(room_);
    room_.capture(nullptr);
    if (save_state) output->state_changed = true;
    // What a redaction or a session end removed must leave the room log.
    if (!output->rewritten.empty() || output->history_cleared) replica_urgent_ = true;
    commit(std::move(output));
    after_change();
    if (relay_) keep_replica_if_due();
  }
  // Deliveries leave in the order their actions ran, each once its writes
  // are durable: a member never sees (and a sender is never acked for) an
  // event the store could still lose.
  void commit(std::shared_ptr<core::ActionOutput> output);
  void on_committed(std::uint64_t commit_id, const store::Status& status);
  void release_ready();
  // After `output` was delivered: its escalated support alerts go to the
  // operators, and each asker is told what that reached.
  void escalate(const core::ActionOutput& output);
  std::shared_ptr<core::ActionOutput> refused_for_store(const core::ActionOutput& output);
  // After a failed write that changed more than messages, the room's memory
  // is ahead of its store. Once every outstanding write has answered, the
  // room is read back from the store and everyone in it is disconnected
  // (1012), so that their clients reconnect and resume against what is kept.
  void reload_from_store();
  // On the strand: refresh the info others read, and wake the room when
  // time will change something (a mute ends, a grace period runs out).
  void after_change();
  void publish_info();
  // Without a store, the events a resume may need (at most
  // Limits::max_resume_events, within the reconnect window), as delivered.
  void keep_for_resume(const core::ActionOutput& output);
  // With a relay: the deadline passed, so the room's tick is relayed.
  void relay_tick();
  // On the strand: a copy of the room, if the relay takes them and one is
  // due (the room changed, and a redaction or a session end is to leave
  // the log, or the replica interval has passed).
  void keep_replica_if_due();

  Strand strand_;
  core::Room room_;  // only on strand_; replaced by reload_from_store()
  boost::asio::steady_timer timer_;
  std::optional<std::int64_t> armed_deadline_;
  store::Store* store_;  // null: nothing is kept
  Metrics* metrics_;     // null: nothing is counted
  CommandRelay* relay_;  // null: ticks are applied here
  struct KeptEvent {
    std::uint64_t seq = 0;
    std::int64_t time_ms = 0;
    circle::wire::Frame frame;
  };
  std::deque<KeptEvent> kept_for_resume_;  // only on strand_, without a store
  // Only on strand_, with a relay: the last log entry applied, whether the
  // room changed since its last copy (and must be copied at once), and when.
  std::uint64_t log_position_ = 0;
  bool unreplicated_ = false;
  bool replica_urgent_ = false;
  std::chrono::steady_clock::time_point last_replica_at_ = std::chrono::steady_clock::now();
  std::atomic<bool> replica_wanted_{false};  // unreplicated_, readable anywhere
  struct PendingOutput {
    std::uint64_t commit_id = 0;
    std::shared_ptr<core::ActionOutput> output;
    bool durable = false;
    std::chrono::steady_clock::time_point queued_at;  // handed to the store
  };
  std::deque<PendingOutput> pending_;  // only on strand_, in action order
  std::uint64_t last_commit_id_ = 0;
  bool reload_needed_ = false;  // see reload_from_store()
  struct HeldAction {
    std::function<void(core::Room&)> action;
    bool save_state = false;
  };
  std::vector<HeldAction> held_actions_;  // while reload_needed_, in arrival order
  std::mutex queued_mutex_;
  std::vector<HeldAction> queued_;  // see run(); guarded by queued_mutex_
  std::function<void()> forget_;
  SupportEscalation* escalation_ = nullptr;
  mutable std::mutex info_mutex_;
  circle::v1::RoomInfo info_;
  std::vector<std::uint64_t> node_prefixes_;         // guarded by info_mutex_
  std::vector<circle::v1::SupportAlert> escalated_;  // guarded by info_mutex_
  std::atomic<bool> dormant_;                        // see dormant()
};

class RoomRegistry {
 public:
  RoomRegistry(boost::asio::io_context::executor_type executor, const core::Limits& limits,
               store::Store* store, Metrics& metrics)
      : executor_(std::move(executor)), limits_(limits), store_(store), metrics_(&metrics) {}

  // Commands go through `relay` from now on (several nodes); before serving.
  void set_relay(CommandRelay* relay, std::uint64_t own_node_prefix) {
    relay_ = relay;
    own_node_prefix_ = own_node_prefix;
  }
  bool relayed() const { return relay_ != nullptr; }
  // The operator's crisis resources (--support-resources); before serving.
  void set_support_resources(std::string text) { support_resources_ = std::move(text); }
  // Where support alerts nobody answered go; before restore() and serving.
  void set_escalation(SupportEscalation* escalation) { escalation_ = escalation; }
  const core::Limits& limits() const { return limits_; }

  // A request of one of this node's connections for a room: applied at once,
  // or relayed and applied when the log hands it back (apply below). Every
  // request is answered once, on `requester`.
  void submit(circle::v1::RoomCommand command, std::weak_ptr<Outbox> requester);
  // Applies `command` to its room, answering `requester` if it is still open.
  // `log_position`: the room log entry it came from (0: not from the log);
  // one a room's copy already holds is skipped.
  void apply(circle::v1::RoomCommand command, std::weak_ptr<Outbox> requester,
             std::uint64_t log_position = 0);
  // Several nodes: the room goes on from `copy` (null: from its creation,
  // when it was never copied), and is applied here from then on.
  // False: no such room here.
  bool go_on_from(const std::string& room_id, const circle::v1::RoomReplica* copy);
  // Every room host (for the node liveness check).
  std::vector<std::shared_ptr<RoomHost>> hosts() const;

  // Brings back every room the store kept (at start-up, before serving).
  // Returns how many.
  std::size_t restore();

  // Creates a room; an empty id gets a generated one. `creator_account`
  // facilitates it.
  core::Result<circle::v1::RoomInfo> create(std::string room_id, std::string title,
                                            circle::v1::RoomKind kind, std::string creator_account,
                                            std::int64_t now_ms);
  std::shared_ptr<RoomHost> find(const std::string& room_id) const;
  // Takes a room out (one whose creation was never stored).
  void forget(const std::string& room_id);
  std::vector<circle::v1::RoomInfo> list() const;
  // Every open alert that went to the operators, as SupportEscalated private
  // events: for an operator who signs in after it was escalated.
  std::vector<circle::v1::ServerMessage> open_escalations() const;
  std::size_t list_size() const;

 private:
  void apply_create(const circle::v1::RoomCommand& command, std::weak_ptr<Outbox> requester);

  boost::asio::io_context::executor_type executor_;
  const core::Limits& limits_;
  store::Store* store_;
  Metrics* metrics_;
  CommandRelay* relay_ = nullptr;
  std::uint64_t own_node_prefix_ = 0;
  std::string support_resources_;
  SupportEscalation* escalation_ = nullptr;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<RoomHost>> rooms_;
  // With a relay: each room's creation, for going on from it.
  std::map<std::string, circle::v1::RoomCommand> creations_;
  std::uint64_t generated_ids_ = 0;
};

}  // namespace circle::server
