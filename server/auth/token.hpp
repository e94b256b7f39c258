// Account tokens: JWTs (RFC 7519) carrying the standard claims `sub`
// (account id), `name`, `iat`, `exp` and optionally `nbf`, `iss`, `aud`, plus
// operator roles in a configurable claim. Two kinds of signer:
// - the server's own secret, HS256: `circled token`, the load generator and
//   an organisation's systems that share the secret;
// - an identity provider (Keycloak, Auth0, Entra ID, Okta) signing RS256,
//   PS256 or ES256 with a key published in its JWK Set (auth/jwk.hpp).
// The key decides the algorithm: a token naming a published key (`kid`) is
// checked only with that key and the algorithm that key allows; HS256 is
// checked only with the secret. No sockets here: pure logic over OpenSSL,
// tested without a network.
//
// Invite links carry an invite token: a JWT of the same secret with `typ`
// "circle-invite", the room, the invite's id and `exp`, and no `sub`, so it is
// never taken for an account token (nor one for it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/jwk.hpp"
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
  bool admin = false;           // the admin role is among the token's roles
};

// What an account token must say besides being well signed.
struct TokenRules {
  std::string issuer;    // `iss` must equal this; empty: not checked
  std::string audience;  // `aud` (a string or a list) must hold this; empty: not checked
  // Clocks differ: `exp` and `nbf` are honoured this many seconds late/early.
  std::int64_t leeway_s = 30;
  // Where the roles are: a claim name ("roles", "https://example.org/roles")
  // or a JSON pointer into the claims ("/realm_access/roles" for Keycloak).
  // The claim holds a list of strings or one string.
  std::string roles_claim = "roles";
  std::string admin_role = "admin";  // the role that makes an operator
};

// The keys a token may be signed with.
struct TokenKeys {
  std::string_view secret;            // HS256; at least kMinSecretBytes
  const KeySet* published = nullptr;  // the identity provider's; may be null
};

// Why a token was refused: tests and metrics tell refusals apart by this;
// the client gets the protocol code and a message (never the token).
enum class TokenFault {
  kNone,
  kMissing,           // no token
  kMalformed,         // not three base64url parts of JSON
  kAlgorithmRefused,  // "none", an algorithm this server does not take, or
                      // one the token's key does not allow
  kUnknownKey,        // a `kid` not in the published set (or no set loaded)
  kBadSignature,
  kWrongIssuer,
  kWrongAudience,
  kNotYetValid,  // `nbf` in the future
  kExpired,
  kBadClaims,  // no `sub`/`exp`, or a `sub` the server may not take
  kServerMisconfigured,
};
std::string_view name_of(TokenFault fault);

// Verifies `token` at time `now_s` (seconds since the epoch). Refusals:
// ERROR_CODE_TOKEN_EXPIRED once `exp` (plus the leeway) has passed,
// ERROR_CODE_UNAUTHENTICATED otherwise; `fault`, when given, says which.
core::Result<Identity> verify_token(std::string_view token, const TokenKeys& keys,
                                    const TokenRules& rules, std::int64_t now_s,
                                    TokenFault* fault = nullptr);

// The same with only the secret and no leeway (tests, the fuzzer).
core::Result<Identity> verify_token(std::string_view token, std::string_view secret,
                                    std::int64_t now_s);

// Mints an HS256 token for `identity` (development and tests: `circled token`,
// the load generator), with `iss`/`aud` when `rules` asks for them and the
// admin role in `rules.roles_claim` (a plain claim name; a pointer's path is
// built). `identity.issued_at` 0 means "no iat claim".
std::string mint_token(const Identity& identity, std::string_view secret,
                       const TokenRules& rules = {});

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
