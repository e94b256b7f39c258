#include "server_certificate.hpp"

#include <openssl/x509.h>

#include <ctime>
#include <stdexcept>

#include "logging.hpp"

namespace circle::server {
namespace {

std::shared_ptr<ssl::context> load_context(const std::string& cert_file,
                                           const std::string& key_file) {
  auto tls = std::make_shared<ssl::context>(ssl::context::tls_server);
  tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  // Idle TLS connections should not hold OpenSSL's read and write buffers
  // (about 30 KiB each): release them between records.
  SSL_CTX_set_mode(tls->native_handle(), SSL_MODE_RELEASE_BUFFERS);
  // No TLS 1.3 session tickets: Circle's clients do not resume TLS sessions
  // (they resume rooms, by seq), and minting two tickets per handshake costs
  // the server CPU and a write on every connect.
  SSL_CTX_set_num_tickets(tls->native_handle(), 0);
  error_code ec;
  tls->use_certificate_chain_file(cert_file, ec);
  if (ec) throw std::runtime_error(cert_file + ": no certificate chain (" + ec.message() + ")");
  tls->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec)
    throw std::runtime_error(key_file + ": not a key for this certificate (" + ec.message() + ")");
  if (SSL_CTX_check_private_key(tls->native_handle()) != 1) {
    throw std::runtime_error(key_file + " is not the key of " + cert_file);
  }
  return tls;
}

}  // namespace

std::int64_t certificate_expiry(ssl::context& context) {
  X509* certificate = SSL_CTX_get0_certificate(context.native_handle());
  if (certificate == nullptr) return 0;
  std::tm when{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(certificate), &when) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&when));
}

ServerCertificate::ServerCertificate(std::string cert_file, std::string key_file, Metrics& metrics)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)), metrics_(metrics) {
  auto context = load_context(cert_file_, key_file_);
  metrics_.tls_certificate_expires_at.set(certificate_expiry(*context));
  context_.store(std::move(context));
}

std::string ServerCertificate::reload() {
  try {
    auto context = load_context(cert_file_, key_file_);
    const auto expiry = certificate_expiry(*context);
    metrics_.tls_certificate_expires_at.set(expiry);
    context_.store(std::move(context));
    const std::time_t expires = expiry;
    char date[32] = "?";
    std::tm utc{};
    if (gmtime_r(&expires, &utc) != nullptr) std::strftime(date, sizeof date, "%Y-%m-%d", &utc);
    spdlog::info("reload: TLS certificate from {} taken (valid until {})", cert_file_, date);
    return {};
  } catch (const std::exception& e) {
    return e.what();
  }
}

}  // namespace circle::server
