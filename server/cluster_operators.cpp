#include "cluster_operators.hpp"

#include <charconv>
#include <condition_variable>

#include "logging.hpp"

namespace circle::server {

ClusterOperators::ClusterOperators(circle::cluster::NatsCluster& cluster, OperatorDesk& desk,
                                   ClusterOperatorsOptions options)
    : cluster_(cluster), desk_(desk), options_(std::move(options)) {}

ClusterOperators::~ClusterOperators() {
  stop();
}

void ClusterOperators::start() {
  beats_ = std::jthread([this](std::stop_token stop) { beat(stop); });
}

void ClusterOperators::stop() {
  if (beats_.joinable()) {
    beats_.request_stop();
    beats_.join();
  }
  // Destroying a subscription waits for a running handler.
  present_.reset();
  escalated_.reset();
}

void ClusterOperators::subscribe() {
  if (!present_) {
    present_ = cluster_.subscribe(options_.subject_prefix + ".operators.present",
                                  [this](const std::string&, const std::string& data) {
                                    std::uint64_t prefix = 0;
                                    std::uint32_t operators = 0;
                                    const char* end = data.data() + data.size();
                                    auto [at, error] = std::from_chars(data.data(), end, prefix);
                                    if (error != std::errc{} || at == end || *at != ' ') return;
                                    if (std::from_chars(at + 1, end, operators).ec != std::errc{})
                                      return;
                                    if (prefix == options_.node_prefix) return;
                                    std::lock_guard lock(mutex_);
                                    heard_[prefix] = {.operators = operators, .at = Clock::now()};
                                  });
  }
  if (!escalated_) {
    escalated_ = cluster_.subscribe(
        options_.subject_prefix + ".support.escalated",
        [this](const std::string&, const std::string& data) {
          const auto newline = data.find('\n');
          if (newline == std::string::npos) return;
          desk_.deliver_once(data.substr(0, newline),
                             std::make_shared<const std::string>(data.substr(newline + 1)));
        });
  }
}

void ClusterOperators::beat(std::stop_token stop) {
  std::mutex mutex;
  std::condition_variable_any wake;
  std::unique_lock lock(mutex);
  while (!stop.stop_requested()) {
    // Subscribing again while the cluster has not answered yet.
    subscribe();
    cluster_.publish(options_.subject_prefix + ".operators.present",
                     std::to_string(options_.node_prefix) + " " + std::to_string(desk_.count()));
    wake.wait_for(lock, stop, options_.heartbeat, [] { return false; });
  }
}

std::uint32_t ClusterOperators::count() const {
  std::lock_guard lock(mutex_);
  const auto now = Clock::now();
  std::uint32_t total = 0;
  for (const auto& [prefix, heard] : heard_) {
    if (now - heard.at < options_.node_timeout) total += heard.operators;
  }
  return total;
}

void ClusterOperators::announce(const std::string& key, const circle::wire::Frame& frame) {
  if (!cluster_.publish(options_.subject_prefix + ".support.escalated", key + "\n" + *frame)) {
    spdlog::warn("support escalation {} not announced to the other nodes: cluster away", key);
  }
}

}  // namespace circle::server
