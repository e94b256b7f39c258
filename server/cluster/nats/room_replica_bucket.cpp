#include "cluster/nats/room_replica_bucket.hpp"

#include <nats/nats.h>

#include <mutex>

namespace circle::cluster {

struct RoomReplicaBucket::Impl {
  Impl(NatsCluster& cluster, std::string bucket) : cluster(cluster), bucket(std::move(bucket)) {}
  ~Impl() { kvStore_Destroy(kv); }

  NatsCluster& cluster;
  std::string bucket;
  std::mutex mutex;
  kvStore* kv = nullptr;  // guarded by mutex until bound

  // Binds once the cluster answers (creating is idempotent on the server).
  kvStore* bound(std::string& error) {
    std::lock_guard lock(mutex);
    if (kv) return kv;
    kvConfig config;
    kvConfig_Init(&config);
    config.Bucket = bucket.c_str();
    config.History = 1;
    config.StorageType = js_FileStorage;
    config.Replicas = cluster.options().replicas;
    const natsStatus status = js_CreateKeyValue(&kv, cluster.jetstream(), &config);
    if (status != NATS_OK) {
      error = "bucket " + bucket + ": " + describe_nats_error(status, 0);
      kv = nullptr;
    }
    return kv;
  }
};

RoomReplicaBucket::RoomReplicaBucket(NatsCluster& cluster, std::string bucket)
    : impl_(std::make_unique<Impl>(cluster, std::move(bucket))) {
  std::string ignored;
  if (cluster.connected()) impl_->bound(ignored);
}

RoomReplicaBucket::~RoomReplicaBucket() = default;

Lookup<RoomReplicaBucket::Entry> RoomReplicaBucket::get(const std::string& room_id) {
  std::string error;
  kvStore* kv = impl_->bound(error);
  if (!kv) return {};
  kvEntry* entry = nullptr;
  const natsStatus status = kvStore_Get(&entry, kv, room_id.c_str());
  if (status == NATS_NOT_FOUND) return {.answered = true, .value = std::nullopt};
  if (status != NATS_OK) return {};
  Entry result{.value = std::string(static_cast<const char*>(kvEntry_Value(entry)),
                                    static_cast<std::size_t>(kvEntry_ValueLen(entry))),
               .revision = kvEntry_Revision(entry)};
  kvEntry_Destroy(entry);
  return {.answered = true, .value = std::move(result)};
}

Lookup<std::vector<std::string>> RoomReplicaBucket::keys() {
  std::string error;
  kvStore* kv = impl_->bound(error);
  if (!kv) return {};
  kvWatchOptions options;
  kvWatchOptions_Init(&options);
  options.Timeout = impl_->cluster.options().wait.count();
  kvKeysList list{};
  const natsStatus status = kvStore_Keys(&list, kv, &options);
  if (status == NATS_NOT_FOUND) return {.answered = true, .value = std::vector<std::string>{}};
  if (status != NATS_OK) return {};
  std::vector<std::string> keys(list.Keys, list.Keys + list.Count);
  kvKeysList_Destroy(&list);
  return {.answered = true, .value = std::move(keys)};
}

RoomReplicaBucket::Written RoomReplicaBucket::put(const std::string& room_id,
                                                  const std::string& value,
                                                  std::uint64_t revision) {
  Written result;
  if (!impl_->bound(result.error)) return result;
  // Published to the bucket's subject with the revision check, rather than
  // through kvStore_Update, which reports every JetStream error alike: only
  // "wrong last sequence" is a conflict; the rest is the cluster not answering.
  auto published =
      impl_->cluster.publish_if_last("$KV." + impl_->bucket + "." + room_id, value, revision);
  using Published = NatsCluster::Published::Outcome;
  result.outcome = published.outcome == Published::kStored     ? Outcome::kWritten
                   : published.outcome == Published::kConflict ? Outcome::kConflict
                                                               : Outcome::kUnavailable;
  result.revision = published.sequence;
  result.error = std::move(published.error);
  return result;
}

}  // namespace circle::cluster
