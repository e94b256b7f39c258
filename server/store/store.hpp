// The durable store behind rooms: what a backend must keep and how writes
// become durable. Rooms never see SQL (or NATS); they hand the store records
// of already-serialised protobuf, and a backend decides how to keep them.
// SQLite (sqlite_store) is the embedded default.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace circle::store {

// One room event, as the room sequenced it.
struct EventRecord {
  std::string room_id;
  std::uint64_t seq = 0;
  std::int64_t time_ms = 0;
  std::string sender_account;     // empty for events nobody sent (joins, ticks)
  std::string client_message_id;  // the sender's id for retries; may be empty
  std::string event;              // a serialised circle.v1.ServerMessage carrying the RoomEvent
};

// A room's durable state (settings, roles, bans, agreement and acceptances),
// serialised by the server; and how long its history is kept.
struct RoomRecord {
  std::string room_id;
  std::string state;
  // 0: ephemeral (history kept only for the reconnect window); else days.
  std::uint32_t retention_days = 0;
};

// One moderation audit entry (a JSON object).
struct AuditRecord {
  std::int64_t time_ms = 0;
  std::string room_id;
  std::string json;
};

// Everything one write makes durable, atomically.
struct WriteBatch {
  std::vector<EventRecord> events;
  std::vector<RoomRecord> rooms;  // upserts
  // Redactions: the stored event is replaced by its redacted form (the text
  // is deleted from the store, not hidden).
  std::vector<EventRecord> redactions;
  std::vector<AuditRecord> audit;
  // Rooms whose history is deleted (a session ended), before the events above.
  std::vector<std::string> clear_history;
};

struct Status {
  bool ok = true;
  std::string message;  // what failed (never user text); empty when ok
};

using WriteDone = std::function<void(const Status&)>;

class Store {
 public:
  virtual ~Store() = default;

  // Queues `batch`; `done` runs on the store's writer thread once the batch
  // is durable, or with an error (then none of it was stored). Batches queued
  // while a commit is running are committed together (group commit), in
  // order. A batch whose event repeats a sender's client_message_id in the
  // same room fails as a whole.
  virtual void write(WriteBatch batch, WriteDone done) = 0;

  // Reads (any thread; they see every batch whose `done` has run).
  virtual std::vector<RoomRecord> load_rooms() = 0;
  virtual std::optional<RoomRecord> load_room(const std::string& room_id) = 0;
  // Events of `room_id` with seq > after_seq, in seq order, at most `limit`.
  virtual std::vector<EventRecord> load_events(const std::string& room_id, std::uint64_t after_seq,
                                               std::size_t limit) = 0;
  // The highest stored seq of `room_id` (0: none).
  virtual std::uint64_t last_seq(const std::string& room_id) = 0;
  // The event a sender already sent with this client_message_id, if any.
  virtual std::optional<EventRecord> find_sent(const std::string& room_id,
                                               const std::string& sender_account,
                                               const std::string& client_message_id) = 0;
  // The newest `limit` audit entries (of `room_id`; empty: every room), oldest first.
  virtual std::vector<AuditRecord> load_audit(const std::string& room_id, std::size_t limit) = 0;
  // Deletes history past each room's retention: ephemeral rooms keep
  // `reconnect_window_ms`, the others their days, in parts between the writes
  // queued meanwhile (a large sweep never holds them back for long). `done`
  // gets the number of events deleted once all is committed (where write()'s
  // callbacks run).
  virtual void expire(std::int64_t now_ms, std::int64_t reconnect_window_ms,
                      std::function<void(std::size_t)> done) = 0;
  // The same, waiting for it; never from the thread that runs completions.
  std::size_t delete_expired(std::int64_t now_ms, std::int64_t reconnect_window_ms);

  // Commits what is queued and stops the writer; later writes fail.
  virtual void close() = 0;
};

}  // namespace circle::store
