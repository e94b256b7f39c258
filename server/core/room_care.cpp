// The room's duty of care: support requests and their escalation to the
// service's operators, the report queue, and ignoring. Each is for the
// people in a hard moment, so what they are told is always what happened.
#include "core/policy.hpp"
#include "core/room.hpp"

namespace circle::core {

using namespace circle::v1;

Room::ActionResult Room::request_support(Member& actor, const std::string& text,
                                         std::int64_t now_ms) {
  // Always allowed, whatever the member's role, mute or the room's modes.
  SupportAlert alert;
  alert.set_alert_id(++last_alert_id_);
  *alert.mutable_from() = actor.view;
  alert.set_text(text);
  alert.set_raised_at_unix_ms(now_ms);
  alert.set_account_id(actor.account_id);
  open_alerts_[alert.alert_id()] = alert;
  PrivateEvent event = private_event(now_ms);
  *event.mutable_support_alert() = alert;
  send_to_facilitators(event);
  audit(actor, "support alert", nullptr, "", now_ms);
  RoomActionResponse reply = response(0);
  reply.set_alert_id(alert.alert_id());
  // Said truthfully at once: whether anyone who can answer it is here.
  std::uint32_t present = 0;
  for (const auto& [member_id, member] : members_) {
    if (is_facilitator(member.view.role()) && &member != &actor) ++present;
  }
  reply.mutable_support()->set_facilitators_present(present);
  // Nobody here can answer it: the operators are told at once.
  if (present == 0) {
    escalate(open_alerts_[alert.alert_id()], ESCALATION_REASON_NO_FACILITATOR, now_ms);
  }
  return reply;
}

void Room::escalate(SupportAlert& alert, EscalationReason reason, std::int64_t now_ms) {
  alert.set_escalated_at_unix_ms(now_ms);
  alert.set_escalation_reason(reason);
  mark_state_changed();
  PrivateEvent event = private_event(now_ms);
  auto* escalated = event.mutable_support_escalated();
  *escalated->mutable_alert() = alert;
  escalated->set_reason(reason);
  send_to_facilitators(event);
  audit_by_server("escalate support " + std::to_string(alert.alert_id()), alert.account_id(),
                  reason == ESCALATION_REASON_NO_FACILITATOR ? "no facilitator present"
                                                             : "not acknowledged in time",
                  now_ms);
  if (!output_) return;
  ActionOutput::Escalation escalation{.escalated = *escalated, .asker = {}};
  if (const Member* asker = find_account(alert.account_id())) {
    for (const auto& attachment : asker->attachments) escalation.asker.push_back(attachment.sink);
  }
  output_->escalations.push_back(std::move(escalation));
}

std::vector<SupportAlert> Room::escalated_alerts() const {
  std::vector<SupportAlert> escalated;
  for (const auto& [id, alert] : open_alerts_) {
    if (alert.escalated_at_unix_ms() != 0) escalated.push_back(alert);
  }
  return escalated;
}

Result<SupportAlert*> Room::find_open_alert(const Member& actor, std::uint64_t alert_id,
                                            const std::string& action) {
  if (!is_facilitator(actor.view.role())) {
    return Refusal{ERROR_CODE_PERMISSION_DENIED,
                   action + ": only facilitators see and answer support alerts"};
  }
  auto found = open_alerts_.find(alert_id);
  if (found == open_alerts_.end()) {
    return not_found(action, "no open alert " + std::to_string(alert_id));
  }
  return &found->second;
}

Room::ActionResult Room::acknowledge_support(Member& actor, std::uint64_t alert_id,
                                             std::int64_t now_ms) {
  auto found = find_open_alert(actor, alert_id, "acknowledge support");
  if (!found) return found.refusal();
  auto& alert = *found.value();
  if (alert.acknowledged_at_unix_ms() != 0) return response(0);  // seen already
  *alert.mutable_acknowledged_by() = actor.view;
  alert.set_acknowledged_at_unix_ms(now_ms);
  PrivateEvent event = private_event(now_ms);
  event.mutable_support_acknowledged()->set_alert_id(alert_id);
  *event.mutable_support_acknowledged()->mutable_by() = actor.view;
  send_to_facilitators(event);
  // The asker, on every device, wherever they are in the room now.
  Member* asker = find_account(alert.account_id());
  if (asker) {
    PrivateEvent yours = private_event(now_ms);
    *yours.mutable_your_alert_acknowledged() = event.support_acknowledged();
    send_private(*asker, yours);
  }
  audit(actor, "acknowledge support " + std::to_string(alert_id), asker, "", now_ms,
        alert.account_id());
  return response(0);
}

Room::ActionResult Room::resolve_support(Member& actor, std::uint64_t alert_id,
                                         const std::string& note, std::int64_t now_ms) {
  auto found = find_open_alert(actor, alert_id, "resolve support");
  if (!found) return found.refusal();
  const std::string account = found.value()->account_id();
  open_alerts_.erase(alert_id);
  PrivateEvent event = private_event(now_ms);
  event.mutable_support_resolved()->set_alert_id(alert_id);
  *event.mutable_support_resolved()->mutable_by() = actor.view;
  event.mutable_support_resolved()->set_note(note);
  send_to_facilitators(event);
  audit(actor, "resolve support " + std::to_string(alert_id), find_account(account), note, now_ms,
        account);
  return response(0);
}

Room::ActionResult Room::report_message(Member& actor, std::uint64_t seq, const std::string& reason,
                                        std::int64_t now_ms) {
  // Only messages (still in history) can be reported.
  const RoomEvent* message = seq == 0 || seq > last_seq_ ? nullptr : find_message(seq);
  if (!message) return not_found("report", "no recent message " + std::to_string(seq));
  // One open report per person and message: reporting again is answered,
  // not queued twice; and one person cannot fill the queue.
  std::uint32_t theirs = 0;
  for (const auto& [id, open] : open_reports_) {
    if (open.account_id() != actor.account_id) continue;
    if (open.seq() == seq) return response(0);
    ++theirs;
  }
  if (theirs >= limits_->max_open_reports_per_account) {
    return Refusal{ERROR_CODE_LIMIT_EXCEEDED,
                   "report: you have " + std::to_string(theirs) +
                       " reports open here; the facilitators will get to them (/dm facilitators "
                       "to add to one)"};
  }
  if (open_reports_.size() >= limits_->max_open_reports) {
    return Refusal{ERROR_CODE_LIMIT_EXCEEDED,
                   "report: the facilitators of this room have " +
                       std::to_string(open_reports_.size()) +
                       " reports open; message them (/dm facilitators) or ask for support"};
  }
  Report report;
  report.set_report_id(++last_report_id_);
  report.set_seq(seq);
  *report.mutable_by() = actor.view;
  report.set_note(reason);
  report.set_reported_at_unix_ms(now_ms);
  report.set_account_id(actor.account_id);
  open_reports_.emplace(report.report_id(), report);
  send_to_facilitators(reported_event(report, now_ms));
  audit(actor, "report message " + std::to_string(seq), nullptr, reason, now_ms);
  return response(0);
}

PrivateEvent Room::reported_event(const Report& report, std::int64_t now_ms) const {
  PrivateEvent event = private_event(now_ms);
  auto* reported = event.mutable_message_reported();
  reported->set_seq(report.seq());
  *reported->mutable_by() = report.by();
  reported->set_note(report.note());
  reported->set_report_id(report.report_id());
  return event;
}

Room::ActionResult Room::resolve_report(Member& actor, const ResolveReport& request,
                                        std::int64_t now_ms) {
  if (!is_facilitator(actor.view.role())) {
    return Refusal{ERROR_CODE_PERMISSION_DENIED,
                   "resolve report: only facilitators see and resolve reports"};
  }
  auto found = open_reports_.find(request.report_id());
  if (found == open_reports_.end()) {
    return not_found("resolve report", "no open report " + std::to_string(request.report_id()));
  }
  const std::uint64_t seq = found->second.seq();
  open_reports_.erase(found);
  PrivateEvent event = private_event(now_ms);
  auto* resolved = event.mutable_report_resolved();
  resolved->set_report_id(request.report_id());
  *resolved->mutable_by() = actor.view;
  resolved->set_outcome(request.outcome());
  resolved->set_note(request.note());
  send_to_facilitators(event);
  std::string outcome = ReportOutcome_Name(request.outcome()).substr(sizeof("REPORT_OUTCOME_") - 1);
  for (auto& c : outcome) c = c == '_' ? ' ' : static_cast<char>(std::tolower(c));
  audit(actor, "resolve report " + std::to_string(request.report_id()), nullptr,
        "message " + std::to_string(seq) + ": " + outcome +
            (request.note().empty() ? "" : "; " + request.note()),
        now_ms);
  return response(0);
}

Room::ActionResult Room::set_ignored(Member& actor, const SetIgnored& request,
                                     std::int64_t now_ms) {
  Member* target = find_member(request.member_id());
  if (!target) return not_found("ignore", "no member " + std::to_string(request.member_id()));
  if (target == &actor) return Refusal{ERROR_CODE_INVALID_ARGUMENT, "ignore: that is you"};
  if (request.ignored() && is_facilitator(actor.view.role())) {
    // A facilitator must not miss a member's distress in their own room.
    return Refusal{ERROR_CODE_PERMISSION_DENIED,
                   "ignore: facilitators see everything said in the room they keep safe"};
  }
  if (request.ignored() && is_facilitator(target->view.role())) {
    return Refusal{ERROR_CODE_PERMISSION_DENIED,
                   "ignore: facilitators cannot be ignored; they keep the room safe. If a "
                   "facilitator troubles you, tell the service (/support)"};
  }
  if (!request.ignored() && !ignores_.contains(actor.account_id)) {
    send_ignore_list(actor, now_ms);
    return response(0);
  }
  auto& ignored = ignores_[actor.account_id];
  if (request.ignored()) {
    if (!ignored.contains(target->account_id) &&
        ignored.size() >= limits_->max_ignored_per_account) {
      return Refusal{
          ERROR_CODE_LIMIT_EXCEEDED,
          "ignore: you already ignore " + std::to_string(ignored.size()) + " members here"};
    }
    ignored.insert(target->account_id);
  } else {
    ignored.erase(target->account_id);
    if (ignored.empty()) ignores_.erase(actor.account_id);
  }
  // Only the account's own connections hear of it; never the one ignored.
  send_ignore_list(actor, now_ms);
  return response(0);
}

std::vector<std::uint64_t> Room::ignored_by(const Member& member) const {
  std::vector<std::uint64_t> ids;
  auto ignoring = ignores_.find(member.account_id);
  if (ignoring == ignores_.end()) return ids;
  for (const auto& [member_id, other] : members_) {
    if (ignoring->second.contains(other.account_id)) ids.push_back(member_id);
  }
  return ids;
}

void Room::send_ignore_list(const Member& member, std::int64_t now_ms) {
  PrivateEvent event = private_event(now_ms);
  auto* list = event.mutable_ignore_list();
  for (const auto id : ignored_by(member)) list->add_member_ids(id);
  send_private(member, event);
}

}  // namespace circle::core
