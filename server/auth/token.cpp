#include "auth/token.hpp"

#include <jwt.h>
#include <openssl/sha.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace circle::auth {
namespace {

using circle::v1::ERROR_CODE_TOKEN_EXPIRED;
using circle::v1::ERROR_CODE_UNAUTHENTICATED;

struct JwtFree {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;

core::Refusal unauthenticated(std::string message) {
  return {ERROR_CODE_UNAUTHENTICATED, "hello: " + std::move(message)};
}

const unsigned char* key_bytes(std::string_view secret) {
  return reinterpret_cast<const unsigned char*>(secret.data());
}

bool has_role(jwt_t* jwt, std::string_view role) {
  char* roles_json = jwt_get_grants_json(jwt, "roles");
  if (roles_json == nullptr) return false;
  const auto roles = nlohmann::json::parse(roles_json, nullptr, /*allow_exceptions=*/false);
  free(roles_json);  // NOLINT: libjwt allocates with malloc
  if (!roles.is_array()) return false;
  for (const auto& entry : roles) {
    if (entry.is_string() && entry.get<std::string>() == role) return true;
  }
  return false;
}

}  // namespace

core::Result<Identity> verify_token(std::string_view token, std::string_view secret,
                                    std::int64_t now_s) {
  if (token.empty()) return unauthenticated("a token is required");
  if (secret.size() < kMinSecretBytes) {
    return core::Refusal{circle::v1::ERROR_CODE_INTERNAL, "hello: server token secret too short"};
  }
  // libjwt wants a terminated string and would otherwise accept "none":
  // decode with the key, then insist on HS256 ourselves.
  const std::string terminated(token);
  jwt_t* raw = nullptr;
  if (jwt_decode(&raw, terminated.c_str(), key_bytes(secret), static_cast<int>(secret.size())) !=
      0) {
    return unauthenticated("the token is malformed or its signature does not verify");
  }
  JwtPtr jwt(raw);
  if (jwt_get_alg(jwt.get()) != JWT_ALG_HS256) {
    return unauthenticated("the token must be signed with HS256");
  }
  Identity identity;
  const char* subject = jwt_get_grant(jwt.get(), "sub");
  if (subject == nullptr || *subject == '\0') return unauthenticated("the token has no sub");
  identity.account_id = subject;
  // Guests' and anonymous accounts are named by the server itself.
  if (identity.account_id.starts_with("guest-") || identity.account_id.starts_with("anon-")) {
    return unauthenticated("the token's sub may not begin with guest- or anon-");
  }
  if (identity.account_id.size() > kMaxAccountIdBytes) {
    return unauthenticated("the token's sub is longer than " + std::to_string(kMaxAccountIdBytes) +
                           " bytes");
  }
  errno = 0;
  identity.expires_at = jwt_get_grant_int(jwt.get(), "exp");
  if (errno != 0) return unauthenticated("the token has no exp");
  errno = 0;
  identity.issued_at = jwt_get_grant_int(jwt.get(), "iat");
  if (errno != 0) identity.issued_at = 0;
  if (const char* name = jwt_get_grant(jwt.get(), "name")) identity.name = name;
  identity.admin = has_role(jwt.get(), "admin");
  if (identity.expires_at <= now_s) {
    return core::Refusal{ERROR_CODE_TOKEN_EXPIRED, "hello: the token has expired"};
  }
  return identity;
}

namespace {

constexpr const char* kInviteType = "circle-invite";

std::string sign(const nlohmann::json& claims, std::string_view secret) {
  if (secret.size() < kMinSecretBytes) {
    throw std::invalid_argument("token secret must be at least " + std::to_string(kMinSecretBytes) +
                                " bytes");
  }
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) throw std::runtime_error("jwt_new failed");
  JwtPtr jwt(raw);
  if (jwt_add_grants_json(jwt.get(), claims.dump().c_str()) != 0 ||
      jwt_set_alg(jwt.get(), JWT_ALG_HS256, key_bytes(secret), static_cast<int>(secret.size())) !=
          0) {
    throw std::runtime_error("cannot build the token");
  }
  char* encoded = jwt_encode_str(jwt.get());
  if (encoded == nullptr) throw std::runtime_error("cannot sign the token");
  std::string result(encoded);
  free(encoded);  // NOLINT: libjwt allocates with malloc
  return result;
}

}  // namespace

std::string mint_token(const Identity& identity, std::string_view secret) {
  nlohmann::json claims = {{"sub", identity.account_id}, {"exp", identity.expires_at}};
  if (!identity.name.empty()) claims["name"] = identity.name;
  if (identity.issued_at != 0) claims["iat"] = identity.issued_at;
  if (identity.admin) claims["roles"] = nlohmann::json::array({"admin"});
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
  const std::string terminated(token);
  jwt_t* raw = nullptr;
  if (jwt_decode(&raw, terminated.c_str(), key_bytes(secret), static_cast<int>(secret.size())) !=
      0) {
    return refused();
  }
  JwtPtr jwt(raw);
  if (jwt_get_alg(jwt.get()) != JWT_ALG_HS256) return refused();
  const char* type = jwt_get_grant(jwt.get(), "typ");
  const char* room = jwt_get_grant(jwt.get(), "room");
  const char* id = jwt_get_grant(jwt.get(), "iid");
  if (!type || std::string_view(type) != kInviteType || !room || !*room || !id) return refused();
  InviteClaims claims;
  claims.room_id = room;
  char* end = nullptr;
  errno = 0;
  claims.invite_id = std::strtoull(id, &end, 10);
  if (errno != 0 || end == id || *end != '\0' || claims.invite_id == 0) return refused();
  errno = 0;
  claims.expires_at = jwt_get_grant_int(jwt.get(), "exp");
  if (errno != 0) return refused();
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
