// A client's picture of one joined room, built from the join snapshot and
// kept current by the room's events (and, for facilitators, the private
// events): members, settings, hands, the round, the waiting room, open
// support alerts, and the last seq seen. Pure logic, no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "circle/v1/circle.pb.h"

namespace circle::client {

class RoomView {
 public:
  enum class Applied {
    kApplied,    // the next event in order
    kDuplicate,  // already seen (seq <= last_seq): ignored
    kGap,        // one or more events were missed before this one; applied
  };

  explicit RoomView(const circle::v1::RoomSnapshot& snapshot);

  Applied apply(const circle::v1::RoomEvent& event);
  void apply_private(const circle::v1::PrivateEvent& event);

  const circle::v1::RoomInfo& info() const { return info_; }
  const circle::v1::RoomSettings& settings() const { return settings_; }
  const std::map<std::uint64_t, circle::v1::Member>& members() const { return members_; }
  std::uint64_t last_seq() const { return last_seq_; }
  std::uint64_t my_member_id() const { return my_member_id_; }
  const circle::v1::Member* member(std::uint64_t member_id) const;
  const circle::v1::Member* me() const { return member(my_member_id_); }
  // The display name of a member, or "someone" for one who has gone.
  std::string name_of(std::uint64_t member_id) const;
  // Members whose display name is `name` (names need not be unique).
  std::vector<const circle::v1::Member*> find_by_name(const std::string& name) const;

  const std::vector<std::uint64_t>& hand_queue() const { return hand_queue_; }
  const circle::v1::Round& round() const { return round_; }
  const std::vector<circle::v1::WaitingMember>& waiting() const { return waiting_; }
  const std::map<std::uint64_t, circle::v1::SupportAlert>& open_alerts() const {
    return open_alerts_;
  }
  // A recent message that carries a content warning (its text shown only
  // when the reader asks); null when not kept.
  const circle::v1::RoomEvent* warned_message(std::uint64_t seq) const;
  // Members whose messages this account hides (SetIgnored).
  const std::set<std::uint64_t>& ignored() const { return ignored_; }
  // Whether to leave `event` out: a message from a member this account
  // ignores, unless they posted it as a facilitator (facilitators keep the
  // room safe and are never hidden).
  bool hides(const circle::v1::RoomEvent& event) const;
  // Reports not yet resolved (facilitators only).
  const std::map<std::uint64_t, circle::v1::Report>& open_reports() const { return open_reports_; }
  // Account ids, known to facilitators only.
  const std::map<std::uint64_t, std::string>& identities() const { return identities_; }

  // The minimum role `action` needs here (facilitator when unlisted).
  circle::v1::Role required_role(circle::v1::Action action) const;
  // May I take `action` by rank (the server decides for real)?
  bool may(circle::v1::Action action) const;
  bool i_facilitate() const;

 private:
  circle::v1::RoomInfo info_;
  circle::v1::RoomSettings settings_;
  std::map<std::uint64_t, circle::v1::Member> members_;
  std::map<std::uint64_t, std::string> names_;  // everyone ever seen, for old events
  std::uint64_t last_seq_ = 0;
  std::uint64_t my_member_id_ = 0;
  std::vector<std::uint64_t> hand_queue_;
  circle::v1::Round round_;
  std::vector<circle::v1::WaitingMember> waiting_;
  std::map<std::uint64_t, circle::v1::SupportAlert> open_alerts_;
  std::map<std::uint64_t, circle::v1::Report> open_reports_;
  std::set<std::uint64_t> ignored_;
  // The last kRecentKept messages, by seq: any of them may carry a content
  // warning, or get one later, and be read with /show.
  static constexpr std::size_t kRecentKept = 200;
  std::map<std::uint64_t, circle::v1::RoomEvent> recent_messages_;
  void keep_message(const circle::v1::RoomEvent& event);
  std::map<std::uint64_t, std::string> identities_;
};

}  // namespace circle::client
