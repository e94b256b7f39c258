// libFuzzer: whatever arrives as a Hello token is refused or accepted, never
// crashes the verifier (its JWS and JSON parsing included). First byte 0: the rest
// is the token as sent. Otherwise the rest is a JWT payload (the claims),
// signed here with the server's secret, so that the claim checks behind the
// signature are reached too.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/token.hpp"
#include "support/hand_made_token.hpp"

namespace {

constexpr std::string_view kSecret = "fuzzing-secret-of-at-least-32-bytes!!";

std::string signed_token(std::string_view claims) {
  return circle::test::hand_made_token(R"({"alg":"HS256","typ":"JWT"})", claims, EVP_sha256(),
                                       kSecret);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string token = data[0] == 0 ? std::string(rest) : signed_token(rest);
  (void)circle::auth::verify_token(token, kSecret, 1'700'000'000);
  return 0;
}
