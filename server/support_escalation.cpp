#include "support_escalation.hpp"

#include <nlohmann/json.hpp>

#include "logging.hpp"

namespace circle::server {

void OperatorDesk::add(core::ConnectionId id, std::weak_ptr<Outbox> session) {
  std::lock_guard lock(mutex_);
  operators_[id] = std::move(session);
}

void OperatorDesk::remove(core::ConnectionId id) {
  std::lock_guard lock(mutex_);
  operators_.erase(id);
}

std::uint32_t OperatorDesk::count() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::uint32_t>(operators_.size());
}

std::uint32_t OperatorDesk::deliver_once(const std::string& key, const circle::wire::Frame& frame) {
  std::vector<std::shared_ptr<Outbox>> open;
  bool first = false;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, session] : operators_) {
      if (auto outbox = session.lock()) open.push_back(std::move(outbox));
    }
    first = delivered_.insert(key).second;
    if (first) {
      delivered_order_.push_back(key);
      if (delivered_order_.size() > kKeysKept) {
        delivered_.erase(delivered_order_.front());
        delivered_order_.pop_front();
      }
    }
  }
  // Outside the lock: a delivery may close a slow session, which removes it.
  if (first) {
    for (const auto& outbox : open) outbox->deliver(frame);
  }
  return static_cast<std::uint32_t>(open.size());
}

std::string SupportEscalation::webhook_body(const std::string& room_id,
                                            const circle::v1::SupportEscalated& escalated,
                                            bool include_text) {
  const auto& alert = escalated.alert();
  nlohmann::json body = {
      {"type", "support_escalation"},
      {"room_id", room_id},
      {"alert_id", alert.alert_id()},
      {"raised_at_unix_ms", alert.raised_at_unix_ms()},
      {"escalated_at_unix_ms", alert.escalated_at_unix_ms()},
      {"reason", escalated.reason() == circle::v1::ESCALATION_REASON_NO_FACILITATOR
                     ? "no_facilitator"
                     : "not_acknowledged"}};
  if (include_text) {
    body["text"] = alert.text();
    body["display_name"] = alert.from().display_name();
  }
  return body.dump();
}

EscalationReach SupportEscalation::escalate(const std::string& room_id,
                                            const circle::v1::SupportEscalated& escalated,
                                            std::int64_t now_ms, bool send_webhook) {
  circle::v1::ServerMessage message;
  auto* event = message.mutable_private_event();
  event->set_room_id(room_id);
  event->set_server_time_unix_ms(now_ms);
  *event->mutable_support_escalated() = escalated;
  const auto frame = circle::wire::encode(message);
  // One escalation of one alert, the same on every node that applies the room.
  const std::string key = room_id + "/" + std::to_string(escalated.alert().alert_id()) + "/" +
                          std::to_string(escalated.alert().escalated_at_unix_ms());
  EscalationReach reach{.operators = desk_.deliver_once(key, frame),
                        .on_call = webhook_ != nullptr && !send_webhook};
  if (elsewhere_) reach.operators += elsewhere_->count();
  if (send_webhook) {
    if (elsewhere_) elsewhere_->announce(key, frame);
    metrics_.support_escalations.add();
    spdlog::warn("room={} support alert {} escalated to {} operators{}", room_id,
                 escalated.alert().alert_id(), reach.operators,
                 webhook_ ? " and the on-call webhook" : "");
    // Queued, or said as it is: a full queue reaches no one.
    if (webhook_) reach.on_call = webhook_->post(webhook_body(room_id, escalated, include_text_));
  }
  return reach;
}

}  // namespace circle::server
