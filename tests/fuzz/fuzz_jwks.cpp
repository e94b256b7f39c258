// libFuzzer: whatever an identity provider's URL or a --jwks-file holds is
// taken as a JWK Set or refused with std::invalid_argument, never crashes
// the parser (JSON, base64url, OpenSSL's key import); a set that parses is
// then used to check a token naming each of its keys.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "auth/jwk.hpp"
#include "auth/token.hpp"

namespace {

constexpr std::string_view kSecret = "fuzzing-secret-of-at-least-32-bytes!!";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  std::shared_ptr<const circle::auth::KeySet> set;
  try {
    set = circle::auth::KeySet::parse(json);
  } catch (const std::invalid_argument&) {
    return 0;
  }
  for (const auto& kid : set->kids()) {
    for (const char* alg : {"RS256", "PS256", "ES256"}) {
      const std::string header = std::string(R"({"alg":")") + alg + R"(","kid":")" + kid + "\"}";
      const std::string token = circle::auth::base64url_encode(header) + "." +
                                circle::auth::base64url_encode(R"({"sub":"u","exp":2000000000})") +
                                "." + circle::auth::base64url_encode(std::string(64, 'x'));
      (void)circle::auth::verify_token(
          token, circle::auth::TokenKeys{.secret = kSecret, .published = set.get()},
          circle::auth::TokenRules{}, 1'700'000'000);
    }
  }
  return 0;
}
