// Account tokens: JWTs signed with HS256 (RFC 7519) carrying the standard
// claims `sub` (account id), `name`, `iat` and `exp`, plus `roles` (operator
// roles such as "admin"). An organisation's own systems mint them with any JWT
// library and the shared secret; circled verifies them in Hello. No sockets
// here: this is pure logic over libjwt, tested without a network.
//
// Invite links carry an invite token: a JWT of the same secret with `typ`
// "circle-invite", the room, the invite's id and `exp`, and no `sub`, so it is
// never taken for an account token (nor one for it).
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

// What an invite token says: which room, which of its invites.
struct InviteClaims {
  std::string room_id;
  std::uint64_t invite_id = 0;
  std::int64_t expires_at = 0;  // `exp`, seconds since the epoch
};

std::string mint_invite(const InviteClaims& claims, std::string_view secret);

// Verifies an invite token's signature and form (ERROR_CODE_UNAUTHENTICATED
// otherwise). Its expiry is not checked here: the room decides, since
// whoever joined with an invite may come back after it expired.
core::Result<InviteClaims> verify_invite(std::string_view token, std::string_view secret);

// Shortest and longest guest key a client may send.
inline constexpr std::size_t kMinGuestKeyBytes = 32;
inline constexpr std::size_t kMaxGuestKeyBytes = 128;

// The account a guest key stands for: "guest-" and 24 hex digits of its
// SHA-256. The same key is the same account; the key is never stored.
std::string guest_account_id(std::string_view guest_key);

}  // namespace circle::auth
