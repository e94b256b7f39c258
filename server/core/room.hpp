// One room's state and rules: members and their roles and flags, the
// gap-free event sequence, recent history, the waiting room, hands, rounds,
// support alerts and bans. Plain logic with no sockets or threads: the server
// runs each Room on its own strand, so a Room is never touched concurrently.
// Who may do what is decided by core/policy; this class applies the effects.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "circle/v1/circle.pb.h"
#include "circle/v1/room_command.pb.h"
#include "circle/wire.hpp"
#include "core/audit.hpp"
#include "core/event_sink.hpp"
#include "core/limits.hpp"
#include "core/rate_limit.hpp"
#include "core/result.hpp"

namespace circle::core {

// Who is asking: one connection, under a display name, as an account.
struct Joiner {
  ConnectionId connection = 0;
  std::string display_name;
  std::string account_id;
  // Operators are admins in every room.
  bool is_admin = false;
  std::weak_ptr<EventSink> sink;
  // The connection's own tag for this join, handed back on removal.
  std::uint64_t join_token = 0;
  // A guest's join: the invite it came with (0: an account token's).
  std::uint64_t invite_id = 0;
};

// What one room action produced, captured instead of delivered so that the
// server can make it durable first and deliver it after (Room::capture).
struct ActionOutput {
  // Deliveries in order: a frame for a sink, or "removed from the room".
  struct Delivery {
    std::weak_ptr<EventSink> sink;
    circle::wire::Frame frame;  // null: removed_from_room
    std::uint64_t join_token = 0;
  };
  std::vector<Delivery> deliveries;
  // Room events published: the frame every member got (a ServerMessage
  // carrying the event, serialised once) and what the store indexes.
  struct Event {
    std::uint64_t seq = 0;
    std::int64_t time_ms = 0;
    std::string sender_account;  // "" unless a message someone sent
    std::string client_message_id;
    circle::wire::Frame frame;
  };
  std::vector<Event> events;
  // Events rewritten in history (redactions): the store replaces them.
  std::vector<circle::v1::RoomEvent> rewritten;
  bool state_changed = false;    // durable_state() may differ
  bool history_cleared = false;  // the session ended: its messages are deleted
  // Moderation audit entries, stored in the same write as what they record.
  std::vector<AuditEntry> audit;
  std::string room_id;

  // Support alerts that went to the operators (the server tells them, then
  // the asker what it reached, on `asker`'s connections).
  struct Escalation {
    circle::v1::SupportEscalated escalated;
    std::vector<std::weak_ptr<EventSink>> asker;
  };
  std::vector<Escalation> escalations;

  // Sends answered with the ack of an earlier one (a retry): (account,
  // client_message_id). Should that earlier one fail to be stored, so does
  // this answer.
  std::vector<std::pair<std::string, std::string>> repeated_sends;

  // The requester's reply among the deliveries (Room::reply), if any.
  std::optional<std::size_t> reply;

  // Hands everything over, in order (when nothing needs to be stored first).
  void deliver_all() const;
  // Whether all it changed was posting messages (which Room::forget_unsaved
  // can take back); anything else changed the room's state in memory.
  bool only_posted_messages() const {
    return !state_changed && !history_cleared && audit.empty() && rewritten.empty() &&
           std::ranges::all_of(events, [](const Event& e) { return !e.sender_account.empty(); });
  }
};

// The answer to a join: a snapshot, or "wait to be admitted".
struct JoinOutcome {
  std::optional<circle::v1::RoomSnapshot> snapshot;
  bool waiting = false;
};

class Room {
 public:
  Room(std::string room_id, std::string title, circle::v1::RoomKind kind,
       std::string creator_account, std::int64_t created_at_ms, const Limits& limits,
       AuditSink* audit);
  // A room as it was stored: its durable state, its last seq and its most
  // recent events (oldest first) for the history late joiners see.
  Room(const circle::v1::StoredRoomState& state, std::uint64_t last_seq,
       std::vector<circle::v1::RoomEvent> recent, const Limits& limits, AuditSink* audit);

  // A whole copy made by replica() (several nodes: a starting node goes on
  // from it instead of the room log's start). Its connections have no sinks.
  Room(const circle::v1::RoomReplica& replica, const Limits& limits, AuditSink* audit);

  // A room read back from its store has no connections: everyone who was
  // in it when it was stored dropped at `now_ms` (a restart is a dropped
  // line), so they may come back into a locked room within the reconnect
  // window.
  void connections_lost(std::int64_t now_ms);

  // What must survive a restart.
  circle::v1::StoredRoomState durable_state() const;
  // Everything the room holds that commands read, after log entry
  // `log_position`: Room(replica()) takes the same turns as this room.
  circle::v1::RoomReplica replica(std::uint64_t log_position) const;
  // A message `account` sent earlier with `client_message_id` (a restored
  // room learns these from its store), so that a retry is not posted twice.
  void remember_sent(const std::string& account, const std::string& client_message_id,
                     std::uint64_t seq, std::int64_t time_ms);
  bool remembers_sent(const std::string& account, const std::string& client_message_id) const {
    return sent_.contains({account, client_message_id});
  }
  // Whether a send the room does not remember may still be in the store:
  // only once the room has forgotten some (its memory is bounded) or was
  // restored with more history than it read back. Until then a miss is
  // final and a new message costs no store lookup.
  bool may_have_forgotten_sent() const {
    return forgot_sent_ || limits_->remembered_client_message_ids == 0;
  }
  void mark_forgot_sent() { forgot_sent_ = true; }
  // The store could not keep what `output` published: its events leave the
  // room's history (nobody saw them; late joiners must not) and its sent
  // ids are forgotten (a retry is a new message, not "already posted").
  void forget_unsaved(const ActionOutput& output);

  // Every connection in the room or its waiting room.
  std::vector<std::weak_ptr<EventSink>> connections() const;
  std::vector<ConnectionId> connection_ids() const;
  // Takes over `previous`'s counters where they are higher, so that a room
  // read back from its store never hands out a seq, member id, waiting id or
  // alert id that `previous` already used.
  void continue_numbering_of(const Room& previous);
  const Limits& limits() const { return *limits_; }

  // While `output` is set, deliveries (and replies given to reply()) are
  // collected there in order instead of handed to sinks, and published
  // events and state changes are recorded. nullptr: deliver directly.
  void capture(ActionOutput* output) {
    output_ = output;
    if (output_) output_->room_id = room_id_;
  }
  // A reply to one connection, ordered after everything the room delivered
  // so far (and held with it while capturing).
  void reply(const std::weak_ptr<EventSink>& sink, circle::wire::Frame frame);

  const std::string& id() const { return room_id_; }
  std::size_t member_count() const { return members_.size(); }
  std::uint64_t last_seq() const { return last_seq_; }
  circle::v1::RoomInfo info() const;
  const circle::v1::RoomSettings& settings() const { return settings_; }
  bool is_member(ConnectionId connection) const { return member_of_.contains(connection); }
  bool is_waiting(ConnectionId connection) const;
  // The join token `connection` is in the room (or its waiting room) with.
  std::optional<std::uint64_t> join_token_of(ConnectionId connection) const;

  // Adds the joiner (or puts them in the waiting room), tells the others, and
  // returns the joiner's snapshot (which includes its own join event). An
  // account already in the room joins as that member: the same member id,
  // role and standing, with this connection as one more delivery (no event).
  Result<JoinOutcome> join(const Joiner& joiner, std::int64_t now_ms);

  // Removes `connection` (a member, or someone waiting) and tells the others.
  // Returns the seq of the MemberLeft event (0 for someone who was waiting,
  // or when the member is still here through another connection).
  Result<std::uint64_t> leave(ConnectionId connection, circle::v1::LeaveReason reason,
                              std::int64_t now_ms);

  // Appends a message from `connection` and delivers it to every member, the
  // sender included. Returns the acknowledgement.
  Result<circle::v1::SendMessageResponse> post(ConnectionId connection, const std::string& text,
                                               const std::string& client_message_id,
                                               std::int64_t now_ms,
                                               const std::string& content_warning = {});

  // Every other action: moderation, hands, rounds, support, settings.
  Result<circle::v1::RoomActionResponse> act(ConnectionId connection,
                                             const circle::v1::RoomActionRequest& request,
                                             std::int64_t now_ms);

  // Applies what time has done (timed mutes ending, a facilitator's grace
  // period running out). Call at next_deadline().
  void tick(std::int64_t now_ms);
  // When tick() next has something to do; nullopt: nothing pending.
  std::optional<std::int64_t> next_deadline() const;
  // Open alerts that went to the operators (an operator signing in later is
  // shown them).
  std::vector<circle::v1::SupportAlert> escalated_alerts() const;
  // How late expired history may leave (see next_deadline).
  static constexpr std::int64_t kHistoryExpiryStepMs = 10'000;

 private:
  // One of a member's connections: each gets its own delivery.
  struct Attachment {
    ConnectionId connection = 0;
    std::weak_ptr<EventSink> sink;
    std::uint64_t join_token = 0;
  };
  // One account in the room, through one or more connections.
  struct Member {
    circle::v1::Member view;  // what the room sees: never an account id
    std::string account_id;
    bool is_admin = false;
    std::vector<Attachment> attachments;
    std::int64_t last_post_ms = 0;
  };
  // What holds for an account while it is away (AccountStanding).
  struct Standing {
    bool muted = false;
    std::int64_t muted_until_ms = 0;
    bool has_floor = false;
    bool observer = false;
    // Left as one who may come back (0: removed, banned, session ended).
    std::int64_t left_ms = 0;
    // Read back from a store that had it present (see connections_lost).
    bool present_when_stored = false;
    // Whether it comes back past a lock or a waiting room at `now_ms`.
    bool returning(std::int64_t now_ms, std::int64_t window_ms) const;
  };
  struct Waiting {
    circle::v1::WaitingMember view;
    Joiner joiner;
  };
  using ActionResult = Result<circle::v1::RoomActionResponse>;
  ActionResult act_now(ConnectionId connection, const circle::v1::RoomActionRequest& request,
                       std::int64_t now_ms);

  // --- membership
  Member* find_member(std::uint64_t member_id);
  Member* find_connection(ConnectionId connection);
  Member* find_account(const std::string& account_id);
  // Lets the joiner in: as the member its account already is here, or as a
  // new member (admit). Returns the joiner's snapshot.
  circle::v1::RoomSnapshot enter(const Joiner& joiner, std::int64_t now_ms);
  circle::v1::RoomSnapshot admit(const Joiner& joiner, std::int64_t now_ms);
  circle::v1::RoomSnapshot snapshot_for(const Member& member, std::int64_t now_ms) const;
  circle::v1::Role role_on_join(const Joiner& joiner) const;
  // Takes a member (all its connections) out of the room after its
  // MemberLeft was published, keeping its account's standing; `may_return`:
  // it left or dropped (not removed, banned or ended), at `now_ms`.
  void drop(std::uint64_t member_id, bool may_return, std::int64_t now_ms);
  bool has_present_facilitator() const;
  // Anyone co-facilitator or above (an operator included) is here.
  bool anyone_facilitating() const;
  // Whether `account` left (or dropped) within the reconnect window: it
  // comes back into a locked room, past the waiting room.
  bool may_return(const std::string& account, std::int64_t now_ms) const;
  // Forgets standings that hold nothing any more (amortised: only once the
  // map has doubled since the last time).
  void forget_stale_standings(std::int64_t now_ms);
  static circle::v1::AccountStanding standing_of(const Member& member);
  // A member's standing once it is away; `left_ms` 0: it may not return.
  static Standing standing_while_away(const Member& member, std::int64_t left_ms);

  // --- delivery
  // Assigns the next seq and the time, keeps the event in history, serialises
  // it once and hands the same frame to every member's sink. Returns the seq.
  std::uint64_t publish(circle::v1::RoomEvent event, std::int64_t now_ms);
  std::uint64_t publish_members(std::vector<const Member*> members, circle::v1::MemberChange change,
                                const Member* by, const std::string& note, std::int64_t now_ms);
  // `by`: null when the server made the change by itself.
  std::uint64_t publish_settings(circle::v1::RoomChange change, const Member* by,
                                 std::int64_t now_ms);
  circle::v1::PrivateEvent private_event(std::int64_t now_ms) const;
  void send_private(const std::weak_ptr<EventSink>& sink, const circle::v1::PrivateEvent& event);
  // To every connection of `member`.
  void send_private(const Member& member, const circle::v1::PrivateEvent& event);
  void deliver_to_member(const Member& member, const circle::wire::Frame& frame);
  void send_to_facilitators(const circle::v1::PrivateEvent& event);
  void send_waiting_room(std::int64_t now_ms);
  // A member who just became a facilitator gets what facilitators see: the
  // waiting room, open support alerts and account ids.
  void brief_new_facilitator(const Member& member, std::int64_t now_ms);
  // Refuses `action` until the member accepted the room's agreement.
  Check check_agreement(const Member& member, const std::string& action) const;
  void audit(const Member& actor, const std::string& action, const Member* target,
             const std::string& reason, std::int64_t now_ms, std::string target_account = {});
  // An entry for what the server did by itself (a timer), not a member.
  void audit_by_server(const std::string& action, const std::string& target_account,
                       const std::string& reason, std::int64_t now_ms);

  // --- actions (dispatched by room_actions.cpp; each in the room_*.cpp for its job)
  ActionResult accept_agreement(Member& actor, std::int64_t now_ms);
  ActionResult set_muted(Member& actor, const circle::v1::SetMuted& request,
                         const std::string& reason, std::int64_t now_ms);
  ActionResult remove_member(Member& actor, std::uint64_t member_id, bool ban,
                             const std::string& reason, std::int64_t now_ms);
  ActionResult unban(Member& actor, const std::string& account_id, const std::string& reason,
                     std::int64_t now_ms);
  ActionResult set_waiting_room(Member& actor, bool enabled, std::int64_t now_ms);
  ActionResult decide_admission(Member& actor, std::optional<std::uint64_t> waiting_id,
                                bool admitted, std::int64_t now_ms);
  ActionResult set_locked(Member& actor, bool locked, std::int64_t now_ms);
  ActionResult set_paused(Member& actor, bool paused, const std::string& reason,
                          std::int64_t now_ms);
  ActionResult set_keep_open(Member& actor, bool keep_open, std::int64_t now_ms);
  // The grace period ended with nobody to take over (tick), and a
  // facilitator arriving (admit).
  void pause_without_facilitator(std::int64_t now_ms);
  void resume_with_facilitator(const Member& facilitator, std::int64_t now_ms);
  ActionResult edit_room(Member& actor, const circle::v1::EditRoom& request, std::int64_t now_ms);
  ActionResult set_ignored(Member& actor, const circle::v1::SetIgnored& request,
                           std::int64_t now_ms);
  // --- invite links (room_invites.cpp)
  ActionResult create_invite(Member& actor, const circle::v1::CreateInvite& request,
                             std::int64_t now_ms);
  ActionResult revoke_invite(Member& actor, std::uint64_t invite_id, std::int64_t now_ms);
  // Whether a guest's invite lets it in (nothing to check for others).
  std::optional<Refusal> check_invite(const Joiner& joiner, std::int64_t now_ms) const;
  // A guest got in with its invite (admitted, at once or from the waiting
  // room): one use, and the right to come back.
  void record_invite_use(const Joiner& joiner, std::int64_t now_ms);
  bool invite_open(const circle::v1::StoredInvite& invite, std::int64_t now_ms) const;
  void send_invites(std::int64_t now_ms);
  // The members present whom `member`'s account hides.
  std::vector<std::uint64_t> ignored_by(const Member& member) const;
  void send_ignore_list(const Member& member, std::int64_t now_ms);
  ActionResult set_content_warning(Member& actor, const circle::v1::SetContentWarning& request,
                                   std::int64_t now_ms);
  ActionResult redact(Member& actor, std::uint64_t seq, const std::string& reason,
                      std::int64_t now_ms);
  ActionResult set_pinned(Member& actor, std::uint64_t seq, bool pinned, std::int64_t now_ms);
  ActionResult set_slow_mode(Member& actor, std::uint32_t seconds, std::int64_t now_ms);
  ActionResult set_retention(Member& actor, std::uint32_t days, std::int64_t now_ms);
  ActionResult set_moderated(Member& actor, bool moderated, std::int64_t now_ms);
  ActionResult set_floor(Member& actor, std::uint64_t member_id, bool has_floor,
                         std::int64_t now_ms);
  ActionResult set_role(Member& actor, std::uint64_t member_id, circle::v1::Role role,
                        const std::string& reason, std::int64_t now_ms);
  ActionResult hand_over(Member& actor, std::uint64_t member_id, std::int64_t now_ms);
  ActionResult end_session(Member& actor, const std::string& reason, std::int64_t now_ms);
  ActionResult set_hand(Member& actor, const circle::v1::SetHand& request, std::int64_t now_ms);
  ActionResult start_round(Member& actor, const circle::v1::StartRound& request,
                           std::int64_t now_ms);
  ActionResult advance_round(Member* actor, circle::v1::RoundChange change, std::int64_t now_ms);
  ActionResult request_support(Member& actor, const std::string& text, std::int64_t now_ms);
  ActionResult acknowledge_support(Member& actor, std::uint64_t alert_id, std::int64_t now_ms);
  // The open alert `alert_id`, if `actor` may answer support alerts.
  Result<circle::v1::SupportAlert*> find_open_alert(const Member& actor, std::uint64_t alert_id,
                                                    const std::string& action);
  // The alert goes to the operators (ActionOutput::escalations), and the
  // room's facilitators are told.
  void escalate(circle::v1::SupportAlert& alert, circle::v1::EscalationReason reason,
                std::int64_t now_ms);
  ActionResult resolve_support(Member& actor, std::uint64_t alert_id, const std::string& note,
                               std::int64_t now_ms);
  // What the facilitators are told of an open report (when it is made, and
  // when one of them arrives later).
  circle::v1::PrivateEvent reported_event(const circle::v1::Report& report,
                                          std::int64_t now_ms) const;
  ActionResult resolve_report(Member& actor, const circle::v1::ResolveReport& request,
                              std::int64_t now_ms);
  ActionResult direct_message(Member& actor, const circle::v1::SendDirectMessage& request,
                              std::int64_t now_ms);
  ActionResult report_message(Member& actor, std::uint64_t seq, const std::string& reason,
                              std::int64_t now_ms);
  ActionResult set_permission(Member& actor, const circle::v1::SetPermission& request,
                              std::int64_t now_ms);
  // Moves facilitation to `next`; the previous holder (if present) becomes a
  // co-facilitator. `by` is null when the server does it after a grace period.
  std::uint64_t transfer_facilitation(Member* previous, Member& next, const Member* by,
                                      std::int64_t now_ms);
  circle::v1::RoomActionResponse response(std::uint64_t seq) const;
  circle::v1::RoomEvent* find_message(std::uint64_t seq);
  void lower_hand(std::uint64_t member_id);

  // Delivery goes through these two so that capture() can hold it.
  void deliver_to(const std::weak_ptr<EventSink>& sink, const circle::wire::Frame& frame);
  void tell_removed(const std::weak_ptr<EventSink>& sink, std::uint64_t join_token);
  // How long history is kept: the room's retention days, or the reconnect
  // window for an ephemeral room.
  std::int64_t history_kept_ms() const;
  // Drops history older than that (the store deletes it too).
  void forget_expired_history(std::int64_t now_ms);
  void mark_state_changed() {
    if (output_) output_->state_changed = true;
  }

  ActionOutput* output_ = nullptr;
  // (account, client_message_id) → the original ack; bounded, oldest out.
  std::map<std::pair<std::string, std::string>, circle::v1::SendMessageResponse> sent_;
  std::deque<std::pair<std::string, std::string>> sent_order_;
  bool forgot_sent_ = false;  // see may_have_forgotten_sent()
  // The account whose post is being published (for the store's retries).
  std::string posting_account_;

  std::string room_id_;
  std::int64_t created_at_ms_;
  const Limits* limits_;  // a pointer, so that a Room can be replaced by a reloaded one
  AuditSink* audit_;
  // Joins the room takes per second (facilitators are never held back): a
  // crowd of connections cannot flood the members with join events.
  RequestRateLimit join_throttle_{limits_->room_joins_per_second, limits_->room_join_burst, 0};
  circle::v1::RoomSettings settings_;
  // The account that facilitates (the creator until facilitation is handed on).
  std::string facilitator_account_;
  // When the facilitator left, while they may still come back.
  std::optional<std::int64_t> facilitator_left_ms_;

  std::uint64_t last_seq_ = 0;
  std::uint64_t last_member_id_ = 0;
  std::map<std::uint64_t, Member> members_;          // by member id: join order
  std::map<ConnectionId, std::uint64_t> member_of_;  // each connection's member id
  std::map<std::string, Standing> standings_;        // accounts away from the room
  std::size_t standings_after_last_sweep_ = 0;
  std::deque<circle::v1::RoomEvent> history_;
  std::set<std::string> banned_accounts_;
  std::set<std::string> cofacilitator_accounts_;
  std::set<std::string> accepted_accounts_;  // accepted the current agreement
  std::vector<Waiting> waiting_;
  std::uint64_t last_waiting_id_ = 0;
  std::vector<std::uint64_t> hand_queue_;
  circle::v1::Round round_;
  std::set<std::uint64_t> pinned_;
  std::map<std::uint64_t, circle::v1::SupportAlert> open_alerts_;
  std::uint64_t last_alert_id_ = 0;
  // Reports not yet resolved (durable), by report_id.
  std::map<std::uint64_t, circle::v1::Report> open_reports_;
  std::uint64_t last_report_id_ = 0;
  // Whom each account hides (SetIgnored), by account.
  std::map<std::string, std::set<std::string>> ignores_;
  // Invite links by id, withdrawn and expired ones too (see StoredInvite).
  std::map<std::uint64_t, circle::v1::StoredInvite> invites_;
};

}  // namespace circle::core
