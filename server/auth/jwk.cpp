#include "auth/jwk.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace circle::auth {
namespace {

constexpr std::array<SigningAlgorithm, 3> kAll = {
    SigningAlgorithm::kRs256, SigningAlgorithm::kPs256, SigningAlgorithm::kEs256};

EVP_PKEY* as_pkey(void* key) {
  return static_cast<EVP_PKEY*>(key);
}

struct BnFree {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* bld) const { OSSL_PARAM_BLD_free(bld); }
};
struct ParamsFree {
  void operator()(OSSL_PARAM* params) const { OSSL_PARAM_free(params); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// A base64url JWK member as bytes; empty when absent or unreadable.
std::string member_bytes(const nlohmann::json& jwk, const char* name) {
  const auto it = jwk.find(name);
  std::string bytes;
  if (it == jwk.end() || !it->is_string() || !base64url_decode(it->get<std::string>(), bytes)) {
    return {};
  }
  return bytes;
}

BnPtr big_number(const std::string& bytes) {
  return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                         static_cast<int>(bytes.size()), nullptr));
}

PkeyPtr key_from_params(const char* type, OSSL_PARAM_BLD* builder) {
  std::unique_ptr<OSSL_PARAM, ParamsFree> params(OSSL_PARAM_BLD_to_param(builder));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  PkeyPtr owned(key);
  // fromdata takes numbers as given: check they make a real public key (a
  // point on the curve, an odd modulus) before trusting anything to it.
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) return nullptr;
  return owned;
}

PkeyPtr rsa_key(const nlohmann::json& jwk) {
  const auto n = member_bytes(jwk, "n");
  const auto e = member_bytes(jwk, "e");
  if (n.empty() || e.empty()) return nullptr;
  const auto modulus = big_number(n);
  const auto exponent = big_number(e);
  if (!modulus || !exponent || BN_num_bits(modulus.get()) < kMinRsaBits) return nullptr;
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> builder(OSSL_PARAM_BLD_new());
  if (!builder ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, modulus.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, exponent.get()) != 1) {
    return nullptr;
  }
  return key_from_params("RSA", builder.get());
}

constexpr std::size_t kP256CoordinateBytes = 32;

PkeyPtr p256_key(const nlohmann::json& jwk) {
  const auto x = member_bytes(jwk, "x");
  const auto y = member_bytes(jwk, "y");
  if (x.size() != kP256CoordinateBytes || y.size() != kP256CoordinateBytes) return nullptr;
  // The uncompressed point: 0x04 || x || y (SEC 1, section 2.3.3).
  std::string point = "\x04" + x + y;
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> builder(OSSL_PARAM_BLD_new());
  if (!builder ||
      OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return nullptr;
  }
  return key_from_params("EC", builder.get());
}

std::string string_member(const nlohmann::json& jwk, const char* name) {
  const auto it = jwk.find(name);
  return it != jwk.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// One JWK as a signing key; nullptr when this server cannot or must not use it.
std::unique_ptr<PublicKey> signing_key(const nlohmann::json& jwk) {
  if (!jwk.is_object()) return nullptr;
  const auto use = string_member(jwk, "use");
  if (!use.empty() && use != "sig") return nullptr;
  if (const auto ops = jwk.find("key_ops"); ops != jwk.end()) {
    if (!ops->is_array() || std::find(ops->begin(), ops->end(), "verify") == ops->end()) {
      return nullptr;
    }
  }
  const auto type = string_member(jwk, "kty");
  const auto alg = string_member(jwk, "alg");
  std::vector<SigningAlgorithm> algorithms;
  PkeyPtr key;
  if (type == "RSA") {
    algorithms = {SigningAlgorithm::kRs256, SigningAlgorithm::kPs256};
    key = rsa_key(jwk);
  } else if (type == "EC" && string_member(jwk, "crv") == "P-256") {
    algorithms = {SigningAlgorithm::kEs256};
    key = p256_key(jwk);
  } else {
    return nullptr;  // "oct" (a shared secret has no place in a public set), OKP, other curves
  }
  if (!alg.empty()) {
    const auto* named = signing_algorithm_named(alg);
    if (named == nullptr ||
        std::find(algorithms.begin(), algorithms.end(), *named) == algorithms.end()) {
      return nullptr;
    }
    algorithms = {*named};
  }
  if (!key) return nullptr;
  return std::make_unique<PublicKey>(string_member(jwk, "kid"), std::move(algorithms),
                                     key.release());
}

// A JWS ES256 signature is r || s, 32 bytes each (RFC 7518 section 3.4);
// OpenSSL verifies the DER form.
std::string der_from_raw_ecdsa(std::string_view raw) {
  if (raw.size() != 2 * kP256CoordinateBytes) return {};
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  ECDSA_SIG* sig = ECDSA_SIG_new();
  if (sig == nullptr) return {};
  BIGNUM* r = BN_bin2bn(bytes, kP256CoordinateBytes, nullptr);
  BIGNUM* s = BN_bin2bn(bytes + kP256CoordinateBytes, kP256CoordinateBytes, nullptr);
  std::string der;
  if (r != nullptr && s != nullptr && ECDSA_SIG_set0(sig, r, s) == 1) {
    unsigned char* out = nullptr;
    const int length = i2d_ECDSA_SIG(sig, &out);
    if (length > 0) der.assign(reinterpret_cast<char*>(out), static_cast<std::size_t>(length));
    OPENSSL_free(out);
  } else {
    BN_free(r);
    BN_free(s);
  }
  ECDSA_SIG_free(sig);
  return der;
}

}  // namespace

const SigningAlgorithm* signing_algorithm_named(std::string_view name) {
  for (const auto& algorithm : kAll) {
    if (name_of(algorithm) == name) return &algorithm;
  }
  return nullptr;
}

std::string_view name_of(SigningAlgorithm algorithm) {
  switch (algorithm) {
    case SigningAlgorithm::kRs256:
      return "RS256";
    case SigningAlgorithm::kPs256:
      return "PS256";
    case SigningAlgorithm::kEs256:
      return "ES256";
  }
  return "";
}

PublicKey::PublicKey(std::string kid, std::vector<SigningAlgorithm> algorithms, void* key)
    : kid_(std::move(kid)), algorithms_(std::move(algorithms)), key_(key) {}

PublicKey::~PublicKey() {
  EVP_PKEY_free(as_pkey(key_));
}

bool PublicKey::allows(SigningAlgorithm algorithm) const {
  return std::find(algorithms_.begin(), algorithms_.end(), algorithm) != algorithms_.end();
}

bool PublicKey::verifies(SigningAlgorithm algorithm, std::string_view signing_input,
                         std::string_view signature) const {
  if (!allows(algorithm)) return false;
  std::string der;
  if (algorithm == SigningAlgorithm::kEs256) {
    der = der_from_raw_ecdsa(signature);
    if (der.empty()) return false;
    signature = der;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> md(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by md
  if (!md || EVP_DigestVerifyInit(md.get(), &pctx, EVP_sha256(), nullptr, as_pkey(key_)) != 1) {
    return false;
  }
  if (algorithm == SigningAlgorithm::kPs256) {
    // RFC 7518 section 3.5: MGF1 with SHA-256, salt as long as the hash.
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1) {
      return false;
    }
  } else if (algorithm == SigningAlgorithm::kRs256) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) return false;
  }
  return EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(),
                          reinterpret_cast<const unsigned char*>(signing_input.data()),
                          signing_input.size()) == 1;
}

std::shared_ptr<const KeySet> KeySet::parse(std::string_view json) {
  const auto document = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!document.is_object() || !document.contains("keys") || !document["keys"].is_array()) {
    throw std::invalid_argument("not a JWK Set (a JSON object with a \"keys\" array)");
  }
  auto set = std::make_shared<KeySet>();
  for (const auto& jwk : document["keys"]) {
    auto key = signing_key(jwk);
    if (!key) {
      ++set->skipped_;
      continue;
    }
    // Two keys under one kid would make the choice of key ambiguous.
    if (set->find_exact(key->kid()) != nullptr) {
      throw std::invalid_argument("the JWK Set has two signing keys with kid \"" + key->kid() +
                                  "\"");
    }
    set->keys_.push_back(std::move(key));
  }
  if (set->keys_.empty()) {
    throw std::invalid_argument("the JWK Set holds no RS256, PS256 or ES256 signing key (" +
                                std::to_string(set->skipped_) + " other keys)");
  }
  return set;
}

const PublicKey* KeySet::find_exact(std::string_view kid) const {
  for (const auto& key : keys_) {
    if (key->kid() == kid) return key.get();
  }
  return nullptr;
}

const PublicKey* KeySet::find(std::string_view kid) const {
  if (kid.empty()) return keys_.size() == 1 ? keys_.front().get() : nullptr;
  return find_exact(kid);
}

std::vector<std::string> KeySet::kids() const {
  std::vector<std::string> kids;
  for (const auto& key : keys_) kids.push_back(key->kid());
  return kids;
}

bool base64url_decode(std::string_view text, std::string& out) {
  out.clear();
  out.reserve(text.size() * 3 / 4);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char c : text) {
    int value = 0;
    if (c >= 'A' && c <= 'Z') {
      value = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      value = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      value = c - '0' + 52;
    } else if (c == '-') {
      value = 62;
    } else if (c == '_') {
      value = 63;
    } else {
      return false;
    }
    buffer = (buffer << 6) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  // A lone sixth character cannot end a base64 text, and the bits left over
  // must be zero: otherwise two texts would decode to the same bytes.
  if (bits == 6) return false;
  return (buffer & ((1u << bits) - 1)) == 0;
}

std::string base64url_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char c : bytes) {
    buffer = (buffer << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buffer >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (6 - bits)) & 63]);
  return out;
}

}  // namespace circle::auth
