// Public keys an identity provider publishes as a JWK Set (RFC 7517), e.g.
// Keycloak's .../protocol/openid-connect/certs or Auth0's
// /.well-known/jwks.json, and the signature checks they are used for
// (RFC 7518: RS256, PS256, ES256). Pure logic over OpenSSL: no sockets, no
// files; the server reads or fetches the JSON and hands it here.
//
// The key decides the algorithm: an RSA key verifies RS256 or PS256 (only the
// one its "alg" names, when it names one), a P-256 key only ES256. A token's
// "alg" header merely has to agree with its key, so a token can never choose
// how it is checked (no HS256 "signed" with a public key, no "none").
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace circle::auth {

// The asymmetric algorithms a published key can verify.
enum class SigningAlgorithm { kRs256, kPs256, kEs256 };

// "RS256" ... ; nullptr for any other name (HS256, none, RS384, ...).
const SigningAlgorithm* signing_algorithm_named(std::string_view name);
std::string_view name_of(SigningAlgorithm algorithm);

// RSA keys shorter than this are not used (RFC 7518 section 3.3).
inline constexpr int kMinRsaBits = 2048;

class PublicKey {
 public:
  // `key` is an EVP_PKEY*, owned from here on.
  PublicKey(std::string kid, std::vector<SigningAlgorithm> algorithms, void* key);
  ~PublicKey();
  PublicKey(const PublicKey&) = delete;
  PublicKey& operator=(const PublicKey&) = delete;

  const std::string& kid() const { return kid_; }
  bool allows(SigningAlgorithm algorithm) const;
  // Whether `signature` (as a JWS carries it: raw r||s for ES256) signs
  // `signing_input` under `algorithm`. False also when the key does not
  // allow `algorithm`.
  bool verifies(SigningAlgorithm algorithm, std::string_view signing_input,
                std::string_view signature) const;

 private:
  std::string kid_;
  std::vector<SigningAlgorithm> algorithms_;
  void* key_;  // EVP_PKEY*
};

// The signing keys of one JWK Set. Keys this server cannot or must not use
// (encryption keys, symmetric "oct" keys, other curves, short RSA keys) are
// left out and counted in `skipped()`, so that a provider adding a key type
// does not break sign-in.
class KeySet {
 public:
  // Throws std::invalid_argument (naming what is wrong, never key material)
  // when `json` is not a JWK Set or holds no usable signing key.
  static std::shared_ptr<const KeySet> parse(std::string_view json);

  // The key with this "kid"; nullptr when there is none. An empty kid finds
  // the only key of a set of one (providers with one key may omit kids).
  const PublicKey* find(std::string_view kid) const;
  std::size_t size() const { return keys_.size(); }
  std::size_t skipped() const { return skipped_; }
  std::vector<std::string> kids() const;

 private:
  const PublicKey* find_exact(std::string_view kid) const;

  std::vector<std::unique_ptr<PublicKey>> keys_;
  std::size_t skipped_ = 0;
};

// base64url without padding (RFC 7515 section 2). False when `text` is not
// that (padding, the other alphabet's characters, a stray trailing bit).
bool base64url_decode(std::string_view text, std::string& out);
std::string base64url_encode(std::string_view bytes);

}  // namespace circle::auth
