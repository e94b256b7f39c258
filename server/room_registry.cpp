#include "room_registry.hpp"

#include <algorithm>
#include <random>

#include "audit_json.hpp"
#include "clock.hpp"
#include "logging.hpp"
#include "outbox.hpp"
#include "replies.hpp"
#include "room_commands.hpp"

namespace circle::server {

namespace {

using circle::v1::ServerMessage;

std::string random_room_suffix() {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string suffix;
  auto bits = random();
  for (int i = 0; i < 12; ++i, bits >>= 4) suffix += kHex[bits & 15];
  return suffix;
}

// A room as its store keeps it: its durable state, its recent history, and
// the client message ids whose retries get their original acks. nullopt
// when the stored state cannot be read.
std::optional<core::Room> read_room_back(store::Store& store, const store::RoomRecord& record,
                                         const core::Limits& limits) {
  circle::v1::StoredRoomState state;
  if (!state.ParseFromString(record.state)) {
    spdlog::error("room={} has an unreadable stored state", record.room_id);
    return std::nullopt;
  }
  const std::uint64_t last_seq = store.last_seq(record.room_id);
  // One read serves both: the recent history late joiners see, and the
  // client message ids whose retries get their original acks.
  const std::uint64_t keep = limits.snapshot_history_events;
  const std::uint64_t span = std::max<std::uint64_t>(keep, limits.remembered_client_message_ids);
  const auto stored_events =
      store.load_events(record.room_id, last_seq > span ? last_seq - span : 0, span);
  std::vector<circle::v1::RoomEvent> recent;
  for (const auto& stored : stored_events) {
    if (stored.seq + keep <= last_seq) continue;  // older than the history shown
    circle::v1::ServerMessage envelope;
    if (envelope.ParseFromString(stored.event) && envelope.has_room_event()) {
      recent.push_back(std::move(*envelope.mutable_room_event()));
    }
  }
  std::optional<core::Room> room(std::in_place, state, last_seq, std::move(recent), limits,
                                 nullptr);
  room->connections_lost(now_unix_ms());
  for (const auto& stored : stored_events) {
    room->remember_sent(stored.sender_account, stored.client_message_id, stored.seq,
                        stored.time_ms);
  }
  // Older events (within the retention) were not read back: their ids
  // are looked up in the store when a retry names one.
  if (last_seq > span) room->mark_forgot_sent();
  return room;
}

// Whether `retry` answered a send with the ack of one that `original` posted.
bool repeats_a_send_of(const core::ActionOutput& retry, const core::ActionOutput& original) {
  for (const auto& [account, client_message_id] : retry.repeated_sends) {
    for (const auto& event : original.events) {
      if (event.sender_account == account && event.client_message_id == client_message_id) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace

circle::v1::RoomInfo RoomHost::info_snapshot() const {
  std::lock_guard lock(info_mutex_);
  return info_;
}

void RoomHost::publish_info() {
  auto info = room_.info();
  std::vector<std::uint64_t> prefixes;
  if (relay_) {
    for (const auto id : room_.connection_ids()) prefixes.push_back(node_prefix_of(id));
    std::ranges::sort(prefixes);
    prefixes.erase(std::unique(prefixes.begin(), prefixes.end()), prefixes.end());
  }
  auto escalated = room_.escalated_alerts();
  std::lock_guard lock(info_mutex_);
  info_ = std::move(info);
  node_prefixes_ = std::move(prefixes);
  escalated_ = std::move(escalated);
}

std::vector<circle::v1::SupportAlert> RoomHost::escalated_alerts() const {
  std::lock_guard lock(info_mutex_);
  return escalated_;
}

std::vector<std::uint64_t> RoomHost::node_prefixes() const {
  std::lock_guard lock(info_mutex_);
  return node_prefixes_;
}

void RoomHost::keep_for_resume(const core::ActionOutput& output) {
  const auto& limits = room_.limits();
  // The session ended: its history is deleted before the events it posted.
  if (output.history_cleared) kept_for_resume_.clear();
  for (const auto& event : output.events) {
    kept_for_resume_.push_back({event.seq, event.time_ms, event.frame});
  }
  for (const auto& event : output.rewritten) {
    // A redaction replaces what a resume is shown: the text is not kept.
    auto kept = std::ranges::find(kept_for_resume_, event.seq(), &KeptEvent::seq);
    if (kept == kept_for_resume_.end()) continue;
    circle::v1::ServerMessage envelope;
    *envelope.mutable_room_event() = event;
    kept->frame = circle::wire::encode(envelope);
  }
  // Within the reconnect window of now, not only of the newest event: a
  // quiet room's expired messages leave with its history (and its copy).
  const std::int64_t newest_ms =
      std::max(output.events.empty() ? 0 : output.events.back().time_ms, now_unix_ms());
  const std::int64_t oldest_ms =
      newest_ms - static_cast<std::int64_t>(limits.reconnect_window_seconds) * 1000;
  while (!kept_for_resume_.empty() && (kept_for_resume_.size() > limits.max_resume_events ||
                                       kept_for_resume_.front().time_ms < oldest_ms)) {
    kept_for_resume_.pop_front();
  }
}

void RoomHost::commit(std::shared_ptr<core::ActionOutput> output) {
  if (!store_) keep_for_resume(*output);
  if (relay_ && !output->audit.empty()) relay_->keep_audit(output->audit, log_position_);
  store::WriteBatch batch;
  for (const auto& event : output->events) {
    if (metrics_ && !event.sender_account.empty()) metrics_->messages_posted.add();
    if (!store_) continue;
    // Stored as delivered: the ServerMessage frame, not serialised again.
    batch.events.push_back({.room_id = room_.id(),
                            .seq = event.seq,
                            .time_ms = event.time_ms,
                            .sender_account = event.sender_account,
                            .client_message_id = event.client_message_id,
                            .event = *event.frame});
  }
  if (store_) {
    for (const auto& event : output->rewritten) {
      circle::v1::ServerMessage envelope;
      *envelope.mutable_room_event() = event;
      batch.redactions.push_back({.room_id = room_.id(),
                                  .seq = event.seq(),
                                  .time_ms = event.server_time_unix_ms(),
                                  .sender_account = {},
                                  .client_message_id = {},
                                  .event = envelope.SerializeAsString()});
    }
    for (const auto& entry : output->audit) {
      batch.audit.push_back(
          {.time_ms = entry.time_unix_ms, .room_id = entry.room_id, .json = audit_json(entry)});
    }
    if (output->history_cleared) batch.clear_history.push_back(room_.id());
    if (output->state_changed) {
      batch.rooms.push_back({.room_id = room_.id(),
                             .state = room_.durable_state().SerializeAsString(),
                             .retention_days = room_.settings().history_retention_days()});
    }
  }
  const bool needs_store = !batch.events.empty() || !batch.redactions.empty() ||
                           !batch.rooms.empty() || !batch.clear_history.empty() ||
                           !batch.audit.empty();
  const std::uint64_t commit_id = ++last_commit_id_;
  pending_.push_back(
      {commit_id, std::move(output), !needs_store, std::chrono::steady_clock::now()});
  if (!needs_store) return release_ready();
  store_->write(std::move(batch), [self = shared_from_this(), commit_id](const store::Status& s) {
    boost::asio::post(self->strand_, [self, commit_id, s] { self->on_committed(commit_id, s); });
  });
}

void RoomHost::on_committed(std::uint64_t commit_id, const store::Status& status) {
  const auto committed = std::ranges::find(pending_, commit_id, &PendingOutput::commit_id);
  if (committed == pending_.end()) return;
  committed->durable = true;
  if (metrics_) {
    metrics_->store_commit.observe(std::chrono::steady_clock::now() - committed->queued_at);
    if (!status.ok) metrics_->store_failures.add();
  }
  if (!status.ok) {
    // Nothing that was not stored is shown or acknowledged: the others see
    // nothing, the room forgets it, and the requester gets a typed error
    // instead of its reply; so does a retry answered with its ack meanwhile.
    spdlog::error("room={} store write failed, nothing delivered: {}", room_.id(), status.message);
    const auto& output = *committed->output;
    if (!output.only_posted_messages()) reload_needed_ = true;
    room_.forget_unsaved(output);
    for (auto later = std::next(committed); later != pending_.end(); ++later) {
      if (later->output && repeats_a_send_of(*later->output, output)) {
        later->output = refused_for_store(*later->output);
      }
    }
    committed->output = refused_for_store(output);
  }
  release_ready();
}

// What the requester of a failed `output` gets instead: its reply turned
// into ERROR_CODE_UNAVAILABLE, and nothing else.
std::shared_ptr<core::ActionOutput> RoomHost::refused_for_store(const core::ActionOutput& output) {
  if (!output.reply) return nullptr;
  const auto& reply = output.deliveries[*output.reply];
  circle::v1::ServerMessage original;
  if (!reply.frame || !original.ParseFromString(*reply.frame)) return nullptr;
  circle::v1::ServerMessage refusal;
  refusal.set_request_id(original.request_id());
  refusal.mutable_error()->set_code(circle::v1::ERROR_CODE_UNAVAILABLE);
  refusal.mutable_error()->set_message(
      output.only_posted_messages()
          ? "not saved: the server could not store this just now, so it was not acknowledged and "
            "the others were not shown it; try again in a moment"
          : "not saved: the server could not store this just now; the room is read back from "
            "what it kept and everyone in it reconnects to see how it stands");
  if (metrics_) metrics_->count_error(circle::v1::ERROR_CODE_UNAVAILABLE);
  auto refused = std::make_shared<core::ActionOutput>();
  refused->room_id = output.room_id;
  refused->deliveries.push_back({reply.sink, circle::wire::encode(refusal), 0});
  return refused;
}

void RoomHost::release_ready() {
  while (!pending_.empty() && pending_.front().durable) {
    if (const auto& output = pending_.front().output) {
      const auto started = std::chrono::steady_clock::now();
      output->deliver_all();
      if (metrics_) metrics_->fan_out.observe(std::chrono::steady_clock::now() - started);
      if (!output->escalations.empty()) escalate(*output);
    }
    pending_.pop_front();
  }
  if (reload_needed_ && pending_.empty()) reload_from_store();
}

void RoomHost::escalate(const core::ActionOutput& output) {
  for (const auto& escalation : output.escalations) {
    EscalationReach reach;
    const std::int64_t now_ms = escalation.escalated.alert().escalated_at_unix_ms();
    if (escalation_) {
      // With several nodes every node applying the room escalates it to its
      // own operators; the one that keeps the room's copies tells the webhook.
      const bool send_webhook = !relay_ || relay_->keeps_replica_of(room_.id());
      reach = escalation_->escalate(room_.id(), escalation.escalated, now_ms, send_webhook);
    }
    circle::v1::ServerMessage message;
    auto* event = message.mutable_private_event();
    event->set_room_id(room_.id());
    event->set_server_time_unix_ms(now_ms);
    auto* yours = event->mutable_your_alert_escalated();
    yours->set_alert_id(escalation.escalated.alert().alert_id());
    yours->set_operators_reached(reach.operators);
    yours->set_on_call_notified(reach.on_call);
    const auto frame = circle::wire::encode(message);
    for (const auto& asker : escalation.asker) {
      if (auto sink = asker.lock()) sink->deliver(frame);
    }
  }
}

void RoomHost::reload_from_store() {
  reload_needed_ = false;
  const auto record = store_->load_room(room_.id());
  const auto connections = room_.connections();
  if (!record) {
    // Its creation was never stored: the room goes, as after a restart.
    spdlog::warn("room={} was never stored; removed after a store failure", room_.id());
    if (forget_) forget_();
  } else if (auto reloaded = read_room_back(*store_, *record, room_.limits())) {
    reloaded->continue_numbering_of(room_);
    room_ = std::move(*reloaded);
    spdlog::warn("room={} reloaded from the store after a store failure; {} connections reconnect",
                 room_.id(), connections.size());
  } else {
    spdlog::error("room={} could not be read back after a store failure; kept as it is",
                  room_.id());
  }
  for (const auto& connection : connections) {
    if (auto outbox = std::dynamic_pointer_cast<Outbox>(connection.lock())) {
      outbox->close(close_code::kServiceRestart, "room reloaded after a storage fault");
    }
  }
  for (auto& held : std::exchange(held_actions_, {})) perform(held.action, held.save_state);
  after_change();
}

bool RoomHost::resume(circle::v1::RoomSnapshot& snapshot, std::uint64_t after_seq,
                      std::uint32_t max_events) {
  const std::uint64_t last = snapshot.last_seq();
  if (after_seq > last || last - after_seq > max_events) return false;
  std::vector<circle::v1::RoomEvent> missed;
  if (!store_) {
    for (const auto& kept : kept_for_resume_) {
      if (kept.seq <= after_seq) continue;
      circle::v1::ServerMessage envelope;
      if (!envelope.ParseFromString(*kept.frame) || !envelope.has_room_event()) return false;
      missed.push_back(std::move(*envelope.mutable_room_event()));
    }
  } else {
    // What is committed; the rest (not yet durable, or the joiner's own
    // join) is in the room's history.
    for (const auto& stored : store_->load_events(room_.id(), after_seq, max_events)) {
      circle::v1::ServerMessage envelope;
      if (!envelope.ParseFromString(stored.event) || !envelope.has_room_event()) return false;
      missed.push_back(std::move(*envelope.mutable_room_event()));
    }
  }
  const std::uint64_t stored_up_to = missed.empty() ? after_seq : missed.back().seq();
  for (const auto& event : snapshot.recent_events()) {
    if (event.seq() > stored_up_to) missed.push_back(event);
  }
  // Complete or nothing: every seq from after_seq + 1 to last, once.
  std::uint64_t expected = after_seq + 1;
  for (const auto& event : missed) {
    if (event.seq() != expected) return false;
    ++expected;
  }
  if (expected != last + 1) return false;
  snapshot.clear_recent_events();
  for (auto& event : missed) *snapshot.add_recent_events() = std::move(event);
  return true;
}

void RoomHost::recall_sent(const std::string& account, const std::string& client_message_id) {
  if (!store_ || client_message_id.empty() || !room_.may_have_forgotten_sent() ||
      room_.remembers_sent(account, client_message_id)) {
    return;
  }
  // Older than what the room remembers: the store still knows.
  if (auto original = store_->find_sent(room_.id(), account, client_message_id)) {
    room_.remember_sent(account, client_message_id, original->seq, original->time_ms);
  }
}

void RoomHost::after_change() {
  if (dormant_) {
    // Applied elsewhere: its deadlines are the others' to tick.
    armed_deadline_.reset();
    timer_.cancel();
    return;
  }
  publish_info();
  const auto deadline = room_.next_deadline();
  if (deadline == armed_deadline_) return;
  armed_deadline_ = deadline;
  timer_.cancel();
  if (!deadline) return;
  timer_.expires_after(
      std::chrono::milliseconds(std::max<std::int64_t>(0, *deadline - now_unix_ms())));
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec) return;  // re-armed or cancelled
    if (self->relay_) return self->relay_tick();
    self->armed_deadline_.reset();
    auto tick = [](core::Room& room) { room.tick(now_unix_ms()); };
    self->perform(tick);
  });
}

void RoomHost::applied_entry(std::uint64_t position) {
  log_position_ = position;
  unreplicated_ = true;
  replica_wanted_ = true;
}

void RoomHost::make_dormant() {
  dormant_ = true;
  boost::asio::post(strand_, [self = shared_from_this()] { self->after_change(); });
}

void RoomHost::go_on_from(
    core::Room& room, core::Room made, std::uint64_t position,
    const google::protobuf::RepeatedPtrField<circle::v1::ResumeFrame>& frames) {
  room = std::move(made);
  kept_for_resume_.clear();
  for (const auto& frame : frames) {
    kept_for_resume_.push_back(
        {frame.seq(), frame.time_unix_ms(), std::make_shared<const std::string>(frame.frame())});
  }
  log_position_ = position;
  unreplicated_ = false;
  replica_wanted_ = false;
  armed_deadline_.reset();  // armed again for the room as it is now
  dormant_ = false;
}

void RoomHost::show_info(const circle::v1::RoomInfo& info) {
  std::lock_guard lock(info_mutex_);
  if (!dormant_) return;  // its own info is current
  info_.set_member_count(info.member_count());
  info_.set_locked(info.locked());
}

void RoomHost::copy_soon() {
  boost::asio::post(strand_, [self = shared_from_this()] {
    self->replica_urgent_ = true;
    self->keep_replica_if_due();
  });
}

void RoomHost::offer_replica() {
  if (!replica_wanted_) return;
  boost::asio::post(strand_, [self = shared_from_this()] { self->keep_replica_if_due(); });
}

void RoomHost::keep_replica_if_due() {
  if (!relay_ || dormant_ || !unreplicated_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!replica_urgent_ && now - last_replica_at_ < relay_->replica_interval()) return;
  // Asked last: it takes the relay's locks (every applied command gets here).
  if (!relay_->keeps_replica_of(room_.id())) return;
  auto replica = room_.replica(log_position_);
  // The frames a resume needs, newest first, as many as fit beside the
  // room: an older gap gets a fresh snapshot, as it would from this node.
  constexpr std::size_t kFrameOverhead = 32;  // the field's tags and numbers, at most
  std::size_t size = replica.ByteSizeLong();
  std::size_t fitting = 0;
  for (auto kept = kept_for_resume_.rbegin(); kept != kept_for_resume_.rend(); ++kept) {
    size += kept->frame->size() + kFrameOverhead;
    if (size > CommandRelay::kMaxReplicaBytes) break;
    ++fitting;
  }
  for (auto kept = kept_for_resume_.end() - static_cast<std::ptrdiff_t>(fitting);
       kept != kept_for_resume_.end(); ++kept) {
    auto* frame = replica.add_resume_frames();
    frame->set_seq(kept->seq);
    frame->set_time_unix_ms(kept->time_ms);
    frame->set_frame(*kept->frame);
  }
  relay_->keep_replica(room_.id(), std::move(replica));
  unreplicated_ = false;
  replica_urgent_ = false;
  replica_wanted_ = false;
  last_replica_at_ = now;
}

void RoomHost::relay_tick() {
  if (dormant_) return;
  // Every node with the room may send it; the log keeps one per deadline.
  const std::int64_t deadline = armed_deadline_.value_or(now_unix_ms());
  circle::v1::RoomCommand tick;
  tick.set_room_id(room_.id());
  tick.set_time_ms(std::max(deadline, now_unix_ms()));
  tick.mutable_tick();
  relay_->relay(std::move(tick), "tick:" + room_.id() + ":" + std::to_string(deadline),
                [](const core::Refusal&) {});
  // Until the tick comes back and moves the deadline (after_change re-arms
  // then), ask again now and then: the relay may have been away.
  timer_.expires_after(std::chrono::seconds(1));
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec) self->relay_tick();
  });
}

core::Result<circle::v1::RoomInfo> RoomRegistry::create(std::string room_id, std::string title,
                                                        circle::v1::RoomKind kind,
                                                        std::string creator_account,
                                                        std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  if (rooms_.size() >= limits_.max_rooms) {
    return core::Refusal{circle::v1::ERROR_CODE_LIMIT_EXCEEDED,
                         "create room: this server already has its maximum of " +
                             std::to_string(limits_.max_rooms) + " rooms"};
  }
  if (room_id.empty()) {
    do {
      room_id = "room-" + std::to_string(++generated_ids_);
    } while (rooms_.contains(room_id));
  } else if (rooms_.contains(room_id)) {
    return core::Refusal{circle::v1::ERROR_CODE_ROOM_ALREADY_EXISTS,
                         "create room: room '" + room_id + "' already exists"};
  }
  core::Room room(room_id, std::move(title), kind, std::move(creator_account), now_ms, limits_,
                  nullptr);
  auto host = std::make_shared<RoomHost>(
      boost::asio::make_strand(executor_), std::move(room), store_, metrics_,
      [this, room_id] { forget(room_id); }, relay_);
  host->set_escalation(escalation_);
  auto info = host->info_snapshot();
  rooms_.emplace(room_id, std::move(host));
  return info;
}

void RoomRegistry::submit(circle::v1::RoomCommand command, std::weak_ptr<Outbox> requester) {
  if (!relay_) return apply(std::move(command), std::move(requester));
  if (command.has_create() && list_size() >= limits_.max_rooms) {
    // Refused before it is relayed: a creation refused in the log would
    // still hold the room id's creation slot.
    if (auto outbox = requester.lock()) {
      outbox->deliver(circle::wire::encode(
          refusal_reply(command.request_id(),
                        {circle::v1::ERROR_CODE_LIMIT_EXCEEDED,
                         "create room: this server already has its maximum of " +
                             std::to_string(limits_.max_rooms) + " rooms"},
                        *metrics_)));
    }
    return;
  }
  if (command.has_create() && command.room_id().empty()) {
    // Named here, where it is relayed: the room's subject carries its id.
    // Random, so that two nodes never name two rooms alike.
    command.set_room_id("room-" + random_room_suffix());
  }
  const std::uint64_t request_id = command.request_id();
  const std::string room_id = command.room_id();
  const std::uint64_t join_token = command.has_join() ? command.join().join_token() : 0;
  relay_->relay(
      std::move(command), {},
      [requester, request_id, room_id, join_token,
       metrics = metrics_](const core::Refusal& refusal) {
        auto outbox = requester.lock();
        if (!outbox) return;
        if (join_token != 0) outbox->removed_from_room(room_id, join_token);
        if (request_id != 0) {
          outbox->deliver(circle::wire::encode(refusal_reply(request_id, refusal, *metrics)));
        }
      });
}

void RoomRegistry::apply(circle::v1::RoomCommand command, std::weak_ptr<Outbox> requester,
                         std::uint64_t log_position) {
  auto host = find(command.room_id());
  if (command.has_create()) {
    apply_create(command, std::move(requester));
    if (log_position != 0) {
      if (auto created = find(command.room_id())) {
        created->run([created = created.get(), log_position](core::Room&) {
          created->applied_entry(log_position);
        });
      }
    }
    return;
  }
  if (!host) {
    auto outbox = requester.lock();
    if (!outbox) return;
    if (command.has_join())
      outbox->removed_from_room(command.room_id(), command.join().join_token());
    if (command.request_id() == 0) return;
    outbox->deliver(circle::wire::encode(refusal_reply(
        command.request_id(),
        {circle::v1::ERROR_CODE_ROOM_NOT_FOUND, "there is no room '" + command.room_id() + "'"},
        *metrics_)));
    return;
  }
  host->run([host = host.get(), command = std::move(command), requester = std::move(requester),
             log_position, this](core::Room& room) {
    apply_command(room, command,
                  {.requester = requester,
                   .host = *host,
                   .metrics = *metrics_,
                   .limits = limits_,
                   .own_node_prefix = own_node_prefix_,
                   .replicated = relay_ != nullptr,
                   .support_resources = support_resources_});
    if (log_position != 0) host->applied_entry(log_position);
  });
}

void RoomRegistry::apply_create(const circle::v1::RoomCommand& command,
                                std::weak_ptr<Outbox> requester) {
  const auto& create = command.create();
  auto created = this->create(command.room_id(), create.title(), create.kind(),
                              create.creator_account(), command.time_ms());
  if (created && relay_) {
    std::lock_guard lock(mutex_);
    creations_.insert_or_assign(created.value().room_id(), command);
  }
  ServerMessage reply = make_reply(*metrics_, command.request_id(), created,
                                   [](ServerMessage& reply, circle::v1::RoomInfo& room) {
                                     *reply.mutable_create_room()->mutable_room() = std::move(room);
                                   });
  auto host = created ? find(created.value().room_id()) : nullptr;
  if (!host) {
    if (auto outbox = requester.lock()) outbox->deliver(circle::wire::encode(reply));
    return;
  }
  spdlog::info("conn={} created room={}", command.connection(), created.value().room_id());
  // Stored (and answered once it is) even if the asker is gone: a created
  // room survives a crash.
  host->run([requester, frame = circle::wire::encode(reply)](
                core::Room& room) { room.reply(requester, frame); },
            /*save_state=*/true);
}

std::size_t RoomRegistry::list_size() const {
  std::lock_guard lock(mutex_);
  return rooms_.size();
}

std::vector<std::shared_ptr<RoomHost>> RoomRegistry::hosts() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<RoomHost>> all;
  all.reserve(rooms_.size());
  for (const auto& [id, host] : rooms_) all.push_back(host);
  return all;
}

void RoomRegistry::forget(const std::string& room_id) {
  std::lock_guard lock(mutex_);
  rooms_.erase(room_id);
  creations_.erase(room_id);
}

std::size_t RoomRegistry::restore() {
  if (!store_) return 0;
  std::lock_guard lock(mutex_);
  std::size_t restored = 0;
  for (const auto& record : store_->load_rooms()) {
    auto room = read_room_back(*store_, record, limits_);
    if (!room) continue;
    auto host = std::make_shared<RoomHost>(boost::asio::make_strand(executor_), std::move(*room),
                                           store_, metrics_, std::function<void()>{}, relay_);
    host->set_escalation(escalation_);
    // Arms the room's timers: an alert nobody answered before the restart
    // still escalates, also if no one comes back to the room.
    host->run([](core::Room&) {});
    rooms_.emplace(record.room_id, std::move(host));
    ++restored;
  }
  return restored;
}

bool RoomRegistry::go_on_from(const std::string& room_id, const circle::v1::RoomReplica* copy) {
  std::shared_ptr<RoomHost> host;
  std::optional<core::Room> made;
  {
    std::lock_guard lock(mutex_);
    const auto found = rooms_.find(room_id);
    const auto creation = creations_.find(room_id);
    if (found == rooms_.end()) return false;
    host = found->second;
    if (copy) {
      made.emplace(*copy, limits_, nullptr);
    } else if (creation != creations_.end()) {
      const auto& create = creation->second.create();
      made.emplace(room_id, create.title(), create.kind(), create.creator_account(),
                   creation->second.time_ms(), limits_, nullptr);
    } else {
      return false;
    }
  }
  auto replica =
      std::make_shared<circle::v1::RoomReplica>(copy ? *copy : circle::v1::RoomReplica());
  host->run([host = host.get(), made = std::make_shared<core::Room>(std::move(*made)),
             replica](core::Room& room) {
    host->go_on_from(room, std::move(*made), replica->log_position(), replica->resume_frames());
  });
  return true;
}

std::shared_ptr<RoomHost> RoomRegistry::find(const std::string& room_id) const {
  std::lock_guard lock(mutex_);
  auto found = rooms_.find(room_id);
  return found == rooms_.end() ? nullptr : found->second;
}

std::vector<circle::v1::ServerMessage> RoomRegistry::open_escalations() const {
  std::lock_guard lock(mutex_);
  std::vector<circle::v1::ServerMessage> events;
  for (const auto& [id, host] : rooms_) {
    for (auto& alert : host->escalated_alerts()) {
      circle::v1::ServerMessage message;
      auto* event = message.mutable_private_event();
      event->set_room_id(id);
      event->set_server_time_unix_ms(alert.escalated_at_unix_ms());
      auto* escalated = event->mutable_support_escalated();
      escalated->set_reason(alert.escalation_reason());
      *escalated->mutable_alert() = std::move(alert);
      events.push_back(std::move(message));
    }
  }
  return events;
}

std::vector<circle::v1::RoomInfo> RoomRegistry::list() const {
  std::lock_guard lock(mutex_);
  std::vector<circle::v1::RoomInfo> rooms;
  rooms.reserve(rooms_.size());
  for (const auto& [id, host] : rooms_) rooms.push_back(host->info_snapshot());
  return rooms;
}

}  // namespace circle::server
