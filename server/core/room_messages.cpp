// Room messages: posting (a retry answered once), history kept and expired, acting on a message.
#include <algorithm>
#include <utility>

#include "core/policy.hpp"
#include "core/room.hpp"
#include "core/room_internal.hpp"

namespace circle::core {

using namespace circle::v1;

Result<SendMessageResponse> Room::post(ConnectionId connection, const std::string& text,
                                       const std::string& client_message_id, std::int64_t now_ms,
                                       const std::string& content_warning) {
  Member* sender = find_connection(connection);
  if (!sender) return not_in_room("send message", room_id_);
  if (!client_message_id.empty()) {
    // A retry (the ack was lost with a connection): the original ack, and
    // nobody receives the message twice.
    auto earlier = sent_.find({sender->account_id, client_message_id});
    if (earlier != sent_.end()) {
      if (output_) output_->repeated_sends.push_back(earlier->first);
      return earlier->second;
    }
  }
  const auto& view = sender->view;
  const SpeakerState speaker{
      .role = view.role(),
      .muted = view.muted(),
      .muted_for_ms = view.muted_until_unix_ms() > 0 ? view.muted_until_unix_ms() - now_ms : 0,
      .hand_raised = view.hand_raised(),
      .has_floor = view.has_floor(),
      .agreement_accepted = view.agreement_accepted(),
      .round_active = round_.active(),
      .is_round_speaker = round_.active() && round_.speaker_member_id() == view.member_id()};
  if (auto refused = authorize_post(speaker, settings_)) return *refused;
  if (settings_.slow_mode_seconds() > 0 && !is_facilitator(view.role()) &&
      sender->last_post_ms > 0) {
    const std::int64_t wait_ms =
        sender->last_post_ms + settings_.slow_mode_seconds() * 1000LL - now_ms;
    if (wait_ms > 0) {
      return Refusal{ERROR_CODE_RATE_LIMITED, "send message: slow mode is on; wait " +
                                                  std::to_string((wait_ms + 999) / 1000) +
                                                  " more seconds"};
    }
  }
  sender->last_post_ms = now_ms;

  RoomEvent event;
  auto* posted = event.mutable_message_posted();
  *posted->mutable_sender() = view;
  posted->set_text(text);
  posted->set_client_message_id(client_message_id);
  posted->set_content_warning(content_warning);
  SendMessageResponse ack;
  ack.set_room_id(room_id_);
  posting_account_ = sender->account_id;
  ack.set_seq(publish(std::move(event), now_ms));
  posting_account_.clear();
  remember_sent(sender->account_id, client_message_id, ack.seq(), now_ms);
  ack.set_server_time_unix_ms(now_ms);
  return ack;
}

void Room::remember_sent(const std::string& account, const std::string& client_message_id,
                         std::uint64_t seq, std::int64_t time_ms) {
  if (client_message_id.empty() || limits_->remembered_client_message_ids == 0) return;
  auto key = std::make_pair(account, client_message_id);
  SendMessageResponse ack;
  ack.set_room_id(room_id_);
  ack.set_seq(seq);
  ack.set_server_time_unix_ms(time_ms);
  if (!sent_.insert_or_assign(key, ack).second) return;
  sent_order_.push_back(std::move(key));
  while (sent_order_.size() > limits_->remembered_client_message_ids) {
    sent_.erase(sent_order_.front());
    sent_order_.pop_front();
    forgot_sent_ = true;
  }
}

void Room::forget_unsaved(const ActionOutput& output) {
  for (const auto& event : output.events) {
    std::erase_if(history_, [&](const RoomEvent& kept) { return kept.seq() == event.seq; });
    if (event.client_message_id.empty()) continue;
    const auto key = std::make_pair(event.sender_account, event.client_message_id);
    if (sent_.erase(key)) std::erase(sent_order_, key);
  }
}

std::int64_t Room::history_kept_ms() const {
  const std::int64_t days = settings_.history_retention_days();
  return days ? days * 86'400'000
              : static_cast<std::int64_t>(limits_->reconnect_window_seconds) * 1000;
}

void Room::forget_expired_history(std::int64_t now_ms) {
  const std::int64_t oldest_kept_ms = now_ms - history_kept_ms();
  while (!history_.empty() && history_.front().server_time_unix_ms() < oldest_kept_ms) {
    history_.pop_front();
  }
}

RoomEvent* Room::find_message(std::uint64_t seq) {
  for (auto& event : history_) {
    if (event.seq() == seq && event.has_message_posted()) return &event;
  }
  return nullptr;
}

Room::ActionResult Room::set_content_warning(Member& actor, const SetContentWarning& request,
                                             std::int64_t now_ms) {
  const std::uint64_t seq = request.seq();
  RoomEvent* message = seq == 0 || seq > last_seq_ ? nullptr : find_message(seq);
  if (!message || message->message_posted().text().empty()) {
    return not_found("content warning", "no recent message " + std::to_string(seq));
  }
  // The same people who may redact a message may put a warning on it.
  const auto& sender = message->message_posted().sender();
  std::optional<Role> author;
  if (sender.member_id() != actor.view.member_id()) author = sender.role();
  if (auto refused = authorize(ACTION_REDACT, actor.view.role(), author, settings_)) {
    return *refused;
  }
  message->mutable_message_posted()->set_content_warning(request.content_warning());
  if (output_) output_->rewritten.push_back(*message);
  // The audit log outlives the message: "set", not the warning's words.
  audit(actor, "content warning " + std::to_string(seq), find_member(sender.member_id()),
        request.content_warning().empty() ? "taken off" : "set", now_ms);
  RoomEvent event;
  auto* set = event.mutable_content_warning_set();
  set->set_seq(seq);
  set->set_content_warning(request.content_warning());
  *set->mutable_by() = actor.view;
  return response(publish(std::move(event), now_ms));
}

Room::ActionResult Room::redact(Member& actor, std::uint64_t seq, const std::string& reason,
                                std::int64_t now_ms) {
  if (seq == 0 || seq > last_seq_) return not_found("redact", "no message " + std::to_string(seq));
  RoomEvent* message = find_message(seq);
  // Only messages still in history: their author decides who may redact them.
  if (!message) return not_found("redact", "no recent message " + std::to_string(seq));
  std::optional<Role> author;
  if (message && message->message_posted().sender().member_id() != actor.view.member_id()) {
    author = message->message_posted().sender().role();
  }
  if (auto refused = authorize(ACTION_REDACT, actor.view.role(), author, settings_)) {
    return *refused;
  }
  // The text is deleted, not hidden: history keeps only who and when.
  const Member* author_member =
      message ? find_member(message->message_posted().sender().member_id()) : nullptr;
  if (message) {
    // The sender's own words in its warning go with the text.
    message->mutable_message_posted()->clear_text();
    message->mutable_message_posted()->clear_content_warning();
    if (output_) output_->rewritten.push_back(*message);
  }
  pinned_.erase(seq);
  audit(actor, "redact " + std::to_string(seq), author_member, reason, now_ms);
  RoomEvent event;
  auto* redacted = event.mutable_message_redacted();
  redacted->set_seq(seq);
  *redacted->mutable_by() = actor.view;
  redacted->set_note(reason);
  return response(publish(std::move(event), now_ms));
}

Room::ActionResult Room::set_pinned(Member& actor, std::uint64_t seq, bool pinned,
                                    std::int64_t now_ms) {
  if (auto refused = authorize(ACTION_PIN, actor.view.role(), std::nullopt, settings_)) {
    return *refused;
  }
  if (pinned && !find_message(seq)) {
    return not_found("pin", "no recent message " + std::to_string(seq));
  }
  if (!pinned && !pinned_.contains(seq)) return not_found("unpin", "that message is not pinned");
  if (pinned) {
    pinned_.insert(seq);
  } else {
    pinned_.erase(seq);
  }
  audit(actor, pinned ? "pin" : "unpin", nullptr, "", now_ms);
  RoomEvent event;
  event.mutable_message_pinned()->set_seq(seq);
  event.mutable_message_pinned()->set_pinned(pinned);
  *event.mutable_message_pinned()->mutable_by() = actor.view;
  return response(publish(std::move(event), now_ms));
}

Room::ActionResult Room::direct_message(Member& actor, const SendDirectMessage& request,
                                        std::int64_t now_ms) {
  PrivateEvent event = private_event(now_ms);
  auto* message = event.mutable_direct_message();
  *message->mutable_from() = actor.view;
  message->set_to_member_id(request.member_id());
  message->set_text(request.text());
  if (request.member_id() == 0) {
    // To the facilitators: always allowed.
    send_to_facilitators(event);
    return response(0);
  }
  Member* target = find_member(request.member_id());
  if (!target)
    return not_found("direct message", "no member " + std::to_string(request.member_id()));
  if (!is_facilitator(target->view.role())) {
    if (auto refused =
            authorize(ACTION_DIRECT_MESSAGE, actor.view.role(), std::nullopt, settings_)) {
      return *refused;
    }
    if (auto refused = check_paused(ACTION_DIRECT_MESSAGE, actor.view.role(), settings_)) {
      return *refused;
    }
    if (auto refused = check_agreement(actor, "direct message")) return *refused;
  }
  send_private(*target, event);
  return response(0);
}

}  // namespace circle::core
