// An identity provider's signing key for tests: made by the `openssl` command
// at test time (never a key checked into the tree), published as a JWK, and
// used to sign RS256, PS256 or ES256 tokens the way a provider would.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace circle::test {

class SigningKey {
 public:
  enum class Type { kRsa, kP256 };

  // Runs `openssl genpkey` into `dir`; throws when it fails.
  static SigningKey make(Type type, const std::filesystem::path& dir, std::string kid);

  const std::string& kid() const { return kid_; }
  // The public key as a JWK object; `alg` empty leaves "alg" out.
  std::string jwk(std::string_view alg = "") const;
  // The public key as PEM text (what an attacker would use as an HMAC secret).
  std::string public_pem() const;
  // header.payload.signature, signed with `alg` ("RS256", "PS256", "ES256");
  // the header names this key's kid unless `with_kid` is false.
  std::string sign(std::string_view alg, std::string_view claims, bool with_kid = true) const;
  // The same with a header given whole.
  std::string sign_with_header(std::string_view header, std::string_view alg,
                               std::string_view claims) const;

 private:
  struct PkeyFree {
    void operator()(void* key) const;
  };
  Type type_ = Type::kRsa;
  std::string kid_;
  std::shared_ptr<void> key_;  // EVP_PKEY
};

// {"keys":[...]} of these JWK objects.
std::string jwk_set(std::initializer_list<std::string> jwks);

}  // namespace circle::test
