// Room actions: act() hands each RoomActionRequest to its handler in the room_*.cpp for its job.
// Each handler checks core/policy first (a refusal changes nothing), then changes the room,
// publishes the room event where the room should see it (or a private event where it should
// not), and writes the audit log.
#include "core/policy.hpp"
#include "core/room.hpp"

namespace circle::core {

using namespace circle::v1;

RoomActionResponse Room::response(std::uint64_t seq) const {
  RoomActionResponse response;
  response.set_room_id(room_id_);
  response.set_seq(seq);
  return response;
}

Result<RoomActionResponse> Room::act(ConnectionId connection, const RoomActionRequest& request,
                                     std::int64_t now_ms) {
  auto result = act_now(connection, request, now_ms);
  // Coarse on purpose: actions are rare next to messages, and saving the
  // room's state after each one cannot miss a change.
  if (result) mark_state_changed();
  return result;
}

Result<RoomActionResponse> Room::act_now(ConnectionId connection, const RoomActionRequest& request,
                                         std::int64_t now_ms) {
  Member* actor = find_connection(connection);
  if (!actor)
    return Refusal{ERROR_CODE_NOT_IN_ROOM,
                   "this connection has not joined room '" + room_id_ + "'"};
  const std::string& reason = request.reason();
  switch (request.action_case()) {
    case RoomActionRequest::kAcceptAgreement:
      return accept_agreement(*actor, now_ms);
    case RoomActionRequest::kSetMuted:
      return set_muted(*actor, request.set_muted(), reason, now_ms);
    case RoomActionRequest::kRemoveMember:
      return remove_member(*actor, request.remove_member().member_id(), false, reason, now_ms);
    case RoomActionRequest::kSetBanned:
      if (request.set_banned().banned()) {
        return remove_member(*actor, request.set_banned().member_id(), true, reason, now_ms);
      }
      return unban(*actor, request.set_banned().account_id(), reason, now_ms);
    case RoomActionRequest::kSetWaitingRoom:
      return set_waiting_room(*actor, request.set_waiting_room().enabled(), now_ms);
    case RoomActionRequest::kAdmit:
      return decide_admission(*actor, request.admit().waiting_id(), request.admit().admitted(),
                              now_ms);
    case RoomActionRequest::kAdmitAll:
      return decide_admission(*actor, std::nullopt, true, now_ms);
    case RoomActionRequest::kSetLocked:
      return set_locked(*actor, request.set_locked().locked(), now_ms);
    case RoomActionRequest::kSetPaused:
      return set_paused(*actor, request.set_paused().paused(), reason, now_ms);
    case RoomActionRequest::kSetIgnored:
      return set_ignored(*actor, request.set_ignored(), now_ms);
    case RoomActionRequest::kSetContentWarning:
      return set_content_warning(*actor, request.set_content_warning(), now_ms);
    case RoomActionRequest::kResolveReport:
      return resolve_report(*actor, request.resolve_report(), now_ms);
    case RoomActionRequest::kSetKeepOpen:
      return set_keep_open(*actor, request.set_keep_open().keep_open(), now_ms);
    case RoomActionRequest::kEditRoom:
      return edit_room(*actor, request.edit_room(), now_ms);
    case RoomActionRequest::kRedactMessage:
      return redact(*actor, request.redact_message().seq(), reason, now_ms);
    case RoomActionRequest::kSetPinned:
      return set_pinned(*actor, request.set_pinned().seq(), request.set_pinned().pinned(), now_ms);
    case RoomActionRequest::kSetSlowMode:
      return set_slow_mode(*actor, request.set_slow_mode().seconds(), now_ms);
    case RoomActionRequest::kSetRetention:
      return set_retention(*actor, request.set_retention().days(), now_ms);
    case RoomActionRequest::kSetModerated:
      return set_moderated(*actor, request.set_moderated().moderated(), now_ms);
    case RoomActionRequest::kSetFloor:
      return set_floor(*actor, request.set_floor().member_id(), request.set_floor().has_floor(),
                       now_ms);
    case RoomActionRequest::kSetRole:
      return set_role(*actor, request.set_role().member_id(), request.set_role().role(), reason,
                      now_ms);
    case RoomActionRequest::kHandOver:
      return hand_over(*actor, request.hand_over().member_id(), now_ms);
    case RoomActionRequest::kEndSession:
      return end_session(*actor, reason, now_ms);
    case RoomActionRequest::kSetHand:
      return set_hand(*actor, request.set_hand(), now_ms);
    case RoomActionRequest::kStartRound:
      return start_round(*actor, request.start_round(), now_ms);
    case RoomActionRequest::kEndTurn: {
      if (!round_.active() || round_.speaker_member_id() != actor->view.member_id()) {
        return Refusal{ERROR_CODE_PERMISSION_DENIED, "end turn: it is not your turn"};
      }
      return advance_round(
          actor, request.end_turn().passed() ? ROUND_CHANGE_PASSED : ROUND_CHANGE_FINISHED, now_ms);
    }
    case RoomActionRequest::kSkipTurn:
      if (auto refused = authorize(ACTION_RUN_ROUND, actor->view.role(), std::nullopt, settings_)) {
        return *refused;
      }
      return advance_round(actor, ROUND_CHANGE_SKIPPED, now_ms);
    case RoomActionRequest::kEndRound:
      if (auto refused = authorize(ACTION_RUN_ROUND, actor->view.role(), std::nullopt, settings_)) {
        return *refused;
      }
      return advance_round(actor, ROUND_CHANGE_ENDED, now_ms);
    case RoomActionRequest::kRequestSupport:
      return request_support(*actor, request.request_support().text(), now_ms);
    case RoomActionRequest::kAcknowledgeSupport:
      return acknowledge_support(*actor, request.acknowledge_support().alert_id(), now_ms);
    case RoomActionRequest::kResolveSupport:
      return resolve_support(*actor, request.resolve_support().alert_id(),
                             request.resolve_support().note(), now_ms);
    case RoomActionRequest::kSendDirectMessage:
      return direct_message(*actor, request.send_direct_message(), now_ms);
    case RoomActionRequest::kReportMessage:
      return report_message(*actor, request.report_message().seq(), reason, now_ms);
    case RoomActionRequest::kCreateInvite:
      return create_invite(*actor, request.create_invite(), now_ms);
    case RoomActionRequest::kRevokeInvite:
      return revoke_invite(*actor, request.revoke_invite().invite_id(), now_ms);
    case RoomActionRequest::kSetPermission:
      return set_permission(*actor, request.set_permission(), now_ms);
    case RoomActionRequest::ACTION_NOT_SET:
      break;
  }
  return Refusal{ERROR_CODE_INVALID_ARGUMENT, "room action: no action given"};
}

}  // namespace circle::core
