#include "cluster/replica_writer.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include "logging.hpp"

namespace circle::server {
namespace {

using Clock = std::chrono::steady_clock;

// How soon a copy or a purge the cluster did not take is tried again.
constexpr auto kReplicaRetry = std::chrono::seconds(1);
constexpr auto kPurgeRetry = std::chrono::seconds(5);

}  // namespace

ReplicaWriter::ReplicaWriter(circle::cluster::NatsCluster& cluster,
                             circle::cluster::JetStreamLog& log, const NodeLiveness& liveness,
                             const ReplicationOptions& options)
    : log_(log), liveness_(liveness), options_(options), bucket_(cluster, options.replica_bucket) {}

void ReplicaWriter::start(std::function<bool()> caught_up, std::function<void()> each_round) {
  caught_up_ = std::move(caught_up);
  each_round_ = std::move(each_round);
  thread_ = std::jthread([this](std::stop_token stop) { write_replicas(stop); });
}

void ReplicaWriter::keep(const std::string& room_id, circle::v1::RoomReplica replica) {
  {
    std::lock_guard lock(mutex_);
    replicas_to_write_.insert_or_assign(room_id, std::move(replica));
  }
  replicas_handed_.notify_one();
}

void ReplicaWriter::note_read(const std::string& room_id, std::uint64_t revision,
                              std::uint64_t log_position) {
  std::lock_guard lock(mutex_);
  auto& written = written_replicas_[room_id];
  if (revision > written.revision) written = {.revision = revision, .log_position = log_position};
}

std::uint64_t ReplicaWriter::copied_through(const std::string& room_id) {
  std::lock_guard lock(mutex_);
  return written_replicas_[room_id].log_position;
}

void ReplicaWriter::write_replicas(std::stop_token stop) {
  auto next_retry = Clock::now() + kReplicaRetry;
  std::unique_lock lock(mutex_);
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
    if (each_round_) each_round_();
    lock.lock();
  }
}

bool ReplicaWriter::write_replica(const std::string& room_id,
                                  const circle::v1::RoomReplica& replica) {
  using Outcome = circle::cluster::RoomReplicaBucket::Outcome;
  const std::uint64_t position = replica.log_position();
  WrittenReplica known;
  {
    std::lock_guard lock(mutex_);
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
    const auto written = bucket_.put(room_id, value, known.revision);
    if (written.outcome == Outcome::kWritten) {
      {
        std::lock_guard lock(mutex_);
        written_replicas_[room_id] = {.revision = written.revision, .log_position = position};
      }
      schedule_purge(room_id, position);
      return true;
    }
    if (written.outcome == Outcome::kUnavailable) {
      spdlog::warn("room={} copy not written yet: {}", room_id, written.error);
      return false;
    }
    const auto current = bucket_.get(room_id);
    if (!current.answered) return false;
    known = {};
    if (current.value) {
      circle::v1::RoomReplica stored;
      known.revision = current.value->revision;
      if (stored.ParseFromString(current.value->value)) known.log_position = stored.log_position();
    }
    std::lock_guard lock(mutex_);
    written_replicas_[room_id] = known;
  }
}

void ReplicaWriter::schedule_purge(const std::string& room_id, std::uint64_t through) {
  std::lock_guard lock(mutex_);
  auto& purge = purges_[room_id];
  if (through <= purge.through) return;
  // A purge already waiting keeps its time: copies every few seconds must
  // not put it off for ever.
  if (purge.deleted == purge.through) purge.at = Clock::now() + options_.purge_delay;
  purge.through = through;
}

void ReplicaWriter::purge_due() {
  if (!caught_up_()) return;
  const auto now = Clock::now();
  // Every node heard from lately must have read past what is deleted: a
  // node still reading the log back (or behind, or reconnecting) would
  // otherwise miss entries. One silent for longer is no longer waited for;
  // should it come back, it finds the gap and restarts (on_entry).
  const auto counted = options_.purge_delay + options_.node_timeout;
  const std::uint64_t everyone_read = liveness_.read_by_everyone(now, counted);
  std::vector<std::pair<std::string, std::uint64_t>> due;
  {
    std::lock_guard lock(mutex_);
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
    std::lock_guard lock(mutex_);
    auto& purge = purges_[room_id];
    if (deleted) {
      purge.deleted = std::max(purge.deleted, through);
    } else {
      purge.at = now + kPurgeRetry;
    }
  }
}

}  // namespace circle::server
