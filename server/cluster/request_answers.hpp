// This node's requests on their way through the room log (cluster_backend.hpp):
// appended to the log, and answered once each, whichever comes first: the
// log handing the command back (applied, answered by its room), the log
// refusing it, or the node giving up on it. Leaves the log did not store
// are kept to be sent again.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "circle/v1/room_command.pb.h"
#include "cluster/nats/jetstream_log.hpp"
#include "cluster/replication_options.hpp"
#include "core/result.hpp"
#include "metrics.hpp"
#include "rooms/room_backend.hpp"

namespace circle::server {

class RequestAnswers {
 public:
  using Refused = std::function<void(const core::Refusal&)>;

  RequestAnswers(circle::cluster::JetStreamLog& log, Metrics& metrics,
                 const ReplicationOptions& options)
      : log_(log), metrics_(metrics), options_(options) {}

  // What applies the commands handed over; before anything is.
  void attach(CommandApplier& applier) { applier_ = &applier; }

  // The refusal of a request the cluster could not take, and `why`.
  static core::Refusal unavailable(const std::string& why);

  // Appends `command` to the room log (a room applied here, or not known
  // here): answered when the log hands it back, or `refused` (on any
  // thread) should the log not store it.
  void append(circle::v1::RoomCommand command, std::string message_id, Refused refused);
  // Hands a command from the log to its room; a join of this node's that
  // was answered "unavailable" and stored after all comes back as a leave
  // to relay.
  // `replay`: read again while going on from the room's copy.
  std::optional<circle::v1::RoomCommand> hand_over(
      const circle::cluster::JetStreamLog::Entry& entry, circle::v1::RoomCommand command,
      bool replay);
  // A request of this node's that its room will not be handed here: its
  // asker, if still waiting, is refused UNAVAILABLE, and a join comes back
  // as the leave to relay.
  std::optional<circle::v1::RoomCommand> give_up(const circle::v1::RoomCommand& command,
                                                 const std::string& why);

  // Keeps `command`, if a leave, to be sent again (it could not be stored).
  void keep_unsent_leave(const circle::v1::RoomCommand& command);
  // The leaves kept so far, to be sent again now.
  std::vector<circle::v1::RoomCommand> take_unsent_leaves();

 private:
  circle::cluster::JetStreamLog& log_;
  Metrics& metrics_;
  const ReplicationOptions& options_;
  CommandApplier* applier_ = nullptr;

  std::mutex mutex_;  // guards all below; nothing is called under it
  // Requests of this node relayed and not yet answered, or answered
  // "unavailable" (no answer in time) while they may yet be stored: one
  // answer each, whichever comes first; a refused one stored after all is
  // applied without a second answer.
  enum class Answer { kPending, kRefused };
  struct PendingAnswer {
    Answer answer = Answer::kPending;
    Refused refused;  // while pending
  };
  std::map<std::pair<core::ConnectionId, std::uint64_t>, PendingAnswer> answers_;
  // Leaves the log did not store: sent again until it does, or the member
  // would stay in the room on every node.
  std::vector<circle::v1::RoomCommand> unsent_leaves_;
};

}  // namespace circle::server
