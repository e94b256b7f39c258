#include "connection_limits.hpp"

#include <algorithm>

namespace circle::server {

ConnectionLimits::Slot ConnectionLimits::admit_connection(const std::string& address,
                                                          Refusal& why) {
  std::lock_guard lock(mutex_);
  why = Refusal::kNone;
  if (total_ >= caps_.max_connections) {
    why = Refusal::kServerFull;
  } else if (auto found = per_address_.find(address);
             found != per_address_.end() && found->second >= caps_.max_per_address) {
    why = Refusal::kAddressFull;
  } else {
    return take(per_address_, address, true);
  }
  if (refusals_in_progress_ >= caps_.max_refusals_in_progress) {
    why = Refusal::kCloseNow;
    return nullptr;
  }
  ++refusals_in_progress_;
  return Slot(static_cast<void*>(this), [this](void*) {
    std::lock_guard lock(mutex_);
    --refusals_in_progress_;
  });
}

std::string address_key(const boost::asio::ip::address& address) {
  if (address.is_v4()) return address.to_string();
  const auto v6 = address.to_v6();
  if (v6.is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string();
  }
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return boost::asio::ip::address_v6(bytes).to_string() + "/64";
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
