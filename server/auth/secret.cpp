#include "auth/secret.hpp"

#include <openssl/rand.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "auth/token.hpp"

namespace circle::auth {
namespace {

std::string checked(std::string secret, const std::string& source) {
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.size() < kMinSecretBytes) {
    throw std::runtime_error("the token secret in " + source + " is shorter than " +
                             std::to_string(kMinSecretBytes) + " bytes");
  }
  return secret;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read the token secret file " + path.string());
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

}  // namespace

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> random(bytes);
  if (RAND_bytes(random.data(), static_cast<int>(bytes)) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  std::string hex(bytes * 2 + 1, '\0');
  for (std::size_t i = 0; i < bytes; ++i) std::snprintf(hex.data() + i * 2, 3, "%02x", random[i]);
  hex.pop_back();  // snprintf's terminator
  return hex;
}

std::uint64_t random_id() {
  std::uint64_t id = 0;
  while (id == 0) {
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&id), sizeof id) != 1) {
      throw std::runtime_error("RAND_bytes failed");
    }
    id &= (std::uint64_t{1} << 53) - 1;
  }
  return id;
}

std::string load_token_secret(const std::string& secret_file, const std::string& data_dir) {
  if (const char* from_environment = std::getenv(kSecretEnvironmentVariable);
      from_environment != nullptr && *from_environment != '\0') {
    return checked(from_environment, std::string("$") + kSecretEnvironmentVariable);
  }
  if (!secret_file.empty()) return checked(read_file(secret_file), secret_file);

  const auto path = std::filesystem::path(data_dir) / "token-secret";
  if (!std::filesystem::exists(path)) {
    std::filesystem::create_directories(data_dir);
    const std::string secret = random_hex(32);
    // Created private, then written: the secret is never world-readable.
    const mode_t previous = ::umask(077);
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << secret << "\n";
      if (!out) {
        ::umask(previous);
        throw std::runtime_error("cannot write the token secret file " + path.string());
      }
    }
    ::umask(previous);
  }
  return checked(read_file(path), path.string());
}

}  // namespace circle::auth
