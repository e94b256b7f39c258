// One room's journal on a node of a cluster. Its commands were durable before
// the room applied them (the room log stored them first), so persisting only
// keeps what a resume needs, appends the moderation audit entries, and now
// and then hands a copy of the room (RoomReplica) to the replica writer.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "rooms/recent_events.hpp"
#include "rooms/room_backend.hpp"

namespace circle::server {

class ClusterJournal final : public RoomJournal {
 public:
  // What a journal asks of the cluster backend above it (ClusterBackend), so
  // that it depends on nothing higher than this.
  class Backend {
   public:
    virtual ~Backend() = default;
    // How often a changed room is copied.
    virtual std::chrono::milliseconds replica_interval() const = 0;
    // Whether this node writes the room's copies (it takes the backend's locks).
    virtual bool keeps_replica_of(const std::string& room_id) const = 0;
    // A copy of the room, for the replica writer.
    virtual void keep_replica(const std::string& room_id, circle::v1::RoomReplica replica) = 0;
    // The moderation audit entries of the log entry at `log_position`.
    virtual void keep_audit(const std::vector<core::AuditEntry>& entries,
                            std::uint64_t log_position) = 0;
  };

  ClusterJournal(Backend& backend, std::string room_id)
      : backend_(backend), room_id_(std::move(room_id)) {}

  bool persist(const core::Room& room, const core::ActionOutput& output, std::uint64_t log_position,
               Persisted persisted) override;
  std::optional<std::vector<circle::v1::RoomEvent>> events_after(std::uint64_t after_seq,
                                                                 std::uint32_t) override {
    return events_.after(after_seq);
  }
  std::optional<SentRecord> recall_sent(const std::string& account,
                                        const std::string& client_message_id) override {
    return events_.find_sent(account, client_message_id);
  }
  // Never needed: nothing it persists can fail.
  ReadBack read_back(const core::Room&) override {
    return {.outcome = ReadBack::Outcome::kUnreadable, .room = std::nullopt};
  }

  // On the strand: the room went on from a copy holding the log up to
  // `position`, with the events a resume may need.
  void went_on_from(std::uint64_t position,
                    const google::protobuf::RepeatedPtrField<circle::v1::ResumeFrame>& frames);
  // From any thread: the node prefixes of the room's connections (as of its
  // last action), whether a copy is due, and asking for one at once.
  std::vector<std::uint64_t> node_prefixes() const;
  bool replica_wanted() const { return replica_wanted_; }
  void copy_soon() { replica_urgent_ = true; }

 private:
  // On the strand: a copy of the room, if this node writes them and one is
  // due (the room changed, and a redaction or a session end is to leave the
  // log, or the replica interval has passed).
  void keep_replica_if_due(const core::Room& room);

  Backend& backend_;
  const std::string room_id_;
  RecentEvents events_;  // only on the strand
  // Only on the strand: the last log entry applied, whether the room changed
  // since its last copy, and when that was.
  std::uint64_t log_position_ = 0;
  bool unreplicated_ = false;
  std::chrono::steady_clock::time_point last_replica_at_ = std::chrono::steady_clock::now();
  std::atomic<bool> replica_urgent_{false};
  std::atomic<bool> replica_wanted_{false};  // unreplicated_, readable anywhere
  mutable std::mutex prefixes_mutex_;
  std::vector<std::uint64_t> node_prefixes_;  // guarded by prefixes_mutex_
};

// Each room's journal on this node (rooms are never dropped across nodes),
// read from the cluster backend's threads.
class ClusterJournals {
 public:
  // A journal for `room_id`, kept here and shared with the room's host.
  std::shared_ptr<RoomJournal> make(ClusterJournal::Backend& backend, const std::string& room_id);
  // What this node's journal of `room_id` says (null: none yet).
  std::shared_ptr<ClusterJournal> of(const std::string& room_id) const;

 private:
  mutable std::mutex mutex_;  // last: nothing is called under it
  std::map<std::string, std::shared_ptr<ClusterJournal>> journals_;
};

}  // namespace circle::server
