// A client's picture of one joined room, built from the join snapshot and
// kept current by the room's events: who is here and the last seq seen.
// Pure logic, no I/O.
#pragma once

#include <cstdint>
#include <map>

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

  const circle::v1::RoomInfo& info() const { return info_; }
  const std::map<std::uint64_t, circle::v1::Member>& members() const { return members_; }
  std::uint64_t last_seq() const { return last_seq_; }
  std::uint64_t my_member_id() const { return my_member_id_; }
  const circle::v1::Member* member(std::uint64_t member_id) const;
  const circle::v1::Member* me() const { return member(my_member_id_); }

 private:
  circle::v1::RoomInfo info_;
  std::map<std::uint64_t, circle::v1::Member> members_;
  std::uint64_t last_seq_ = 0;
  std::uint64_t my_member_id_ = 0;
};

}  // namespace circle::client
