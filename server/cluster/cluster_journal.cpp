#include "cluster/cluster_journal.hpp"

#include <algorithm>

#include "clock.hpp"
#include "cluster/replica_writer.hpp"
#include "rooms/room_commands.hpp"

namespace circle::server {

bool ClusterJournal::persist(const core::Room& room, const core::ActionOutput& output,
                             std::uint64_t log_position, Persisted) {
  if (log_position != 0) {
    log_position_ = log_position;
    unreplicated_ = true;
    replica_wanted_ = true;
  }
  if (!output.audit.empty()) backend_.keep_audit(output.audit, log_position_);
  events_.keep(output, room.limits(), now_unix_ms());
  // What a redaction or a session end removed must leave the room log.
  if (!output.rewritten.empty() || output.history_cleared) replica_urgent_ = true;
  std::vector<std::uint64_t> prefixes;
  for (const auto id : room.connection_ids()) prefixes.push_back(node_prefix_of(id));
  std::ranges::sort(prefixes);
  prefixes.erase(std::unique(prefixes.begin(), prefixes.end()), prefixes.end());
  {
    std::lock_guard lock(prefixes_mutex_);
    node_prefixes_ = std::move(prefixes);
  }
  keep_replica_if_due(room);
  return true;  // the room log stored the command before it was applied
}

std::vector<std::uint64_t> ClusterJournal::node_prefixes() const {
  std::lock_guard lock(prefixes_mutex_);
  return node_prefixes_;
}

void ClusterJournal::went_on_from(
    std::uint64_t position,
    const google::protobuf::RepeatedPtrField<circle::v1::ResumeFrame>& frames) {
  events_.clear();
  for (const auto& frame : frames) {
    events_.push_back({.seq = frame.seq(),
                       .time_ms = frame.time_unix_ms(),
                       .sender_account = {},
                       .client_message_id = {},
                       .frame = std::make_shared<const std::string>(frame.frame())});
  }
  log_position_ = position;
  unreplicated_ = false;
  replica_wanted_ = false;
}

void ClusterJournal::keep_replica_if_due(const core::Room& room) {
  if (!unreplicated_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!replica_urgent_ && now - last_replica_at_ < backend_.replica_interval()) return;
  // Asked last: it takes the backend's locks (every applied command gets here).
  if (!backend_.keeps_replica_of(room_id_)) return;
  auto replica = room.replica(log_position_);
  // The frames a resume needs, newest first, as many as fit beside the
  // room: an older gap gets a fresh snapshot, as it would from this node.
  constexpr std::size_t kFrameOverhead = 32;  // the field's tags and numbers, at most
  std::size_t size = replica.ByteSizeLong();
  std::size_t fitting = 0;
  const auto& kept = events_.kept();
  for (auto event = kept.rbegin(); event != kept.rend(); ++event) {
    size += event->frame->size() + kFrameOverhead;
    if (size > kMaxReplicaBytes) break;
    ++fitting;
  }
  for (auto event = kept.end() - static_cast<std::ptrdiff_t>(fitting); event != kept.end();
       ++event) {
    auto* frame = replica.add_resume_frames();
    frame->set_seq(event->seq);
    frame->set_time_unix_ms(event->time_ms);
    frame->set_frame(*event->frame);
  }
  backend_.keep_replica(room_id_, std::move(replica));
  unreplicated_ = false;
  replica_urgent_ = false;
  replica_wanted_ = false;
  last_replica_at_ = now;
}

std::shared_ptr<RoomJournal> ClusterJournals::make(ClusterJournal::Backend& backend,
                                                   const std::string& room_id) {
  // The room's host uses it on the strand; the backend reads it from its threads.
  auto journal = std::make_shared<ClusterJournal>(backend, room_id);
  std::lock_guard lock(mutex_);
  journals_.insert_or_assign(room_id, journal);
  return journal;
}

std::shared_ptr<ClusterJournal> ClusterJournals::of(const std::string& room_id) const {
  std::lock_guard lock(mutex_);
  const auto found = journals_.find(room_id);
  return found == journals_.end() ? nullptr : found->second;
}

}  // namespace circle::server
