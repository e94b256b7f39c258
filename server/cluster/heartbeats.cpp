#include "cluster/heartbeats.hpp"

#include <condition_variable>
#include <mutex>

namespace circle::server {

void Heartbeats::hear() {
  // A heartbeat: see parse_heartbeat.
  heard_ = cluster_.subscribe(options_.alive_subject,
                              [this](const std::string&, const std::string& data) {
                                liveness_.hear(data, std::chrono::steady_clock::now());
                              });
  heard_rooms_ = cluster_.subscribe(
      options_.alive_subject + ".rooms",
      [this](const std::string&, const std::string& data) { liveness_.hear_rooms(data); });
}

void Heartbeats::stop_hearing() {
  heard_.reset();
  heard_rooms_.reset();
}

void Heartbeats::start_sending(std::function<std::string()> heartbeat,
                               std::function<void(circle::v1::NodeRooms&)> applied) {
  heartbeat_ = std::move(heartbeat);
  applied_ = std::move(applied);
  sender_ = std::jthread([this](std::stop_token stop) { send(stop); });
}

void Heartbeats::send(std::stop_token stop) {
  std::mutex mutex;
  std::condition_variable_any wake;
  std::unique_lock lock(mutex);
  while (!stop.stop_requested()) {
    cluster_.publish(options_.alive_subject, heartbeat_());
    // The rooms applied here: who writes their copies, and what a dormant
    // room's list entry says on the other nodes.
    circle::v1::NodeRooms rooms;
    rooms.set_node_prefix(options_.node_prefix);
    applied_(rooms);
    cluster_.publish(options_.alive_subject + ".rooms", rooms.SerializeAsString());
    wake.wait_for(lock, stop, options_.heartbeat, [] { return false; });
  }
}

}  // namespace circle::server
