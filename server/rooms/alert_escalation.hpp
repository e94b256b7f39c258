// Where a room sends a support alert nobody in it answered in time: the
// operators and the on-call webhook (SupportEscalation on the network floor).
#pragma once

#include <cstdint>
#include <string>

#include "circle/v1/circle.pb.h"

namespace circle::server {

struct EscalationReach {
  std::uint32_t operators = 0;  // operator connections it reached
  bool on_call = false;         // queued for the webhook
};

class AlertEscalation {
 public:
  virtual ~AlertEscalation() = default;
  // `send_webhook`: this node is the one to tell the webhook and the other
  // nodes (with several nodes, each applying the room escalates; one sends).
  virtual EscalationReach escalate(const std::string& room_id,
                                   const circle::v1::SupportEscalated& escalated,
                                   std::int64_t now_ms, bool send_webhook) = 0;
};

}  // namespace circle::server
