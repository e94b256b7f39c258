// Tokens from an identity provider, without a network: RS256, PS256 and
// ES256 against a JWK Set, and every way a token may try to choose its own
// check. The keys are made by `openssl` when the suite starts.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "auth/jwk.hpp"
#include "auth/token.hpp"
#include "support/hand_made_token.hpp"
#include "support/signing_key.hpp"

namespace {

using circle::auth::base64url_decode;
using circle::auth::KeySet;
using circle::auth::TokenFault;
using circle::auth::TokenKeys;
using circle::auth::TokenRules;
using circle::auth::verify_token;
using circle::test::jwk_set;
using circle::test::SigningKey;

const std::string kSecret = "0123456789abcdef0123456789abcdef-test-secret";
constexpr std::int64_t kNow = 1'800'000'000;

std::string claims(nlohmann::json extra = nlohmann::json::object()) {
  nlohmann::json all = {{"sub", "u-7"}, {"name", "River"}, {"exp", kNow + 600}};
  all.update(extra);
  return all.dump();
}

class PublishedKeys : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(std::filesystem::temp_directory_path() /
                                     ("circle-keys-" + std::to_string(::getpid())));
    rsa_ = new SigningKey(SigningKey::make(SigningKey::Type::kRsa, *dir_, "rsa-1"));
    ec_ = new SigningKey(SigningKey::make(SigningKey::Type::kP256, *dir_, "ec-1"));
    other_rsa_ = new SigningKey(SigningKey::make(SigningKey::Type::kRsa, *dir_, "rsa-1-other"));
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete rsa_;
    delete ec_;
    delete other_rsa_;
    delete dir_;
  }

  // Verifies with the secret and a set of the RSA and P-256 keys.
  circle::core::Result<circle::auth::Identity> check(const std::string& token,
                                                     const TokenRules& rules = {}) {
    if (!set_) set_ = KeySet::parse(jwk_set({rsa_->jwk(), ec_->jwk()}));
    return verify_token(token, TokenKeys{.secret = kSecret, .published = set_.get()}, rules, kNow,
                        &fault_);
  }

  static std::filesystem::path* dir_;
  static SigningKey* rsa_;
  static SigningKey* ec_;
  static SigningKey* other_rsa_;
  std::shared_ptr<const KeySet> set_;
  TokenFault fault_ = TokenFault::kNone;
};

std::filesystem::path* PublishedKeys::dir_ = nullptr;
SigningKey* PublishedKeys::rsa_ = nullptr;
SigningKey* PublishedKeys::ec_ = nullptr;
SigningKey* PublishedKeys::other_rsa_ = nullptr;

TEST_F(PublishedKeys, Rs256Ps256AndEs256TokensVerifyWithTheirClaims) {
  for (const auto& token : {rsa_->sign("RS256", claims()), rsa_->sign("PS256", claims()),
                            ec_->sign("ES256", claims())}) {
    auto identity = check(token);
    ASSERT_TRUE(identity) << identity.refusal().message;
    EXPECT_EQ(identity.value().account_id, "u-7");
    EXPECT_EQ(identity.value().name, "River");
    EXPECT_EQ(identity.value().expires_at, kNow + 600);
    EXPECT_FALSE(identity.value().admin);
    EXPECT_EQ(fault_, TokenFault::kNone);
  }
}

TEST_F(PublishedKeys, TheKeysAlgDecides) {
  set_ = KeySet::parse(jwk_set({rsa_->jwk("RS256")}));
  EXPECT_TRUE(check(rsa_->sign("RS256", claims())));
  auto pss = check(rsa_->sign("PS256", claims()));
  ASSERT_FALSE(pss);
  EXPECT_EQ(fault_, TokenFault::kAlgorithmRefused);
  EXPECT_EQ(pss.refusal().code, circle::v1::ERROR_CODE_UNAUTHENTICATED);
}

TEST_F(PublishedKeys, AnHs256TokenSignedWithThePublicKeyIsRefused) {
  // The classic confusion: the public key's PEM used as an HMAC secret.
  const auto pem = rsa_->public_pem();
  const auto forged_with_kid = circle::test::hand_made_token(
      R"({"alg":"HS256","typ":"JWT","kid":"rsa-1"})", claims(), EVP_sha256(), pem);
  EXPECT_FALSE(check(forged_with_kid));
  EXPECT_EQ(fault_, TokenFault::kAlgorithmRefused);
  const auto forged =
      circle::test::hand_made_token(R"({"alg":"HS256","typ":"JWT"})", claims(), EVP_sha256(), pem);
  EXPECT_FALSE(check(forged));
  EXPECT_EQ(fault_, TokenFault::kBadSignature);
}

TEST_F(PublishedKeys, AlgNoneIsRefusedWithOrWithoutAKid) {
  for (const auto* header : {R"({"alg":"none","kid":"rsa-1"})", R"({"alg":"none"})"}) {
    const auto token = circle::test::hand_made_token(header, claims(), nullptr, "");
    EXPECT_FALSE(check(token)) << header;
    EXPECT_EQ(fault_, TokenFault::kAlgorithmRefused) << header;
  }
}

TEST_F(PublishedKeys, AnAlgorithmOfAnotherKeyTypeIsRefused) {
  // An ES256 header on the RSA key's kid, and RS256 on the EC key's.
  EXPECT_FALSE(
      check(rsa_->sign_with_header(R"({"alg":"ES256","kid":"rsa-1"})", "RS256", claims())));
  EXPECT_EQ(fault_, TokenFault::kAlgorithmRefused);
  EXPECT_FALSE(check(ec_->sign_with_header(R"({"alg":"RS256","kid":"ec-1"})", "ES256", claims())));
  EXPECT_EQ(fault_, TokenFault::kAlgorithmRefused);
  EXPECT_FALSE(
      check(rsa_->sign_with_header(R"({"alg":"RS512","kid":"rsa-1"})", "RS256", claims())));
  EXPECT_EQ(fault_, TokenFault::kAlgorithmRefused);
}

TEST_F(PublishedKeys, AnUnknownKidIsRefusedAsUnknown) {
  EXPECT_FALSE(check(other_rsa_->sign("RS256", claims())));
  EXPECT_EQ(fault_, TokenFault::kUnknownKey);
  // No set loaded (a provider not reached yet): the same.
  auto none = verify_token(rsa_->sign("RS256", claims()), TokenKeys{.secret = kSecret},
                           TokenRules{}, kNow, &fault_);
  EXPECT_FALSE(none);
  EXPECT_EQ(fault_, TokenFault::kUnknownKey);
}

TEST_F(PublishedKeys, AnotherKeyUnderAKnownKidIsABadSignature) {
  const auto header = R"({"alg":"RS256","kid":"rsa-1"})";
  EXPECT_FALSE(check(other_rsa_->sign_with_header(header, "RS256", claims())));
  EXPECT_EQ(fault_, TokenFault::kBadSignature);
  // A changed claim after signing.
  auto token = rsa_->sign("RS256", claims());
  const auto dot = token.find('.');
  const auto changed = circle::test::base64url(claims({{"sub", "u-8"}}));
  token = token.substr(0, dot + 1) + changed + token.substr(token.find('.', dot + 1));
  EXPECT_FALSE(check(token));
  EXPECT_EQ(fault_, TokenFault::kBadSignature);
}

TEST_F(PublishedKeys, IssuerAndAudienceAreCheckedWhenSet) {
  TokenRules rules;
  rules.issuer = "https://id.example.org/realms/peers";
  rules.audience = "circle";
  const auto good = claims({{"iss", rules.issuer}, {"aud", {"account", "circle"}}});
  EXPECT_TRUE(check(rsa_->sign("RS256", good), rules));
  EXPECT_TRUE(check(ec_->sign("ES256", claims({{"iss", rules.issuer}, {"aud", "circle"}})), rules));

  EXPECT_FALSE(check(
      rsa_->sign("RS256", claims({{"iss", "https://evil.example"}, {"aud", "circle"}})), rules));
  EXPECT_EQ(fault_, TokenFault::kWrongIssuer);
  EXPECT_FALSE(check(rsa_->sign("RS256", claims({{"aud", "circle"}})), rules));
  EXPECT_EQ(fault_, TokenFault::kWrongIssuer);
  EXPECT_FALSE(
      check(rsa_->sign("RS256", claims({{"iss", rules.issuer}, {"aud", {"account"}}})), rules));
  EXPECT_EQ(fault_, TokenFault::kWrongAudience);
  EXPECT_FALSE(check(rsa_->sign("RS256", claims({{"iss", rules.issuer}})), rules));
  EXPECT_EQ(fault_, TokenFault::kWrongAudience);
  // Not set: not checked.
  EXPECT_TRUE(check(rsa_->sign("RS256", claims({{"iss", "anyone"}}))));
}

TEST_F(PublishedKeys, ExpiryAndNotBeforeHonourTheLeeway) {
  TokenRules rules;
  rules.leeway_s = 30;
  EXPECT_TRUE(check(rsa_->sign("RS256", claims({{"exp", kNow - 29}})), rules));
  auto expired = check(rsa_->sign("RS256", claims({{"exp", kNow - 30}})), rules);
  ASSERT_FALSE(expired);
  EXPECT_EQ(fault_, TokenFault::kExpired);
  EXPECT_EQ(expired.refusal().code, circle::v1::ERROR_CODE_TOKEN_EXPIRED);
  EXPECT_TRUE(check(rsa_->sign("RS256", claims({{"nbf", kNow + 30}})), rules));
  EXPECT_FALSE(check(rsa_->sign("RS256", claims({{"nbf", kNow + 31}})), rules));
  EXPECT_EQ(fault_, TokenFault::kNotYetValid);
}

TEST_F(PublishedKeys, TheRolesClaimIsWhereTheOperatorSaysItIs) {
  TokenRules keycloak;
  keycloak.roles_claim = "/realm_access/roles";
  keycloak.admin_role = "circle-operator";
  auto nested = check(
      rsa_->sign("RS256", claims({{"realm_access", {{"roles", {"user", "circle-operator"}}}}})),
      keycloak);
  ASSERT_TRUE(nested);
  EXPECT_TRUE(nested.value().admin);
  // The default claim name means nothing under these rules.
  auto plain = check(rsa_->sign("RS256", claims({{"roles", {"circle-operator"}}})), keycloak);
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain.value().admin);

  TokenRules auth0;
  auth0.roles_claim = "https://circle.example.org/roles";
  auto namespaced =
      check(ec_->sign("ES256", claims({{"https://circle.example.org/roles", "admin"}})), auth0);
  ASSERT_TRUE(namespaced);
  EXPECT_TRUE(namespaced.value().admin);
}

TEST_F(PublishedKeys, HeaderExtensionsAreRefused) {
  EXPECT_FALSE(check(rsa_->sign_with_header(R"({"alg":"RS256","kid":"rsa-1","crit":["exp"]})",
                                            "RS256", claims())));
  EXPECT_EQ(fault_, TokenFault::kMalformed);
}

TEST_F(PublishedKeys, AKidlessTokenUsesTheOnlyKey) {
  set_ = KeySet::parse(jwk_set({ec_->jwk()}));
  EXPECT_TRUE(check(ec_->sign("ES256", claims(), /*with_kid=*/false)));
  set_ = KeySet::parse(jwk_set({rsa_->jwk(), ec_->jwk()}));
  EXPECT_FALSE(check(ec_->sign("ES256", claims(), /*with_kid=*/false)));
  EXPECT_EQ(fault_, TokenFault::kUnknownKey);
}

TEST_F(PublishedKeys, TheServersOwnHs256TokensStillVerify) {
  TokenRules rules;
  rules.issuer = "https://id.example.org";
  rules.audience = "circle";
  rules.roles_claim = "/realm_access/roles";
  circle::auth::Identity operator_identity;
  operator_identity.account_id = "ops-1";
  operator_identity.expires_at = kNow + 60;
  operator_identity.admin = true;
  const auto token = circle::auth::mint_token(operator_identity, kSecret, rules);
  auto identity = check(token, rules);
  ASSERT_TRUE(identity) << identity.refusal().message;
  EXPECT_TRUE(identity.value().admin);
}

TEST_F(PublishedKeys, ASetKeepsOnlyKeysItMayUse) {
  auto rsa = nlohmann::json::parse(rsa_->jwk());
  auto encryption = rsa;
  encryption["kid"] = "enc";
  encryption["use"] = "enc";
  auto short_rsa = rsa;
  short_rsa["kid"] = "short";
  std::string modulus;
  ASSERT_TRUE(base64url_decode(rsa["n"].get<std::string>(), modulus));
  short_rsa["n"] = circle::test::base64url(modulus.substr(0, 128));  // 1024 bits
  auto mismatched = nlohmann::json::parse(ec_->jwk("RS256"));
  mismatched["kid"] = "mismatched";
  const nlohmann::json oct = {{"kty", "oct"}, {"kid", "oct"}, {"k", "c2VjcmV0"}};
  auto off_curve = nlohmann::json::parse(ec_->jwk());
  off_curve["kid"] = "off-curve";
  off_curve["y"] = off_curve["x"];
  const auto set = KeySet::parse(jwk_set({rsa.dump(), encryption.dump(), short_rsa.dump(),
                                          mismatched.dump(), oct.dump(), off_curve.dump()}));
  EXPECT_EQ(set->size(), 1u);
  EXPECT_EQ(set->skipped(), 5u);
  EXPECT_NE(set->find("rsa-1"), nullptr);

  EXPECT_THROW(KeySet::parse(jwk_set({oct.dump()})), std::invalid_argument);
  EXPECT_THROW(KeySet::parse(jwk_set({rsa.dump(), rsa.dump()})), std::invalid_argument);
  EXPECT_THROW(KeySet::parse("not json"), std::invalid_argument);
  EXPECT_THROW(KeySet::parse(R"({"keys":{}})"), std::invalid_argument);
}

TEST(Base64url, IsStrict) {
  std::string out;
  EXPECT_TRUE(base64url_decode("aGk", out));
  EXPECT_EQ(out, "hi");
  EXPECT_FALSE(base64url_decode("aGl", out));   // a stray trailing bit
  EXPECT_FALSE(base64url_decode("aGk=", out));  // padding
  EXPECT_FALSE(base64url_decode("a+k", out));   // the other alphabet
  EXPECT_FALSE(base64url_decode("a", out));     // a lone sixth character
  EXPECT_EQ(circle::auth::base64url_encode("\xfb\xff"), "-_8");
}

}  // namespace
