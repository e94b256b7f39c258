#include "store/room_state_bucket.hpp"

#include <nats/nats.h>

#include <mutex>

namespace circle::server::store {

struct RoomStateBucket::Impl {
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

RoomStateBucket::RoomStateBucket(NatsCluster& cluster, std::string bucket)
    : impl_(std::make_unique<Impl>(cluster, std::move(bucket))) {
  std::string ignored;
  if (cluster.connected()) impl_->bound(ignored);
}

RoomStateBucket::~RoomStateBucket() = default;

std::optional<RoomStateBucket::Entry> RoomStateBucket::get(const std::string& room_id) {
  std::string error;
  kvStore* kv = impl_->bound(error);
  if (!kv) return std::nullopt;
  kvEntry* entry = nullptr;
  if (kvStore_Get(&entry, kv, room_id.c_str()) != NATS_OK) return std::nullopt;
  Entry result{.value = std::string(static_cast<const char*>(kvEntry_Value(entry)),
                                    static_cast<std::size_t>(kvEntry_ValueLen(entry))),
               .revision = kvEntry_Revision(entry)};
  kvEntry_Destroy(entry);
  return result;
}

RoomStateBucket::Written RoomStateBucket::put(const std::string& room_id, const std::string& value,
                                              std::uint64_t revision) {
  Written result;
  kvStore* kv = impl_->bound(result.error);
  if (!kv) return result;
  const int length = static_cast<int>(value.size());
  natsStatus status =
      revision == 0
          ? kvStore_Create(&result.revision, kv, room_id.c_str(), value.data(), length)
          : kvStore_Update(&result.revision, kv, room_id.c_str(), value.data(), length, revision);
  if (status == NATS_OK) {
    result.outcome = Outcome::kWritten;
    return result;
  }
  // A wrong revision (or a key that exists, for a create) is the server's
  // refusal; anything else is the cluster not answering.
  result.outcome = status == NATS_ERR ? Outcome::kConflict : Outcome::kUnavailable;
  result.error = describe_nats_error(status, 0) + ": " + nats_GetLastError(nullptr);
  return result;
}

}  // namespace circle::server::store
