#include "room_replication.hpp"

#include "clock.hpp"
#include "logging.hpp"
#include "room_commands.hpp"

namespace circle::server {
namespace {

constexpr const char* kAliveSubject = "circle.nodes.alive";
// Refusals remembered for a late-stored command, at most (oldest kept: a
// command is answered or times out within the cluster's wait).
constexpr std::size_t kMaxRememberedRefusals = 100'000;

core::Refusal unavailable(const std::string& why) {
  return {circle::v1::ERROR_CODE_UNAVAILABLE,
          "not saved: this server cannot reach the cluster that keeps rooms just now (" + why +
              "), so nothing was acknowledged or shown; try again in a moment"};
}

}  // namespace

RoomReplication::RoomReplication(net::io_context& ioc, circle::store::NatsCluster& cluster,
                                 circle::store::JetStreamLog& log, RoomRegistry& rooms,
                                 SessionTracker& sessions, Metrics& metrics,
                                 ReplicationOptions options)
    : ioc_(ioc),
      cluster_(cluster),
      log_(log),
      rooms_(rooms),
      sessions_(sessions),
      metrics_(metrics),
      options_(options),
      beat_timer_(ioc) {}

RoomReplication::~RoomReplication() {
  stop();
}

void RoomReplication::start(std::chrono::milliseconds catch_up) {
  heard_ = cluster_.subscribe(kAliveSubject, [this](const std::string&, const std::string& data) {
    std::uint64_t prefix = 0;
    try {
      prefix = std::stoull(data);
    } catch (const std::exception&) {
      return;
    }
    std::lock_guard lock(mutex_);
    last_heard_[prefix] = std::chrono::steady_clock::now();
  });
  if (!cluster_.wait_connected(catch_up)) {
    spdlog::warn("NATS: no node answers yet; serving, with sends refused until one does");
  }
  if (try_follow()) {
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
  beat();
}

void RoomReplication::stop() {
  beat_timer_.cancel();
  log_.flush();
  log_.stop_following();
  heard_.reset();
  following_ = false;
}

bool RoomReplication::try_follow() {
  if (following_) return true;
  std::string error;
  if (!log_.follow([this](const circle::store::JetStreamLog::Entry& entry) { on_entry(entry); },
                   error)) {
    spdlog::warn("room log: cannot follow yet: {}", error);
    return false;
  }
  following_ = true;
  spdlog::info("room log: following (NATS {})", cluster_.connected_url());
  return true;
}

void RoomReplication::relay(circle::v1::RoomCommand command, std::string message_id,
                            std::function<void(const core::Refusal&)> refused) {
  if (!cluster_.connected() || !following_) {
    metrics_.store_failures.add();
    return refused(unavailable(cluster_.connected() ? "not following the room log yet"
                                                    : "not connected to NATS"));
  }
  const bool create = command.has_create();
  const auto room_id = command.room_id();
  const auto key = std::make_pair(command.connection(), command.request_id());
  const auto queued_at = std::chrono::steady_clock::now();
  // A room is created only by the first entry of its creation subject, so
  // two nodes cannot both create it.
  log_.append_async(
      room_id,
      create ? circle::store::JetStreamLog::Topic::kCreation
             : circle::store::JetStreamLog::Topic::kEvents,
      command.SerializeAsString(), create ? std::optional<std::uint64_t>(0) : std::nullopt,
      message_id,
      [this, create, room_id, key, queued_at,
       refused = std::move(refused)](const circle::store::JetStreamLog::Appended& appended) {
        using Outcome = circle::store::JetStreamLog::Outcome;
        metrics_.store_commit.observe(std::chrono::steady_clock::now() - queued_at);
        if (appended.outcome == Outcome::kStored || appended.outcome == Outcome::kDuplicate) return;
        if (appended.outcome == Outcome::kConflict && create) {
          return refused({circle::v1::ERROR_CODE_ROOM_ALREADY_EXISTS,
                          "create room: room '" + room_id + "' already exists"});
        }
        spdlog::error("room={} room log append failed: {}", room_id, appended.error);
        metrics_.store_failures.add();
        if (key.second != 0) {
          std::lock_guard lock(mutex_);
          if (refused_.size() >= kMaxRememberedRefusals) refused_.clear();
          refused_.insert(key);
        }
        refused(unavailable(appended.error));
      });
}

void RoomReplication::on_entry(const circle::store::JetStreamLog::Entry& entry) {
  circle::v1::RoomCommand command;
  if (!command.ParseFromString(entry.data) || command.room_id() != entry.room_id) {
    spdlog::error("room log: entry {} is not a command of its room; skipped", entry.sequence);
  } else {
    std::weak_ptr<Outbox> requester;
    bool answered_already = false;
    if (node_prefix_of(command.connection()) == options_.node_prefix) {
      std::lock_guard lock(mutex_);
      answered_already = refused_.erase({command.connection(), command.request_id()}) > 0;
    }
    if (!answered_already) requester = sessions_.find(command.connection());
    const bool stray_join = answered_already && command.has_join();
    auto room_id = command.room_id();
    const auto connection = command.connection();
    rooms_.apply(std::move(command), std::move(requester));
    if (stray_join) {
      // Stored after all, though its connection was told otherwise and
      // forgot it: it leaves again.
      circle::v1::RoomCommand leave;
      leave.set_room_id(room_id);
      leave.set_connection(connection);
      leave.set_time_ms(now_unix_ms());
      leave.mutable_leave()->set_reason(circle::v1::LEAVE_REASON_DISCONNECTED);
      relay(std::move(leave), {}, [](const core::Refusal&) {});
    }
  }
  {
    std::lock_guard lock(applied_mutex_);
    applied_up_to_ = entry.sequence;
  }
  applied_changed_.notify_all();
}

void RoomReplication::beat() {
  cluster_.publish(kAliveSubject, std::to_string(options_.node_prefix));
  try_follow();
  find_stopped_nodes();
  beat_timer_.expires_after(options_.heartbeat);
  beat_timer_.async_wait([this](error_code ec) {
    if (!ec) beat();
  });
}

void RoomReplication::find_stopped_nodes() {
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::pair<std::string, std::uint64_t>> gone;
  {
    std::lock_guard lock(mutex_);
    if (!cluster_.connected()) {
      connected_since_.reset();
      return;
    }
    if (!connected_since_) connected_since_ = now;
    // Only after a whole timeout connected could we have heard everyone.
    if (now - *connected_since_ < options_.node_timeout) return;
    for (const auto& host : rooms_.hosts()) {
      const auto room_id = host->info_snapshot().room_id();
      for (const auto prefix : host->node_prefixes()) {
        if (prefix == options_.node_prefix) continue;
        const auto heard = last_heard_.find(prefix);
        if (heard != last_heard_.end() && now - heard->second < options_.node_timeout) continue;
        auto& sent = gone_sent_[{room_id, prefix}];
        if (sent != std::chrono::steady_clock::time_point{} && now - sent < options_.node_timeout) {
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
    relay(std::move(command), "gone:" + room_id + ":" + std::to_string(prefix),
          [](const core::Refusal&) {});
  }
}

Health RoomReplication::health() const {
  const bool connected = cluster_.connected();
  const bool following = following_;
  Health health;
  health.ok = connected && following;
  health.json = std::string("{\"status\":\"") + (health.ok ? "ok" : "unavailable") +
                "\",\"backend\":\"nats\",\"nats\":\"" + (connected ? "connected" : "disconnected") +
                "\",\"room_log\":\"" + (following ? "following" : "not following") + "\"}";
  return health;
}

}  // namespace circle::server
