// A JWT built by hand (not by the server's own minting code), for tests and the token fuzzer:
// header.payload.signature with an HMAC over `digest`, or unsigned.
#pragma once

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <string_view>

namespace circle::test {

inline std::string base64url(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

// nullptr `digest`: unsigned ("header.payload.").
inline std::string hand_made_token(std::string_view header, std::string_view payload,
                                   const EVP_MD* digest, std::string_view secret) {
  const std::string signing_input = base64url(header) + "." + base64url(payload);
  if (digest == nullptr) return signing_input + ".";
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  HMAC(digest, secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac,
       &mac_size);
  return signing_input + "." +
         base64url(std::string_view(reinterpret_cast<const char*>(mac), mac_size));
}

}  // namespace circle::test
