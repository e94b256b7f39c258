#include "rooms/room_host.hpp"

#include <algorithm>

#include "clock.hpp"
#include "logging.hpp"

namespace circle::server {

namespace {

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

void RoomHost::run_queued() {
  std::vector<HeldAction> actions;
  {
    std::lock_guard lock(queued_mutex_);
    actions.swap(queued_);
  }
  for (auto& queued : actions) perform(queued);
}

void RoomHost::perform(HeldAction& held) {
  if (read_back_needed_) {
    // The room is about to be read back: what comes meanwhile runs on what
    // was kept, not on what was refused.
    held_actions_.push_back(std::move(held));
    return;
  }
  auto output = std::make_shared<core::ActionOutput>();
  // Most actions deliver one event to everyone plus a reply: grow once.
  output->deliveries.reserve(room_.member_count() + 1);
  room_.capture(output.get());
  held.action(room_);
  room_.capture(nullptr);
  if (held.save_state) output->state_changed = true;
  persist(std::move(output), held.log_position);
  after_change();
}

circle::v1::RoomInfo RoomHost::info_snapshot() const {
  std::lock_guard lock(info_mutex_);
  return info_;
}

void RoomHost::publish_info() {
  auto info = room_.info();
  auto escalated = room_.escalated_alerts();
  std::lock_guard lock(info_mutex_);
  info_ = std::move(info);
  escalated_ = std::move(escalated);
}

std::vector<circle::v1::SupportAlert> RoomHost::escalated_alerts() const {
  std::lock_guard lock(info_mutex_);
  return escalated_;
}

void RoomHost::persist(std::shared_ptr<core::ActionOutput> output, std::uint64_t log_position) {
  if (metrics_) {
    for (const auto& event : output->events) {
      if (!event.sender_account.empty()) metrics_->messages_posted.add();
    }
  }
  const std::uint64_t persist_id = ++last_persist_id_;
  pending_.push_back({persist_id, output, false, std::chrono::steady_clock::now()});
  const bool durable = journal_->persist(
      room_, *output, log_position,
      [self = shared_from_this(), persist_id](const store::Status& status) {
        boost::asio::post(self->strand_,
                          [self, persist_id, status] { self->on_persisted(persist_id, status); });
      });
  if (!durable) return;
  pending_.back().durable = true;
  release_ready();
}

void RoomHost::on_persisted(std::uint64_t persist_id, const store::Status& status) {
  const auto persisted = std::ranges::find(pending_, persist_id, &PendingOutput::persist_id);
  if (persisted == pending_.end()) return;
  persisted->durable = true;
  if (metrics_) {
    metrics_->store_commit.observe(std::chrono::steady_clock::now() - persisted->queued_at);
    if (!status.ok) metrics_->store_failures.add();
  }
  if (!status.ok) {
    // Nothing that was not kept is shown or acknowledged: the others see
    // nothing, the room forgets it, and the requester gets a typed error
    // instead of its reply; so does a retry answered with its ack meanwhile.
    spdlog::error("room={} store write failed, nothing delivered: {}", room_id_, status.message);
    const auto& output = *persisted->output;
    if (!output.only_posted_messages()) read_back_needed_ = true;
    room_.forget_unsaved(output);
    for (auto later = std::next(persisted); later != pending_.end(); ++later) {
      if (later->output && repeats_a_send_of(*later->output, output)) {
        later->output = refused_for_store(*later->output);
      }
    }
    persisted->output = refused_for_store(output);
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
  if (read_back_needed_ && pending_.empty()) read_back();
}

void RoomHost::escalate(const core::ActionOutput& output) {
  for (const auto& escalation : output.escalations) {
    EscalationReach reach;
    const std::int64_t now_ms = escalation.escalated.alert().escalated_at_unix_ms();
    if (escalation_) {
      // With several nodes every node applying the room escalates it to its
      // own operators; the room's leader tells the webhook.
      reach =
          escalation_->escalate(room_id_, escalation.escalated, now_ms, backend_.leads(room_id_));
    }
    circle::v1::ServerMessage message;
    auto* event = message.mutable_private_event();
    event->set_room_id(room_id_);
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

void RoomHost::read_back() {
  read_back_needed_ = false;
  const auto connections = room_.connections();
  auto kept = journal_->read_back(room_);
  switch (kept.outcome) {
    case ReadBack::Outcome::kNeverKept:
      // Its creation was never kept: the room goes, as after a restart.
      spdlog::warn("room={} was never stored; removed after a store failure", room_id_);
      if (forget_) forget_();
      break;
    case ReadBack::Outcome::kRead:
      kept.room->continue_numbering_of(room_);
      room_ = std::move(*kept.room);
      spdlog::warn(
          "room={} reloaded from the store after a store failure; {} connections reconnect",
          room_id_, connections.size());
      break;
    case ReadBack::Outcome::kUnreadable:
      spdlog::error("room={} could not be read back after a store failure; kept as it is",
                    room_id_);
      break;
  }
  for (const auto& connection : connections) {
    if (auto sink = connection.lock()) sink->must_reconnect("room reloaded after a storage fault");
  }
  for (auto& held : std::exchange(held_actions_, {})) perform(held);
  after_change();
}

bool RoomHost::resume(circle::v1::RoomSnapshot& snapshot, std::uint64_t after_seq,
                      std::uint32_t max_events) {
  const std::uint64_t last = snapshot.last_seq();
  if (after_seq > last || last - after_seq > max_events) return false;
  // What is durable; the rest (not yet durable, or the joiner's own join)
  // is in the room's history.
  auto missed = journal_->events_after(after_seq, max_events);
  if (!missed) return false;
  const std::uint64_t kept_up_to = missed->empty() ? after_seq : missed->back().seq();
  for (const auto& event : snapshot.recent_events()) {
    if (event.seq() > kept_up_to) missed->push_back(event);
  }
  // Complete or nothing: every seq from after_seq + 1 to last, once.
  std::uint64_t expected = after_seq + 1;
  for (const auto& event : *missed) {
    if (event.seq() != expected) return false;
    ++expected;
  }
  if (expected != last + 1) return false;
  snapshot.clear_recent_events();
  for (auto& event : *missed) *snapshot.add_recent_events() = std::move(event);
  return true;
}

void RoomHost::recall_sent(const std::string& account, const std::string& client_message_id) {
  if (client_message_id.empty() || !room_.may_have_forgotten_sent() ||
      room_.remembers_sent(account, client_message_id)) {
    return;
  }
  // Older than what the room remembers: the journal may still know.
  if (auto original = journal_->recall_sent(account, client_message_id)) {
    room_.remember_sent(account, client_message_id, original->seq, original->time_ms);
  }
}

void RoomHost::after_change() {
  if (at_rest_) {
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
    if (!ec) self->order_tick();  // else re-armed or cancelled
  });
}

void RoomHost::order_tick() {
  if (at_rest_) return;
  // Every node with the room may order it; the log keeps one per deadline.
  const std::int64_t deadline = armed_deadline_.value_or(now_unix_ms());
  circle::v1::RoomCommand tick;
  tick.set_room_id(room_id_);
  tick.set_time_ms(std::max(deadline, now_unix_ms()));
  tick.mutable_tick();
  backend_.order(std::move(tick), {}, "tick:" + room_id_ + ":" + std::to_string(deadline));
  // Until the tick is applied and moves the deadline (after_change re-arms
  // then), order it again now and then: the order may not have been taken.
  timer_.expires_after(std::chrono::seconds(1));
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec) self->order_tick();
  });
}

void RoomHost::rest() {
  at_rest_ = true;
  boost::asio::post(strand_, [self = shared_from_this()] { self->after_change(); });
}

void RoomHost::wake() {
  armed_deadline_.reset();  // armed again for the room as it is now
  at_rest_ = false;
}

void RoomHost::show_info(const circle::v1::RoomInfo& info) {
  std::lock_guard lock(info_mutex_);
  if (!at_rest_) return;  // its own info is current
  info_.set_member_count(info.member_count());
  info_.set_locked(info.locked());
}

}  // namespace circle::server
