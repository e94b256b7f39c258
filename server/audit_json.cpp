#include "audit_json.hpp"

#include <nlohmann/json.hpp>

namespace circle::server {

std::string audit_json(const core::AuditEntry& entry) {
  nlohmann::json line = {{"time_unix_ms", entry.time_unix_ms},
                         {"room", entry.room_id},
                         {"action", entry.action},
                         {"actor_account", entry.actor_account},
                         {"actor_member", entry.actor_member_id}};
  if (!entry.target_account.empty()) line["target_account"] = entry.target_account;
  if (entry.target_member_id) line["target_member"] = entry.target_member_id;
  if (!entry.reason.empty()) line["reason"] = entry.reason;
  // Invalid UTF-8 cannot reach here (validated on input); replace rather than throw anyway.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace circle::server
