// libFuzzer: whatever arrives as a Hello token is refused or accepted, never
// crashes the verifier (libjwt's parsing included). First byte 0: the rest
// is the token as sent. Otherwise the rest is a JWT payload (the claims),
// signed here with the server's secret, so that the claim checks behind the
// signature are reached too.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/token.hpp"

namespace {

constexpr std::string_view kSecret = "fuzzing-secret-of-at-least-32-bytes!!";

std::string base64url(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (auto& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::string signed_token(std::string_view claims) {
  std::string token = base64url(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url(claims);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
       reinterpret_cast<const unsigned char*>(token.data()), token.size(), mac, &mac_size);
  return token + "." + base64url(std::string_view(reinterpret_cast<char*>(mac), mac_size));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string token = data[0] == 0 ? std::string(rest) : signed_token(rest);
  (void)circle::auth::verify_token(token, kSecret, 1'700'000'000);
  return 0;
}
