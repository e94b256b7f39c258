// The moderation audit log's record: who did what to whom, when and why.
// Account ids and member ids only: no display names and no message text.
#pragma once

#include <cstdint>
#include <string>

namespace circle::core {

struct AuditEntry {
  std::int64_t time_unix_ms = 0;
  std::string room_id;
  std::string action;  // "mute", "ban", "accept agreement", "support alert", ...
  std::string actor_account;
  std::uint64_t actor_member_id = 0;
  std::string target_account;  // empty when the action has no target
  std::uint64_t target_member_id = 0;
  std::string reason;  // as the actor gave it
};

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  virtual void record(const AuditEntry& entry) = 0;
};

}  // namespace circle::core
