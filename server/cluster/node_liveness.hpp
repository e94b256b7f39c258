// Which nodes of the cluster are alive, as their heartbeats say (core NATS,
// every heartbeat; cluster_backend.hpp). Pure logic: no NATS, no threads,
// the time passed in, so that it is tested with a fake clock. Its own lock
// makes it safe from any thread; it calls nothing while holding it.
//
// A node not heard from for the node timeout is taken for stopped; this
// node's own heartbeats come back too, and say whether the link carries them.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "circle/v1/room_command.pb.h"
#include "core/limits.hpp"

namespace circle::server {

// The limits every copy of a room reads while applying commands: nodes that
// differ in them would take different turns on the same commands.
std::string room_limits_fingerprint(const core::Limits& limits);

// A heartbeat: "<node prefix> <room limits fingerprint> <log position>
// <1 once it has read the room log back, else 0>", the position being the
// last room log entry the node applied. Nodes of an earlier version send
// only the first two (or three): they are heard all the same, as nodes
// whose position is not known (0: purges wait for them) and that do not
// write copies.
struct Heartbeat {
  std::uint64_t prefix = 0;
  std::string fingerprint;
  std::uint64_t position = 0;
  bool caught_up = false;
};
// nullopt: not a heartbeat.
std::optional<Heartbeat> parse_heartbeat(std::string_view data);
std::string format_heartbeat(const Heartbeat& heartbeat);

class NodeLiveness {
 public:
  using Clock = std::chrono::steady_clock;

  NodeLiveness(std::uint64_t node_prefix, std::string limits_fingerprint,
               std::chrono::milliseconds node_timeout, std::chrono::milliseconds heartbeat);

  // What this node says every heartbeat.
  std::string heartbeat(std::uint64_t position, bool caught_up) const;
  // A heartbeat heard at `now` (this node's own included). False: it is not
  // one, and is ignored.
  bool hear(std::string_view data, Clock::time_point now);
  // The rooms a node applies, with their public info (a serialized
  // NodeRooms), as it says every heartbeat. False: not one, ignored.
  bool hear_rooms(const std::string& data);

  // Heard from within the node timeout.
  bool alive(std::uint64_t prefix, Clock::time_point now) const;
  std::set<std::uint64_t> alive_nodes(Clock::time_point now) const;
  // Whether this node is the lowest-numbered node heard from that has read
  // the log back (`caught_up`: whether this one has); with `applying`, the
  // lowest of those that apply that room.
  bool lowest_caught_up(bool caught_up, Clock::time_point now,
                        const std::string* applying = nullptr) const;
  // The room log position every node heard from within `counted` has read
  // to (0: none, or one whose position is not known).
  std::uint64_t read_by_everyone(Clock::time_point now, std::chrono::milliseconds counted) const;
  // The rooms live nodes apply, with the info they show (the highest-numbered
  // node's where several do); `others`: this node's own left out.
  std::map<std::string, circle::v1::RoomInfo> rooms_applied(Clock::time_point now,
                                                            bool others) const;
  // Whether others may be judged now (find_stopped_nodes): `links`
  // (NatsCluster::links) has stayed the same while connected for a whole
  // node timeout, and this node's own heartbeats come back. Called every
  // heartbeat: a change of link starts the count again.
  bool may_judge(bool connected, std::uint64_t links, Clock::time_point now);
  // Of `prefixes` (a room's nodes), those not heard from for the node
  // timeout (never this node).
  std::vector<std::uint64_t> gone(const std::vector<std::uint64_t>& prefixes,
                                  Clock::time_point now) const;
  // A node was heard with other room limits than this one's.
  bool limits_differ() const;

 private:
  bool alive_locked(std::uint64_t prefix, Clock::time_point now) const;

  const std::uint64_t node_prefix_;
  const std::string limits_fingerprint_;  // see room_limits_fingerprint
  const std::chrono::milliseconds node_timeout_;
  const std::chrono::milliseconds heartbeat_;

  mutable std::mutex mutex_;  // guards all below; nothing is called under it
  // What each node said last, and when (this one included: its own
  // heartbeats come back); and since when the link has been up without a
  // break (others are judged only after a whole node timeout of it).
  struct HeardNode {
    Clock::time_point at;
    std::uint64_t position = 0;  // the last room log entry it applied
    bool caught_up = false;      // it has read the room log back
  };
  std::map<std::uint64_t, HeardNode> last_heard_;
  // The rooms each node applies, with their public info, as it said last.
  std::map<std::uint64_t, std::map<std::string, circle::v1::RoomInfo>> heard_rooms_;
  std::set<std::uint64_t> differing_nodes_;  // heard with other room limits
  std::uint64_t links_seen_ = 0;
  Clock::time_point up_since_;
};

}  // namespace circle::server
