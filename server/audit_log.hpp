// The moderation audit log: one JSON object per line in <data-dir>/audit.jsonl
// (who, what, whom, when, why). Account and member ids only: no display
// names and no message text.
#pragma once

#include <fstream>
#include <mutex>
#include <string>

#include "core/audit.hpp"

namespace circle::server {

class AuditLog : public core::AuditSink {
 public:
  // Appends to `path`; throws std::runtime_error when it cannot be opened.
  explicit AuditLog(const std::string& path);
  void record(const core::AuditEntry& entry) override;

 private:
  std::mutex mutex_;
  std::ofstream out_;
};

}  // namespace circle::server
