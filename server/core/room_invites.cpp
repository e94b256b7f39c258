// Invite links: facilitators make and withdraw them (ACTION_INVITE); a guest
// who says hello with one may join this room only while it is open, and may
// come back after it closed once they have joined with it. The token itself
// is minted by the server before the room sees the request (the room has no
// secret), so every node applies the same invite.
#include <algorithm>

#include "core/policy.hpp"
#include "core/room.hpp"

namespace circle::core {

using namespace circle::v1;

namespace {

// Withdrawn, expired and used-up invites are kept (their guests may come
// back) up to this many times the open ones allowed, the oldest dropped.
constexpr std::size_t kInvitesKeptPerOpen = 4;

bool used_up(const Invite& invite) {
  return invite.max_uses() != 0 && invite.uses() >= invite.max_uses();
}

bool joined_with(const StoredInvite& invite, const std::string& account_id) {
  const auto& used_by = invite.used_by_accounts();
  return std::find(used_by.begin(), used_by.end(), account_id) != used_by.end();
}

}  // namespace

bool Room::invite_open(const StoredInvite& invite, std::int64_t now_ms) const {
  return !invite.revoked() && invite.invite().expires_at_unix_ms() > now_ms &&
         !used_up(invite.invite());
}

Room::ActionResult Room::create_invite(Member& actor, const CreateInvite& request,
                                       std::int64_t now_ms) {
  if (auto refused = authorize(ACTION_INVITE, actor.view.role(), std::nullopt, settings_)) {
    return *refused;
  }
  if (request.invite_id() == 0 || request.token().empty()) {
    return Refusal{ERROR_CODE_INVALID_ARGUMENT, "invite: the server makes the link"};
  }
  if (invites_.contains(request.invite_id())) {
    return Refusal{ERROR_CODE_INVALID_ARGUMENT, "invite: this invite exists already"};
  }
  const auto open = std::count_if(invites_.begin(), invites_.end(), [&](const auto& entry) {
    return invite_open(entry.second, now_ms);
  });
  if (static_cast<std::size_t>(open) >= limits_->max_invites) {
    return Refusal{ERROR_CODE_LIMIT_EXCEEDED, "invite: this room has " +
                                                  std::to_string(limits_->max_invites) +
                                                  " invite links open; withdraw one first"};
  }
  StoredInvite stored;
  auto& invite = *stored.mutable_invite();
  invite.set_invite_id(request.invite_id());
  invite.set_token(request.token());
  invite.set_created_at_unix_ms(now_ms);
  invite.set_expires_at_unix_ms(now_ms + std::int64_t{request.ttl_seconds()} * 1000);
  invite.set_max_uses(request.max_uses());
  *invite.mutable_created_by() = actor.view;
  invites_.emplace(invite.invite_id(), stored);
  // Bounded: the oldest closed invites go first.
  while (invites_.size() > limits_->max_invites * kInvitesKeptPerOpen) {
    auto oldest = invites_.end();
    for (auto it = invites_.begin(); it != invites_.end(); ++it) {
      if (invite_open(it->second, now_ms)) continue;
      if (oldest == invites_.end() ||
          it->second.invite().created_at_unix_ms() < oldest->second.invite().created_at_unix_ms()) {
        oldest = it;
      }
    }
    if (oldest == invites_.end()) break;
    invites_.erase(oldest);
  }
  audit(actor, "invite " + std::to_string(invite.invite_id()), nullptr,
        std::to_string(request.ttl_seconds()) + "s, " +
            (request.max_uses() ? std::to_string(request.max_uses()) + " uses" : "no use limit"),
        now_ms);
  send_invites(now_ms);
  RoomActionResponse reply = response(0);
  *reply.mutable_invite() = invite;
  return reply;
}

Room::ActionResult Room::revoke_invite(Member& actor, std::uint64_t invite_id,
                                       std::int64_t now_ms) {
  if (auto refused = authorize(ACTION_INVITE, actor.view.role(), std::nullopt, settings_)) {
    return *refused;
  }
  auto found = invites_.find(invite_id);
  if (found == invites_.end()) {
    return Refusal{ERROR_CODE_NOT_FOUND, "withdraw invite: no invite " + std::to_string(invite_id)};
  }
  found->second.set_revoked(true);
  audit(actor, "withdraw invite " + std::to_string(invite_id), nullptr, "", now_ms);
  send_invites(now_ms);
  return response(0);
}

std::optional<Refusal> Room::check_invite(const Joiner& joiner, std::int64_t now_ms) const {
  if (joiner.invite_id == 0) return std::nullopt;
  auto found = invites_.find(joiner.invite_id);
  if (found == invites_.end()) {
    return Refusal{ERROR_CODE_PERMISSION_DENIED, "join: this invite link is not for this room"};
  }
  const auto& invite = found->second;
  if (joined_with(invite, joiner.account_id)) return std::nullopt;  // may come back
  if (invite.revoked()) {
    return Refusal{ERROR_CODE_PERMISSION_DENIED,
                   "join: this invite link was withdrawn; ask the facilitator for a new one"};
  }
  if (invite.invite().expires_at_unix_ms() <= now_ms) {
    return Refusal{ERROR_CODE_PERMISSION_DENIED,
                   "join: this invite link has expired; ask the facilitator for a new one"};
  }
  if (used_up(invite.invite())) {
    return Refusal{ERROR_CODE_LIMIT_EXCEEDED,
                   "join: this invite link has been used as often as it may be; ask the "
                   "facilitator for a new one"};
  }
  return std::nullopt;
}

void Room::record_invite_use(const Joiner& joiner, std::int64_t now_ms) {
  if (joiner.invite_id == 0) return;
  auto found = invites_.find(joiner.invite_id);
  if (found == invites_.end()) return;
  auto& invite = found->second;
  if (joined_with(invite, joiner.account_id)) return;
  invite.add_used_by_accounts(joiner.account_id);
  invite.mutable_invite()->set_uses(invite.invite().uses() + 1);
  mark_state_changed();  // a use counts also after a restart
  send_invites(now_ms);
}

void Room::send_invites(std::int64_t now_ms) {
  PrivateEvent event = private_event(now_ms);
  auto* list = event.mutable_invites();
  for (const auto& [id, invite] : invites_) {
    if (invite_open(invite, now_ms)) *list->add_invites() = invite.invite();
  }
  send_to_facilitators(event);
}

}  // namespace circle::core
