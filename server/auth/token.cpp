#include "auth/token.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace circle::auth {
namespace {

using circle::v1::ERROR_CODE_TOKEN_EXPIRED;
using circle::v1::ERROR_CODE_UNAUTHENTICATED;
using nlohmann::json;

constexpr std::string_view kHs256 = "HS256";
constexpr std::size_t kMaxTokenBytes = 16 * 1024;

constexpr std::size_t kHs256Bytes = 32;

// The HMAC-SHA256 of `input`; throws when OpenSSL cannot make one, so that a
// failure can never leave an empty MAC for an empty signature to match.
std::string hs256(std::string_view secret, std::string_view input) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest,
           &length) == nullptr ||
      length != kHs256Bytes) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return std::string(reinterpret_cast<char*>(digest), length);
}

// A compact JWS (RFC 7515 section 7.1), split and decoded; nothing verified yet.
struct Jws {
  json header;
  json claims;
  std::string_view signing_input;  // header.payload, as signed
  std::string signature;
};

bool decode_jws(std::string_view token, Jws& jws) {
  if (token.size() > kMaxTokenBytes) return false;
  const auto first = token.find('.');
  const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return false;
  }
  std::string header;
  std::string payload;
  if (!base64url_decode(token.substr(0, first), header) ||
      !base64url_decode(token.substr(first + 1, second - first - 1), payload) ||
      !base64url_decode(token.substr(second + 1), jws.signature)) {
    return false;
  }
  jws.header = json::parse(header, nullptr, /*allow_exceptions=*/false);
  jws.claims = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  jws.signing_input = token.substr(0, second);
  return jws.header.is_object() && jws.claims.is_object();
}

std::string string_of(const json& object, const char* name) {
  const auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A NumericDate claim; false when absent, not a number, or beyond any real
// date (so that the leeway's arithmetic cannot overflow).
bool seconds_of(const json& claims, const char* name, std::int64_t& out) {
  constexpr std::int64_t kLimit = 1'000'000'000'000'000;  // ~31 million years
  const auto it = claims.find(name);
  if (it == claims.end() || !it->is_number()) return false;
  if (it->is_number_float()) {
    const double value = it->get<double>();
    if (!(value > -static_cast<double>(kLimit) && value < static_cast<double>(kLimit))) {
      return false;
    }
    out = static_cast<std::int64_t>(value);
    return true;
  }
  if (it->is_number_unsigned()) {
    const auto value = it->get<std::uint64_t>();
    if (value >= static_cast<std::uint64_t>(kLimit)) return false;
    out = static_cast<std::int64_t>(value);
    return true;
  }
  out = it->get<std::int64_t>();
  return out > -kLimit && out < kLimit;
}

const json* roles_of(const json& claims, const std::string& where) {
  if (!where.empty() && where.front() == '/') {
    try {
      const json::json_pointer pointer(where);
      return claims.contains(pointer) ? &claims.at(pointer) : nullptr;
    } catch (const json::exception&) {
      return nullptr;
    }
  }
  const auto it = claims.find(where);
  return it == claims.end() ? nullptr : &*it;
}

// Whether `value` is the string `wanted` or a list holding it (the shapes
// of both `aud` and a roles claim).
bool names(const json* value, const std::string& wanted) {
  if (value == nullptr) return false;
  if (value->is_string()) return value->get<std::string>() == wanted;
  if (!value->is_array()) return false;
  for (const auto& entry : *value) {
    if (entry.is_string() && entry.get<std::string>() == wanted) return true;
  }
  return false;
}

bool has_role(const json& claims, const TokenRules& rules) {
  return names(roles_of(claims, rules.roles_claim), rules.admin_role);
}

bool has_audience(const json& claims, const std::string& audience) {
  const auto it = claims.find("aud");
  return names(it == claims.end() ? nullptr : &*it, audience);
}

struct Refused {
  TokenFault fault;
  std::string message;
};

// Which key signed `jws`, and whether it did. nullopt: it did.
std::optional<Refused> check_signature(const Jws& jws, const TokenKeys& keys) {
  const auto alg = string_of(jws.header, "alg");
  const auto kid = string_of(jws.header, "kid");
  // Extensions this server does not understand must not be ignored (RFC 7515 4.1.11).
  if (jws.header.contains("crit")) {
    return Refused{TokenFault::kMalformed, "the token asks for header extensions (crit)"};
  }
  if (alg == kHs256 &&
      (kid.empty() || keys.published == nullptr || keys.published->find(kid) == nullptr)) {
    if (keys.secret.size() < kMinSecretBytes) {
      return Refused{TokenFault::kServerMisconfigured, "server token secret too short"};
    }
    std::string expected;
    try {
      expected = hs256(keys.secret, jws.signing_input);
    } catch (const std::runtime_error&) {
      return Refused{TokenFault::kServerMisconfigured, "the token cannot be checked now"};
    }
    if (jws.signature.size() != kHs256Bytes || expected.size() != kHs256Bytes ||
        CRYPTO_memcmp(jws.signature.data(), expected.data(), expected.size()) != 0) {
      return Refused{TokenFault::kBadSignature, "the token's signature does not verify"};
    }
    return std::nullopt;
  }
  const auto* algorithm = signing_algorithm_named(alg);
  if (alg != kHs256 && algorithm == nullptr) {
    return Refused{TokenFault::kAlgorithmRefused,
                   "the token's algorithm is not one this server takes (HS256, RS256, PS256, "
                   "ES256)"};
  }
  const PublicKey* key = keys.published == nullptr ? nullptr : keys.published->find(kid);
  if (key == nullptr) {
    return Refused{TokenFault::kUnknownKey, "the token's signing key is not known to this server"};
  }
  if (algorithm == nullptr || !key->allows(*algorithm)) {
    return Refused{TokenFault::kAlgorithmRefused,
                   "the token's algorithm does not match its signing key"};
  }
  if (!key->verifies(*algorithm, jws.signing_input, jws.signature)) {
    return Refused{TokenFault::kBadSignature, "the token's signature does not verify"};
  }
  return std::nullopt;
}

core::Result<Identity> refuse(TokenFault* out, TokenFault fault, std::string message) {
  if (out != nullptr) *out = fault;
  const auto code = fault == TokenFault::kExpired               ? ERROR_CODE_TOKEN_EXPIRED
                    : fault == TokenFault::kServerMisconfigured ? circle::v1::ERROR_CODE_INTERNAL
                                                                : ERROR_CODE_UNAUTHENTICATED;
  return core::Refusal{code, "hello: " + std::move(message)};
}

}  // namespace

std::string_view name_of(TokenFault fault) {
  switch (fault) {
    case TokenFault::kNone:
      return "none";
    case TokenFault::kMissing:
      return "missing";
    case TokenFault::kMalformed:
      return "malformed";
    case TokenFault::kAlgorithmRefused:
      return "algorithm_refused";
    case TokenFault::kUnknownKey:
      return "unknown_key";
    case TokenFault::kBadSignature:
      return "bad_signature";
    case TokenFault::kWrongIssuer:
      return "wrong_issuer";
    case TokenFault::kWrongAudience:
      return "wrong_audience";
    case TokenFault::kNotYetValid:
      return "not_yet_valid";
    case TokenFault::kExpired:
      return "expired";
    case TokenFault::kBadClaims:
      return "bad_claims";
    case TokenFault::kServerMisconfigured:
      return "server_misconfigured";
  }
  return "unknown";
}

core::Result<Identity> verify_token(std::string_view token, const TokenKeys& keys,
                                    const TokenRules& rules, std::int64_t now_s,
                                    TokenFault* fault) {
  if (fault != nullptr) *fault = TokenFault::kNone;
  if (token.empty()) return refuse(fault, TokenFault::kMissing, "a token is required");
  Jws jws;
  if (!decode_jws(token, jws)) {
    return refuse(fault, TokenFault::kMalformed, "the token is not a well-formed JWT");
  }
  if (auto refused = check_signature(jws, keys)) {
    return refuse(fault, refused->fault, std::move(refused->message));
  }
  const auto& claims = jws.claims;
  if (!rules.issuer.empty() && string_of(claims, "iss") != rules.issuer) {
    return refuse(fault, TokenFault::kWrongIssuer, "the token is from another issuer");
  }
  if (!rules.audience.empty() && !has_audience(claims, rules.audience)) {
    return refuse(fault, TokenFault::kWrongAudience, "the token is meant for another audience");
  }
  Identity identity;
  identity.account_id = string_of(claims, "sub");
  if (identity.account_id.empty()) {
    return refuse(fault, TokenFault::kBadClaims, "the token has no sub");
  }
  // Guests' and anonymous accounts are named by the server itself.
  if (identity.account_id.starts_with("guest-") || identity.account_id.starts_with("anon-")) {
    return refuse(fault, TokenFault::kBadClaims,
                  "the token's sub may not begin with guest- or anon-");
  }
  if (identity.account_id.size() > kMaxAccountIdBytes) {
    return refuse(
        fault, TokenFault::kBadClaims,
        "the token's sub is longer than " + std::to_string(kMaxAccountIdBytes) + " bytes");
  }
  if (!seconds_of(claims, "exp", identity.expires_at)) {
    return refuse(fault, TokenFault::kBadClaims, "the token has no exp");
  }
  if (!seconds_of(claims, "iat", identity.issued_at)) identity.issued_at = 0;
  identity.name = string_of(claims, "name");
  identity.admin = has_role(claims, rules);
  if (std::int64_t not_before = 0;
      seconds_of(claims, "nbf", not_before) && not_before - rules.leeway_s > now_s) {
    return refuse(fault, TokenFault::kNotYetValid, "the token is not valid yet");
  }
  if (identity.expires_at + rules.leeway_s <= now_s) {
    return refuse(fault, TokenFault::kExpired, "the token has expired");
  }
  return identity;
}

core::Result<Identity> verify_token(std::string_view token, std::string_view secret,
                                    std::int64_t now_s) {
  TokenRules rules;
  rules.leeway_s = 0;
  return verify_token(token, TokenKeys{.secret = secret}, rules, now_s);
}

namespace {

constexpr const char* kInviteType = "circle-invite";

std::string sign(const json& claims, std::string_view secret) {
  if (secret.size() < kMinSecretBytes) {
    throw std::invalid_argument("token secret must be at least " + std::to_string(kMinSecretBytes) +
                                " bytes");
  }
  const std::string input =
      base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url_encode(claims.dump());
  return input + "." + base64url_encode(hs256(secret, input));
}

}  // namespace

std::string mint_token(const Identity& identity, std::string_view secret, const TokenRules& rules) {
  json claims = {{"sub", identity.account_id}, {"exp", identity.expires_at}};
  if (!identity.name.empty()) claims["name"] = identity.name;
  if (identity.issued_at != 0) claims["iat"] = identity.issued_at;
  if (!rules.issuer.empty()) claims["iss"] = rules.issuer;
  if (!rules.audience.empty()) claims["aud"] = rules.audience;
  if (identity.admin) {
    const auto roles = json::array({rules.admin_role});
    if (!rules.roles_claim.empty() && rules.roles_claim.front() == '/') {
      claims[json::json_pointer(rules.roles_claim)] = roles;
    } else {
      claims[rules.roles_claim] = roles;
    }
  }
  return sign(claims, secret);
}

std::string mint_invite(const InviteClaims& claims, std::string_view secret) {
  return sign({{"typ", kInviteType},
               {"room", claims.room_id},
               {"iid", std::to_string(claims.invite_id)},
               {"exp", claims.expires_at}},
              secret);
}

core::Result<InviteClaims> verify_invite(std::string_view token, std::string_view secret) {
  const auto refused = [] {
    return core::Refusal{ERROR_CODE_UNAUTHENTICATED,
                         "hello: this invite link is not valid; ask for a new one"};
  };
  if (token.empty() || secret.size() < kMinSecretBytes) return refused();
  Jws jws;
  // Only the secret signs invites: no published key, whatever the header says.
  if (!decode_jws(token, jws) || string_of(jws.header, "alg") != kHs256 ||
      check_signature(jws, TokenKeys{.secret = secret})) {
    return refused();
  }
  const auto& payload = jws.claims;
  const auto id = string_of(payload, "iid");
  InviteClaims claims;
  claims.room_id = string_of(payload, "room");
  if (string_of(payload, "typ") != kInviteType || claims.room_id.empty() || id.empty()) {
    return refused();
  }
  char* end = nullptr;
  errno = 0;
  claims.invite_id = std::strtoull(id.c_str(), &end, 10);
  if (errno != 0 || end == id.c_str() || *end != '\0' || claims.invite_id == 0 ||
      id.front() == '-' || id.front() == '+' || id.front() == ' ') {
    return refused();
  }
  if (!seconds_of(payload, "exp", claims.expires_at)) return refused();
  return claims;
}

std::string guest_account_id(std::string_view guest_key) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(guest_key.data()), guest_key.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "guest-";
  for (int i = 0; i < 12; ++i) {
    id += kHex[digest[i] >> 4];
    id += kHex[digest[i] & 0xf];
  }
  return id;
}

}  // namespace circle::auth
