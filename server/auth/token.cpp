#include "auth/token.hpp"

#include <jwt.h>

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

std::string mint_token(const Identity& identity, std::string_view secret) {
  if (secret.size() < kMinSecretBytes) {
    throw std::invalid_argument("token secret must be at least " + std::to_string(kMinSecretBytes) +
                                " bytes");
  }
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) throw std::runtime_error("jwt_new failed");
  JwtPtr jwt(raw);
  nlohmann::json claims = {{"sub", identity.account_id}, {"exp", identity.expires_at}};
  if (!identity.name.empty()) claims["name"] = identity.name;
  if (identity.issued_at != 0) claims["iat"] = identity.issued_at;
  if (identity.admin) claims["roles"] = nlohmann::json::array({"admin"});
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

}  // namespace circle::auth
