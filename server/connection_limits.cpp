#include "connection_limits.hpp"

namespace circle::server {

ConnectionLimits::Slot ConnectionLimits::admit_connection(const std::string& address,
                                                          Refusal& why) {
  std::lock_guard lock(mutex_);
  why = Refusal::kNone;
  if (total_ >= caps_.max_connections) {
    why = Refusal::kServerFull;
    return nullptr;
  }
  if (per_address_[address] >= caps_.max_per_address) {
    why = Refusal::kAddressFull;
    return nullptr;
  }
  return take(per_address_, address, true);
}

ConnectionLimits::Slot ConnectionLimits::admit_account(const std::string& account) {
  std::lock_guard lock(mutex_);
  if (per_account_[account] >= caps_.max_per_account) return nullptr;
  return take(per_account_, account, false);
}

std::size_t ConnectionLimits::connections() const {
  std::lock_guard lock(mutex_);
  return total_;
}

// Under mutex_. The slot's deleter gives the place back; the limits must
// outlive every slot (the server owns both and drains connections first).
ConnectionLimits::Slot ConnectionLimits::take(std::map<std::string, std::size_t>& counts,
                                              const std::string& key, bool counts_total) {
  ++counts[key];
  if (counts_total) ++total_;
  return Slot(static_cast<void*>(this), [this, &counts, key, counts_total](void*) {
    std::lock_guard lock(mutex_);
    if (counts_total) --total_;
    if (auto found = counts.find(key); found != counts.end() && --found->second == 0) {
      counts.erase(found);
    }
  });
}

}  // namespace circle::server
