#include "audit_log.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace circle::server {

AuditLog::AuditLog(const std::string& path) : out_(path, std::ios::app) {
  if (!out_) throw std::runtime_error("cannot open the audit log " + path);
}

void AuditLog::record(const core::AuditEntry& entry) {
  nlohmann::json line = {{"time_unix_ms", entry.time_unix_ms},
                         {"room", entry.room_id},
                         {"action", entry.action},
                         {"actor_account", entry.actor_account},
                         {"actor_member", entry.actor_member_id}};
  if (!entry.target_account.empty()) line["target_account"] = entry.target_account;
  if (entry.target_member_id) line["target_member"] = entry.target_member_id;
  if (!entry.reason.empty()) line["reason"] = entry.reason;
  // Invalid UTF-8 cannot reach here (validated on input); replace rather than throw anyway.
  const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::lock_guard lock(mutex_);
  out_ << text << '\n';
  out_.flush();  // an audit entry is worth a write each
}

}  // namespace circle::server
