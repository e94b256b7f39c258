// Room turns: raised hands and their queue, and speaking rounds.
#include <algorithm>

#include "core/policy.hpp"
#include "core/room.hpp"

namespace circle::core {

using namespace circle::v1;

void Room::lower_hand(std::uint64_t member_id) {
  hand_queue_.erase(std::remove(hand_queue_.begin(), hand_queue_.end(), member_id),
                    hand_queue_.end());
  if (Member* member = find_member(member_id)) member->view.set_hand_raised(false);
}

Room::ActionResult Room::set_hand(Member& actor, const SetHand& request, std::int64_t now_ms) {
  const bool own = request.member_id() == 0 || request.member_id() == actor.view.member_id();
  Member* target = own ? &actor : find_member(request.member_id());
  if (!target) return not_found("hand", "no member " + std::to_string(request.member_id()));
  if (!own) {
    if (request.raised()) {
      return Refusal{ERROR_CODE_INVALID_ARGUMENT, "raise hand: only your own hand"};
    }
    if (auto refused =
            authorize(ACTION_MODERATE, actor.view.role(), target->view.role(), settings_)) {
      return *refused;
    }
  } else if (request.raised()) {
    if (auto refused = authorize(ACTION_RAISE_HAND, actor.view.role(), std::nullopt, settings_)) {
      return *refused;
    }
    if (auto refused = check_paused(ACTION_RAISE_HAND, actor.view.role(), settings_)) {
      return *refused;
    }
    if (auto refused = check_agreement(actor, "raise hand")) return *refused;
  }
  if (target->view.hand_raised() == request.raised()) return response(0);
  if (request.raised()) {
    target->view.set_hand_raised(true);
    hand_queue_.push_back(target->view.member_id());
    if (!request.question().empty()) {
      PrivateEvent question = private_event(now_ms);
      *question.mutable_question()->mutable_from() = target->view;
      question.mutable_question()->set_text(request.question());
      send_to_facilitators(question);
    }
  } else {
    lower_hand(target->view.member_id());
  }
  return response(publish_members(
      {target}, request.raised() ? MEMBER_CHANGE_HAND_RAISED : MEMBER_CHANGE_HAND_LOWERED, &actor,
      "", now_ms));
}

Room::ActionResult Room::start_round(Member& actor, const StartRound& request,
                                     std::int64_t now_ms) {
  if (auto refused = authorize(ACTION_RUN_ROUND, actor.view.role(), std::nullopt, settings_)) {
    return *refused;
  }
  if (round_.active()) {
    return Refusal{ERROR_CODE_INVALID_ARGUMENT, "start round: a round is already running"};
  }
  Round round;
  round.set_active(true);
  if (request.order().empty()) {
    std::vector<std::uint64_t> order;
    for (const auto& [member_id, member] : members_) {
      if (member.view.role() != ROLE_OBSERVER) order.push_back(member.view.member_id());
    }
    std::sort(order.begin(), order.end());  // member ids grow in join order
    for (auto id : order) round.add_order(id);
  } else {
    for (auto id : request.order()) {
      if (!find_member(id)) return not_found("start round", "no member " + std::to_string(id));
      round.add_order(id);
    }
  }
  if (round.order().empty()) {
    return Refusal{ERROR_CODE_INVALID_ARGUMENT, "start round: no one here to take a turn"};
  }
  round.set_speaker_member_id(round.order(0));
  round_ = round;
  audit(actor, "start round", nullptr, "", now_ms);
  RoomEvent event;
  *event.mutable_round_updated()->mutable_round() = round_;
  event.mutable_round_updated()->set_change(ROUND_CHANGE_STARTED);
  *event.mutable_round_updated()->mutable_by() = actor.view;
  return response(publish(std::move(event), now_ms));
}

Room::ActionResult Room::advance_round(Member* actor, RoundChange change, std::int64_t now_ms) {
  if (!round_.active()) {
    return Refusal{ERROR_CODE_INVALID_ARGUMENT, "round: no round is running"};
  }
  const std::uint64_t previous = round_.speaker_member_id();
  std::uint64_t next = 0;
  if (change != ROUND_CHANGE_ENDED) {
    // The next speaker still present, after the current one in the order.
    const auto& order = round_.order();
    auto position = std::find(order.begin(), order.end(), previous);
    for (auto it = position == order.end() ? order.end() : std::next(position); it != order.end();
         ++it) {
      if (find_member(*it)) {
        next = *it;
        break;
      }
    }
  }
  round_.set_speaker_member_id(next);
  if (next == 0) round_.set_active(false);
  RoomEvent event;
  auto* updated = event.mutable_round_updated();
  *updated->mutable_round() = round_;
  updated->set_change(change);
  updated->set_previous_speaker_member_id(previous);
  if (actor) *updated->mutable_by() = actor->view;
  const std::uint64_t seq = publish(std::move(event), now_ms);
  if (!round_.active()) round_.Clear();
  return response(seq);
}

}  // namespace circle::core
