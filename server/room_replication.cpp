#include "room_replication.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "clock.hpp"
#include "logging.hpp"
#include "room_commands.hpp"

namespace circle::server {
namespace {

using circle::store::JetStreamLog;
using Clock = std::chrono::steady_clock;

// Requests remembered as refused while they may yet be stored, at most (a
// command is answered or times out within the cluster's wait).
constexpr std::size_t kMaxRememberedAnswers = 100'000;
// Leaves kept to be sent again while the cluster is away, at most.
constexpr std::size_t kMaxUnsentLeaves = 100'000;

// The limits every copy of a room reads while applying commands: nodes that
// differ in them would take different turns on the same commands.
std::string room_limits_fingerprint(const core::Limits& limits) {
  const std::string values =
      std::to_string(limits.facilitator_grace_seconds) + "/" +
      std::to_string(limits.reconnect_window_seconds) + "/" +
      std::to_string(limits.remembered_client_message_ids) + "/" +
      std::to_string(limits.snapshot_history_events) + "/" +
      std::to_string(limits.max_room_members) + "/" + std::to_string(limits.room_joins_per_second) +
      "/" + std::to_string(limits.room_join_burst) + "/" + std::to_string(limits.max_rooms);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016zx", std::hash<std::string>{}(values));
  return hex;
}

core::Refusal unavailable(const std::string& why) {
  return {circle::v1::ERROR_CODE_UNAVAILABLE,
          "not saved: this server cannot reach the cluster that keeps rooms just now (" + why +
              "), so nothing was acknowledged or shown; try again in a moment"};
}

}  // namespace

RoomReplication::RoomReplication(net::io_context& ioc, circle::store::NatsCluster& cluster,
                                 JetStreamLog& log, RoomRegistry& rooms, SessionTracker& sessions,
                                 Metrics& metrics, ReplicationOptions options)
    : ioc_(ioc),
      cluster_(cluster),
      log_(log),
      rooms_(rooms),
      sessions_(sessions),
      metrics_(metrics),
      options_(options),
      beat_timer_(ioc),
      limits_fingerprint_(room_limits_fingerprint(rooms.limits())) {}

RoomReplication::~RoomReplication() {
  stop();
}

void RoomReplication::start(std::chrono::milliseconds catch_up) {
  // A heartbeat: "<node prefix> <room limits fingerprint>".
  heard_ = cluster_.subscribe(
      options_.alive_subject, [this](const std::string&, const std::string& data) {
        std::uint64_t prefix = 0;
        std::string fingerprint;
        try {
          std::size_t end = 0;
          prefix = std::stoull(data, &end);
          fingerprint = data.substr(std::min(end + 1, data.size()));
        } catch (const std::exception&) {
          return;
        }
        std::lock_guard lock(mutex_);
        last_heard_[prefix] = Clock::now();
        if (fingerprint != limits_fingerprint_ && differing_nodes_.insert(prefix).second) {
          spdlog::error(
              "node {} runs with other room limits than this node ({}): the same room would take "
              "different turns on the two; give every node the same --facilitator-grace-seconds, "
              "--reconnect-window-seconds, --remembered-client-message-ids, "
              "--snapshot-history-events, --max-room-members, --room-joins-per-second, "
              "--room-join-burst and --max-rooms",
              prefix, options_.node_prefix);
        }
      });
  const auto give_up = Clock::now() + catch_up;
  if (!cluster_.wait_connected(catch_up)) {
    spdlog::warn("NATS: no node answers yet; serving, with sends refused until one does");
  }
  // A cluster that just started may answer before its JetStream does.
  while (cluster_.connected() && !try_follow() && Clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));  // a retry's backoff
  }
  if (following_) {
    const auto last = log_.stream_last_sequence();
    const std::uint64_t target = last.answered ? last.value.value_or(0) : 0;
    std::unique_lock lock(applied_mutex_);
    if (!applied_changed_.wait_for(lock, catch_up, [&] { return applied_up_to_ >= target; })) {
      spdlog::warn("room log: still reading back after {} ms ({} of {}); serving meanwhile",
                   catch_up.count(), applied_up_to_, target);
    } else {
      spdlog::info("room log: read back up to {}", target);
    }
  }
  heartbeats_ = std::jthread([this](std::stop_token stop) { send_heartbeats(stop); });
  beat();
}

void RoomReplication::stop() {
  beat_timer_.cancel();
  heartbeats_ = {};  // requests a stop and joins
  // Nothing new is applied; then what is in flight is answered; then no
  // callback of the log or the heartbeat subscription runs any more.
  log_.stop_following();
  following_ = false;
  log_.close();
  heard_.reset();
}

bool RoomReplication::try_follow() {
  if (following_) return true;
  std::string error;
  if (!log_.follow([this](const JetStreamLog::Entry& entry) { on_entry(entry); }, error)) {
    spdlog::warn("room log: cannot follow yet: {}", error);
    return false;
  }
  following_ = true;
  spdlog::info("room log: following (NATS {})", cluster_.connected_url());
  return true;
}

void RoomReplication::relay(circle::v1::RoomCommand command, std::string message_id,
                            std::function<void(const core::Refusal&)> refused) {
  // A leave must reach the log in the end, or the member stays everywhere:
  // one that cannot be stored now is sent again (as the connection's
  // disconnect, answered or not) until it is.
  auto keep_leave = [this](const circle::v1::RoomCommand& command) {
    if (!command.has_leave()) return;
    auto again = command;
    again.set_request_id(0);
    again.mutable_leave()->set_reason(circle::v1::LEAVE_REASON_DISCONNECTED);
    std::lock_guard lock(mutex_);
    if (unsent_leaves_.size() < kMaxUnsentLeaves) unsent_leaves_.push_back(std::move(again));
  };
  if (!cluster_.connected() || !following_) {
    metrics_.store_failures.add();
    keep_leave(command);
    return refused(unavailable(cluster_.connected() ? "not following the room log yet"
                                                    : "not connected to NATS"));
  }
  const bool create = command.has_create();
  const auto room_id = command.room_id();
  const auto key = std::make_pair(command.connection(), command.request_id());
  const bool answered = key.second != 0;
  if (answered) {
    std::lock_guard lock(mutex_);
    if (answers_.size() >= kMaxRememberedAnswers) answers_.clear();
    answers_[key] = Answer::kPending;
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
          if (found == answers_.end() || found->second != Answer::kPending) return;
          if (appended.outcome == Outcome::kConflict) {
            answers_.erase(found);
          } else {
            found->second = Answer::kRefused;
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

void RoomReplication::on_entry(const JetStreamLog::Entry& entry) {
  circle::v1::RoomCommand command;
  if (!command.ParseFromString(entry.data) || command.room_id() != entry.room_id) {
    spdlog::error("room log: entry {} is not a command of its room; skipped", entry.sequence);
  } else {
    bool answered_already = false;
    if (node_prefix_of(command.connection()) == options_.node_prefix && command.request_id() != 0) {
      std::lock_guard lock(mutex_);
      if (auto found = answers_.find({command.connection(), command.request_id()});
          found != answers_.end()) {
        answered_already = found->second == Answer::kRefused;
        answers_.erase(found);
      }
    }
    // Only this node's connections can be answered here.
    std::weak_ptr<Outbox> requester;
    if (!answered_already && node_prefix_of(command.connection()) == options_.node_prefix) {
      requester = sessions_.find(command.connection());
    }
    std::optional<circle::v1::RoomCommand> stray_join;
    if (answered_already && command.has_join()) stray_join = command;
    rooms_.apply(std::move(command), std::move(requester));
    if (stray_join) {
      // Stored after all, though its connection was told otherwise and
      // forgot it: that join (and only that one) leaves again.
      circle::v1::RoomCommand leave;
      leave.set_room_id(stray_join->room_id());
      leave.set_connection(stray_join->connection());
      leave.set_time_ms(now_unix_ms());
      leave.mutable_leave()->set_reason(circle::v1::LEAVE_REASON_DISCONNECTED);
      leave.mutable_leave()->set_join_token(stray_join->join().join_token());
      relay(std::move(leave), {}, [](const core::Refusal&) {});
    }
  }
  {
    std::lock_guard lock(applied_mutex_);
    applied_up_to_ = entry.sequence;
  }
  applied_changed_.notify_all();
}

void RoomReplication::send_heartbeats(std::stop_token stop) {
  std::mutex mutex;
  std::condition_variable_any wake;
  std::unique_lock lock(mutex);
  while (!stop.stop_requested()) {
    cluster_.publish(options_.alive_subject,
                     std::to_string(options_.node_prefix) + " " + limits_fingerprint_);
    wake.wait_for(lock, stop, options_.heartbeat, [] { return false; });
  }
}

void RoomReplication::beat() {
  try_follow();
  std::vector<circle::v1::RoomCommand> leaves;
  if (cluster_.connected() && following_) {
    std::lock_guard lock(mutex_);
    leaves.swap(unsent_leaves_);
  }
  for (auto& leave : leaves) relay(std::move(leave), {}, [](const core::Refusal&) {});
  find_stopped_nodes();
  beat_timer_.expires_after(options_.heartbeat);
  beat_timer_.async_wait([this](error_code ec) {
    if (!ec) beat();
  });
}

void RoomReplication::find_stopped_nodes() {
  const auto now = Clock::now();
  std::vector<std::pair<std::string, std::uint64_t>> gone;
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
    if (own == last_heard_.end() || now - own->second > 3 * options_.heartbeat) return;
    for (const auto& host : rooms_.hosts()) {
      const auto room_id = host->info_snapshot().room_id();
      for (const auto prefix : host->node_prefixes()) {
        if (prefix == options_.node_prefix) continue;
        const auto heard = last_heard_.find(prefix);
        if (heard != last_heard_.end() && now - heard->second < options_.node_timeout) continue;
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

Health RoomReplication::health() const {
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
                     {"room_limits", limits_differ ? "differ from another node's" : "same"}}
          .dump();
  return health;
}

}  // namespace circle::server
