// How a moderation audit entry is kept: one JSON object (who, what, whom,
// when, why), stored with the action it records and printed by
// `circled audit`. Account and member ids only: no display names and no
// message text.
#pragma once

#include <string>

#include "core/audit.hpp"

namespace circle::server {

std::string audit_json(const core::AuditEntry& entry);

}  // namespace circle::server
