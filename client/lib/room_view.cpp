#include "circle_client/room_view.hpp"

namespace circle::client {

RoomView::RoomView(const circle::v1::RoomSnapshot& snapshot)
    : info_(snapshot.room()),
      last_seq_(snapshot.last_seq()),
      my_member_id_(snapshot.your_member_id()) {
  for (const auto& member : snapshot.members()) members_[member.member_id()] = member;
}

RoomView::Applied RoomView::apply(const circle::v1::RoomEvent& event) {
  if (event.seq() <= last_seq_) return Applied::kDuplicate;
  const bool gap = event.seq() != last_seq_ + 1;
  last_seq_ = event.seq();
  if (event.has_member_joined()) {
    const auto& member = event.member_joined().member();
    members_[member.member_id()] = member;
  } else if (event.has_member_left()) {
    members_.erase(event.member_left().member().member_id());
  }
  info_.set_member_count(static_cast<std::uint32_t>(members_.size()));
  return gap ? Applied::kGap : Applied::kApplied;
}

const circle::v1::Member* RoomView::member(std::uint64_t member_id) const {
  auto found = members_.find(member_id);
  return found == members_.end() ? nullptr : &found->second;
}

}  // namespace circle::client
