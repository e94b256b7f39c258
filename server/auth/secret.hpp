// Where circled's token secret comes from. The secret signs and verifies
// account tokens (HS256), so it is read once at start-up, kept in memory and
// never logged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace circle::auth {

// The environment variable that, when set, holds the secret itself.
inline constexpr const char* kSecretEnvironmentVariable = "CIRCLE_TOKEN_SECRET";

// `bytes` random bytes from OpenSSL's CSPRNG, as lowercase hex (session ids,
// generated secrets).
std::string random_hex(std::size_t bytes);

// A random non-zero 53-bit id (invite ids: safe as a number in any client).
std::uint64_t random_id();

// In order: $CIRCLE_TOKEN_SECRET; else the contents of `secret_file` when it
// is not empty (it must exist); else `<data_dir>/token-secret`, created with
// 32 random bytes (hex, mode 0600) the first time so that a development
// server and `circled token` agree without any setup. A trailing newline is
// not part of the secret. Throws std::runtime_error with a clear message when
// the secret is missing, unreadable or shorter than kMinSecretBytes.
std::string load_token_secret(const std::string& secret_file, const std::string& data_dir);

}  // namespace circle::auth
