// HAProxy (Debian's) in front of circled nodes on 127.0.0.1, configured by
// scripts/haproxy-config exactly as `scripts/cluster up` and the README's
// production layout use it: TLS passed through, health checks on /healthz.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/child_process.hpp"

namespace circle::test {

class HaproxyBalancer {
 public:
  struct Node {
    std::string port;         // the node's wss:// port
    std::string health_port;  // its metrics port (GET /healthz)
  };
  // Starts HAProxy and waits until it accepts connections; throws when it
  // does not.
  explicit HaproxyBalancer(const std::vector<Node>& nodes);
  ~HaproxyBalancer();
  HaproxyBalancer(const HaproxyBalancer&) = delete;
  HaproxyBalancer& operator=(const HaproxyBalancer&) = delete;

  const std::string& port() const { return port_; }

 private:
  std::string dir_;
  std::string port_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace circle::test
