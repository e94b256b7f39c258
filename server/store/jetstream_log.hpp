// Room events in NATS JetStream, for several circled nodes sharing rooms
// (issue 8; docs/ARCHITECTURE.md, "Scale-out"). One shared stream with a
// subject per room; each append names the stream sequence of the room's
// previous event, so two nodes can never both append a room's next event.
// The connection reconnects to any node of the cluster by itself; while it
// is away, appends fail (nothing is acknowledged that is not stored).
// No Asio here: calls block for at most the configured wait.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace circle::server::store {

struct JetStreamOptions {
  std::vector<std::string> urls;  // nats://host:port of any cluster nodes
  std::string stream = "CIRCLE_EVENTS";
  std::string subject_prefix = "circle.room.";  // + room id + ".events"
  int replicas = 3;
  // How long a call waits for the cluster (a publish ack, a stream lookup).
  std::chrono::milliseconds wait{5000};
  // Retries of the same client message id within this window are stored once.
  std::chrono::seconds duplicate_window{120};
};

class JetStreamLog {
 public:
  enum class Outcome {
    kStored,       // `sequence` is the event's stream sequence
    kDuplicate,    // the same message id was stored before, at `sequence`
    kConflict,     // another writer appended the room's next event first
    kUnavailable,  // no ack from the cluster in time (not stored, or not known to be)
  };
  struct Appended {
    Outcome outcome = Outcome::kUnavailable;
    std::uint64_t sequence = 0;
    std::string error;  // what failed, for the log (never the event)
  };
  struct Entry {
    std::uint64_t sequence = 0;
    std::string room_id;
    std::string data;
  };

  // Connects (retrying in the background when no node answers yet) and
  // makes sure the stream exists. Throws when the options are unusable.
  explicit JetStreamLog(JetStreamOptions options);
  ~JetStreamLog();
  JetStreamLog(const JetStreamLog&) = delete;
  JetStreamLog& operator=(const JetStreamLog&) = delete;

  // Whether the connection to the cluster is up now.
  bool connected() const;

  // Appends `data` to `room_id`'s subject if the room's last event is still
  // at stream sequence `after_sequence` (0: the room has none). A non-empty
  // `message_id` de-duplicates retries.
  Appended append(const std::string& room_id, const std::string& data,
                  std::uint64_t after_sequence, const std::string& message_id = {});
  // The stored event at stream `sequence`, if any.
  std::optional<Entry> read(std::uint64_t sequence);
  // The stream sequence of `room_id`'s last event (0: none).
  std::uint64_t last_sequence(const std::string& room_id);
  // The name of the cluster node leading the stream now ("" when unknown).
  std::string stream_leader();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace circle::server::store
