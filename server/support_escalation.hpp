// Where a support alert goes when nobody in its room answered it in time (or
// nobody who could was there): every operator (an admin account) connected
// to this server, as a private event, and the on-call webhook if the
// operator configured one. What it reached is told to the asker as it is.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "circle/v1/circle.pb.h"
#include "metrics.hpp"
#include "outbox.hpp"
#include "rooms/alert_escalation.hpp"
#include "support_webhook.hpp"

namespace circle::server {

// The operators connected to this node now: admin sessions, wherever they
// are (in a room or not).
class OperatorDesk {
 public:
  void add(core::ConnectionId id, std::weak_ptr<Outbox> session);
  void remove(core::ConnectionId id);
  std::uint32_t count() const;
  // Hands escalation `key`'s `frame` to every operator here, unless it was
  // handed to them before (with several nodes one escalation arrives both
  // from the room and from the node that announced it); how many operators
  // are connected here.
  std::uint32_t deliver_once(const std::string& key, const circle::wire::Frame& frame);

 private:
  static constexpr std::size_t kKeysKept = 4096;
  mutable std::mutex mutex_;
  std::map<core::ConnectionId, std::weak_ptr<Outbox>> operators_;
  std::set<std::string> delivered_;
  std::deque<std::string> delivered_order_;  // oldest first, at most kKeysKept
};

// The operators connected to the service's other nodes (--backend nats:
// ClusterOperators). A single node has none.
class OperatorsElsewhere {
 public:
  virtual ~OperatorsElsewhere() = default;
  // How many operators the other nodes said they have (as of their last
  // heartbeat).
  virtual std::uint32_t count() const = 0;
  // Shows escalation `key`'s `frame` to the other nodes' operators.
  virtual void announce(const std::string& key, const circle::wire::Frame& frame) = 0;
};

class SupportEscalation : public AlertEscalation {
 public:
  // `webhook` may be null (none configured); `include_text`: the webhook's
  // body carries the alert's text and the asker's display name.
  SupportEscalation(OperatorDesk& desk, SupportWebhook* webhook, bool include_text,
                    Metrics& metrics)
      : desk_(desk), webhook_(webhook), include_text_(include_text), metrics_(metrics) {}

  // With several nodes: the operators on the others.
  void set_elsewhere(OperatorsElsewhere* elsewhere) { elsewhere_ = elsewhere; }

  EscalationReach escalate(const std::string& room_id,
                           const circle::v1::SupportEscalated& escalated, std::int64_t now_ms,
                           bool send_webhook) override;
  bool has_webhook() const { return webhook_ != nullptr; }

  // The webhook's JSON body for one escalation.
  static std::string webhook_body(const std::string& room_id,
                                  const circle::v1::SupportEscalated& escalated, bool include_text);

 private:
  OperatorDesk& desk_;
  OperatorsElsewhere* elsewhere_ = nullptr;
  SupportWebhook* webhook_;
  bool include_text_;
  Metrics& metrics_;
};

}  // namespace circle::server
