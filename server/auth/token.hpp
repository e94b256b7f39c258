// Account tokens: JWTs signed with HS256 (RFC 7519) carrying the standard
// claims `sub` (account id), `name`, `iat` and `exp`, plus `roles` (operator
// roles such as "admin"). An organisation's own systems mint them with any JWT
// library and the shared secret; circled verifies them in Hello. No sockets
// here: this is pure logic over libjwt, tested without a network.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace circle::auth {

// HS256 needs a key at least as long as its output (RFC 7518 section 3.2).
inline constexpr std::size_t kMinSecretBytes = 32;
// Longest account id (`sub`) accepted.
inline constexpr std::size_t kMaxAccountIdBytes = 128;

// Who a verified token says the client is.
struct Identity {
  std::string account_id;       // `sub`
  std::string name;             // `name`, may be empty
  std::int64_t issued_at = 0;   // `iat`, seconds since the epoch (0 when absent)
  std::int64_t expires_at = 0;  // `exp`, seconds since the epoch
  bool admin = false;           // "admin" in `roles`
};

// Verifies `token` with `secret` at time `now_s` (seconds since the epoch).
// Refusals: ERROR_CODE_UNAUTHENTICATED for a malformed or forged token, a
// token not signed with HS256 (including "none"), or one without `sub`/`exp`;
// ERROR_CODE_TOKEN_EXPIRED once `exp` has passed. The messages never contain
// the token.
core::Result<Identity> verify_token(std::string_view token, std::string_view secret,
                                    std::int64_t now_s);

// Mints a token for `identity` (development and tests: `circled token`, the
// load generator). `identity.issued_at` 0 means "no iat claim".
std::string mint_token(const Identity& identity, std::string_view secret);

}  // namespace circle::auth
