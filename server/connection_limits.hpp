// How many connections the server holds: in all, from one network address,
// and signed in as one account. Counted from the TCP accept (so handshakes
// in progress count) and released when the connection is gone. A connection
// over a cap is answered with why (an HTTP error after its handshake) from a
// small budget of its own; past that budget it is closed at once, so a flood
// of refused connections costs no handshakes. No sockets here: the listener
// and the dispatcher ask, and hold what they are given.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/ip/address.hpp>

namespace circle::server {

struct ConnectionCaps {
  std::size_t max_connections = 20'000;
  std::size_t max_per_address = 100;  // offices and homes share addresses behind NAT
  std::size_t max_per_account = 10;
  // Refused connections being answered at once; more are closed unanswered.
  std::size_t max_refusals_in_progress = 64;
};

// The network address connections are counted under: an IPv4 address, or
// the /64 an IPv6 address is in (one home or phone gets a whole /64, so
// counting single IPv6 addresses would not count anything).
std::string address_key(const boost::asio::ip::address& address);

class ConnectionLimits {
 public:
  // Held for a connection's lifetime; dropping it gives the place back.
  using Slot = std::shared_ptr<void>;

  enum class Refusal {
    kNone,
    kServerFull,
    kAddressFull,
    kAccountFull,
    kCloseNow,  // over a cap, and too many refusals are being answered already
  };

  explicit ConnectionLimits(ConnectionCaps caps) : caps_(caps) {}

  // A new TCP connection from `address` (an address_key). Over a cap: `why`,
  // and a slot to hold while answering the refusal (null with kCloseNow).
  Slot admit_connection(const std::string& address, Refusal& why);
  // A connection signing in as `account`. Null when the account is at its cap.
  Slot admit_account(const std::string& account);

  std::size_t connections() const;

 private:
  Slot take(std::map<std::string, std::size_t>& counts, const std::string& key, bool counts_total);

  ConnectionCaps caps_;
  mutable std::mutex mutex_;
  std::size_t total_ = 0;
  std::size_t refusals_in_progress_ = 0;
  std::map<std::string, std::size_t> per_address_;
  std::map<std::string, std::size_t> per_account_;
};

}  // namespace circle::server
