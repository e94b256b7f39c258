// How many connections the server holds: in all, from one network address,
// and signed in as one account. Counted from the TCP accept (so handshakes
// in progress count) and released when the connection is gone. No sockets
// here: the listener and the dispatcher ask, and hold what they are given.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace circle::server {

struct ConnectionCaps {
  std::size_t max_connections = 20'000;
  std::size_t max_per_address = 100;  // offices and homes share addresses behind NAT
  std::size_t max_per_account = 10;
};

class ConnectionLimits {
 public:
  // Held for a connection's lifetime; dropping it gives the place back.
  using Slot = std::shared_ptr<void>;

  enum class Refusal { kNone, kServerFull, kAddressFull, kAccountFull };

  explicit ConnectionLimits(ConnectionCaps caps) : caps_(caps) {}

  // A new TCP connection from `address`. Null, with `why`, when over a cap.
  Slot admit_connection(const std::string& address, Refusal& why);
  // A connection signing in as `account`. Null when the account is at its cap.
  Slot admit_account(const std::string& account);

  std::size_t connections() const;

 private:
  Slot take(std::map<std::string, std::size_t>& counts, const std::string& key, bool counts_total);

  ConnectionCaps caps_;
  mutable std::mutex mutex_;
  std::size_t total_ = 0;
  std::map<std::string, std::size_t> per_address_;
  std::map<std::string, std::size_t> per_account_;
};

}  // namespace circle::server
