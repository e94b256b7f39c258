#include "cluster/dormant_rooms.hpp"

#include <algorithm>
#include <memory>
#include <utility>

#include "clock.hpp"
#include "logging.hpp"
#include "rooms/room_commands.hpp"

namespace circle::server {
namespace {

using circle::cluster::JetStreamLog;
using Clock = std::chrono::steady_clock;

// Requests for one room held while the node goes on from its copy, at most.
constexpr std::size_t kMaxHeldRequests = 10'000;

}  // namespace

DormantRooms::DormantRooms(JetStreamLog& log, RequestAnswers& answers, ReplicaWriter& writer,
                           const NodeLiveness& liveness, ClusterJournals& journals,
                           const core::Limits& limits, const ReplicationOptions& options,
                           Relay relay)
    : log_(log),
      answers_(answers),
      writer_(writer),
      liveness_(liveness),
      journals_(journals),
      limits_(limits),
      options_(options),
      relay_(std::move(relay)) {}

void DormantRooms::start() {
  starter_ = std::jthread([this](std::stop_token stop) { start_rooms(stop); });
}

void DormantRooms::ask_start(const std::string& room_id, FollowedRoom& room) {
  room.state = FollowedRoom::State::kStarting;
  room.arrived.clear();
  to_start_.push_back(room_id);
  start_asked_.notify_one();
}

bool DormantRooms::hold(circle::v1::RoomCommand& command, std::string& message_id,
                        RequestAnswers::Refused& refused) {
  // A room dormant here goes on from its copy first; the request is
  // relayed once it has (its answer then comes from a room holding
  // everything before it).
  std::unique_lock lock(rooms_mutex_);
  const auto followed = followed_.find(command.room_id());
  // Not known here (yet): relayed all the same, since its creation may be
  // on its way; answered when it comes back (on_entry).
  FollowedRoom* known = followed == followed_.end() ? nullptr : &followed->second;
  if (known) known->wanted_at = Clock::now();
  if (!known || known->state == FollowedRoom::State::kApplied) return false;
  auto& room = *known;
  if (room.held.size() >= kMaxHeldRequests) {
    lock.unlock();
    answers_.keep_unsent_leave(command);
    refused(RequestAnswers::unavailable("this server is still reading the room"));
    return true;
  }
  room.held.push_back({std::move(command), std::move(message_id), std::move(refused)});
  if (room.state == FollowedRoom::State::kDormant) ask_start(followed->first, room);
  return true;
}

std::optional<circle::v1::RoomCommand> DormantRooms::deliver(const JetStreamLog::Entry& entry,
                                                             circle::v1::RoomCommand command) {
  std::optional<circle::v1::RoomCommand> stray_leave;
  if (command.has_create()) {
    // Every node knows every room (the list, the room limit); it applies
    // one only once asked for it. Created first, so that a start finds it.
    const auto room_id = entry.room_id;
    auto creation = command;
    stray_leave = answers_.hand_over(entry, std::move(command), /*replay=*/false);
    // (Unless the creation was refused, e.g. over --max-rooms, on every node alike.)
    if (rooms_->find(room_id)) {
      std::lock_guard lock(rooms_mutex_);
      auto& room = followed_[room_id];
      room.created = entry.sequence;
      room.creation = std::move(creation);
    }
    return stray_leave;
  }
  std::lock_guard lock(rooms_mutex_);
  const auto followed = followed_.find(entry.room_id);
  const bool ours = node_prefix_of(command.connection()) == options_.node_prefix;
  if (followed == followed_.end()) {
    // No such room: this node's request is answered so.
    if (ours) stray_leave = answers_.hand_over(entry, std::move(command), /*replay=*/false);
    return stray_leave;
  }
  auto& room = followed->second;
  if (room.state == FollowedRoom::State::kDormant && ours) {
    // Relayed before the room was known here: applied once this node
    // has gone on from the room's copy (the log after it holds this).
    ask_start(entry.room_id, room);
  }
  if (room.state == FollowedRoom::State::kStarting) {
    room.arrived.push_back(entry);
  } else if (room.state == FollowedRoom::State::kApplied && entry.sequence > room.applied) {
    room.applied = entry.sequence;
    stray_leave = answers_.hand_over(entry, std::move(command), /*replay=*/false);
  } else if (room.state == FollowedRoom::State::kApplied && ours) {
    // The copy this node went on from holds it already (applied by
    // another node first): its asker, if still waiting, hears so.
    stray_leave = answers_.give_up(command, "the room moved on meanwhile; try again");
  }
  return stray_leave;
}

void DormantRooms::start_rooms(std::stop_token stop) {
  std::unique_lock lock(rooms_mutex_);
  while (!stop.stop_requested()) {
    start_asked_.wait(lock, stop, [this] { return !to_start_.empty(); });
    if (stop.stop_requested()) break;
    const auto room_id = std::move(to_start_.front());
    to_start_.pop_front();
    lock.unlock();
    start_room(room_id);
    lock.lock();
  }
}

std::string DormantRooms::read_room_from_copy(const std::string& room_id,
                                              std::optional<circle::v1::RoomReplica>& copy,
                                              std::vector<JetStreamLog::Entry>& after_copy) {
  // The copy, then the log after it, then the copy again: the log before a
  // copy is deleted only after the copy is written, so an unchanged copy
  // means nothing read was missing.
  for (int attempt = 0; attempt < 3; ++attempt) {
    const auto before = writer_.bucket().get(room_id);
    if (!before.answered) return "its copy cannot be read";
    copy.reset();
    if (before.value) {
      copy.emplace();
      if (!copy->ParseFromString(before.value->value) || copy->state().room_id() != room_id) {
        // The log before it may be gone: applying the room from what is
        // left would make it differ from the other nodes' copies.
        spdlog::error("room={} has an unreadable copy in bucket {}; not applying it here", room_id,
                      options_.replica_bucket);
        return "its copy is unreadable";
      }
    }
    // Up to its last entry now: later ones come through the follower
    // (`arrived`), so a busy room is read to an end.
    const auto last = log_.last_sequence(room_id);
    if (!last.answered) return "the room log cannot be read";
    auto log = log_.read_room(room_id, copy ? copy->log_position() : 0, last.value.value_or(0));
    if (!log.answered) return "the room log cannot be read";
    const auto after = writer_.bucket().get(room_id);
    if (!after.answered) return "its copy cannot be read";
    const auto revision = [](const auto& entry) { return entry ? entry->revision : 0; };
    if (revision(before.value) != revision(after.value)) continue;
    after_copy = std::move(*log.value);
    if (before.value) writer_.note_read(room_id, before.value->revision, copy->log_position());
    return {};
  }
  return "its copy keeps changing";
}

bool DormantRooms::start_room(const std::string& room_id) {
  std::optional<circle::v1::RoomReplica> copy;
  std::vector<JetStreamLog::Entry> after_copy;
  std::string why = read_room_from_copy(room_id, copy, after_copy);
  std::vector<FollowedRoom::Held> held;
  std::vector<circle::v1::RoomCommand> stray_leaves;
  {
    std::lock_guard lock(rooms_mutex_);
    auto& room = followed_[room_id];
    if (why.empty() && !go_on_from(room_id, copy ? &*copy : nullptr)) {
      why = "the room is not here";
    }
    // A request of this node's the log stored but this room will not be
    // handed here (its copy holds it already, or the start failed): its
    // asker is told UNAVAILABLE, once, and a join of that kind leaves again.
    auto give_up_on = [&](const JetStreamLog::Entry& entry) {
      circle::v1::RoomCommand command;
      if (!command.ParseFromString(entry.data)) return;
      if (auto leave = answers_.give_up(command, "the room moved on meanwhile; try again")) {
        stray_leaves.push_back(std::move(*leave));
      }
    };
    if (!why.empty()) {
      held.swap(room.held);
      for (const auto& entry : room.arrived) give_up_on(entry);
      room.state = FollowedRoom::State::kDormant;
      room.arrived.clear();
    } else {
      // Without a copy, from its creation: a request that reached the log
      // before it found no room (and was answered so).
      room.applied = copy ? copy->log_position() : room.created;
      auto apply = [&](const JetStreamLog::Entry& entry) {
        if (entry.sequence <= room.applied) return give_up_on(entry);
        room.applied = entry.sequence;
        circle::v1::RoomCommand command;
        if (!command.ParseFromString(entry.data) || command.room_id() != room_id) return;
        if (auto leave = answers_.hand_over(entry, std::move(command), /*replay=*/true)) {
          stray_leaves.push_back(std::move(*leave));
        }
      };
      for (const auto& entry : after_copy) apply(entry);
      for (const auto& entry : room.arrived) apply(entry);
      room.arrived.clear();
      room.caught_up_through = room.applied;
      // The requests held meanwhile reach the log before any that comes
      // once the room is applied (a join held, then its connection's
      // leave, must be stored in that order).
      for (auto& request : room.held) {
        answers_.append(std::move(request.command), std::move(request.message_id),
                        std::move(request.refused));
      }
      room.held.clear();
      room.state = FollowedRoom::State::kApplied;
      room.wanted_at = Clock::now();
      applied_rooms_changed();
    }
  }
  for (auto& leave : stray_leaves) relay_(std::move(leave), {});
  if (!why.empty()) {
    spdlog::warn("room={} cannot be applied here yet: {}", room_id, why);
    for (auto& request : held) {
      answers_.keep_unsent_leave(request.command);
      request.refused(RequestAnswers::unavailable(why));
    }
    return false;
  }
  spdlog::info("room={} applied here from {} ({} log entries after it)", room_id,
               copy ? "its copy" : "its creation", after_copy.size());
  return true;
}

bool DormantRooms::go_on_from(const std::string& room_id, const circle::v1::RoomReplica* copy) {
  // Under rooms_mutex_ (start_room).
  const auto host = rooms_->find(room_id);
  const auto journal = journals_.of(room_id);
  const auto followed = followed_.find(room_id);
  if (!host || !journal) return false;
  std::optional<core::Room> made;
  if (copy) {
    made.emplace(*copy, limits_, nullptr);
  } else if (followed != followed_.end() && followed->second.creation.has_create()) {
    const auto& creation = followed->second.creation;
    const auto& create = creation.create();
    made.emplace(room_id, create.title(), create.kind(), create.creator_account(),
                 creation.time_ms(), limits_, nullptr);
  } else {
    return false;
  }
  auto replica =
      std::make_shared<circle::v1::RoomReplica>(copy ? *copy : circle::v1::RoomReplica());
  host->run([host = host.get(), journal, made = std::make_shared<core::Room>(std::move(*made)),
             replica](core::Room& room) {
    room = std::move(*made);
    journal->went_on_from(replica->log_position(), replica->resume_frames());
    host->wake();
  });
  return true;
}

void DormantRooms::rest_rooms() {
  const auto now = Clock::now();
  // The rooms other live nodes apply, as they say (a dormant room's list entry).
  const auto shown = liveness_.rooms_applied(now, /*others=*/true);
  std::lock_guard lock(rooms_mutex_);
  for (auto& [room_id, room] : followed_) {
    const auto host = rooms_->find(room_id);
    if (!host) continue;
    if (room.state == FollowedRoom::State::kDormant) {
      // Nobody applies it: nobody is in it.
      auto info = host->info_snapshot();
      if (const auto found = shown.find(room_id); found != shown.end()) {
        info = found->second;
      } else {
        info.set_member_count(0);
      }
      host->show_info(info);
      continue;
    }
    if (room.state != FollowedRoom::State::kApplied) continue;
    const auto journal = journals_.of(room_id);
    const auto prefixes = journal ? journal->node_prefixes() : std::vector<std::uint64_t>{};
    if (std::ranges::find(prefixes, options_.node_prefix) != prefixes.end()) {
      room.wanted_at = now;  // it has members here
      room.copy_asked_at.reset();
      continue;
    }
    if (now - room.wanted_at < options_.dormant_after) continue;
    // The last to apply it leaves a copy as new as the room (nodes that
    // go on applying it write the copies themselves).
    if (!shown.contains(room_id) && writer_.copied_through(room_id) < room.applied) {
      if (!room.copy_asked_at) room.copy_asked_at = now;
      // A copy that cannot be written (too large, the cluster away) does
      // not keep the room applied here for ever: its log after the last
      // copy stays, and the writer of copies adopts it when it is due.
      if (now - *room.copy_asked_at < 5 * options_.heartbeat) {
        if (journal) journal->copy_soon();
        host->run([](core::Room&) {});  // the journal copies it on the room's strand
        continue;
      }
      spdlog::warn("room={} goes dormant here without a copy as new as it", room_id);
    }
    room.copy_asked_at.reset();
    room.state = FollowedRoom::State::kDormant;
    applied_rooms_changed();
    host->rest();
    spdlog::info("room={} dormant here: no members on this node for {} s", room_id,
                 std::chrono::duration_cast<std::chrono::seconds>(options_.dormant_after).count());
  }
}

void DormantRooms::adopt_neglected_rooms() {
  const auto now = Clock::now();
  if (!adopting_ || now - adopted_at_ < options_.replica_interval) return;
  adopted_at_ = now;
  // Dormant here, and applied by no node heard from lately.
  const auto alive = liveness_.alive_nodes(now);
  const auto applied_by_alive = liveness_.rooms_applied(now, /*others=*/false);
  std::vector<std::string> neglected;
  {
    std::lock_guard rooms(rooms_mutex_);
    for (const auto& [room_id, room] : followed_) {
      if (room.state != FollowedRoom::State::kDormant) continue;
      if (!applied_by_alive.contains(room_id)) neglected.push_back(room_id);
    }
  }
  // Only once it has looked so for a whole node timeout: a node that just
  // went on from a room says so with its next heartbeat.
  std::map<std::string, Clock::time_point> since;
  std::erase_if(neglected, [&](const std::string& room_id) {
    const auto found = neglected_since_.find(room_id);
    const auto first = found == neglected_since_.end() ? now : found->second;
    since.emplace(room_id, first);
    return now - first < options_.node_timeout;
  });
  neglected_since_ = std::move(since);
  const auto now_ms = now_unix_ms();
  for (const auto& room_id : neglected) {
    const auto stored = writer_.bucket().get(room_id);
    const auto last = log_.last_sequence(room_id);
    if (!stored.answered || !last.answered) return;  // next time
    circle::v1::RoomReplica copy;
    const bool copied = stored.value && copy.ParseFromString(stored.value->value);
    const std::uint64_t position = copied ? copy.log_position() : 0;
    // A writer that stopped may have left the log before a copy undeleted.
    if (copied) writer_.schedule_purge(room_id, position);
    // Applied after its last copy by a node that stopped, or something is
    // due (history to expire, a grace period ending, members of a node
    // that stopped): nobody else will tick it.
    std::string why;
    if (last.value.value_or(0) > position) {
      why = "its copy is behind its log";
    } else if (copied) {
      const core::Room room(copy, limits_, nullptr);
      const auto deadline = room.next_deadline();
      if (deadline && *deadline <= now_ms) why = "it has something due";
      for (const auto id : room.connection_ids()) {
        if (!alive.contains(node_prefix_of(id))) why = "it has members of a node gone";
      }
    }
    if (why.empty()) continue;
    spdlog::info("room={} is applied by no node and {}: applying it here for a while", room_id,
                 why);
    circle::v1::RoomCommand tick;
    tick.set_room_id(room_id);
    tick.set_time_ms(now_ms);
    tick.mutable_tick();
    relay_(std::move(tick), "adopt:" + room_id + ":" + std::to_string(last.value.value_or(0)));
  }
}

bool DormantRooms::applied(const std::string& room_id) const {
  std::lock_guard lock(rooms_mutex_);
  const auto followed = followed_.find(room_id);
  return followed != followed_.end() && followed->second.state == FollowedRoom::State::kApplied;
}

bool DormantRooms::applied_elsewhere(const std::string& room_id, std::uint64_t log_position) const {
  std::lock_guard lock(rooms_mutex_);
  const auto followed = followed_.find(room_id);
  return followed != followed_.end() && log_position <= followed->second.caught_up_through;
}

std::vector<std::string> DormantRooms::applied_rooms() const {
  std::lock_guard lock(applied_rooms_mutex_);
  return applied_rooms_;
}

void DormantRooms::applied_rooms_changed() {
  std::vector<std::string> applied;
  for (const auto& [room_id, room] : followed_) {
    if (room.state == FollowedRoom::State::kApplied) applied.push_back(room_id);
  }
  std::lock_guard lock(applied_rooms_mutex_);
  applied_rooms_ = std::move(applied);
}

void DormantRooms::show_applied(circle::v1::NodeRooms& said) const {
  for (const auto& room_id : applied_rooms()) {
    const auto host = rooms_->find(room_id);
    if (!host) continue;
    // Only what a dormant room's list entry takes from it: a node applying
    // ten thousand rooms still says so in one message.
    const auto info = host->info_snapshot();
    auto& shown = *said.add_applied();
    shown.set_room_id(info.room_id());
    shown.set_member_count(info.member_count());
    shown.set_locked(info.locked());
  }
}

}  // namespace circle::server
