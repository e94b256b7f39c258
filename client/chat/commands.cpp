#include "commands.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <sstream>

#include "render.hpp"

namespace circle::chat {
namespace {

using circle::client::RoomView;
using namespace circle::v1;

// Who may use a command: everyone, or those whose role meets an action's
// minimum in this room, or facilitators (co-facilitator and up).
struct Need {
  enum Kind { kEveryone, kAction, kFacilitator } kind = kEveryone;
  Action action = ACTION_UNSPECIFIED;
};

struct Command {
  const char* name;
  const char* usage;
  const char* help;
  Need need;
  // Builds the action from the arguments; returns an error text to show
  // instead, or nullopt when `action` is ready (or the command is done).
  std::function<std::optional<std::string>(std::istringstream& args, const RoomView& room,
                                           RoomActionRequest& action, std::string& done)>
      build;
};

std::string rest_of(std::istringstream& args) {
  std::string rest;
  std::getline(args >> std::ws, rest);
  return rest;
}

// "#12" or a display name -> member id.
std::optional<std::string> resolve(const std::string& who, const RoomView& room,
                                   std::uint64_t& member_id) {
  if (who.empty()) return "name a member (as shown by /who), or #id";
  if (who[0] == '#') {
    try {
      member_id = std::stoull(who.substr(1));
    } catch (...) {
      return "'" + who + "' is not a member id";
    }
    if (!room.member(member_id)) return "no one here has id " + who;
    return std::nullopt;
  }
  auto found = room.find_by_name(who);
  if (found.empty()) return "no one here is called '" + who + "' (see /who)";
  if (found.size() > 1) return "more than one member is called '" + who + "': use #id (see /who)";
  member_id = found[0]->member_id();
  return std::nullopt;
}

// "w3", "3" or a waiting person's name -> waiting id.
std::optional<std::string> resolve_waiting(const std::string& which, const RoomView& room,
                                           std::uint64_t& waiting_id) {
  if (which.empty()) return "name someone waiting (as the waiting room shows), or w#";
  const std::string digits = which[0] == 'w' ? which.substr(1) : which;
  if (!digits.empty() && std::isdigit(static_cast<unsigned char>(digits[0]))) {
    try {
      waiting_id = std::stoull(digits);
      return std::nullopt;
    } catch (...) {
    }
  }
  for (const auto& person : room.waiting()) {
    if (person.display_name() == which) {
      waiting_id = person.waiting_id();
      return std::nullopt;
    }
  }
  return "no one called '" + which + "' is waiting";
}

// An optional name: empty gives member id 0 (meaning "me" or "the next").
std::optional<std::string> resolve_optional(std::istringstream& args, const RoomView& room,
                                            std::uint64_t& member_id) {
  std::string who;
  args >> who;
  member_id = 0;
  if (who.empty()) return std::nullopt;
  return resolve(who, room, member_id);
}

std::optional<std::string> need_seq(std::istringstream& args, std::uint64_t& seq) {
  std::string word;
  args >> word;
  if (!word.empty() && word[0] == '#') word.erase(0, 1);
  try {
    seq = std::stoull(word);
    return std::nullopt;
  } catch (...) {
    return "give the message number shown as #N before it";
  }
}

std::optional<std::string> need_alert_id(std::istringstream& args, const std::string& usage,
                                         std::uint64_t& alert_id) {
  std::string word;
  args >> word;
  try {
    alert_id = std::stoull(word);
    return std::nullopt;
  } catch (...) {
    return "usage: " + usage + " (the alert's number is shown with it, and by /who)";
  }
}

std::optional<bool> on_off(std::istringstream& args) {
  std::string word;
  args >> word;
  if (word == "on") return true;
  if (word == "off") return false;
  return std::nullopt;
}

// A command aimed at one member: "/cmd name [reason...]".
Command member_command(const char* name, const char* help, Action action,
                       std::function<void(RoomActionRequest&, std::uint64_t)> set) {
  return {name,
          "<name> [reason]",
          help,
          {Need::kAction, action},
          [set](std::istringstream& args, const RoomView& room, RoomActionRequest& request,
                std::string&) -> std::optional<std::string> {
            std::string who;
            args >> who;
            std::uint64_t id = 0;
            if (auto error = resolve(who, room, id)) return error;
            set(request, id);
            request.set_reason(rest_of(args));
            return std::nullopt;
          }};
}

// A room switch: "/cmd on|off".
Command toggle_command(const char* name, const char* help, Action action,
                       std::function<void(RoomActionRequest&, bool)> set) {
  return {name,
          "on|off",
          help,
          {Need::kAction, action},
          [set](std::istringstream& args, const RoomView&, RoomActionRequest& request,
                std::string&) -> std::optional<std::string> {
            auto value = on_off(args);
            if (!value) return "say on or off";
            set(request, *value);
            return std::nullopt;
          }};
}

// "/ignore name" and "/unignore name": for everyone, about oneself only.
Command ignore_command(const char* name, const char* help, bool ignored) {
  return {name,
          "<name>",
          help,
          {},
          [ignored](std::istringstream& args, const RoomView& room, RoomActionRequest& r,
                    std::string& done) -> std::optional<std::string> {
            std::string who;
            args >> who;
            std::uint64_t id = 0;
            if (auto error = resolve(who, room, id)) return error;
            r.mutable_set_ignored()->set_member_id(id);
            r.mutable_set_ignored()->set_ignored(ignored);
            const std::string shown = sanitize(room.name_of(id), true);
            done = ignored ? "* You no longer see " + shown +
                                 "'s messages here, on any of your devices. They are not told. "
                                 "/unignore " +
                                 shown + " to see them again."
                           : "* You see " + shown + "'s messages again.";
            return std::nullopt;
          }};
}

// A command with no arguments.
Command plain_command(const char* name, const char* help, Need need,
                      std::function<void(RoomActionRequest&)> set, std::string done = {}) {
  return {name, "", help, need,
          [set, done](std::istringstream&, const RoomView&, RoomActionRequest& request,
                      std::string& reply) -> std::optional<std::string> {
            set(request);
            reply = done;
            return std::nullopt;
          }};
}

// A command whose argument is the rest of the line.
Command text_command(const char* name, const char* help, Action action,
                     std::function<void(RoomActionRequest&, const std::string&)> set) {
  return {name,
          "<text>",
          help,
          {Need::kAction, action},
          [set](std::istringstream& args, const RoomView&, RoomActionRequest& request,
                std::string&) -> std::optional<std::string> {
            set(request, rest_of(args));
            return std::nullopt;
          }};
}

// A command aimed at a message: "/cmd #N [reason...]".
Command message_command(const char* name, const char* usage, const char* help, Need need,
                        std::function<void(RoomActionRequest&, std::uint64_t)> set,
                        std::string done = {}) {
  return {name, usage, help, need,
          [set, done](std::istringstream& args, const RoomView&, RoomActionRequest& request,
                      std::string& reply) -> std::optional<std::string> {
            std::uint64_t seq = 0;
            if (auto error = need_seq(args, seq)) return error;
            set(request, seq);
            request.set_reason(rest_of(args));
            reply = done;
            return std::nullopt;
          }};
}

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      plain_command(
          "/accept", "accept the group agreement", {},
          [](RoomActionRequest& r) { r.mutable_accept_agreement(); },
          "* Thank you. You accepted the group agreement."),
      {"/agreement",
       "",
       "show the group agreement",
       {},
       [](auto&, const RoomView& room, RoomActionRequest&,
          std::string& done) -> std::optional<std::string> {
         done = room.settings().agreement().empty()
                    ? "* This room has no group agreement."
                    : "* Group agreement:\n    " + sanitize(room.settings().agreement(), false);
         return std::nullopt;
       }},
      {"/hand",
       "[question]",
       "raise your hand (a question goes to the facilitators only)",
       {Need::kAction, ACTION_RAISE_HAND},
       [](std::istringstream& args, const RoomView& room, RoomActionRequest& r,
          std::string& done) -> std::optional<std::string> {
         if (room.me() && room.me()->hand_raised()) {
           done = "* Your hand is already up. /lower takes it down.";
           return std::nullopt;  // nothing to send
         }
         r.mutable_set_hand()->set_raised(true);
         r.mutable_set_hand()->set_question(rest_of(args));
         return std::nullopt;
       }},
      {"/lower",
       "[name]",
       "lower your hand (facilitators: someone else's)",
       {},
       [](std::istringstream& args, const RoomView& room, RoomActionRequest& r,
          std::string&) -> std::optional<std::string> {
         std::uint64_t id = 0;
         if (auto error = resolve_optional(args, room, id)) return error;
         r.mutable_set_hand()->set_raised(false);
         r.mutable_set_hand()->set_member_id(id);
         return std::nullopt;
       }},
      plain_command("/pass", "pass your turn in a check-in round", {},
                    [](RoomActionRequest& r) { r.mutable_end_turn()->set_passed(true); }),
      plain_command("/done", "finish your turn in a check-in round", {},
                    [](RoomActionRequest& r) { r.mutable_end_turn()->set_passed(false); }),
      {"/support",
       "[message]",
       "privately ask the facilitators for support (no one else sees it)",
       {},
       [](std::istringstream& args, auto&, RoomActionRequest& r,
          std::string&) -> std::optional<std::string> {
         r.mutable_request_support()->set_text(rest_of(args));
         return std::nullopt;  // the reply says whom it reached (render_support_outcome)
       }},
      {"/dm",
       "<name|facilitators> <text>",
       "private message: to facilitators always, to others if the room allows",
       {},
       [](std::istringstream& args, const RoomView& room, RoomActionRequest& r,
          std::string& done) -> std::optional<std::string> {
         std::string who;
         args >> who;
         std::uint64_t id = 0;
         if (who != "facilitators") {
           if (auto error = resolve(who, room, id)) return error;
         }
         const std::string text = rest_of(args);
         if (text.empty()) return "usage: /dm <name|facilitators> <message>";
         r.mutable_send_direct_message()->set_member_id(id);
         r.mutable_send_direct_message()->set_text(text);
         done = "* (private, to " + sanitize(who, true) + ") " + sanitize(text, true);
         return std::nullopt;
       }},
      message_command(
          "/report", "<#N> [reason]", "report a message to the facilitators, privately", {},
          [](RoomActionRequest& r, std::uint64_t seq) { r.mutable_report_message()->set_seq(seq); },
          "* Reported to the facilitators. Thank you."),
      {"/mute",
       "<name> [10|10m|1h|30s] [reason]",
       "mute a member, optionally for a time (a bare number is minutes)",
       {Need::kAction, ACTION_MUTE},
       [](std::istringstream& args, const RoomView& room, RoomActionRequest& r,
          std::string&) -> std::optional<std::string> {
         std::string who, length;
         args >> who;
         std::uint64_t id = 0;
         if (auto error = resolve(who, room, id)) return error;
         auto* mute = r.mutable_set_muted();
         mute->set_member_id(id);
         mute->set_muted(true);
         const auto position = args.tellg();
         args >> length;
         if (auto seconds = parse_duration(length, 60)) {
           mute->set_duration_seconds(*seconds);
         } else {
           args.clear();
           args.seekg(position);
         }
         r.set_reason(rest_of(args));
         return std::nullopt;
       }},
      member_command("/unmute", "let a muted member speak again", ACTION_MUTE,
                     [](RoomActionRequest& r, std::uint64_t id) {
                       r.mutable_set_muted()->set_member_id(id);
                       r.mutable_set_muted()->set_muted(false);
                     }),
      member_command("/kick", "remove a member from the room (they may come back)", ACTION_REMOVE,
                     [](RoomActionRequest& r, std::uint64_t id) {
                       r.mutable_remove_member()->set_member_id(id);
                     }),
      member_command("/ban",
                     "remove a member and keep them out (until sign-in exists: that connection)",
                     ACTION_BAN,
                     [](RoomActionRequest& r, std::uint64_t id) {
                       r.mutable_set_banned()->set_member_id(id);
                       r.mutable_set_banned()->set_banned(true);
                     }),
      {"/unban",
       "<account-id>",
       "let a banned account back in",
       {Need::kAction, ACTION_BAN},
       [](std::istringstream& args, auto&, RoomActionRequest& r,
          std::string& done) -> std::optional<std::string> {
         std::string account;
         args >> account;
         if (account.empty()) return "usage: /unban <account-id> (as /who showed it)";
         r.mutable_set_banned()->set_banned(false);
         r.mutable_set_banned()->set_account_id(account);
         done = "* " + account + " may join again.";
         return std::nullopt;
       }},
      toggle_command(
          "/waiting", "turn the waiting room on or off", ACTION_MANAGE_WAITING_ROOM,
          [](RoomActionRequest& r, bool on) { r.mutable_set_waiting_room()->set_enabled(on); }),
      {"/admit",
       "<w#|name|all>",
       "let someone in from the waiting room",
       {Need::kAction, ACTION_MANAGE_WAITING_ROOM},
       [](std::istringstream& args, const RoomView& room, RoomActionRequest& r,
          std::string&) -> std::optional<std::string> {
         std::string which;
         args >> which;
         if (which == "all") {
           r.mutable_admit_all();
           return std::nullopt;
         }
         std::uint64_t id = 0;
         if (auto error = resolve_waiting(which, room, id)) return error;
         r.mutable_admit()->set_waiting_id(id);
         r.mutable_admit()->set_admitted(true);
         return std::nullopt;
       }},
      {"/deny",
       "<w#|name>",
       "turn someone in the waiting room away",
       {Need::kAction, ACTION_MANAGE_WAITING_ROOM},
       [](std::istringstream& args, const RoomView& room, RoomActionRequest& r,
          std::string&) -> std::optional<std::string> {
         std::string which;
         args >> which;
         std::uint64_t id = 0;
         if (auto error = resolve_waiting(which, room, id)) return error;
         r.mutable_admit()->set_waiting_id(id);
         r.mutable_admit()->set_admitted(false);
         return std::nullopt;
       }},
      plain_command("/lock", "no one new may join", {Need::kAction, ACTION_LOCK},
                    [](RoomActionRequest& r) { r.mutable_set_locked()->set_locked(true); }),
      plain_command("/unlock", "let people join again", {Need::kAction, ACTION_LOCK},
                    [](RoomActionRequest& r) { r.mutable_set_locked()->set_locked(false); }),
      plain_command("/pause",
                    "pause the room: only facilitators post, raise hands or message; no one "
                    "new joins",
                    {Need::kAction, ACTION_PAUSE},
                    [](RoomActionRequest& r) { r.mutable_set_paused()->set_paused(true); }),
      plain_command("/resume", "let everyone take part again", {Need::kAction, ACTION_PAUSE},
                    [](RoomActionRequest& r) { r.mutable_set_paused()->set_paused(false); }),
      toggle_command(
          "/keepopen", "stay open (on) or pause (off) when no facilitator is here", ACTION_PAUSE,
          [](RoomActionRequest& r, bool on) { r.mutable_set_keep_open()->set_keep_open(on); }),
      text_command("/title", "set the room's title", ACTION_EDIT_ROOM,
                   [](RoomActionRequest& r, const std::string& text) {
                     r.mutable_edit_room()->set_title(text);
                   }),
      text_command("/topic", "set the session's topic", ACTION_EDIT_ROOM,
                   [](RoomActionRequest& r, const std::string& text) {
                     r.mutable_edit_room()->set_topic(text);
                   }),
      text_command("/setagreement", "set the group agreement (everyone accepts it again)",
                   ACTION_EDIT_ROOM,
                   [](RoomActionRequest& r, const std::string& text) {
                     r.mutable_edit_room()->set_agreement(text);
                   }),
      message_command("/redact", "<#N> [reason]", "remove a message's text for everyone",
                      {Need::kAction, ACTION_REDACT},
                      [](RoomActionRequest& r,
                         std::uint64_t seq) { r.mutable_redact_message()->set_seq(seq); }),
      message_command("/pin", "<#N>", "pin a message", {Need::kAction, ACTION_PIN},
                      [](RoomActionRequest& r, std::uint64_t seq) {
                        r.mutable_set_pinned()->set_seq(seq);
                        r.mutable_set_pinned()->set_pinned(true);
                      }),
      message_command("/unpin", "<#N>", "unpin a message", {Need::kAction, ACTION_PIN},
                      [](RoomActionRequest& r, std::uint64_t seq) {
                        r.mutable_set_pinned()->set_seq(seq);
                        r.mutable_set_pinned()->set_pinned(false);
                      }),
      {"/slow",
       "<seconds|off>",
       "slow mode: one message per member every N seconds",
       {Need::kAction, ACTION_SLOW_MODE},
       [](std::istringstream& args, auto&, RoomActionRequest& r,
          std::string&) -> std::optional<std::string> {
         std::string word;
         args >> word;
         if (word == "off") {
           r.mutable_set_slow_mode()->set_seconds(0);
           return std::nullopt;
         }
         auto seconds = parse_duration(word);
         if (!seconds) return "usage: /slow <seconds|off>";
         r.mutable_set_slow_mode()->set_seconds(*seconds);
         return std::nullopt;
       }},
      {"/invite",
       "[how long, e.g. 1h, 1d] [uses]",
       "make an invite link for this room (default: a day, any number of people)",
       {Need::kAction, ACTION_INVITE},
       [](std::istringstream& args, auto&, RoomActionRequest& r,
          std::string&) -> std::optional<std::string> {
         std::string length = "1d";
         std::uint32_t uses = 0;
         args >> length >> uses;
         auto seconds = parse_duration(length, 3600);
         if (!seconds) return "usage: /invite [how long, e.g. 1h, 1d] [uses]";
         r.mutable_create_invite()->set_ttl_seconds(*seconds);
         r.mutable_create_invite()->set_max_uses(uses);
         return std::nullopt;  // the reply carries the link (render_invite)
       }},
      {"/uninvite",
       "<link id>",
       "withdraw an invite link: nobody who has not yet joined with it can",
       {Need::kAction, ACTION_INVITE},
       [](std::istringstream& args, auto&, RoomActionRequest& r,
          std::string& done) -> std::optional<std::string> {
         std::uint64_t id = 0;
         if (!(args >> id) || id == 0) return "usage: /uninvite <link id>";
         r.mutable_revoke_invite()->set_invite_id(id);
         done = "* Invite link " + std::to_string(id) + " withdrawn.";
         return std::nullopt;
       }},
      {"/retention",
       "<days|ephemeral>",
       "how long the room keeps its history (ephemeral: only for reconnects)",
       {Need::kAction, ACTION_EDIT_ROOM},
       [](std::istringstream& args, auto&, RoomActionRequest& r,
          std::string&) -> std::optional<std::string> {
         std::string word;
         args >> word;
         if (word == "ephemeral" || word == "0") {
           r.mutable_set_retention()->set_days(0);
           return std::nullopt;
         }
         std::uint32_t days = 0;
         const auto [end, error] = std::from_chars(word.data(), word.data() + word.size(), days);
         if (word.empty() || error != std::errc() || end != word.data() + word.size()) {
           return "usage: /retention <days|ephemeral>";
         }
         r.mutable_set_retention()->set_days(days);
         return std::nullopt;
       }},
      toggle_command(
          "/moderated", "only facilitators and those given the floor may speak", ACTION_MODERATE,
          [](RoomActionRequest& r, bool on) { r.mutable_set_moderated()->set_moderated(on); }),
      member_command("/floor", "give a member the floor", ACTION_MODERATE,
                     [](RoomActionRequest& r, std::uint64_t id) {
                       r.mutable_set_floor()->set_member_id(id);
                       r.mutable_set_floor()->set_has_floor(true);
                     }),
      member_command("/unfloor", "take the floor back", ACTION_MODERATE,
                     [](RoomActionRequest& r, std::uint64_t id) {
                       r.mutable_set_floor()->set_member_id(id);
                       r.mutable_set_floor()->set_has_floor(false);
                     }),
      {"/round",
       "start [names...]|skip|end",
       "run a check-in round (in join order, or the order you give)",
       {Need::kAction, ACTION_RUN_ROUND},
       [](std::istringstream& args, const RoomView& room, RoomActionRequest& r,
          std::string&) -> std::optional<std::string> {
         std::string what;
         args >> what;
         if (what == "skip") {
           r.mutable_skip_turn();
         } else if (what == "end") {
           r.mutable_end_round();
         } else if (what == "start") {
           auto* start = r.mutable_start_round();
           std::string who;
           while (args >> who) {
             std::uint64_t id = 0;
             if (auto error = resolve(who, room, id)) return error;
             start->add_order(id);
           }
         } else {
           return "usage: /round start [names...] | /round skip | /round end";
         }
         return std::nullopt;
       }},
      member_command("/promote", "make a member a co-facilitator", ACTION_PROMOTE,
                     [](RoomActionRequest& r, std::uint64_t id) {
                       r.mutable_set_role()->set_member_id(id);
                       r.mutable_set_role()->set_role(ROLE_CO_FACILITATOR);
                     }),
      member_command("/demote", "make a co-facilitator a participant again", ACTION_PROMOTE,
                     [](RoomActionRequest& r, std::uint64_t id) {
                       r.mutable_set_role()->set_member_id(id);
                       r.mutable_set_role()->set_role(ROLE_PARTICIPANT);
                     }),
      {"/handover",
       "[name]",
       "hand facilitation on (no name: the next member in turn)",
       {Need::kAction, ACTION_HAND_OVER},
       [](std::istringstream& args, const RoomView& room, RoomActionRequest& r,
          std::string&) -> std::optional<std::string> {
         std::uint64_t id = 0;
         if (auto error = resolve_optional(args, room, id)) return error;
         r.mutable_hand_over()->set_member_id(id);
         return std::nullopt;
       }},
      {"/ack",
       "<alert-id>",
       "tell a member you are responding to their support request",
       {Need::kFacilitator},
       [](std::istringstream& args, const RoomView& room, RoomActionRequest& r,
          std::string& done) -> std::optional<std::string> {
         std::uint64_t alert_id = 0;
         if (auto error = need_alert_id(args, "/ack <alert-id>", alert_id)) return error;
         r.mutable_acknowledge_support()->set_alert_id(alert_id);
         auto alert = room.open_alerts().find(alert_id);
         const std::string who = alert == room.open_alerts().end()
                                     ? "the member"
                                     : sanitize(alert->second.from().display_name(), true);
         done = "* Acknowledged: " + who +
                " has been told you are responding. Reach out to them, e.g. /dm " + who + " ...";
         return std::nullopt;
       }},
      {"/resolve",
       "<alert-id> [what was done]",
       "close a support alert, noting what was done (facilitators and the audit log see it)",
       {Need::kFacilitator},
       [](std::istringstream& args, const RoomView&, RoomActionRequest& r,
          std::string& done) -> std::optional<std::string> {
         std::uint64_t alert_id = 0;
         if (auto error = need_alert_id(args, "/resolve <alert-id> [what was done]", alert_id)) {
           return error;
         }
         r.mutable_resolve_support()->set_alert_id(alert_id);
         r.mutable_resolve_support()->set_note(rest_of(args));
         done = "* Support alert " + std::to_string(alert_id) + " resolved.";
         return std::nullopt;
       }},
      ignore_command("/ignore", "hide a member's messages, for you only (they are not told)", true),
      ignore_command("/unignore", "see a member's messages again", false),
      {"/cw",
       "#N <warning>|off",
       "put a content warning on a message, or take it off (off)",
       {Need::kAction, ACTION_REDACT},
       [](std::istringstream& args, const RoomView&, RoomActionRequest& r,
          std::string& done) -> std::optional<std::string> {
         std::uint64_t seq = 0;
         if (need_seq(args, seq)) return "usage: /cw #N <warning> (or /cw #N off)";
         std::string warning = rest_of(args);
         if (warning.empty()) return "usage: /cw #N <warning> (or /cw #N off)";
         if (warning == "off") warning.clear();
         r.mutable_set_content_warning()->set_seq(seq);
         r.mutable_set_content_warning()->set_content_warning(warning);
         done.clear();
         return std::nullopt;
       }},
      {"/closereport",
       "<report-id> <no-action|redacted|muted|removed|banned|other> [note]",
       "close a report, saying what was done (facilitators and the audit log see it)",
       {Need::kFacilitator},
       [](std::istringstream& args, const RoomView&, RoomActionRequest& r,
          std::string& done) -> std::optional<std::string> {
         const char* usage =
             "usage: /closereport <report-id> <no-action|redacted|muted|removed|banned|other> "
             "[note] (the report's number is shown with it, and by /who)";
         std::string id_word, outcome_word;
         args >> id_word >> outcome_word;
         std::string outcome_enum = "REPORT_OUTCOME_";
         for (char c : outcome_word) {
           outcome_enum += c == '-' ? '_' : static_cast<char>(std::toupper(c));
         }
         ReportOutcome outcome;
         std::uint64_t report_id = 0;
         try {
           report_id = std::stoull(id_word);
         } catch (...) {
           return usage;
         }
         if (!ReportOutcome_Parse(outcome_enum, &outcome) ||
             outcome == REPORT_OUTCOME_UNSPECIFIED) {
           return usage;
         }
         r.mutable_resolve_report()->set_report_id(report_id);
         r.mutable_resolve_report()->set_outcome(outcome);
         r.mutable_resolve_report()->set_note(rest_of(args));
         done = "* Report " + std::to_string(report_id) + " closed.";
         return std::nullopt;
       }},
      {"/allow",
       "<action> <role>",
       "change who may do something, e.g. /allow direct-message participant",
       {Need::kAction, ACTION_CHANGE_PERMISSIONS},
       [](std::istringstream& args, auto&, RoomActionRequest& r,
          std::string&) -> std::optional<std::string> {
         std::string action, role;
         args >> action >> role;
         std::string action_enum = "ACTION_", role_enum = "ROLE_";
         for (char c : action) action_enum += c == '-' ? '_' : static_cast<char>(std::toupper(c));
         for (char c : role) role_enum += c == '-' ? '_' : static_cast<char>(std::toupper(c));
         Action parsed_action;
         Role parsed_role;
         if (!Action_Parse(action_enum, &parsed_action) || !Role_Parse(role_enum, &parsed_role)) {
           return "usage: /allow <action> <role>, e.g. /allow send-message observer "
                  "(roles: observer, participant, co-facilitator, facilitator)";
         }
         r.mutable_set_permission()->set_action(parsed_action);
         r.mutable_set_permission()->set_min_role(parsed_role);
         return std::nullopt;
       }},
      {"/end",
       "[reason]",
       "end the session for everyone",
       {Need::kAction, ACTION_END_SESSION},
       [](std::istringstream& args, auto&, RoomActionRequest& r,
          std::string&) -> std::optional<std::string> {
         r.mutable_end_session();
         r.set_reason(rest_of(args));
         return std::nullopt;
       }},
  };
  return table;
}

bool allowed(const Need& need, const RoomView* room) {
  switch (need.kind) {
    case Need::kEveryone:
      return true;
    case Need::kFacilitator:
      return room && room->i_facilitate();
    case Need::kAction:
      return room && room->may(need.action);
  }
  return false;
}

}  // namespace

std::optional<std::uint32_t> parse_duration(const std::string& text,
                                            std::uint32_t bare_unit_seconds) {
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) return std::nullopt;
  std::size_t end = 0;
  unsigned long value = 0;
  try {
    value = std::stoul(text, &end);
  } catch (...) {
    return std::nullopt;
  }
  const std::string unit = text.substr(end);
  unsigned long scale = 0;
  if (unit.empty()) {
    scale = bare_unit_seconds;
  } else if (unit == "s") {
    scale = 1;
  } else if (unit == "m" || unit == "min") {
    scale = 60;
  } else if (unit == "h") {
    scale = 3600;
  } else if (unit == "d") {
    scale = 86400;
  } else {
    return std::nullopt;
  }
  if (value > 30UL * 24 * 3600 / scale) return std::nullopt;
  return static_cast<std::uint32_t>(value * scale);
}

bool run_room_command(const std::string& command, const std::string& args, CommandContext& ctx) {
  for (const auto& entry : commands()) {
    if (command != entry.name) continue;
    auto room = ctx.room();
    if (!room) {
      ctx.print("! You are not in a room. /join <room> first.");
      return true;
    }
    RoomActionRequest action;
    std::string done;
    std::istringstream words(args);
    if (auto error = entry.build(words, *room, action, done)) {
      ctx.print("! " + std::string(entry.name) + ": " + *error);
      return true;
    }
    if (action.action_case() == RoomActionRequest::ACTION_NOT_SET) {
      if (!done.empty()) ctx.print(done);  // answered locally
      return true;
    }
    ctx.act(action, done, entry.name);
    return true;
  }
  return false;
}

std::vector<std::string> commands_needing(Action action) {
  std::vector<std::string> names;
  for (const auto& entry : commands()) {
    if (entry.need.kind == Need::kAction && entry.need.action == action) {
      names.push_back(entry.name);
    }
  }
  return names;
}

std::vector<std::string> room_command_help(const RoomView* room) {
  std::vector<std::string> lines;
  for (const auto& entry : commands()) {
    if (!allowed(entry.need, room)) continue;
    std::string line = std::string("    ") + entry.name;
    if (*entry.usage) line += std::string(" ") + entry.usage;
    line.resize(std::max<std::size_t>(line.size() + 1, 40), ' ');
    lines.push_back(line + " " + entry.help);
  }
  return lines;
}

}  // namespace circle::chat
