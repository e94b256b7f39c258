#include "rooms/local_backend.hpp"

#include "audit_json.hpp"
#include "clock.hpp"
#include "logging.hpp"

namespace circle::server {

namespace {

// How many of a room's newest events a read-back reads: the recent history
// late joiners see, and the client message ids whose retries get their
// original acks.
std::uint64_t read_back_span(const core::Limits& limits) {
  return std::max<std::uint64_t>(limits.snapshot_history_events,
                                 limits.remembered_client_message_ids);
}

std::optional<core::Room> read_room(store::Store& store, const store::RoomRecord& record,
                                    const core::Limits& limits) {
  const std::uint64_t last_seq = store.last_seq(record.room_id);
  const std::uint64_t span = read_back_span(limits);
  auto room = room_from_record(
      record, last_seq,
      store.load_events(record.room_id, last_seq > span ? last_seq - span : 0, span), limits);
  // Older events (within the retention) were not read back: their ids
  // are looked up in the store when a retry names one.
  if (room && last_seq > span) room->mark_forgot_sent();
  return room;
}

class LocalJournal final : public RoomJournal {
 public:
  LocalJournal(store::Store& store, std::string room_id)
      : store_(store), room_id_(std::move(room_id)) {}

  bool persist(const core::Room& room, const core::ActionOutput& output, std::uint64_t,
               Persisted persisted) override {
    auto batch = write_batch_of(room, output);
    if (batch.events.empty() && batch.redactions.empty() && batch.rooms.empty() &&
        batch.clear_history.empty() && batch.audit.empty()) {
      return true;
    }
    store_.write(std::move(batch), std::move(persisted));
    return false;
  }

  std::optional<std::vector<circle::v1::RoomEvent>> events_after(
      std::uint64_t after_seq, std::uint32_t max_events) override {
    std::vector<circle::v1::RoomEvent> events;
    for (const auto& stored : store_.load_events(room_id_, after_seq, max_events)) {
      circle::v1::ServerMessage envelope;
      if (!envelope.ParseFromString(stored.event) || !envelope.has_room_event()) {
        return std::nullopt;
      }
      events.push_back(std::move(*envelope.mutable_room_event()));
    }
    return events;
  }

  std::optional<SentRecord> recall_sent(const std::string& account,
                                        const std::string& client_message_id) override {
    auto original = store_.find_sent(room_id_, account, client_message_id);
    if (!original) return std::nullopt;
    return SentRecord{original->seq, original->time_ms};
  }

  ReadBack read_back(const core::Room& room) override {
    const auto record = store_.load_room(room_id_);
    if (!record) return {.outcome = ReadBack::Outcome::kNeverKept, .room = std::nullopt};
    auto kept = read_room(store_, *record, room.limits());
    if (!kept) return {.outcome = ReadBack::Outcome::kUnreadable, .room = std::nullopt};
    return {.outcome = ReadBack::Outcome::kRead, .room = std::move(kept)};
  }

 private:
  store::Store& store_;
  const std::string room_id_;
};

}  // namespace

store::WriteBatch write_batch_of(const core::Room& room, const core::ActionOutput& output) {
  store::WriteBatch batch;
  for (const auto& event : output.events) {
    // Kept as delivered: the ServerMessage frame, not serialised again.
    batch.events.push_back({.room_id = room.id(),
                            .seq = event.seq,
                            .time_ms = event.time_ms,
                            .sender_account = event.sender_account,
                            .client_message_id = event.client_message_id,
                            .event = *event.frame});
  }
  for (const auto& event : output.rewritten) {
    circle::v1::ServerMessage envelope;
    *envelope.mutable_room_event() = event;
    batch.redactions.push_back({.room_id = room.id(),
                                .seq = event.seq(),
                                .time_ms = event.server_time_unix_ms(),
                                .sender_account = {},
                                .client_message_id = {},
                                .event = envelope.SerializeAsString()});
  }
  for (const auto& entry : output.audit) {
    batch.audit.push_back(
        {.time_ms = entry.time_unix_ms, .room_id = entry.room_id, .json = audit_json(entry)});
  }
  if (output.history_cleared) batch.clear_history.push_back(room.id());
  if (output.state_changed) {
    batch.rooms.push_back({.room_id = room.id(),
                           .state = room.durable_state().SerializeAsString(),
                           .retention_days = room.settings().history_retention_days()});
  }
  return batch;
}

std::optional<core::Room> room_from_record(const store::RoomRecord& record, std::uint64_t last_seq,
                                           const std::vector<store::EventRecord>& events,
                                           const core::Limits& limits) {
  circle::v1::StoredRoomState state;
  if (!state.ParseFromString(record.state)) {
    spdlog::error("room={} has an unreadable stored state", record.room_id);
    return std::nullopt;
  }
  const std::uint64_t keep = limits.snapshot_history_events;
  std::vector<circle::v1::RoomEvent> recent;
  for (const auto& stored : events) {
    if (stored.seq + keep <= last_seq) continue;  // older than the history shown
    circle::v1::ServerMessage envelope;
    if (envelope.ParseFromString(stored.event) && envelope.has_room_event()) {
      recent.push_back(std::move(*envelope.mutable_room_event()));
    }
  }
  std::optional<core::Room> room(std::in_place, state, last_seq, std::move(recent), limits,
                                 nullptr);
  room->connections_lost(now_unix_ms());
  for (const auto& stored : events) {
    room->remember_sent(stored.sender_account, stored.client_message_id, stored.seq,
                        stored.time_ms);
  }
  return room;
}

void LocalBackend::order(circle::v1::RoomCommand command, std::weak_ptr<core::EventSink> requester,
                         std::string) {
  // One node: its order is the order commands arrive in.
  applier_->apply(std::move(command), std::move(requester), 0);
}

std::shared_ptr<RoomJournal> LocalBackend::journal_for(const std::string& room_id) {
  return std::make_shared<LocalJournal>(store_, room_id);
}

std::vector<core::Room> LocalBackend::restore(const core::Limits& limits) {
  std::vector<core::Room> rooms;
  for (const auto& record : store_.load_rooms()) {
    if (auto room = read_room(store_, record, limits)) rooms.push_back(std::move(*room));
  }
  return rooms;
}

}  // namespace circle::server
