#include "cluster/cluster_backend.hpp"

#include <charconv>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <string_view>

#include "audit_json.hpp"
#include "clock.hpp"
#include "cluster/cluster_journal.hpp"
#include "logging.hpp"
#include "replies.hpp"
#include "rooms/room_commands.hpp"

namespace circle::server {
namespace {

using circle::cluster::JetStreamLog;
using Clock = std::chrono::steady_clock;

// Requests remembered as refused while they may yet be stored, at most (a
// command is answered or times out within the cluster's wait).
constexpr std::size_t kMaxRememberedAnswers = 100'000;
// Leaves kept to be sent again while the cluster is away, at most.
constexpr std::size_t kMaxUnsentLeaves = 100'000;
// Requests for one room held while the node goes on from its copy, at most.
constexpr std::size_t kMaxHeldRequests = 10'000;
// How soon a copy or a purge the cluster did not take is tried again.
constexpr auto kReplicaRetry = std::chrono::seconds(1);
constexpr auto kPurgeRetry = std::chrono::seconds(5);

// The limits every copy of a room reads while applying commands: nodes that
// differ in them would take different turns on the same commands.
std::string room_limits_fingerprint(const core::Limits& limits) {
  const std::string values =
      std::to_string(limits.facilitator_grace_seconds) + "/" +
      std::to_string(limits.reconnect_window_seconds) + "/" +
      std::to_string(limits.remembered_client_message_ids) + "/" +
      std::to_string(limits.snapshot_history_events) + "/" +
      std::to_string(limits.max_room_members) + "/" + std::to_string(limits.room_joins_per_second) +
      "/" + std::to_string(limits.room_join_burst) + "/" + std::to_string(limits.max_rooms) + "/" +
      std::to_string(limits.support_escalate_after_seconds) + "/" +
      std::to_string(limits.max_open_reports) + "/" +
      std::to_string(limits.max_open_reports_per_account) + "/" +
      std::to_string(limits.max_ignored_per_account);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016zx", std::hash<std::string>{}(values));
  return hex;
}

// A heartbeat: "<node prefix> <room limits fingerprint> <log position>
// <1 once it has read the room log back, else 0>", the position being the
// last room log entry the node applied. Nodes of an earlier version send
// only the first two (or three): they are heard all the same, as nodes
// whose position is not known (0: purges wait for them) and that do not
// write copies. nullopt: not a heartbeat.
struct Heartbeat {
  std::uint64_t prefix = 0;
  std::string fingerprint;
  std::uint64_t position = 0;
  bool caught_up = false;
};
std::optional<Heartbeat> parse_heartbeat(std::string_view data) {
  std::vector<std::string_view> words;
  while (!data.empty() && words.size() < 5) {
    const auto end = std::min(data.find(' '), data.size());
    words.push_back(data.substr(0, end));
    data.remove_prefix(std::min(end + 1, data.size()));
  }
  auto number = [](std::string_view word) -> std::optional<std::uint64_t> {
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(word.data(), word.data() + word.size(), value);
    if (word.empty() || error != std::errc() || end != word.data() + word.size()) {
      return std::nullopt;
    }
    return value;
  };
  if (words.size() < 2 || words.size() > 4 || words[1].empty()) return std::nullopt;
  Heartbeat heard{.fingerprint = std::string(words[1])};
  const auto prefix = number(words[0]);
  if (!prefix) return std::nullopt;
  heard.prefix = *prefix;
  if (words.size() >= 3) {
    const auto position = number(words[2]);
    if (!position) return std::nullopt;
    heard.position = *position;
  }
  if (words.size() == 4) {
    const auto caught_up = number(words[3]);
    if (!caught_up || *caught_up > 1) return std::nullopt;
    heard.caught_up = *caught_up == 1;
  }
  return heard;
}

std::string random_room_suffix() {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string suffix;
  auto bits = random();
  for (int i = 0; i < 12; ++i, bits >>= 4) suffix += kHex[bits & 15];
  return suffix;
}

core::Refusal unavailable(const std::string& why) {
  return {circle::v1::ERROR_CODE_UNAVAILABLE,
          "not saved: this server cannot reach the cluster that keeps rooms just now (" + why +
              "), so nothing was acknowledged or shown; try again in a moment"};
}

}  // namespace

ClusterBackend::ClusterBackend(net::io_context& ioc, circle::cluster::NatsCluster& cluster,
                               JetStreamLog& log, const core::Limits& limits, Metrics& metrics,
                               ReplicationOptions options, JetStreamLog* audit_log)
    : ioc_(ioc),
      cluster_(cluster),
      log_(log),
      limits_(limits),
      metrics_(metrics),
      options_(std::move(options)),
      beat_timer_(ioc),
      limits_fingerprint_(room_limits_fingerprint(limits)),
      replica_bucket_(cluster, options_.replica_bucket),
      audit_log_(audit_log) {}

ClusterBackend::~ClusterBackend() {
  stop();
}

void ClusterBackend::start(std::chrono::milliseconds catch_up) {
  // A heartbeat: "<node prefix> <room limits fingerprint> <log position>",
  // the position being the last room log entry the node applied.
  heard_ = cluster_.subscribe(
      options_.alive_subject, [this](const std::string&, const std::string& data) {
        const auto heard = parse_heartbeat(data);
        if (!heard) return;
        const auto& [prefix, fingerprint, position, caught_up] = *heard;
        std::lock_guard lock(mutex_);
        last_heard_[prefix] = {.at = Clock::now(), .position = position, .caught_up = caught_up};
        if (fingerprint != limits_fingerprint_ && differing_nodes_.insert(prefix).second) {
          spdlog::error(
              "node {} runs with other room limits than this node ({}): the same room would take "
              "different turns on the two; give every node the same --facilitator-grace-seconds, "
              "--reconnect-window-seconds, --remembered-client-message-ids, "
              "--snapshot-history-events, --max-room-members, --room-joins-per-second, "
              "--room-join-burst, --max-rooms, --support-escalate-after, --max-open-reports and "
              "--max-ignored",
              prefix, options_.node_prefix);
        }
      });
  heard_rooms_sub_ = cluster_.subscribe(options_.alive_subject + ".rooms",
                                        [this](const std::string&, const std::string& data) {
                                          circle::v1::NodeRooms heard;
                                          if (!heard.ParseFromString(data)) return;
                                          std::map<std::string, circle::v1::RoomInfo> rooms;
                                          for (auto& info : *heard.mutable_applied())
                                            rooms[info.room_id()] = std::move(info);
                                          std::lock_guard lock(mutex_);
                                          heard_rooms_[heard.node_prefix()] = std::move(rooms);
                                        });
  starter_ = std::jthread([this](std::stop_token stop) { start_rooms(stop); });
  // Heard before anything is read: the room log a node still has to read
  // is not deleted under it (purge_due waits for every node heard).
  heartbeats_ = std::jthread([this](std::stop_token stop) { send_heartbeats(stop); });
  const auto give_up = Clock::now() + catch_up;
  if (!cluster_.wait_connected(catch_up)) {
    spdlog::warn("NATS: no node answers yet; serving, with sends refused until one does");
  }
  // A cluster that just started may answer before its JetStream does.
  while (cluster_.connected() && !try_follow() && Clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));  // a retry's backoff
  }
  if (following_) {
    std::unique_lock lock(applied_mutex_);
    if (!applied_changed_.wait_until(lock, std::max(give_up, Clock::now() + catch_up / 2),
                                     [&] { return caught_up_.load(); })) {
      spdlog::warn("room log: still reading back after {} ms (at {}); serving meanwhile",
                   catch_up.count(), applied_up_to_);
    } else {
      spdlog::info("room log: read back up to {}", applied_up_to_);
    }
  }
  replica_writer_ = std::jthread([this](std::stop_token stop) { write_replicas(stop); });
  beat();
}

void ClusterBackend::stop() {
  beat_timer_.cancel();
  heartbeats_ = {};  // requests a stop and joins
  keeps_replicas_ = false;
  replica_writer_ = {};
  starter_ = {};
  // Nothing new is applied; then what is in flight is answered; then no
  // callback of the log or the heartbeat subscription runs any more.
  log_.stop_following();
  following_ = false;
  log_.close();
  heard_.reset();
  heard_rooms_sub_.reset();
}

bool ClusterBackend::try_follow() {
  if (following_) return true;
  // Read back once an entry comes with nothing pending after it, or the
  // stream's last entry as it is now (which may have been deleted since:
  // the copies hold it), or at once when there is nothing to read.
  const auto entries = log_.stream_entry_count();
  const auto last = log_.stream_last_sequence();
  if (!entries.answered || !last.answered) return false;
  {
    std::lock_guard lock(applied_mutex_);
    follow_baseline_ = last.value.value_or(0);
  }
  std::string error;
  if (!log_.follow([this](const JetStreamLog::Entry& entry) { on_entry(entry); }, error)) {
    spdlog::warn("room log: cannot follow yet: {}", error);
    return false;
  }
  if (entries.value.value_or(0) == 0) {
    std::lock_guard lock(applied_mutex_);
    caught_up_ = true;
  }
  following_ = true;
  spdlog::info("room log: following (NATS {})", cluster_.connected_url());
  return true;
}

void ClusterBackend::keep_unsent_leave(const circle::v1::RoomCommand& command) {
  // A leave must reach the log in the end, or the member stays everywhere:
  // one that cannot be stored now is sent again (as the connection's
  // disconnect, answered or not) until it is.
  if (!command.has_leave()) return;
  auto again = command;
  again.set_request_id(0);
  again.mutable_leave()->set_reason(circle::v1::LEAVE_REASON_DISCONNECTED);
  std::lock_guard lock(mutex_);
  if (unsent_leaves_.size() < kMaxUnsentLeaves) unsent_leaves_.push_back(std::move(again));
}

void ClusterBackend::relay(circle::v1::RoomCommand command, std::string message_id,
                           std::function<void(const core::Refusal&)> refused) {
  auto keep_leave = [this](const circle::v1::RoomCommand& command) { keep_unsent_leave(command); };
  if (!cluster_.connected() || !following_) {
    metrics_.store_failures.add();
    keep_leave(command);
    return refused(unavailable(cluster_.connected() ? "not following the room log yet"
                                                    : "not connected to NATS"));
  }
  const bool create = command.has_create();
  if (!create) {
    // A room dormant here goes on from its copy first; the request is
    // relayed once it has (its answer then comes from a room holding
    // everything before it).
    std::unique_lock lock(rooms_mutex_);
    const auto followed = followed_.find(command.room_id());
    // Not known here (yet): relayed all the same, since its creation may be
    // on its way; answered when it comes back (on_entry).
    FollowedRoom* known = followed == followed_.end() ? nullptr : &followed->second;
    if (known) known->wanted_at = Clock::now();
    if (known && known->state != FollowedRoom::State::kApplied) {
      auto& room = *known;
      if (room.held.size() >= kMaxHeldRequests) {
        lock.unlock();
        keep_leave(command);
        return refused(unavailable("this server is still reading the room"));
      }
      room.held.push_back({std::move(command), std::move(message_id), std::move(refused)});
      if (room.state == FollowedRoom::State::kDormant) {
        room.state = FollowedRoom::State::kStarting;
        room.arrived.clear();
        to_start_.push_back(followed->first);
        lock.unlock();
        start_asked_.notify_one();
      }
      return;
    }
  }
  append(std::move(command), std::move(message_id), std::move(refused));
}

void ClusterBackend::append(circle::v1::RoomCommand command, std::string message_id,
                            std::function<void(const core::Refusal&)> refused) {
  auto keep_leave = [this](const circle::v1::RoomCommand& command) { keep_unsent_leave(command); };
  const bool create = command.has_create();
  const auto room_id = command.room_id();
  const auto key = std::make_pair(command.connection(), command.request_id());
  const bool answered = key.second != 0;
  if (answered) {
    std::lock_guard lock(mutex_);
    // Refusals whose entry never came are forgotten first; a pending one
    // is still to be answered (pending ones are bounded by what is in flight).
    if (answers_.size() >= kMaxRememberedAnswers) {
      std::erase_if(answers_,
                    [](const auto& kept) { return kept.second.answer == Answer::kRefused; });
    }
    answers_[key] = {.answer = Answer::kPending, .refused = refused};
  }
  const auto queued_at = Clock::now();
  auto leave = command.has_leave() ? std::optional(command) : std::nullopt;
  // A room is created only by the first entry of its creation subject, so
  // two nodes cannot both create it.
  log_.append_async(
      room_id, create ? JetStreamLog::Topic::kCreation : JetStreamLog::Topic::kEvents,
      command.SerializeAsString(), create ? std::optional<std::uint64_t>(0) : std::nullopt,
      message_id,
      [this, create, room_id, key, answered, queued_at, leave = std::move(leave), keep_leave,
       refused = std::move(refused)](const JetStreamLog::Appended& appended) {
        using Outcome = JetStreamLog::Outcome;
        metrics_.store_commit.observe(Clock::now() - queued_at);
        if (appended.outcome == Outcome::kStored || appended.outcome == Outcome::kDuplicate) return;
        if (answered) {
          // Answered already if the log handed the command back first (an
          // ack lost after it was stored); else answered here, once.
          std::lock_guard lock(mutex_);
          auto found = answers_.find(key);
          if (found == answers_.end() || found->second.answer != Answer::kPending) return;
          if (appended.outcome == Outcome::kConflict) {
            answers_.erase(found);
          } else {
            found->second = {.answer = Answer::kRefused, .refused = {}};
          }
        }
        if (appended.outcome == Outcome::kConflict && create) {
          return refused({circle::v1::ERROR_CODE_ROOM_ALREADY_EXISTS,
                          "create room: room '" + room_id + "' already exists"});
        }
        spdlog::error("room={} room log append failed: {}", room_id, appended.error);
        metrics_.store_failures.add();
        if (leave) keep_leave(*leave);
        refused(unavailable(appended.error));
      });
}

void ClusterBackend::on_entry(const JetStreamLog::Entry& entry) {
  if (failed_) return;        // nothing is applied once the log moved on without this node
  std::uint64_t in_turn = 0;  // the next entry that must come
  {
    std::lock_guard lock(applied_mutex_);
    in_turn = std::max(applied_up_to_, follow_baseline_) + 1;
  }
  if (entry.sequence > in_turn) {
    // Entries stored after this node began to follow come to it in turn:
    // the log before a copy is deleted only once every node heard from has
    // read past it. So a gap there means the others did not hear this node
    // (cut off for longer than the purge delay and the node timeout) and
    // went on. Its copies of rooms may now differ from theirs, so it must
    // not serve from them: it stops, and a restart goes on from the rooms'
    // copies (its clients resume on another node meanwhile). Before the
    // baseline, gaps are entries the copies already hold.
    if (failed_.exchange(true)) return;
    const auto why = "room log: entries " + std::to_string(in_turn) + " to " +
                     std::to_string(entry.sequence - 1) +
                     " were deleted before this node read them (it was cut off from the cluster "
                     "for longer than the node timeout); stopping so that a restart reads the "
                     "rooms back from their copies";
    if (options_.fatal) options_.fatal(why);
    return;
  }
  circle::v1::RoomCommand command;
  std::optional<circle::v1::RoomCommand> stray_leave;
  if (!command.ParseFromString(entry.data) || command.room_id() != entry.room_id) {
    spdlog::error("room log: entry {} is not a command of its room; skipped", entry.sequence);
  } else if (command.has_create()) {
    // Every node knows every room (the list, the room limit); it applies
    // one only once asked for it. Created first, so that a start finds it.
    const auto room_id = entry.room_id;
    auto creation = command;
    stray_leave = hand_over(entry, std::move(command), /*replay=*/false);
    // (Unless the creation was refused, e.g. over --max-rooms, on every node alike.)
    if (rooms_->find(room_id)) {
      std::lock_guard lock(rooms_mutex_);
      auto& room = followed_[room_id];
      room.created = entry.sequence;
      room.creation = std::move(creation);
    }
  } else {
    std::unique_lock lock(rooms_mutex_);
    const auto followed = followed_.find(entry.room_id);
    const bool ours = node_prefix_of(command.connection()) == options_.node_prefix;
    if (followed == followed_.end()) {
      // No such room: this node's request is answered so.
      if (ours) stray_leave = hand_over(entry, std::move(command), /*replay=*/false);
    } else {
      auto& room = followed->second;
      if (room.state == FollowedRoom::State::kDormant && ours) {
        // Relayed before the room was known here: applied once this node
        // has gone on from the room's copy (the log after it holds this).
        room.state = FollowedRoom::State::kStarting;
        room.arrived.clear();
        to_start_.push_back(entry.room_id);
        start_asked_.notify_one();
      }
      if (room.state == FollowedRoom::State::kStarting) {
        room.arrived.push_back(entry);
      } else if (room.state == FollowedRoom::State::kApplied && entry.sequence > room.applied) {
        room.applied = entry.sequence;
        stray_leave = hand_over(entry, std::move(command), /*replay=*/false);
      } else if (room.state == FollowedRoom::State::kApplied && ours) {
        // The copy this node went on from holds it already (applied by
        // another node first): its asker, if still waiting, hears so.
        stray_leave = give_up(command, "the room moved on meanwhile; try again");
      }
    }
  }
  if (stray_leave) relay(std::move(*stray_leave), {}, [](const core::Refusal&) {});
  {
    std::lock_guard lock(applied_mutex_);
    applied_up_to_ = entry.sequence;
    if (entry.pending == 0 || entry.sequence >= follow_baseline_) caught_up_ = true;
  }
  applied_changed_.notify_all();
}

namespace {

// The leave that undoes `join` (and only that join: its token).
circle::v1::RoomCommand leave_of(const circle::v1::RoomCommand& join) {
  circle::v1::RoomCommand leave;
  leave.set_room_id(join.room_id());
  leave.set_connection(join.connection());
  leave.set_time_ms(now_unix_ms());
  leave.mutable_leave()->set_reason(circle::v1::LEAVE_REASON_DISCONNECTED);
  leave.mutable_leave()->set_join_token(join.join().join_token());
  return leave;
}

}  // namespace

std::optional<circle::v1::RoomCommand> ClusterBackend::hand_over(const JetStreamLog::Entry& entry,
                                                                 circle::v1::RoomCommand command,
                                                                 bool replay) {
  bool answered_already = false;
  bool waiting = false;
  const bool ours = node_prefix_of(command.connection()) == options_.node_prefix;
  if (ours && command.request_id() != 0) {
    std::lock_guard lock(mutex_);
    if (auto found = answers_.find({command.connection(), command.request_id()});
        found != answers_.end()) {
      answered_already = found->second.answer == Answer::kRefused;
      waiting = !answered_already;
      answers_.erase(found);
    }
  }
  // Only this node's connections can be answered here; a request read again
  // while going on from the room's copy only if it still waits (one this
  // node applied before is not answered twice, nor its events sent again).
  std::weak_ptr<core::EventSink> requester;
  if (ours && !answered_already && (!replay || waiting)) {
    requester = options_.find_connection(command.connection());
  }
  // Stored after all, though its connection was told otherwise and forgot
  // it: that join (and only that one) leaves again.
  std::optional<circle::v1::RoomCommand> stray_leave;
  if (answered_already && command.has_join()) stray_leave = leave_of(command);
  applier_->apply(std::move(command), std::move(requester), entry.sequence);
  return stray_leave;
}

std::optional<circle::v1::RoomCommand> ClusterBackend::give_up(
    const circle::v1::RoomCommand& command, const std::string& why) {
  if (node_prefix_of(command.connection()) != options_.node_prefix || command.request_id() == 0) {
    return std::nullopt;
  }
  std::function<void(const core::Refusal&)> refused;
  {
    std::lock_guard lock(mutex_);
    const auto found = answers_.find({command.connection(), command.request_id()});
    if (found == answers_.end() || found->second.answer != Answer::kPending) return std::nullopt;
    refused = std::move(found->second.refused);
    answers_.erase(found);
  }
  if (refused) refused(unavailable(why));
  if (!command.has_join()) return std::nullopt;
  return leave_of(command);
}

void ClusterBackend::start_rooms(std::stop_token stop) {
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

std::string ClusterBackend::read_room_from_copy(const std::string& room_id,
                                                std::optional<circle::v1::RoomReplica>& copy,
                                                std::vector<JetStreamLog::Entry>& after_copy) {
  // The copy, then the log after it, then the copy again: the log before a
  // copy is deleted only after the copy is written, so an unchanged copy
  // means nothing read was missing.
  for (int attempt = 0; attempt < 3; ++attempt) {
    const auto before = replica_bucket_.get(room_id);
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
    const auto after = replica_bucket_.get(room_id);
    if (!after.answered) return "its copy cannot be read";
    const auto revision = [](const auto& entry) { return entry ? entry->revision : 0; };
    if (revision(before.value) != revision(after.value)) continue;
    after_copy = std::move(*log.value);
    if (before.value) {
      std::lock_guard lock(replicas_mutex_);
      auto& written = written_replicas_[room_id];
      if (before.value->revision > written.revision) {
        written = {.revision = before.value->revision, .log_position = copy->log_position()};
      }
    }
    return {};
  }
  return "its copy keeps changing";
}

bool ClusterBackend::start_room(const std::string& room_id) {
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
      if (auto leave = give_up(command, "the room moved on meanwhile; try again")) {
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
        if (auto leave = hand_over(entry, std::move(command), /*replay=*/true)) {
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
        append(std::move(request.command), std::move(request.message_id),
               std::move(request.refused));
      }
      room.held.clear();
      room.state = FollowedRoom::State::kApplied;
      room.wanted_at = Clock::now();
      applied_rooms_changed();
    }
  }
  for (auto& leave : stray_leaves) relay(std::move(leave), {}, [](const core::Refusal&) {});
  if (!why.empty()) {
    spdlog::warn("room={} cannot be applied here yet: {}", room_id, why);
    for (auto& request : held) {
      keep_unsent_leave(request.command);
      request.refused(unavailable(why));
    }
    return false;
  }
  spdlog::info("room={} applied here from {} ({} log entries after it)", room_id,
               copy ? "its copy" : "its creation", after_copy.size());
  return true;
}

void ClusterBackend::keep_replica(const std::string& room_id, circle::v1::RoomReplica replica) {
  {
    std::lock_guard lock(replicas_mutex_);
    replicas_to_write_.insert_or_assign(room_id, std::move(replica));
  }
  replicas_handed_.notify_one();
}

void ClusterBackend::keep_audit(const std::vector<core::AuditEntry>& entries,
                                std::uint64_t log_position) {
  if (!audit_log_ || log_position == 0 || entries.empty()) return;
  {
    // Read back at start-up: recorded when it was first applied.
    std::lock_guard lock(applied_mutex_);
    if (log_position <= follow_baseline_) return;
  }
  {
    // Applied by another node before this one went on from the room's copy:
    // recorded there (the message id de-duplicates only for two minutes).
    std::lock_guard lock(rooms_mutex_);
    const auto followed = followed_.find(entries.front().room_id);
    if (followed != followed_.end() && log_position <= followed->second.caught_up_through) return;
  }
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& entry = entries[i];
    audit_log_->append_async(
        entry.room_id, JetStreamLog::Topic::kEvents, audit_json(entry), std::nullopt,
        "audit:" + entry.room_id + ":" + std::to_string(log_position) + ":" + std::to_string(i),
        [room_id = entry.room_id](const JetStreamLog::Appended& appended) {
          using Outcome = JetStreamLog::Outcome;
          if (appended.outcome == Outcome::kStored || appended.outcome == Outcome::kDuplicate) {
            return;
          }
          spdlog::error("room={} moderation audit entry not stored: {}", room_id, appended.error);
        });
  }
}

void ClusterBackend::write_replicas(std::stop_token stop) {
  auto next_retry = Clock::now() + kReplicaRetry;
  std::unique_lock lock(replicas_mutex_);
  while (!stop.stop_requested()) {
    replicas_handed_.wait_for(lock, stop, kReplicaRetry,
                              [this] { return !replicas_to_write_.empty(); });
    auto batch = std::exchange(replicas_to_write_, {});
    lock.unlock();
    if (Clock::now() >= next_retry) {
      // A copy handed over since supersedes the one that failed.
      batch.merge(replicas_to_retry_);
      replicas_to_retry_.clear();
      next_retry = Clock::now() + kReplicaRetry;
    }
    for (auto& [room_id, replica] : batch) {
      if (stop.stop_requested()) break;
      if (!write_replica(room_id, replica)) {
        replicas_to_retry_.insert_or_assign(room_id, std::move(replica));
      }
    }
    purge_due();
    adopt_neglected_rooms();
    lock.lock();
  }
}

bool ClusterBackend::write_replica(const std::string& room_id,
                                   const circle::v1::RoomReplica& replica) {
  using Outcome = circle::cluster::RoomReplicaBucket::Outcome;
  const std::uint64_t position = replica.log_position();
  WrittenReplica known;
  {
    std::lock_guard lock(replicas_mutex_);
    known = written_replicas_[room_id];
  }
  std::string value;  // serialised once it is to be written
  // Two nodes may both take themselves for the writer for a moment: each
  // writes only over what it read, and never a copy older than the bucket's.
  for (int attempt = 0;; ++attempt) {
    if (position <= known.log_position) {
      // As new there already (another writer's): the log before it may
      // still be waiting to be deleted (deleting is idempotent).
      schedule_purge(room_id, known.log_position);
      return true;
    }
    if (attempt == 3) return false;  // tried again later
    if (value.empty()) {
      value = replica.SerializeAsString();
      if (value.size() > kMaxReplicaBytes) {
        spdlog::error(
            "room={} copy is {} bytes, over {}: not written, so its room log is kept from its "
            "last copy on (redacted or expired messages since stay in it)",
            room_id, value.size(), kMaxReplicaBytes);
        return true;
      }
    }
    const auto written = replica_bucket_.put(room_id, value, known.revision);
    if (written.outcome == Outcome::kWritten) {
      {
        std::lock_guard lock(replicas_mutex_);
        written_replicas_[room_id] = {.revision = written.revision, .log_position = position};
      }
      schedule_purge(room_id, position);
      return true;
    }
    if (written.outcome == Outcome::kUnavailable) {
      spdlog::warn("room={} copy not written yet: {}", room_id, written.error);
      return false;
    }
    const auto current = replica_bucket_.get(room_id);
    if (!current.answered) return false;
    known = {};
    if (current.value) {
      circle::v1::RoomReplica stored;
      known.revision = current.value->revision;
      if (stored.ParseFromString(current.value->value)) known.log_position = stored.log_position();
    }
    std::lock_guard lock(replicas_mutex_);
    written_replicas_[room_id] = known;
  }
}

void ClusterBackend::adopt_neglected_rooms() {
  const auto now = Clock::now();
  if (!keeps_replicas_ || now - adopted_at_ < options_.replica_interval) return;
  adopted_at_ = now;
  // Dormant here, and applied by no node heard from lately.
  std::set<std::uint64_t> alive;
  std::vector<std::string> neglected;
  {
    std::lock_guard rooms(rooms_mutex_);
    std::lock_guard lock(mutex_);
    for (const auto& [prefix, heard] : last_heard_) {
      if (now - heard.at < options_.node_timeout) alive.insert(prefix);
    }
    for (const auto& [room_id, room] : followed_) {
      if (room.state != FollowedRoom::State::kDormant) continue;
      const bool applied_elsewhere = std::ranges::any_of(heard_rooms_, [&](const auto& heard) {
        return alive.contains(heard.first) && heard.second.contains(room_id);
      });
      if (!applied_elsewhere) neglected.push_back(room_id);
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
    const auto stored = replica_bucket_.get(room_id);
    const auto last = log_.last_sequence(room_id);
    if (!stored.answered || !last.answered) return;  // next time
    circle::v1::RoomReplica copy;
    const bool copied = stored.value && copy.ParseFromString(stored.value->value);
    const std::uint64_t position = copied ? copy.log_position() : 0;
    // A writer that stopped may have left the log before a copy undeleted.
    if (copied) schedule_purge(room_id, position);
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
    relay(std::move(tick), "adopt:" + room_id + ":" + std::to_string(last.value.value_or(0)),
          [](const core::Refusal&) {});
  }
}

void ClusterBackend::schedule_purge(const std::string& room_id, std::uint64_t through) {
  std::lock_guard lock(replicas_mutex_);
  auto& purge = purges_[room_id];
  if (through <= purge.through) return;
  // A purge already waiting keeps its time: copies every few seconds must
  // not put it off for ever.
  if (purge.deleted == purge.through) purge.at = Clock::now() + options_.purge_delay;
  purge.through = through;
}

void ClusterBackend::purge_due() {
  if (!caught_up_) return;
  const auto now = Clock::now();
  // Every node heard from lately must have read past what is deleted: a
  // node still reading the log back (or behind, or reconnecting) would
  // otherwise miss entries. One silent for longer is no longer waited for;
  // should it come back, it finds the gap and restarts (on_entry).
  const auto counted = options_.purge_delay + options_.node_timeout;
  std::uint64_t everyone_read = 0;
  {
    std::lock_guard lock(mutex_);
    bool first = true;
    for (const auto& [prefix, heard] : last_heard_) {
      if (now - heard.at >= counted) continue;
      everyone_read = first ? heard.position : std::min(everyone_read, heard.position);
      first = false;
    }
  }
  std::vector<std::pair<std::string, std::uint64_t>> due;
  {
    std::lock_guard lock(replicas_mutex_);
    for (auto& [room_id, purge] : purges_) {
      if (purge.deleted >= purge.through || purge.at > now) continue;
      const auto through = std::min(purge.through, everyone_read);
      if (through > purge.deleted) due.emplace_back(room_id, through);
      if (through < purge.through && now - purge.at > counted && now - purge.warned > counted) {
        spdlog::warn("room={} room log kept past its copy: a node has not read up to {} yet",
                     room_id, purge.through);
        purge.warned = now;
      }
    }
  }
  for (const auto& [room_id, through] : due) {
    std::string error;
    const bool deleted = log_.purge_room(room_id, through, error);
    if (!deleted) spdlog::warn("room={} room log not deleted yet: {}", room_id, error);
    std::lock_guard lock(replicas_mutex_);
    auto& purge = purges_[room_id];
    if (deleted) {
      purge.deleted = std::max(purge.deleted, through);
    } else {
      purge.at = now + kPurgeRetry;
    }
  }
}

void ClusterBackend::send_heartbeats(std::stop_token stop) {
  std::mutex mutex;
  std::condition_variable_any wake;
  std::unique_lock lock(mutex);
  while (!stop.stop_requested()) {
    std::uint64_t position = 0;
    {
      std::lock_guard applied(applied_mutex_);
      position = applied_up_to_;
    }
    cluster_.publish(options_.alive_subject,
                     std::to_string(options_.node_prefix) + " " + limits_fingerprint_ + " " +
                         std::to_string(position) + (caught_up_ ? " 1" : " 0"));
    // The rooms applied here: who writes their copies, and what a dormant
    // room's list entry says on the other nodes.
    circle::v1::NodeRooms rooms;
    rooms.set_node_prefix(options_.node_prefix);
    for (const auto& room_id : applied_rooms()) {
      const auto host = rooms_->find(room_id);
      if (!host) continue;
      // Only what a dormant room's list entry takes from it: a node applying
      // ten thousand rooms still says so in one message.
      const auto info = host->info_snapshot();
      auto& said = *rooms.add_applied();
      said.set_room_id(info.room_id());
      said.set_member_count(info.member_count());
      said.set_locked(info.locked());
    }
    cluster_.publish(options_.alive_subject + ".rooms", rooms.SerializeAsString());
    wake.wait_for(lock, stop, options_.heartbeat, [] { return false; });
  }
}

std::vector<std::string> ClusterBackend::applied_rooms() const {
  std::lock_guard lock(applied_rooms_mutex_);
  return applied_rooms_;
}

void ClusterBackend::applied_rooms_changed() {
  std::vector<std::string> applied;
  for (const auto& [room_id, room] : followed_) {
    if (room.state == FollowedRoom::State::kApplied) applied.push_back(room_id);
  }
  std::lock_guard lock(applied_rooms_mutex_);
  applied_rooms_ = std::move(applied);
}

bool ClusterBackend::keeps_replica_of(const std::string& room_id) const {
  {
    std::lock_guard lock(rooms_mutex_);
    const auto followed = followed_.find(room_id);
    if (followed == followed_.end() || followed->second.state != FollowedRoom::State::kApplied) {
      return false;
    }
  }
  return writes_replica_of(room_id);
}

bool ClusterBackend::writes_replica_of(const std::string& room_id) const {
  if (!caught_up_ || !following_ || !cluster_.connected()) return false;
  // The lowest-numbered node heard from lately that applies the room and
  // has read the log back.
  std::lock_guard lock(mutex_);
  const auto now = Clock::now();
  for (const auto& [prefix, rooms] : heard_rooms_) {
    if (prefix >= options_.node_prefix || !rooms.contains(room_id)) continue;
    const auto heard = last_heard_.find(prefix);
    if (heard != last_heard_.end() && heard->second.caught_up &&
        now - heard->second.at < options_.node_timeout) {
      return false;
    }
  }
  return true;
}

void ClusterBackend::rest_rooms() {
  const auto now = Clock::now();
  // The rooms other live nodes apply, as they say (a dormant room's list entry).
  std::map<std::string, circle::v1::RoomInfo> shown;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [prefix, rooms] : heard_rooms_) {
      const auto heard = last_heard_.find(prefix);
      if (prefix == options_.node_prefix || heard == last_heard_.end() ||
          now - heard->second.at >= options_.node_timeout) {
        continue;
      }
      for (const auto& [room_id, info] : rooms) shown.insert_or_assign(room_id, info);
    }
  }
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
    const auto journal = journal_of(room_id);
    const auto prefixes = journal ? journal->node_prefixes() : std::vector<std::uint64_t>{};
    if (std::ranges::find(prefixes, options_.node_prefix) != prefixes.end()) {
      room.wanted_at = now;  // it has members here
      room.copy_asked_at.reset();
      continue;
    }
    if (now - room.wanted_at < options_.dormant_after) continue;
    if (!shown.contains(room_id)) {
      // The last to apply it leaves a copy as new as the room (nodes that
      // go on applying it write the copies themselves).
      std::uint64_t copied = 0;
      {
        std::lock_guard replicas(replicas_mutex_);
        copied = written_replicas_[room_id].log_position;
      }
      if (copied < room.applied) {
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
    }
    room.copy_asked_at.reset();
    room.state = FollowedRoom::State::kDormant;
    applied_rooms_changed();
    host->rest();
    spdlog::info("room={} dormant here: no members on this node for {} s", room_id,
                 std::chrono::duration_cast<std::chrono::seconds>(options_.dormant_after).count());
  }
}

void ClusterBackend::beat() {
  try_follow();
  std::vector<circle::v1::RoomCommand> leaves;
  if (cluster_.connected() && following_) {
    std::lock_guard lock(mutex_);
    leaves.swap(unsent_leaves_);
  }
  for (auto& leave : leaves) relay(std::move(leave), {}, [](const core::Refusal&) {});
  find_stopped_nodes();
  rest_rooms();
  {
    // The lowest-numbered node heard from that has read the log back
    // adopts neglected rooms.
    std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    bool lowest = true;
    for (const auto& [prefix, heard] : last_heard_) {
      if (prefix < options_.node_prefix && now - heard.at < options_.node_timeout &&
          heard.caught_up) {
        lowest = false;
      }
    }
    keeps_replicas_ = lowest && caught_up_ && following_ && cluster_.connected();
  }
  for (const auto& room_id : applied_rooms()) {
    // A copy due by time: the journal takes it on the room's strand.
    const auto journal = journal_of(room_id);
    if (!journal || !journal->replica_wanted()) continue;
    if (const auto host = rooms_->find(room_id)) host->run([](core::Room&) {});
  }
  beat_timer_.expires_after(options_.heartbeat);
  beat_timer_.async_wait([this](error_code ec) {
    if (!ec) beat();
  });
}

void ClusterBackend::find_stopped_nodes() {
  const auto now = Clock::now();
  std::vector<std::pair<std::string, std::uint64_t>> gone;
  const auto applied = applied_rooms();
  {
    std::lock_guard lock(mutex_);
    const auto links = cluster_.links();
    if (!cluster_.connected() || links != links_seen_) {
      // Down, or down and up again in between: what we heard meanwhile is
      // not the whole story. Start counting again.
      links_seen_ = links;
      up_since_ = now;
      return;
    }
    // Judge others only after a whole timeout on an unbroken link, and only
    // while our own heartbeats come back (the link really carries them).
    if (now - up_since_ < options_.node_timeout) return;
    const auto own = last_heard_.find(options_.node_prefix);
    if (own == last_heard_.end() || now - own->second.at > 3 * options_.heartbeat) return;
    for (const auto& room_id : applied) {
      const auto journal = journal_of(room_id);
      if (!journal) continue;
      for (const auto prefix : journal->node_prefixes()) {
        if (prefix == options_.node_prefix) continue;
        const auto heard = last_heard_.find(prefix);
        if (heard != last_heard_.end() && now - heard->second.at < options_.node_timeout) {
          continue;
        }
        auto& sent = gone_sent_[{room_id, prefix}];
        if (sent != Clock::time_point{} && now - sent < options_.node_timeout) {
          continue;  // relayed a moment ago; not applied yet
        }
        sent = now;
        gone.emplace_back(room_id, prefix);
      }
    }
  }
  for (const auto& [room_id, prefix] : gone) {
    spdlog::warn("node {} not heard from for {} ms: its connections leave room={}", prefix,
                 options_.node_timeout.count(), room_id);
    circle::v1::RoomCommand command;
    command.set_room_id(room_id);
    command.set_time_ms(now_unix_ms());
    command.mutable_node_gone()->set_node_prefix(prefix);
    // No message id: every node that noticed may add one; after the first,
    // they find nobody of that node left.
    relay(std::move(command), {}, [](const core::Refusal&) {});
  }
}

Health ClusterBackend::health() const {
  const bool connected = cluster_.connected();
  const bool following = following_;
  bool limits_differ = false;
  {
    std::lock_guard lock(mutex_);
    limits_differ = !differing_nodes_.empty();
  }
  Health health;
  health.ok = connected && following;
  health.json =
      nlohmann::json{{"status", health.ok ? "ok" : "unavailable"},
                     {"backend", "nats"},
                     {"nats", connected ? "connected" : "disconnected"},
                     {"room_log", following ? "following" : "not following"},
                     {"room_limits", limits_differ ? "differ from another node's" : "same"},
                     {"rooms_applied", applied_rooms().size()}}
          .dump();
  return health;
}

void ClusterBackend::order(circle::v1::RoomCommand command,
                           std::weak_ptr<core::EventSink> requester, std::string message_id) {
  if (command.has_create() && rooms_->list_size() >= limits_.max_rooms) {
    // Refused before it is relayed: a creation refused in the log would
    // still hold the room id's creation slot.
    return refuse_command(command, requester,
                          {circle::v1::ERROR_CODE_LIMIT_EXCEEDED,
                           "create room: this server already has its maximum of " +
                               std::to_string(limits_.max_rooms) + " rooms"},
                          metrics_);
  }
  if (command.has_create() && command.room_id().empty()) {
    // Named here, where it is relayed: the room's subject carries its id.
    // Random, so that two nodes never name two rooms alike.
    command.set_room_id("room-" + random_room_suffix());
  }
  // What a refusal needs of the command (the command itself goes to the log).
  circle::v1::RoomCommand refused_command;
  refused_command.set_room_id(command.room_id());
  refused_command.set_request_id(command.request_id());
  if (command.has_join())
    refused_command.mutable_join()->set_join_token(command.join().join_token());
  relay(std::move(command), std::move(message_id),
        [requester = std::move(requester), refused_command = std::move(refused_command),
         this](const core::Refusal& refusal) {
          refuse_command(refused_command, requester, refusal, metrics_);
        });
}

std::unique_ptr<RoomJournal> ClusterBackend::journal_for(const std::string& room_id) {
  auto journal = std::make_shared<ClusterJournal>(*this, room_id);
  {
    std::lock_guard lock(journals_mutex_);
    journals_.insert_or_assign(room_id, journal);
  }
  // The host owns a handle; the backend reads the same journal from its threads.
  struct Handle final : RoomJournal {
    explicit Handle(std::shared_ptr<ClusterJournal> journal) : journal(std::move(journal)) {}
    bool persist(const core::Room& room, const core::ActionOutput& output,
                 std::uint64_t log_position, Persisted persisted) override {
      return journal->persist(room, output, log_position, std::move(persisted));
    }
    std::optional<std::vector<circle::v1::RoomEvent>> events_after(std::uint64_t after_seq,
                                                                   std::uint32_t max) override {
      return journal->events_after(after_seq, max);
    }
    std::optional<SentRecord> recall_sent(const std::string& account,
                                          const std::string& client_message_id) override {
      return journal->recall_sent(account, client_message_id);
    }
    ReadBack read_back(const core::Room& room) override { return journal->read_back(room); }
    std::shared_ptr<ClusterJournal> journal;
  };
  return std::make_unique<Handle>(std::move(journal));
}

std::shared_ptr<ClusterJournal> ClusterBackend::journal_of(const std::string& room_id) const {
  std::lock_guard lock(journals_mutex_);
  const auto found = journals_.find(room_id);
  return found == journals_.end() ? nullptr : found->second;
}

bool ClusterBackend::go_on_from(const std::string& room_id, const circle::v1::RoomReplica* copy) {
  // Under rooms_mutex_ (start_room).
  const auto host = rooms_->find(room_id);
  const auto journal = journal_of(room_id);
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

}  // namespace circle::server
