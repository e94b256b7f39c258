#include "cluster/request_answers.hpp"

#include <chrono>

#include "clock.hpp"
#include "logging.hpp"
#include "rooms/room_commands.hpp"

namespace circle::server {
namespace {

using circle::cluster::JetStreamLog;
using Clock = std::chrono::steady_clock;

// Requests remembered as refused while they may yet be stored, at most (a
// command is answered or times out within the cluster's wait).
constexpr std::size_t kMaxRememberedAnswers = 100'000;
// Leaves kept to be sent again while the cluster is away, at most.
constexpr std::size_t kMaxUnsentLeaves = 100'000;

// The leave that undoes `join` (and only that join: its token).
circle::v1::RoomCommand leave_of(const circle::v1::RoomCommand& join) {
  circle::v1::RoomCommand leave;
  leave.set_room_id(join.room_id());
  leave.set_connection(join.connection());
  leave.set_time_ms(now_unix_ms());
  leave.mutable_leave()->set_reason(circle::v1::LEAVE_REASON_DISCONNECTED);
  leave.mutable_leave()->set_join_token(join.join().join_token());
  return leave;
}

}  // namespace

core::Refusal RequestAnswers::unavailable(const std::string& why) {
  return {circle::v1::ERROR_CODE_UNAVAILABLE,
          "not saved: this server cannot reach the cluster that keeps rooms just now (" + why +
              "), so nothing was acknowledged or shown; try again in a moment"};
}

void RequestAnswers::keep_unsent_leave(const circle::v1::RoomCommand& command) {
  // A leave must reach the log in the end, or the member stays everywhere:
  // one that cannot be stored now is sent again (as the connection's
  // disconnect, answered or not) until it is.
  if (!command.has_leave()) return;
  auto again = command;
  again.set_request_id(0);
  again.mutable_leave()->set_reason(circle::v1::LEAVE_REASON_DISCONNECTED);
  std::lock_guard lock(mutex_);
  if (unsent_leaves_.size() < kMaxUnsentLeaves) unsent_leaves_.push_back(std::move(again));
}

std::vector<circle::v1::RoomCommand> RequestAnswers::take_unsent_leaves() {
  std::lock_guard lock(mutex_);
  return std::exchange(unsent_leaves_, {});
}

void RequestAnswers::append(circle::v1::RoomCommand command, std::string message_id,
                            Refused refused) {
  auto keep_leave = [this](const circle::v1::RoomCommand& command) { keep_unsent_leave(command); };
  const bool create = command.has_create();
  const auto room_id = command.room_id();
  const auto key = std::make_pair(command.connection(), command.request_id());
  const bool answered = key.second != 0;
  if (answered) {
    std::lock_guard lock(mutex_);
    // Refusals whose entry never came are forgotten first; a pending one
    // is still to be answered (pending ones are bounded by what is in flight).
    if (answers_.size() >= kMaxRememberedAnswers) {
      std::erase_if(answers_,
                    [](const auto& kept) { return kept.second.answer == Answer::kRefused; });
    }
    answers_[key] = {.answer = Answer::kPending, .refused = refused};
  }
  const auto queued_at = Clock::now();
  auto leave = command.has_leave() ? std::optional(command) : std::nullopt;
  // A room is created only by the first entry of its creation subject, so
  // two nodes cannot both create it.
  log_.append_async(
      room_id, create ? JetStreamLog::Topic::kCreation : JetStreamLog::Topic::kEvents,
      command.SerializeAsString(), create ? std::optional<std::uint64_t>(0) : std::nullopt,
      message_id,
      [this, create, room_id, key, answered, queued_at, leave = std::move(leave), keep_leave,
       refused = std::move(refused)](const JetStreamLog::Appended& appended) {
        using Outcome = JetStreamLog::Outcome;
        metrics_.store_commit.observe(Clock::now() - queued_at);
        if (appended.outcome == Outcome::kStored || appended.outcome == Outcome::kDuplicate) return;
        if (answered) {
          // Answered already if the log handed the command back first (an
          // ack lost after it was stored); else answered here, once.
          std::lock_guard lock(mutex_);
          auto found = answers_.find(key);
          if (found == answers_.end() || found->second.answer != Answer::kPending) return;
          if (appended.outcome == Outcome::kConflict) {
            answers_.erase(found);
          } else {
            found->second = {.answer = Answer::kRefused, .refused = {}};
          }
        }
        if (appended.outcome == Outcome::kConflict && create) {
          return refused({circle::v1::ERROR_CODE_ROOM_ALREADY_EXISTS,
                          "create room: room '" + room_id + "' already exists"});
        }
        spdlog::error("room={} room log append failed: {}", room_id, appended.error);
        metrics_.store_failures.add();
        if (leave) keep_leave(*leave);
        refused(unavailable(appended.error));
      });
}

std::optional<circle::v1::RoomCommand> RequestAnswers::hand_over(const JetStreamLog::Entry& entry,
                                                                 circle::v1::RoomCommand command,
                                                                 bool replay) {
  bool answered_already = false;
  bool waiting = false;
  const bool ours = node_prefix_of(command.connection()) == options_.node_prefix;
  if (ours && command.request_id() != 0) {
    std::lock_guard lock(mutex_);
    if (auto found = answers_.find({command.connection(), command.request_id()});
        found != answers_.end()) {
      answered_already = found->second.answer == Answer::kRefused;
      waiting = !answered_already;
      answers_.erase(found);
    }
  }
  // Only this node's connections can be answered here; a request read again
  // while going on from the room's copy only if it still waits (one this
  // node applied before is not answered twice, nor its events sent again).
  std::weak_ptr<core::EventSink> requester;
  if (ours && !answered_already && (!replay || waiting)) {
    requester = options_.find_connection(command.connection());
  }
  // Stored after all, though its connection was told otherwise and forgot
  // it: that join (and only that one) leaves again.
  std::optional<circle::v1::RoomCommand> stray_leave;
  if (answered_already && command.has_join()) stray_leave = leave_of(command);
  applier_->apply(std::move(command), std::move(requester), entry.sequence);
  return stray_leave;
}

std::optional<circle::v1::RoomCommand> RequestAnswers::give_up(
    const circle::v1::RoomCommand& command, const std::string& why) {
  if (node_prefix_of(command.connection()) != options_.node_prefix || command.request_id() == 0) {
    return std::nullopt;
  }
  Refused refused;
  {
    std::lock_guard lock(mutex_);
    const auto found = answers_.find({command.connection(), command.request_id()});
    if (found == answers_.end() || found->second.answer != Answer::kPending) return std::nullopt;
    refused = std::move(found->second.refused);
    answers_.erase(found);
  }
  if (refused) refused(unavailable(why));
  if (!command.has_join()) return std::nullopt;
  return leave_of(command);
}

}  // namespace circle::server
