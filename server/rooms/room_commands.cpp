#include "rooms/room_commands.hpp"

#include "replies.hpp"
#include "rooms/room_host.hpp"

namespace circle::server {
namespace {

using circle::v1::RoomCommand;
using circle::v1::ServerMessage;

// Answers the asking connection, if it is still open, through the room: while
// the store makes what the command did durable, the reply waits with the
// room's deliveries. `fill` puts a success into the reply.
template <class T, class Fill>
void answer(core::Room& room, const RoomCommand& command, const CommandContext& context,
            core::Result<T>& result, Fill fill) {
  if (context.requester.expired()) return;
  room.reply(context.requester,
             circle::wire::encode(make_reply(context.metrics, command.request_id(), result, fill)));
}

void join(core::Room& room, const RoomCommand& command, const CommandContext& context) {
  const auto& request = command.join();
  const core::Joiner joiner{.connection = command.connection(),
                            .display_name = request.display_name(),
                            .account_id = request.account_id(),
                            .is_admin = request.is_admin(),
                            .sink = context.requester,
                            .join_token = request.join_token(),
                            .invite_id = request.invite_id()};
  auto requester = context.requester.lock();
  // A connection that closed meanwhile does not join here (its leave
  // follows). Across nodes it does: the others cannot know it closed, and
  // they see its join and then its leave, like this node.
  if (!requester && !context.shared_with_other_nodes) return;
  auto joined = room.join(joiner, command.time_ms());
  if (!requester) return;
  if (!joined) requester->removed_from_room(room.id(), request.join_token());
  room.reply(requester,
             circle::wire::encode(make_reply(context.metrics, command.request_id(), joined,
                                             [&](ServerMessage& reply, core::JoinOutcome& outcome) {
                                               auto* response = reply.mutable_join_room();
                                               response->set_waiting(outcome.waiting);
                                               if (!outcome.snapshot) return;
                                               if (request.resume_after_seq() > 0) {
                                                 response->set_resumed(context.host.resume(
                                                     *outcome.snapshot, request.resume_after_seq(),
                                                     context.limits.max_resume_events));
                                               }
                                               *response->mutable_snapshot() =
                                                   std::move(*outcome.snapshot);
                                             })));
}

void leave(core::Room& room, const RoomCommand& command, const CommandContext& context) {
  if (command.request_id() == 0) {
    // The connection closed: nobody to answer, and it may be gone already
    // (or, for a leave stored late, in the room again by a newer join).
    const auto token = room.join_token_of(command.connection());
    if (token && (command.leave().join_token() == 0 || *token == command.leave().join_token())) {
      room.leave(command.connection(), command.leave().reason(), command.time_ms());
    }
    return;
  }
  auto left = room.leave(command.connection(), command.leave().reason(), command.time_ms());
  answer(room, command, context, left, [&](ServerMessage& reply, std::uint64_t seq) {
    reply.mutable_leave_room()->set_room_id(room.id());
    reply.mutable_leave_room()->set_seq(seq);
  });
}

void post(core::Room& room, const RoomCommand& command, const CommandContext& context) {
  const auto& request = command.post();
  context.host.recall_sent(request.account_id(), request.client_message_id());
  auto posted = room.post(command.connection(), request.text(), request.client_message_id(),
                          command.time_ms(), request.content_warning());
  answer(room, command, context, posted,
         [](ServerMessage& reply, circle::v1::SendMessageResponse& ack) {
           *reply.mutable_send_message() = std::move(ack);
         });
}

void act(core::Room& room, const RoomCommand& command, const CommandContext& context) {
  auto result = room.act(command.connection(), command.act(), command.time_ms());
  answer(room, command, context, result,
         [&](ServerMessage& reply, circle::v1::RoomActionResponse& done) {
           if (done.has_support()) {
             done.mutable_support()->set_resources(*context.support_resources.text());
           }
           *reply.mutable_room_action() = std::move(done);
         });
}

// Every connection of a node that stopped leaves, as if it had closed.
void node_gone(core::Room& room, const RoomCommand& command, const CommandContext& context) {
  const std::uint64_t gone = command.node_gone().node_prefix();
  const auto sinks = room.connections();
  const auto ids = room.connection_ids();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (node_prefix_of(ids[i]) != gone) continue;
    room.leave(ids[i], circle::v1::LEAVE_REASON_DISCONNECTED, command.time_ms());
    // Taken for gone while still here (it lost the cluster for too long):
    // its clients reconnect and join again.
    if (gone == context.own_node_prefix) {
      if (auto sink = sinks[i].lock())
        sink->must_reconnect("this server lost the cluster; reconnect");
    }
  }
}

}  // namespace

void apply_command(core::Room& room, const RoomCommand& command, const CommandContext& context) {
  switch (command.command_case()) {
    case RoomCommand::kJoin:
      return join(room, command, context);
    case RoomCommand::kLeave:
      return leave(room, command, context);
    case RoomCommand::kPost:
      return post(room, command, context);
    case RoomCommand::kAct:
      return act(room, command, context);
    case RoomCommand::kTick:
      return room.tick(command.time_ms());
    case RoomCommand::kNodeGone:
      return node_gone(room, command, context);
    case RoomCommand::kCreate:
    case RoomCommand::COMMAND_NOT_SET:
      return;
  }
}

}  // namespace circle::server
