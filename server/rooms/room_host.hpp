// One room together with the strand it runs on: the room's actor. Actions
// run on the strand one at a time; what each did is persisted through the
// room's journal and delivered in action order once it is durable, so a
// member never sees (and a sender is never acked for) an event the backend
// could still lose. Different rooms run in parallel.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/room.hpp"
#include "metrics.hpp"
#include "rooms/alert_escalation.hpp"
#include "rooms/room_backend.hpp"

namespace circle::server {

// A room's strand: a concrete strand type (a type-erased executor would cost
// a heap allocation per copy in Asio's composed operations).
using RoomStrand = boost::asio::strand<boost::asio::io_context::executor_type>;

class RoomHost : public std::enable_shared_from_this<RoomHost> {
 public:
  // `forget` takes the room out of the registry (a room whose creation was
  // never kept, found by a read-back). `at_rest`: see at_rest().
  RoomHost(RoomStrand strand, core::Room room, RoomBackend& backend,
           std::shared_ptr<RoomJournal> journal, Metrics* metrics, bool at_rest,
           std::function<void()> forget = {})
      : strand_(std::move(strand)),
        room_(std::move(room)),
        timer_(strand_),
        backend_(backend),
        journal_(std::move(journal)),
        metrics_(metrics),
        forget_(std::move(forget)),
        at_rest_(at_rest) {
    publish_info();
  }

  // Runs `fn(Room&)` on the room's strand, persists what it did, then
  // delivers it; re-arms the room's timer. `save_state`: keep the room's
  // durable state with it even if `fn` changed nothing (a new room).
  // `log_position`: the ordered log entry `fn` applies (0: none).
  //
  // Actions handed over while earlier ones wait are run together, by one
  // post: with several nodes the room log hands a busy room's commands over
  // one at a time from a NATS thread, and this wakes the strand once per
  // batch rather than once per command.
  template <class Fn>
  void run(Fn&& fn, bool save_state = false, std::uint64_t log_position = 0) {
    {
      std::lock_guard lock(queued_mutex_);
      queued_.push_back({std::forward<Fn>(fn), save_state, log_position});
      if (queued_.size() > 1) return;  // the post that runs them is on its way
    }
    boost::asio::post(strand_, [self = shared_from_this()] { self->run_queued(); });
  }

  // On the strand (inside run), for a resuming joiner: replaces the
  // snapshot's recent events with every event after `after_seq` (from the
  // journal and the room's history) when they are complete and within
  // `max_events`. Returns whether it did.
  bool resume(circle::v1::RoomSnapshot& snapshot, std::uint64_t after_seq,
              std::uint32_t max_events);
  // On the strand (inside run): makes the room remember a send that only the
  // journal still knows, so that its retry is answered with the original ack.
  void recall_sent(const std::string& account, const std::string& client_message_id);

  // Public info, readable from any thread (it may lag by a moment).
  circle::v1::RoomInfo info_snapshot() const;
  // Its open alerts that went to the operators, from any thread (as of the
  // room's last change).
  std::vector<circle::v1::SupportAlert> escalated_alerts() const;
  const std::string& id() const { return room_id_; }

  // A room at rest is not applied on this node (another node applies it, or
  // nobody does: "dormant" in the cluster's words): its timers are off and
  // its info is what others say of it, until it is woken.
  bool at_rest() const { return at_rest_; }
  // From any thread.
  void rest();
  // On the strand, inside run(): the room is applied here again from now on
  // (after `room` was replaced by what it goes on from).
  void wake();
  // Public info of a room at rest, as the node that applies it says.
  void show_info(const circle::v1::RoomInfo& info);
  // Where support alerts nobody answered go (null: nowhere but the room).
  void set_escalation(AlertEscalation* escalation) { escalation_ = escalation; }

 private:
  struct HeldAction {
    std::function<void(core::Room&)> action;
    bool save_state = false;
    std::uint64_t log_position = 0;
  };
  // On the strand: runs what run() queued, in order.
  void run_queued();
  // On the strand: runs `held` with the room capturing its output, then
  // hands the output to the journal.
  void perform(HeldAction& held);
  // Delivers in action order once each output is durable.
  void persist(std::shared_ptr<core::ActionOutput> output, std::uint64_t log_position);
  void on_persisted(std::uint64_t persist_id, const store::Status& status);
  void release_ready();
  // After `output` was delivered: its escalated support alerts go to the
  // operators, and each asker is told what that reached.
  void escalate(const core::ActionOutput& output);
  std::shared_ptr<core::ActionOutput> refused_for_store(const core::ActionOutput& output);
  // After a failed write that changed more than messages, the room's memory
  // is ahead of what is kept. Once every outstanding write has answered, the
  // room is read back and everyone in it must reconnect, so that their
  // clients resume against what is kept.
  void read_back();
  // On the strand: refresh the info others read, and wake the room when
  // time will change something (a mute ends, a grace period runs out).
  void after_change();
  void publish_info();
  // The deadline passed: the room's tick is ordered like any command (with
  // several nodes, every copy of the room must tick at the same point of its
  // command order), and ordered again now and then until it is applied.
  void order_tick();

  RoomStrand strand_;
  core::Room room_;  // only on strand_; replaced by read_back() and wake()
  const std::string room_id_ = room_.id();
  boost::asio::steady_timer timer_;
  std::optional<std::int64_t> armed_deadline_;
  RoomBackend& backend_;
  std::shared_ptr<RoomJournal> journal_;  // used only on strand_
  Metrics* metrics_;                      // null: nothing is counted
  struct PendingOutput {
    std::uint64_t persist_id = 0;
    std::shared_ptr<core::ActionOutput> output;
    bool durable = false;
    std::chrono::steady_clock::time_point queued_at;  // handed to the journal
  };
  std::deque<PendingOutput> pending_;  // only on strand_, in action order
  std::uint64_t last_persist_id_ = 0;
  bool read_back_needed_ = false;         // see read_back()
  std::vector<HeldAction> held_actions_;  // while read_back_needed_, in arrival order
  std::mutex queued_mutex_;
  std::vector<HeldAction> queued_;  // see run(); guarded by queued_mutex_
  std::function<void()> forget_;
  AlertEscalation* escalation_ = nullptr;
  mutable std::mutex info_mutex_;
  circle::v1::RoomInfo info_;
  std::vector<circle::v1::SupportAlert> escalated_;  // guarded by info_mutex_
  std::atomic<bool> at_rest_;
};

}  // namespace circle::server
