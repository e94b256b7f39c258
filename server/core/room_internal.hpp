// Helpers shared by the Room's source files (core/room*.cpp); not part of core::Room's interface.
#pragma once

#include <string>

#include "circle/v1/circle.pb.h"
#include "core/result.hpp"

namespace circle::core {

inline Refusal not_in_room(const std::string& action, const std::string& room_id) {
  return Refusal{circle::v1::ERROR_CODE_NOT_IN_ROOM,
                 action + ": this connection has not joined room '" + room_id + "'"};
}

}  // namespace circle::core
