// Tokens from an organisation's identity provider against the real server:
// its keys from a JWK Set file or from an HTTPS URL (a small server on
// loopback standing in for Keycloak), including a key rotation and the
// provider being down. The keys are made by `openssl` at test time.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "auth/token.hpp"

#include "support/hand_made_token.hpp"
#include "support/https_receiver.hpp"
#include "support/signing_key.hpp"
#include "support/test_server.hpp"

namespace {

using namespace circle::test;
namespace client = circle::client;

const std::string kIssuer = "https://id.example.org/realms/peers";

std::filesystem::path key_dir() {
  return std::filesystem::temp_directory_path() /
         ("circle-idp-" + std::to_string(::getpid()) + "-" +
          ::testing::UnitTest::GetInstance()->current_test_info()->name());
}

std::string claims(const std::string& sub, nlohmann::json extra = nlohmann::json::object()) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  nlohmann::json all = {{"sub", sub},       {"name", "River"}, {"iat", now},
                        {"exp", now + 600}, {"iss", kIssuer},  {"aud", {"account", "circle"}}};
  all.update(extra);
  return all.dump();
}

circle::v1::ServerMessage hello(const TestServer& server, const std::string& token) {
  auto c = server.connect();
  return call(*c, client::make_hello("", "test", token));
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

TEST(IdentityProvider, TokensSignedWithAJwksFilesKeysAreTakenAndForgeriesAreNot) {
  const auto dir = key_dir();
  const auto rsa = SigningKey::make(SigningKey::Type::kRsa, dir, "rsa-1");
  const auto ec = SigningKey::make(SigningKey::Type::kP256, dir, "ec-1");
  const auto jwks = dir / "jwks.json";
  write_file(jwks, jwk_set({rsa.jwk("RS256"), ec.jwk()}));
  TestServer server({"--jwks-file", jwks.string(), "--token-issuer", kIssuer, "--token-audience",
                     "circle", "--token-roles-claim", "/realm_access/roles", "--token-admin-role",
                     "circle-operator"});

  auto member = server.connect();
  auto welcome = call(*member, client::make_hello("", "test", rsa.sign("RS256", claims("u-1"))));
  ASSERT_TRUE(welcome.has_welcome()) << welcome.DebugString();
  EXPECT_EQ(welcome.welcome().display_name(), "River");
  ASSERT_TRUE(call(*member, client::make_create_room("group", "Group")).has_create_room());

  // An operator by the provider's realm role: admin in a room it never joined before.
  auto ops = server.connect();
  ASSERT_TRUE(
      call(*ops, client::make_hello(
                     "Operator", "test",
                     ec.sign("ES256", claims("ops-1", {{"realm_access",
                                                        {{"roles", {"circle-operator"}}}}}))))
          .has_welcome());
  auto joined = call(*ops, client::make_join_room("group"));
  ASSERT_TRUE(joined.has_join_room()) << joined.DebugString();
  EXPECT_EQ(own_member(joined.join_room().snapshot()).role(), circle::v1::ROLE_ADMIN);

  // Each refused with UNAUTHENTICATED, and counted by why.
  const auto refused = [&](const std::string& token) {
    auto reply = hello(server, token);
    EXPECT_TRUE(reply.has_error()) << reply.DebugString();
    return reply.error().code();
  };
  EXPECT_EQ(refused(rsa.sign("PS256", claims("u-2"))), circle::v1::ERROR_CODE_UNAUTHENTICATED);
  EXPECT_EQ(refused(rsa.sign("RS256", claims("u-2", {{"iss", "https://elsewhere"}}))),
            circle::v1::ERROR_CODE_UNAUTHENTICATED);
  EXPECT_EQ(refused(rsa.sign("RS256", claims("u-2", {{"aud", "another-app"}}))),
            circle::v1::ERROR_CODE_UNAUTHENTICATED);
  EXPECT_EQ(refused(hand_made_token(R"({"alg":"HS256","kid":"rsa-1"})", claims("u-2"), EVP_sha256(),
                                    rsa.public_pem())),
            circle::v1::ERROR_CODE_UNAUTHENTICATED);
  EXPECT_EQ(refused(hand_made_token(R"({"alg":"none"})", claims("u-2"), nullptr, "")),
            circle::v1::ERROR_CODE_UNAUTHENTICATED);
  EXPECT_EQ(refused(rsa.sign("RS256", claims("u-2", {{"exp", 1'000'000'000}}))),
            circle::v1::ERROR_CODE_TOKEN_EXPIRED);
  const auto metrics = http_get(server.metrics_url()).body;
  EXPECT_EQ(metric_sample(metrics, R"(circle_token_refusals_total{reason="algorithm_refused"})"),
            3);
  EXPECT_EQ(metric_sample(metrics, R"(circle_token_refusals_total{reason="wrong_issuer"})"), 1);
  EXPECT_EQ(metric_sample(metrics, R"(circle_token_refusals_total{reason="wrong_audience"})"), 1);
  EXPECT_EQ(metric_sample(metrics, R"(circle_token_refusals_total{reason="expired"})"), 1);
  EXPECT_EQ(metric_sample(metrics, "circle_jwks_keys"), 2);
  // The server's own tokens (circled token) still work, with the issuer and
  // audience asked for; without them they are refused.
  circle::auth::TokenRules rules;
  rules.issuer = kIssuer;
  rules.audience = "circle";
  circle::auth::Identity own;
  own.account_id = "u-3";
  own.name = "Robin";
  own.expires_at = std::time(nullptr) + 600;
  EXPECT_TRUE(
      hello(server, circle::auth::mint_token(own, server.token_secret(), rules)).has_welcome());
  EXPECT_EQ(refused(server.token("u-3", "Robin")), circle::v1::ERROR_CODE_UNAUTHENTICATED);
  std::filesystem::remove_all(dir);
}

TEST(IdentityProvider, AJwksFileThatCannotBeUsedStopsTheStart) {
  const auto dir = key_dir();
  std::filesystem::create_directories(dir);
  write_file(dir / "jwks.json", R"({"keys":[{"kty":"oct","k":"c2VjcmV0"}]})");
  ChildProcess circled(
      {circled_path(), "--port", "0", "--data-dir", (dir / "data").string(), "--insecure-plaintext",
       "--no-web", "--no-metrics", "--jwks-file", (dir / "jwks.json").string(), "--token-issuer",
       kIssuer, "--token-audience", "circle"},
      {.capture_stdout = true, .capture_stderr = true});
  const auto status = circled.wait_exit(kDeadline);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 1);
  EXPECT_NE(circled.read_stderr(kDeadline).find("holds no RS256, PS256 or ES256 signing key"),
            std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(IdentityProvider, KeysWithoutAnIssuerAndAudienceToCheckAreRefused) {
  // Any app of the same realm could otherwise sign people in here.
  const auto dir = key_dir();
  const auto rsa = SigningKey::make(SigningKey::Type::kRsa, dir, "rsa-1");
  write_file(dir / "jwks.json", jwk_set({rsa.jwk()}));
  for (const auto& missing : {std::vector<std::string>{"--token-issuer", kIssuer},
                              std::vector<std::string>{"--token-audience", "circle"}}) {
    std::vector<std::string> argv = {circled_path(),
                                     "--port",
                                     "0",
                                     "--data-dir",
                                     (dir / "data").string(),
                                     "--insecure-plaintext",
                                     "--no-web",
                                     "--no-metrics",
                                     "--jwks-file",
                                     (dir / "jwks.json").string()};
    argv.insert(argv.end(), missing.begin(), missing.end());
    ChildProcess circled(argv, {.capture_stdout = true, .capture_stderr = true});
    EXPECT_EQ(circled.wait_exit(kDeadline), 2);
    EXPECT_NE(circled.read_stderr(kDeadline).find("give --token-issuer and --token-audience"),
              std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

// Tries Hello with `token` until it is welcomed (a fetch may be under way or
// not yet allowed); false when the deadline passes first.
bool welcomed_within_deadline(const TestServer& server, const std::string& token) {
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (std::chrono::steady_clock::now() < deadline) {
    if (hello(server, token).has_welcome()) return true;
  }
  return false;
}

TEST(IdentityProvider, KeysFromAUrlFollowARotationAndOutliveTheProvidersOutage) {
  const auto dir = key_dir();
  const auto first = SigningKey::make(SigningKey::Type::kRsa, dir, "2026-a");
  const auto second = SigningKey::make(SigningKey::Type::kP256, dir, "2026-b");
  std::optional<HttpsReceiver> provider(std::in_place);
  provider->serve(jwk_set({first.jwk()}), "public, max-age=3600");
  TestServer server({"--jwks-url", provider->url("/realms/peers/protocol/openid-connect/certs"),
                     "--jwks-ca", test_cert_dir() + "/ca.crt", "--jwks-min-refresh-seconds", "1",
                     "--token-issuer", kIssuer, "--token-audience", "circle"});
  ASSERT_TRUE(provider->wait_requests(1, kDeadline));
  EXPECT_EQ(provider->requests().front().method, "GET");
  EXPECT_EQ(provider->requests().front().target, "/realms/peers/protocol/openid-connect/certs");
  ASSERT_TRUE(welcomed_within_deadline(server, first.sign("RS256", claims("u-1"))));

  // The provider rotates: a token under the new key brings a fetch forward.
  provider->serve(jwk_set({first.jwk(), second.jwk()}), "public, max-age=3600");
  EXPECT_TRUE(welcomed_within_deadline(server, second.sign("ES256", claims("u-2"))));
  EXPECT_GE(provider->requests().size(), 2u);

  // The provider goes down: the keys held keep working, and a token under a
  // key nobody published is still refused.
  provider.reset();
  const auto third = SigningKey::make(SigningKey::Type::kRsa, dir, "2026-c");
  auto unknown = hello(server, third.sign("RS256", claims("u-3")));
  ASSERT_TRUE(unknown.has_error());
  EXPECT_EQ(unknown.error().code(), circle::v1::ERROR_CODE_UNAUTHENTICATED);
  EXPECT_TRUE(hello(server, first.sign("RS256", claims("u-1"))).has_welcome());
  EXPECT_TRUE(hello(server, second.sign("ES256", claims("u-2"))).has_welcome());
  std::filesystem::remove_all(dir);
}

TEST(IdentityProvider, UnknownKeysBringAtMostOneFetchPerInterval) {
  const auto dir = key_dir();
  const auto known = SigningKey::make(SigningKey::Type::kP256, dir, "known");
  const auto unknown = SigningKey::make(SigningKey::Type::kP256, dir, "unknown");
  HttpsReceiver provider;
  provider.serve(jwk_set({known.jwk()}));
  TestServer server({"--jwks-url", provider.url("/certs"), "--jwks-ca", test_cert_dir() + "/ca.crt",
                     "--jwks-min-refresh-seconds", "3600", "--token-issuer", kIssuer,
                     "--token-audience", "circle"});
  ASSERT_TRUE(provider.wait_requests(1, kDeadline));
  ASSERT_TRUE(welcomed_within_deadline(server, known.sign("ES256", claims("u-1"))));
  // Twenty tokens under a key not published: refused at once, and the
  // provider is not asked again within the interval.
  for (int i = 0; i < 20; ++i) {
    auto reply = hello(server, unknown.sign("ES256", claims("u-2")));
    ASSERT_TRUE(reply.has_error());
    EXPECT_EQ(reply.error().code(), circle::v1::ERROR_CODE_UNAUTHENTICATED);
  }
  const auto metrics = http_get(server.metrics_url()).body;
  EXPECT_EQ(metric_sample(metrics, R"(circle_token_refusals_total{reason="unknown_key"})"), 20);
  EXPECT_EQ(provider.requests().size(), 1u);
  std::filesystem::remove_all(dir);
}

}  // namespace
