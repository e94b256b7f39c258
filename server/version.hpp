#pragma once

#include <string_view>

namespace circle::server {
inline constexpr std::string_view kServerVersion = "circled/0.1.0";
}
