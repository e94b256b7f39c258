// Operators on every node (--backend nats): a support escalation reaches
// every admin connected anywhere in the cluster, not only those on the nodes
// that apply the room. Over core NATS, like node liveness:
//   <namespace>.operators.present  "<node prefix> <operators>", every heartbeat
//   <namespace>.support.escalated  "<key>\n<ServerMessage bytes>", from the
//                                  node that writes the room's copies
// Core NATS delivers at most once: an operator on a node cut off from the
// cluster at that moment misses the event (the alert stays open in its room,
// and the webhook, when configured, is sent by the announcing node).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "cluster/nats/nats_cluster.hpp"
#include "support_escalation.hpp"

namespace circle::server {

struct ClusterOperatorsOptions {
  std::string subject_prefix = "circle";  // the cluster's namespace
  std::uint64_t node_prefix = 0;          // this node (room_commands.hpp)
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds node_timeout{5000};  // a count older than this is dropped
};

class ClusterOperators : public OperatorsElsewhere {
 public:
  ClusterOperators(circle::cluster::NatsCluster& cluster, OperatorDesk& desk,
                   ClusterOperatorsOptions options);
  ~ClusterOperators() override;  // stops
  ClusterOperators(const ClusterOperators&) = delete;
  ClusterOperators& operator=(const ClusterOperators&) = delete;

  // Listens, and says how many operators are here every heartbeat.
  void start();
  void stop();

  std::uint32_t count() const override;
  void announce(const std::string& key, const circle::wire::Frame& frame) override;

 private:
  using Clock = std::chrono::steady_clock;
  struct Heard {
    std::uint32_t operators = 0;
    Clock::time_point at;
  };
  using Subscription = decltype(std::declval<circle::cluster::NatsCluster&>().subscribe(
      std::string{}, circle::cluster::NatsCluster::Handler{}));

  void subscribe();
  void beat(std::stop_token stop);

  circle::cluster::NatsCluster& cluster_;
  OperatorDesk& desk_;
  const ClusterOperatorsOptions options_;
  mutable std::mutex mutex_;
  std::map<std::uint64_t, Heard> heard_;  // by node prefix, other nodes only
  Subscription present_{nullptr, nullptr};
  Subscription escalated_{nullptr, nullptr};
  std::jthread beats_;
};

}  // namespace circle::server
