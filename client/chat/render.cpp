#include "render.hpp"

#include <chrono>
#include <ctime>
#include <sstream>

namespace circle::chat {

std::string role_name(circle::v1::Role role) {
  switch (role) {
    case circle::v1::ROLE_OBSERVER:
      return "observer";
    case circle::v1::ROLE_PARTICIPANT:
      return "participant";
    case circle::v1::ROLE_CO_FACILITATOR:
      return "co-facilitator";
    case circle::v1::ROLE_FACILITATOR:
      return "facilitator";
    default:
      return "member";
  }
}

std::string error_code_name(circle::v1::ErrorCode code) {
  std::string name = circle::v1::ErrorCode_Name(code);
  constexpr std::string_view prefix = "ERROR_CODE_";
  if (name.starts_with(prefix)) name.erase(0, prefix.size());
  return name.empty() ? "ERROR_" + std::to_string(static_cast<int>(code)) : name;
}

std::string sanitize(const std::string& text, bool single_line) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c == '\n') {
      out += single_line ? "\\n" : "\n    ";
    } else if (c == '\t') {
      out += "    ";
    } else if (c < 0x20 || c == 0x7f) {
      out += '?';
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

namespace {

std::string clock_time(std::int64_t unix_ms, bool local) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm parts{};
  if (local) {
    localtime_r(&seconds, &parts);
  } else {
    gmtime_r(&seconds, &parts);
  }
  char text[8];
  std::strftime(text, sizeof text, "%H:%M", &parts);
  return text;
}

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string name_of(const circle::v1::Member& member) {
  return sanitize(member.display_name(), true);
}

}  // namespace

namespace {

using namespace circle::v1;

// "no-action", "redacted", ...: as /closereport takes them.
std::string report_outcome_name(ReportOutcome outcome) {
  std::string name = ReportOutcome_Name(outcome);
  name.erase(0, std::string("REPORT_OUTCOME_").size());
  for (auto& c : name) c = c == '_' ? '-' : static_cast<char>(std::tolower(c));
  return name;
}

std::string with_note(const std::string& note) {
  return note.empty() ? "" : ": " + sanitize(note, true);
}

// "45 s", "10 min", "1 h 30 min".
std::string duration_text(std::int64_t ms) {
  const std::int64_t seconds = (ms + 999) / 1000;
  if (seconds < 60) return std::to_string(seconds) + " s";
  const std::int64_t minutes = (seconds + 59) / 60;
  if (minutes < 60) return std::to_string(minutes) + " min";
  return std::to_string(minutes / 60) + " h" +
         (minutes % 60 ? " " + std::to_string(minutes % 60) + " min" : "");
}

std::string names(const google::protobuf::RepeatedField<std::uint64_t>& ids,
                  const circle::client::RoomView* room) {
  std::string list;
  for (auto id : ids) {
    if (!list.empty()) list += ", ";
    list += room ? sanitize(room->name_of(id), true) : "#" + std::to_string(id);
  }
  return list;
}

std::string name_for(std::uint64_t id, const circle::client::RoomView* room) {
  return room ? sanitize(room->name_of(id), true) : "member " + std::to_string(id);
}

std::string render_member_update(const MemberUpdated& update, std::int64_t event_ms,
                                 const circle::client::RoomView* room) {
  const std::string by = update.has_by() ? name_of(update.by()) : "";
  std::string who;
  for (const auto& member : update.members()) {
    if (!who.empty()) who += ", ";
    who += name_of(member);
  }
  const std::string note = with_note(update.note());
  if (update.members().empty()) return "* (a member update without members)";
  switch (update.change()) {
    case MEMBER_CHANGE_MUTED: {
      const auto& member = update.members(0);
      std::string length;
      if (member.muted_until_unix_ms() > 0) {
        length = " for " + duration_text(member.muted_until_unix_ms() - event_ms);
      }
      return "* " + by + " muted " + who + length + note;
    }
    case MEMBER_CHANGE_UNMUTED:
      return "* " + who + " can speak again" + (by.empty() ? "" : " (unmuted by " + by + ")");
    case MEMBER_CHANGE_FLOOR_GIVEN:
      return "* " + by + " gave " + who + " the floor";
    case MEMBER_CHANGE_FLOOR_TAKEN:
      return "* " + by + " took the floor back from " + who;
    case MEMBER_CHANGE_ROLE:
      return "* " + by + " made " + who + " " + role_name(update.members(0).role()) + note;
    case MEMBER_CHANGE_FACILITATION: {
      const auto& next = update.members(update.members_size() - 1);
      return "* " + name_of(next) + " now facilitates" +
             (by.empty() ? " (the facilitator did not come back)" : " (handed over by " + by + ")");
    }
    case MEMBER_CHANGE_HAND_RAISED:
      return "* " + who + " raised a hand" +
             (room ? " (" + std::to_string(room->hand_queue().size()) + " waiting)" : "");
    case MEMBER_CHANGE_HAND_LOWERED:
      return "* " + who + "'s hand is down";
    case MEMBER_CHANGE_AGREEMENT_ACCEPTED:
      return "* " + who + " accepted the group agreement";
    default:
      return "* " + who + " changed";
  }
}

std::string render_room_update(const RoomUpdated& update, const circle::client::RoomView* room) {
  const std::string by = name_of(update.by());
  const auto& settings = update.settings();
  switch (update.change()) {
    case ROOM_CHANGE_DETAILS:
      return "* " + by + " updated the room: \"" + sanitize(settings.title(), true) + "\"" +
             (settings.topic().empty() ? "" : ", topic: " + sanitize(settings.topic(), true));
    case ROOM_CHANGE_AGREEMENT:
      return settings.agreement().empty()
                 ? "* " + by + " removed the group agreement"
                 : "* " + by + " set the group agreement:\n    " +
                       sanitize(settings.agreement(), false) +
                       (room && room->me() && room->me()->agreement_accepted()
                            ? ""
                            : "\n  Type /accept to agree to it before you post.");
    case ROOM_CHANGE_LOCK:
      return "* " + by +
             (settings.locked() ? " locked the room: no one new can join" : " unlocked the room");
    case ROOM_CHANGE_WAITING_ROOM:
      return "* " + by +
             (settings.waiting_room() ? " turned the waiting room on"
                                      : " turned the waiting room off");
    case ROOM_CHANGE_MODERATED:
      return "* " + by +
             (settings.moderated() ? " turned moderated mode on: raise your hand (/hand) to speak"
                                   : " turned moderated mode off: everyone may speak");
    case ROOM_CHANGE_SLOW_MODE:
      return "* " + by +
             (settings.slow_mode_seconds() ? " set slow mode: one message every " +
                                                 std::to_string(settings.slow_mode_seconds()) + " s"
                                           : " turned slow mode off");
    case ROOM_CHANGE_RETENTION:
      return "* " + by +
             (settings.history_retention_days()
                  ? " set the room to keep its history " +
                        std::to_string(settings.history_retention_days()) + " days"
                  : " made the room ephemeral: history is kept only long enough to reconnect, "
                    "then deleted");
    case ROOM_CHANGE_PERMISSIONS:
      return "* " + by + " changed who may do what (/help shows what you can do)";
    case ROOM_CHANGE_PAUSE:
      if (!settings.paused()) {
        return "* " + by + " resumed the room: everyone may take part again";
      }
      if (settings.pause_cause() == PAUSE_CAUSE_NO_FACILITATOR) {
        return "* The room is paused: no facilitator is here right now. It goes on when one "
               "returns. /support still reaches help.";
      }
      return "* " + by +
             " paused the room: for now only facilitators may post, raise hands or message; "
             "/support still reaches them";
    case ROOM_CHANGE_KEEP_OPEN:
      return "* " + by +
             (settings.keep_open_without_facilitator()
                  ? " set the room to stay open when no facilitator is here"
                  : " set the room to pause itself when no facilitator is here");
    default:
      return "* " + by + " changed the room";
  }
}

std::string render_round(const RoundUpdated& update, const circle::client::RoomView* room) {
  const auto& round = update.round();
  const std::string next =
      round.active() ? " " + name_for(round.speaker_member_id(), room) + "'s turn." : "";
  const std::string previous = name_for(update.previous_speaker_member_id(), room);
  switch (update.change()) {
    case ROUND_CHANGE_STARTED:
      return "* " + name_of(update.by()) + " started a round: " + names(round.order(), room) + "." +
             next + " (/done when finished, /pass to pass)";
    case ROUND_CHANGE_FINISHED:
      return "* " + previous + " finished." + (round.active() ? next : " The round is over.");
    case ROUND_CHANGE_PASSED:
      return "* " + previous + " passed." + (round.active() ? next : " The round is over.");
    case ROUND_CHANGE_SKIPPED:
      return "* " + previous + " was skipped." + (round.active() ? next : " The round is over.");
    case ROUND_CHANGE_ENDED:
      return "* The round is over.";
    default:
      return "* The round changed." + next;
  }
}

std::string render_left(const MemberLeft& left) {
  const std::string who = name_of(left.member());
  switch (left.reason()) {
    case LEAVE_REASON_DISCONNECTED:
      return "* " + who + " disconnected";
    case LEAVE_REASON_REMOVED:
      return "* " + who + " was removed by " + name_of(left.by()) + with_note(left.note());
    case LEAVE_REASON_BANNED:
      return "* " + who + " was banned by " + name_of(left.by()) + with_note(left.note());
    default:
      return "* " + who + " left";
  }
}

std::string prefix(std::int64_t unix_ms, const std::string& room_id, const RenderOptions& options) {
  std::string line = "[" + clock_time(unix_ms, options.local_time) + "] ";
  if (options.show_room) line += "(" + room_id + ") ";
  return line;
}

}  // namespace

std::string render_event(const RoomEvent& event, const RenderOptions& options,
                         const circle::client::RoomView* room) {
  std::string line = prefix(event.server_time_unix_ms(), event.room_id(), options);
  switch (event.kind_case()) {
    case RoomEvent::kMessagePosted: {
      const auto& posted = event.message_posted();
      line += "#" + std::to_string(event.seq()) + " " + name_of(posted.sender()) + ": ";
      if (posted.text().empty()) {
        line += "(removed)";
      } else if (!posted.content_warning().empty() &&
                 !(room && posted.sender().member_id() == room->my_member_id())) {
        // Hidden until the reader chooses to read it (the sender knows it).
        line += "[content warning: " + sanitize(posted.content_warning(), true) + "] /show #" +
                std::to_string(event.seq()) + " to read it";
      } else if (!posted.content_warning().empty()) {
        line += "[" + sanitize(posted.content_warning(), true) + "] " +
                sanitize(posted.text(), options.single_line);
      } else {
        line += sanitize(posted.text(), options.single_line);
      }
      break;
    }
    case RoomEvent::kMemberJoined:
      line += "* " + name_of(event.member_joined().member()) + " joined";
      break;
    case RoomEvent::kMemberLeft:
      line += render_left(event.member_left());
      break;
    case RoomEvent::kMemberUpdated:
      line += render_member_update(event.member_updated(), event.server_time_unix_ms(), room);
      break;
    case RoomEvent::kRoomUpdated:
      line += render_room_update(event.room_updated(), room);
      break;
    case RoomEvent::kMessageRedacted:
      line += "* " + name_of(event.message_redacted().by()) + " removed message #" +
              std::to_string(event.message_redacted().seq()) +
              with_note(event.message_redacted().note());
      break;
    case RoomEvent::kContentWarningSet: {
      const auto& set = event.content_warning_set();
      const std::string seq = std::to_string(set.seq());
      line += "* " + name_of(set.by()) +
              (set.content_warning().empty() ? " took the content warning off #" + seq
                                             : " put a content warning on #" + seq + ": " +
                                                   sanitize(set.content_warning(), true) +
                                                   " (/show #" + seq + " to read it again)");
      break;
    }
    case RoomEvent::kMessagePinned:
      line += "* " + name_of(event.message_pinned().by()) +
              (event.message_pinned().pinned() ? " pinned #" : " unpinned #") +
              std::to_string(event.message_pinned().seq());
      break;
    case RoomEvent::kRoundUpdated:
      line += render_round(event.round_updated(), room);
      break;
    case RoomEvent::kSessionEnded:
      line += "* " + name_of(event.session_ended().by()) + " ended the session" +
              with_note(event.session_ended().note()) + ". Thank you for being here.";
      break;
    case RoomEvent::KIND_NOT_SET:
      line += "* (an event this client does not know)";
      break;
  }
  if (options.single_line) line = sanitize(line, true);
  return line;
}

std::string render_private(const PrivateEvent& event, const RenderOptions& options,
                           const circle::client::RoomView* room) {
  std::string line = prefix(event.server_time_unix_ms(), event.room_id(), options);
  switch (event.kind_case()) {
    case PrivateEvent::kDirectMessage: {
      const auto& message = event.direct_message();
      line += "(private" + std::string(message.to_member_id() == 0 ? ", to facilitators" : "") +
              ") " + name_of(message.from()) + ": " + sanitize(message.text(), options.single_line);
      break;
    }
    case PrivateEvent::kSupportAlert: {
      const auto& alert = event.support_alert();
      line += "!! " + name_of(alert.from()) + " asked for support" +
              (alert.text().empty() ? "" : ": " + sanitize(alert.text(), options.single_line)) +
              "  (/ack " + std::to_string(alert.alert_id()) + " when you respond)";
      break;
    }
    case PrivateEvent::kSupportAcknowledged:
      line += "* " + name_of(event.support_acknowledged().by()) + " is responding to alert " +
              std::to_string(event.support_acknowledged().alert_id());
      break;
    case PrivateEvent::kYourAlertAcknowledged:
      line += "* " + name_of(event.your_alert_acknowledged().by()) +
              " has seen your request for support and will reach out to you";
      break;
    case PrivateEvent::kSupportEscalated: {
      const auto& escalated = event.support_escalated();
      const auto& alert = escalated.alert();
      const std::string id = std::to_string(alert.alert_id());
      line += "!! Support request " + id + " from " + name_of(alert.from()) + " in " +
              sanitize(event.room_id(), true) +
              (escalated.reason() == ESCALATION_REASON_NO_FACILITATOR
                   ? ": no facilitator was in the room"
                   : ": nobody acknowledged it in time") +
              (alert.text().empty() ? "" : " (\"" + sanitize(alert.text(), true) + "\")") +
              ". To answer: /join " + sanitize(event.room_id(), true) + ", then /ack " + id;
      break;
    }
    case PrivateEvent::kYourAlertEscalated:
      line += render_your_alert_escalated(event.your_alert_escalated());
      break;
    case PrivateEvent::kSupportResolved:
      line += "* " + name_of(event.support_resolved().by()) + " resolved support alert " +
              std::to_string(event.support_resolved().alert_id()) +
              with_note(event.support_resolved().note());
      break;
    case PrivateEvent::kMessageReported: {
      const auto& reported = event.message_reported();
      line += "! " + name_of(reported.by()) + " reported message #" +
              std::to_string(reported.seq()) + with_note(reported.note());
      if (reported.report_id() != 0) {
        line += "  (report " + std::to_string(reported.report_id()) + ": /closereport " +
                std::to_string(reported.report_id()) + " <what was done> [note])";
      }
      break;
    }
    case PrivateEvent::kIgnoreList:
      return {};  // the command said so; the list is for the view
    case PrivateEvent::kInvites:
      return {};  // invite links are made and shown in the web app
    case PrivateEvent::kReportResolved: {
      const auto& resolved = event.report_resolved();
      line += "* " + name_of(resolved.by()) + " closed report " +
              std::to_string(resolved.report_id()) + " (" +
              report_outcome_name(resolved.outcome()) + ")" + with_note(resolved.note());
      break;
    }
    case PrivateEvent::kWaitingRoom: {
      const auto& waiting = event.waiting_room().waiting();
      if (waiting.empty()) {
        line += "* The waiting room is empty";
      } else {
        line += "* Waiting to join:";
        for (const auto& person : waiting) {
          line += " " + sanitize(person.display_name(), true) + " (/admit w" +
                  std::to_string(person.waiting_id()) + ")";
        }
      }
      break;
    }
    case PrivateEvent::kAdmission:
      line += event.admission().admitted() ? "* You were admitted"
                                           : "! You were not admitted to " + event.room_id();
      break;
    case PrivateEvent::kMemberIdentity:
      return {};  // kept in the room view for /who, not shown as a line
    case PrivateEvent::kQuestion:
      line += "? " + name_of(event.question().from()) +
              " asks: " + sanitize(event.question().text(), options.single_line);
      break;
    case PrivateEvent::KIND_NOT_SET:
      line += "* (a private event this client does not know)";
      break;
  }
  (void)room;
  if (options.single_line) line = sanitize(line, true);
  return line;
}

std::string render_members(const circle::client::RoomView& room) {
  std::string list;
  for (const auto& [id, member] : room.members()) {
    if (!list.empty()) list += ", ";
    list += name_of(member);
    if (id == room.my_member_id()) {
      list += " (you)";
    } else if (member.role() != circle::v1::ROLE_PARTICIPANT) {
      list += " (" + role_name(member.role()) + ")";
    }
  }
  return list;
}

namespace {

// What only facilitators see: who is waiting and the open support alerts;
// `detailed` adds account ids and the alerts' text (for /who).
void append_facilitator_view(const circle::client::RoomView& room, bool detailed,
                             std::vector<std::string>& lines) {
  if (!room.i_facilitate()) return;
  for (const auto& waiting : room.waiting()) {
    lines.push_back("* Waiting: " + sanitize(waiting.display_name(), true) + " (/admit w" +
                    std::to_string(waiting.waiting_id()) +
                    (detailed ? ", account " + waiting.account_id() : "") + ")");
  }
  for (const auto& [id, alert] : room.open_alerts()) {
    const bool show_text = detailed && !alert.text().empty();
    const bool seen = alert.acknowledged_at_unix_ms() != 0;
    lines.push_back("!! Open support alert " + std::to_string(id) + " from " +
                    name_of(alert.from()) + (show_text ? ": " + sanitize(alert.text(), true) : "") +
                    (seen ? "  (" + name_of(alert.acknowledged_by()) + " is responding; /resolve " +
                                std::to_string(id) + " <what was done>)"
                          : "  (/ack " + std::to_string(id) + ")"));
  }
  for (const auto& [id, report] : room.open_reports()) {
    lines.push_back("! Open report " + std::to_string(id) + ": message #" +
                    std::to_string(report.seq()) + ", reported by " + name_of(report.by()) +
                    with_note(report.note()) + "  (/closereport " + std::to_string(id) +
                    " <what was done> [note])");
  }
}

}  // namespace

std::string render_revealed(const RoomEvent& event, const RenderOptions& options) {
  const auto& posted = event.message_posted();
  return prefix(event.server_time_unix_ms(), event.room_id(), options) + "#" +
         std::to_string(event.seq()) + " " + name_of(posted.sender()) + " [" +
         sanitize(posted.content_warning(), true) + "]: " +
         (posted.text().empty() ? "(removed)" : sanitize(posted.text(), options.single_line));
}

std::string render_your_alert_escalated(const YourAlertEscalated& escalated) {
  const auto n = escalated.operators_reached();
  if (n == 0 && !escalated.on_call_notified()) {
    return "! No one from the service is connected right now either. Your request stays open "
           "for the facilitators, and the service's operators see it as soon as one signs in.";
  }
  std::string text = "* Your request for support ";
  if (n > 0) {
    text += "has gone to " +
            (n == 1 ? std::string("an operator") : std::to_string(n) + " operators") +
            " of the service";
  }
  if (escalated.on_call_notified()) {
    text += std::string(n > 0 ? ", and " : "") + "is being sent to the service's on-call team";
  }
  return text + ".";
}

std::string render_invite(const Invite& invite, const std::string& web_url) {
  std::string base = web_url.empty() ? "https://127.0.0.1:8444" : web_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  const auto minutes = (invite.expires_at_unix_ms() - invite.created_at_unix_ms()) / 60'000;
  return "* Invite link " + std::to_string(invite.invite_id()) + " (works for " +
         duration_text(minutes * 60'000) + ", " +
         (invite.max_uses() ? std::to_string(invite.max_uses()) + " people"
                            : std::string("any number of people")) +
         "; /uninvite " + std::to_string(invite.invite_id()) + " withdraws it):\n    " + base +
         "/#invite=" + invite.token();
}

std::string render_support_outcome(const SupportOutcome& outcome) {
  std::string text;
  if (outcome.facilitators_present() > 0) {
    const auto n = outcome.facilitators_present();
    text = "* Your request for support went to the " +
           (n == 1 ? std::string("facilitator") : std::to_string(n) + " facilitators") +
           " here, and to no one else. You will see when it has been seen.";
  } else {
    text =
        "! No facilitator is in this room right now, so no one has seen your request yet. It "
        "stays open, and the facilitators will see it when they return.";
  }
  if (!outcome.resources().empty()) {
    text += "\n* If you need help now:\n" + sanitize(outcome.resources(), false);
  }
  return text;
}

std::vector<std::string> render_who(const circle::client::RoomView& room) {
  std::vector<std::string> lines;
  lines.push_back("* " + std::to_string(room.members().size()) + " in " + room.info().room_id() +
                  ": " + render_members(room));
  if (room.i_facilitate()) {
    for (const auto& [id, member] : room.members()) {
      std::string line =
          "    #" + std::to_string(id) + " " + name_of(member) + "  " + role_name(member.role());
      auto account = room.identities().find(id);
      if (account != room.identities().end()) line += "  account " + account->second;
      if (member.muted()) {
        line +=
            member.muted_until_unix_ms() > 0
                ? "  [muted, " + duration_text(member.muted_until_unix_ms() - now_ms()) + " left]"
                : "  [muted]";
      }
      if (member.has_floor()) line += "  [floor]";
      if (member.hand_raised()) line += "  [hand]";
      if (!room.settings().agreement().empty() && !member.agreement_accepted()) {
        line += "  [agreement not accepted]";
      }
      lines.push_back(line);
    }
  }
  if (!room.ignored().empty()) {
    std::string ignored = "* You ignore (only you; they are not told):";
    for (auto id : room.ignored()) ignored += " " + sanitize(room.name_of(id), true);
    lines.push_back(ignored + ". /unignore <name> to see them again");
  }
  if (!room.hand_queue().empty()) {
    std::string hands = "* Hands up, in order:";
    for (auto id : room.hand_queue()) hands += " " + sanitize(room.name_of(id), true);
    lines.push_back(hands);
  }
  if (room.round().active()) {
    lines.push_back(
        "* Check-in round: " + sanitize(room.name_of(room.round().speaker_member_id()), true) +
        "'s turn (order: " + names(room.round().order(), &room) + ")");
  }
  append_facilitator_view(room, /*detailed=*/true, lines);
  return lines;
}

std::vector<std::string> render_join(const circle::client::RoomView& room,
                                     const circle::v1::RoomSnapshot& snapshot,
                                     const RenderOptions& options) {
  std::vector<std::string> lines;
  const auto* me = room.me();
  std::ostringstream summary;
  summary << "* You joined \"" << sanitize(room.info().title(), true) << "\" ("
          << room.info().room_id() << ") as " << (me ? name_of(*me) : "?") << ", "
          << (me ? role_name(me->role()) : "member") << ". " << room.members().size()
          << " here: " << render_members(room);
  lines.push_back(summary.str());
  const auto& settings = room.settings();
  if (!settings.topic().empty()) lines.push_back("* Topic: " + sanitize(settings.topic(), true));
  for (const auto& event : snapshot.recent_events()) {
    if (event.has_message_posted() && !room.hides(event)) {
      lines.push_back(render_event(event, options, &room));
    }
  }
  if (!settings.agreement().empty() && me && !me->agreement_accepted()) {
    lines.push_back("* Group agreement:\n    " + sanitize(settings.agreement(), false) +
                    "\n  Type /accept to agree to it; you can post once you have.");
  }
  if (settings.moderated()) {
    lines.push_back("* This room is moderated: raise your hand with /hand to speak.");
  }
  if (settings.paused()) {
    lines.push_back(settings.pause_cause() == PAUSE_CAUSE_NO_FACILITATOR
                        ? "* The room is paused: no facilitator is here right now. It goes on "
                          "when one returns. /support still reaches help."
                        : "* A facilitator has paused the room for now. /support still reaches "
                          "them.");
  }
  for (const auto& alert : snapshot.your_open_alerts()) {
    std::string state =
        "* Your request for support (" + std::to_string(alert.alert_id()) + ") is still open: ";
    state += alert.acknowledged_at_unix_ms() != 0
                 ? name_of(alert.acknowledged_by()) + " has seen it"
                 : "no facilitator has seen it yet";
    if (alert.escalated_at_unix_ms() != 0) {
      state +=
          "; it has also gone to the service's operators, who see it whenever one is "
          "connected";
    }
    lines.push_back(state + ".");
  }
  if (room.round().active()) {
    lines.push_back("* A check-in round is running: " +
                    sanitize(room.name_of(room.round().speaker_member_id()), true) + "'s turn.");
  }
  append_facilitator_view(room, /*detailed=*/false, lines);
  if (options.single_line) {
    for (auto& line : lines) line = sanitize(line, true);
  }
  return lines;
}

std::string render_error(const std::string& action, const circle::v1::Error& error) {
  const bool refused = error.code() == circle::v1::ERROR_CODE_PERMISSION_DENIED ||
                       error.code() == circle::v1::ERROR_CODE_AGREEMENT_REQUIRED ||
                       error.code() == circle::v1::ERROR_CODE_RATE_LIMITED;
  return "! " + action + (refused ? " refused: " : " failed: ") + sanitize(error.message(), true) +
         " [" + error_code_name(error.code()) + "]";
}

std::string render_rooms(const circle::v1::ListRoomsResponse& rooms) {
  if (rooms.rooms().empty()) return "* No rooms yet. Start one with /join <room-id>";
  std::string text = "* Rooms:";
  for (const auto& room : rooms.rooms()) {
    text += "\n    " + room.room_id() + "  \"" + sanitize(room.title(), true) + "\"  " +
            std::to_string(room.member_count()) + " here";
  }
  return text;
}

}  // namespace circle::chat
