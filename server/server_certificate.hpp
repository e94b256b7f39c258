// The TLS certificate and key new handshakes present. A reload reads the
// files again and swaps in a new context only when they make a working pair;
// connections already open keep the context they started with (each OpenSSL
// connection holds a reference to it), so nobody is dropped by a renewal.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "beast.hpp"
#include "metrics.hpp"

namespace circle::server {

class ServerCertificate {
 public:
  // Throws std::runtime_error naming the file and what is wrong.
  ServerCertificate(std::string cert_file, std::string key_file, Metrics& metrics);

  // For the next handshake; from any thread.
  std::shared_ptr<ssl::context> current() const { return context_.load(); }
  // Reads the files again. Empty when the new pair was taken; otherwise why
  // not (the pair held stays).
  std::string reload();

 private:
  std::string cert_file_;
  std::string key_file_;
  Metrics& metrics_;
  std::atomic<std::shared_ptr<ssl::context>> context_;
};

// notAfter of the context's certificate, seconds since the epoch (0: none).
std::int64_t certificate_expiry(ssl::context& context);

}  // namespace circle::server
