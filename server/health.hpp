// What GET /healthz answers: 200 when `ok`, else 503; `json` is the body.
#pragma once

#include <string>

namespace circle::server {

struct Health {
  bool ok = true;
  std::string json = "{\"status\":\"ok\"}";
};

}  // namespace circle::server
