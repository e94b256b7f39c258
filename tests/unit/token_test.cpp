// Account tokens without a network: what verify_token accepts and refuses.
// Tokens are also built here by hand (base64url + OpenSSL HMAC), as any other
// JWT library would, so that interoperability is tested, not just round trips.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <vector>

#include "auth/token.hpp"
#include "support/hand_made_token.hpp"

namespace {

using circle::auth::Identity;
using circle::auth::mint_token;
using circle::auth::verify_token;

const std::string kSecret = "0123456789abcdef0123456789abcdef-test-secret";
constexpr std::int64_t kNow = 1'800'000'000;

// header.payload.signature with HMAC over `digest` (nullptr: unsigned).
std::string hand_made(const std::string& header, const std::string& payload, const EVP_MD* digest,
                      const std::string& secret = kSecret) {
  return circle::test::hand_made_token(header, payload, digest, secret);
}

const std::string kHs256 = R"({"alg":"HS256","typ":"JWT"})";

Identity account(const std::string& id, std::int64_t expires_at) {
  Identity identity;
  identity.account_id = id;
  identity.expires_at = expires_at;
  return identity;
}

TEST(Token, MintedTokenVerifiesWithItsClaims) {
  const auto token = mint_token({.account_id = "u-42",
                                 .name = "Robin",
                                 .issued_at = kNow,
                                 .expires_at = kNow + 60,
                                 .admin = true},
                                kSecret);
  auto identity = verify_token(token, kSecret, kNow);
  ASSERT_TRUE(identity) << identity.refusal().message;
  EXPECT_EQ(identity.value().account_id, "u-42");
  EXPECT_EQ(identity.value().name, "Robin");
  EXPECT_EQ(identity.value().issued_at, kNow);
  EXPECT_EQ(identity.value().expires_at, kNow + 60);
  EXPECT_TRUE(identity.value().admin);
}

TEST(Token, GuestAndAnonymousAccountNamesAreTheServersOwn) {
  for (const char* sub : {"guest-0123456789abcdef01234567", "anon-1234"}) {
    auto refused = verify_token(mint_token(account(sub, kNow + 60), kSecret), kSecret, kNow);
    ASSERT_FALSE(refused) << sub;
    EXPECT_EQ(refused.refusal().code, circle::v1::ERROR_CODE_UNAUTHENTICATED);
  }
}

TEST(Token, TokenFromAnotherLibraryVerifies) {
  const auto token = hand_made(
      kHs256,
      R"({"sub":"member-7","name":"Sam","iat":1800000000,"exp":1800003600,"roles":["staff"]})",
      EVP_sha256());
  auto identity = verify_token(token, kSecret, kNow);
  ASSERT_TRUE(identity) << identity.refusal().message;
  EXPECT_EQ(identity.value().account_id, "member-7");
  EXPECT_EQ(identity.value().name, "Sam");
  EXPECT_FALSE(identity.value().admin);  // only "admin" in roles makes an operator
}

TEST(Token, ExpiredTokenIsRefusedAsExpired) {
  const auto token = mint_token(account("u", kNow), kSecret);
  auto identity = verify_token(token, kSecret, kNow);
  ASSERT_FALSE(identity);
  EXPECT_EQ(identity.refusal().code, circle::v1::ERROR_CODE_TOKEN_EXPIRED);
  EXPECT_TRUE(verify_token(token, kSecret, kNow - 1));  // a second earlier it was fine
}

TEST(Token, WrongSignatureIsRefused) {
  const auto token = mint_token(account("u", kNow + 60), kSecret + "-but-another-one");
  auto identity = verify_token(token, kSecret, kNow);
  ASSERT_FALSE(identity);
  EXPECT_EQ(identity.refusal().code, circle::v1::ERROR_CODE_UNAUTHENTICATED);
  EXPECT_EQ(identity.refusal().message.find(token), std::string::npos);  // never echoed
}

TEST(Token, AlgorithmNoneIsRefused) {
  const auto token =
      hand_made(R"({"alg":"none","typ":"JWT"})", R"({"sub":"mallory","exp":1900000000})", nullptr);
  auto identity = verify_token(token, kSecret, kNow);
  ASSERT_FALSE(identity);
  EXPECT_EQ(identity.refusal().code, circle::v1::ERROR_CODE_UNAUTHENTICATED);
}

TEST(Token, OtherAlgorithmsAreRefused) {
  const auto token =
      hand_made(R"({"alg":"HS512","typ":"JWT"})", R"({"sub":"u","exp":1900000000})", EVP_sha512());
  auto identity = verify_token(token, kSecret, kNow);
  ASSERT_FALSE(identity);
  EXPECT_EQ(identity.refusal().code, circle::v1::ERROR_CODE_UNAUTHENTICATED);
}

TEST(Token, MalformedTokensAreRefused) {
  for (const std::string& token : std::vector<std::string>{
           "", "not-a-jwt", "a.b.c", "....", hand_made(kHs256, "not json", EVP_sha256()),
           hand_made(kHs256, R"({"sub":"u","exp":1900000000})", EVP_sha256()) + "x"}) {
    auto identity = verify_token(token, kSecret, kNow);
    ASSERT_FALSE(identity) << token;
    EXPECT_EQ(identity.refusal().code, circle::v1::ERROR_CODE_UNAUTHENTICATED) << token;
  }
}

TEST(Token, SubAndExpAreRequired) {
  auto no_sub =
      verify_token(hand_made(kHs256, R"({"exp":1900000000})", EVP_sha256()), kSecret, kNow);
  ASSERT_FALSE(no_sub);
  EXPECT_NE(no_sub.refusal().message.find("sub"), std::string::npos);
  auto no_exp = verify_token(hand_made(kHs256, R"({"sub":"u"})", EVP_sha256()), kSecret, kNow);
  ASSERT_FALSE(no_exp);
  EXPECT_NE(no_exp.refusal().message.find("exp"), std::string::npos);
  auto long_sub = verify_token(
      hand_made(kHs256, R"({"sub":")" + std::string(129, 'a') + R"(","exp":1900000000})",
                EVP_sha256()),
      kSecret, kNow);
  EXPECT_FALSE(long_sub);
}

TEST(Token, ShortSecretsAreNotUsed) {
  EXPECT_THROW(mint_token(account("u", kNow + 60), "short"), std::invalid_argument);
  auto identity = verify_token(mint_token(account("u", kNow + 60), kSecret), "short", kNow);
  EXPECT_FALSE(identity);
}

}  // namespace

namespace {

TEST(Token, DatesBeyondAnyRealOneAreRefused) {
  // Found by the fuzzer: a float iat too big for an integer.
  const auto huge_iat =
      verify_token(hand_made(kHs256, R"({"sub":"u","iat":1.6e83,"exp":1900000000})", EVP_sha256()),
                   kSecret, kNow);
  ASSERT_TRUE(huge_iat);
  EXPECT_EQ(huge_iat.value().issued_at, 0);
  for (const auto* exp : {"1e300", "18446744073709551615", "9223372036854775807"}) {
    const auto claims = std::string(R"({"sub":"u","exp":)") + exp + "}";
    EXPECT_FALSE(verify_token(hand_made(kHs256, claims, EVP_sha256()), kSecret, kNow)) << exp;
  }
}

}  // namespace
