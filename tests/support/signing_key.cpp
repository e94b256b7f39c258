#include "support/signing_key.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "support/hand_made_token.hpp"

namespace circle::test {
namespace {

EVP_PKEY* pkey(const std::shared_ptr<void>& key) {
  return static_cast<EVP_PKEY*>(key.get());
}

std::string bn_param(EVP_PKEY* key, const char* name, int pad_to = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) throw std::runtime_error("no key parameter");
  std::string bytes(static_cast<std::size_t>(std::max(BN_num_bytes(bn), pad_to)), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  BN_free(bn);
  return bytes;
}

std::string raw_from_der_ecdsa(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (sig == nullptr) throw std::runtime_error("bad ECDSA signature");
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ECDSA_SIG_free(sig);
  return raw;
}

}  // namespace

void SigningKey::PkeyFree::operator()(void* key) const {
  EVP_PKEY_free(static_cast<EVP_PKEY*>(key));
}

SigningKey SigningKey::make(Type type, const std::filesystem::path& dir, std::string kid) {
  std::filesystem::create_directories(dir);
  const auto file = dir / (kid + ".pem");
  const std::string options = type == Type::kRsa ? "-algorithm RSA -pkeyopt rsa_keygen_bits:2048"
                                                 : "-algorithm EC -pkeyopt ec_paramgen_curve:P-256";
  const std::string command =
      "openssl genpkey " + options + " -out '" + file.string() + "' 2>/dev/null";
  if (std::system(command.c_str()) != 0) throw std::runtime_error("openssl genpkey failed");
  FILE* in = std::fopen(file.c_str(), "r");
  if (in == nullptr) throw std::runtime_error("cannot read the new key");
  EVP_PKEY* key = PEM_read_PrivateKey(in, nullptr, nullptr, nullptr);
  std::fclose(in);
  if (key == nullptr) throw std::runtime_error("cannot parse the new key");
  SigningKey made;
  made.type_ = type;
  made.kid_ = std::move(kid);
  made.key_ = std::shared_ptr<void>(key, PkeyFree{});
  return made;
}

std::string SigningKey::jwk(std::string_view alg) const {
  nlohmann::json jwk;
  if (type_ == Type::kRsa) {
    jwk = {{"kty", "RSA"},
           {"n", base64url(bn_param(pkey(key_), OSSL_PKEY_PARAM_RSA_N))},
           {"e", base64url(bn_param(pkey(key_), OSSL_PKEY_PARAM_RSA_E))}};
  } else {
    jwk = {{"kty", "EC"},
           {"crv", "P-256"},
           {"x", base64url(bn_param(pkey(key_), OSSL_PKEY_PARAM_EC_PUB_X, 32))},
           {"y", base64url(bn_param(pkey(key_), OSSL_PKEY_PARAM_EC_PUB_Y, 32))}};
  }
  jwk["kid"] = kid_;
  jwk["use"] = "sig";
  if (!alg.empty()) jwk["alg"] = alg;
  return jwk.dump();
}

std::string SigningKey::public_pem() const {
  BIO* out = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(out, pkey(key_));
  char* data = nullptr;
  const long size = BIO_get_mem_data(out, &data);
  std::string pem(data, static_cast<std::size_t>(size));
  BIO_free(out);
  return pem;
}

std::string SigningKey::sign(std::string_view alg, std::string_view claims, bool with_kid) const {
  nlohmann::json header = {{"alg", alg}, {"typ", "JWT"}};
  if (with_kid) header["kid"] = kid_;
  return sign_with_header(header.dump(), alg, claims);
}

std::string SigningKey::sign_with_header(std::string_view header, std::string_view alg,
                                         std::string_view claims) const {
  const std::string input = base64url(header) + "." + base64url(claims);
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  if (EVP_DigestSignInit(md, &pctx, EVP_sha256(), nullptr, pkey(key_)) != 1) {
    throw std::runtime_error("sign init");
  }
  if (alg == "PS256") {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
  }
  std::size_t size = 0;
  EVP_DigestSign(md, nullptr, &size, reinterpret_cast<const unsigned char*>(input.data()),
                 input.size());
  std::string signature(size, '\0');
  if (EVP_DigestSign(md, reinterpret_cast<unsigned char*>(signature.data()), &size,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    throw std::runtime_error("sign");
  }
  EVP_MD_CTX_free(md);
  signature.resize(size);
  if (type_ == Type::kP256) signature = raw_from_der_ecdsa(signature);
  return input + "." + base64url(signature);
}

std::string jwk_set(std::initializer_list<std::string> jwks) {
  nlohmann::json set = {{"keys", nlohmann::json::array()}};
  for (const auto& jwk : jwks) set["keys"].push_back(nlohmann::json::parse(jwk));
  return set.dump();
}

}  // namespace circle::test
