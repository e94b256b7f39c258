#include "cluster/cluster_backend.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <thread>

#include "audit_json.hpp"
#include "auth/secret.hpp"
#include "clock.hpp"
#include "logging.hpp"
#include "rooms/room_commands.hpp"

namespace circle::server {
namespace {

using circle::cluster::JetStreamLog;
using Clock = std::chrono::steady_clock;

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
      audit_log_(audit_log),
      beat_timer_(ioc),
      liveness_(options_.node_prefix, room_limits_fingerprint(limits), options_.node_timeout,
                options_.heartbeat),
      heartbeats_(cluster, liveness_, options_),
      answers_(log, metrics, options_),
      writer_(cluster, log, liveness_, options_),
      dormant_(log, answers_, writer_, liveness_, journals_, limits, options_,
               [this](circle::v1::RoomCommand command, std::string message_id) {
                 relay(std::move(command), std::move(message_id), [](const core::Refusal&) {});
               }) {}

ClusterBackend::~ClusterBackend() {
  stop();
}

void ClusterBackend::start(std::chrono::milliseconds catch_up) {
  heartbeats_.hear();
  dormant_.start();
  // Heard before anything is read: the room log a node still has to read
  // is not deleted under it (purge_due waits for every node heard).
  heartbeats_.start_sending(
      [this] {
        std::uint64_t position = 0;
        {
          std::lock_guard applied(applied_mutex_);
          position = applied_up_to_;
        }
        return liveness_.heartbeat(position, caught_up_);
      },
      [this](circle::v1::NodeRooms& said) { dormant_.show_applied(said); });
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
  // The writer of copies also adopts neglected rooms, after each round.
  writer_.start([this] { return caught_up_.load(); }, [this] { dormant_.adopt_neglected_rooms(); });
  beat();
}

void ClusterBackend::stop() {
  beat_timer_.cancel();
  heartbeats_.stop_sending();
  dormant_.set_adopting(false);
  writer_.stop();
  dormant_.stop();
  // Nothing new is applied; then what is in flight is answered; then no
  // callback of the log or the heartbeat subscription runs any more.
  log_.stop_following();
  following_ = false;
  log_.close();
  heartbeats_.stop_hearing();
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

void ClusterBackend::relay(circle::v1::RoomCommand command, std::string message_id,
                           std::function<void(const core::Refusal&)> refused) {
  if (!cluster_.connected() || !following_) {
    metrics_.store_failures.add();
    answers_.keep_unsent_leave(command);
    return refused(RequestAnswers::unavailable(
        cluster_.connected() ? "not following the room log yet" : "not connected to NATS"));
  }
  // A room dormant here goes on from its copy first (DormantRooms::hold).
  if (!command.has_create() && dormant_.hold(command, message_id, refused)) return;
  answers_.append(std::move(command), std::move(message_id), std::move(refused));
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
  } else {
    stray_leave = dormant_.deliver(entry, std::move(command));
  }
  if (stray_leave) relay(std::move(*stray_leave), {}, [](const core::Refusal&) {});
  {
    std::lock_guard lock(applied_mutex_);
    applied_up_to_ = entry.sequence;
    if (entry.pending == 0 || entry.sequence >= follow_baseline_) caught_up_ = true;
  }
  applied_changed_.notify_all();
}

void ClusterBackend::keep_audit(const std::vector<core::AuditEntry>& entries,
                                std::uint64_t log_position) {
  if (!audit_log_ || log_position == 0 || entries.empty()) return;
  {
    // Read back at start-up: recorded when it was first applied.
    std::lock_guard lock(applied_mutex_);
    if (log_position <= follow_baseline_) return;
  }
  // Applied by another node before this one went on from the room's copy:
  // recorded there (the message id de-duplicates only for two minutes).
  if (dormant_.applied_elsewhere(entries.front().room_id, log_position)) return;
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

bool ClusterBackend::keeps_replica_of(const std::string& room_id) const {
  return dormant_.applied(room_id) && lowest_writer(&room_id);
}

bool ClusterBackend::lowest_writer(const std::string* room_id) const {
  if (!following_ || !cluster_.connected()) return false;
  return liveness_.lowest_caught_up(caught_up_, Clock::now(), room_id);
}

void ClusterBackend::beat() {
  try_follow();
  std::vector<circle::v1::RoomCommand> leaves;
  if (cluster_.connected() && following_) leaves = answers_.take_unsent_leaves();
  for (auto& leave : leaves) relay(std::move(leave), {}, [](const core::Refusal&) {});
  find_stopped_nodes();
  dormant_.rest_rooms();
  // The lowest-numbered node heard from that has read the log back
  // adopts neglected rooms.
  dormant_.set_adopting(lowest_writer(nullptr));
  for (const auto& room_id : dormant_.applied_rooms()) {
    // A copy due by time: the journal takes it on the room's strand.
    const auto journal = journals_.of(room_id);
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
  const auto applied = dormant_.applied_rooms();
  const auto links = cluster_.links();
  if (!liveness_.may_judge(cluster_.connected(), links, now)) return;
  std::vector<std::pair<std::string, std::uint64_t>> gone;
  for (const auto& room_id : applied) {
    const auto journal = journals_.of(room_id);
    if (!journal) continue;
    for (const auto prefix : liveness_.gone(journal->node_prefixes(), now)) {
      auto& sent = gone_sent_[{room_id, prefix}];
      if (sent != Clock::time_point{} && now - sent < options_.node_timeout) {
        continue;  // relayed a moment ago; not applied yet
      }
      sent = now;
      gone.emplace_back(room_id, prefix);
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
  const bool limits_differ = liveness_.limits_differ();
  Health health;
  health.ok = connected && following;
  health.nats_connected = connected;
  health.room_log_following = following;
  health.json =
      nlohmann::json{{"status", health.ok ? "ok" : "unavailable"},
                     {"backend", "nats"},
                     {"nats", connected ? "connected" : "disconnected"},
                     {"room_log", following ? "following" : "not following"},
                     {"room_limits", limits_differ ? "differ from another node's" : "same"},
                     {"rooms_applied", dormant_.applied_rooms().size()}}
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
    command.set_room_id("room-" + auth::random_hex(6));
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

}  // namespace circle::server
