// One HTTPS request from the server to someone else's service (the support
// webhook's POSTs, an identity provider's JWK Set): resolve, connect, TLS
// with the peer's certificate and host name checked, write, read; every step
// within one deadline, so a dead or slow peer never holds anything up.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "beast.hpp"

namespace circle::server {

// https://host[:port]/path, split; nullopt when it is not such a URL.
struct HttpsUrl {
  std::string host;
  std::string port;
  std::string target;
};
std::optional<HttpsUrl> parse_https_url(const std::string& url);

// A client TLS context that trusts the system's CAs and, when `ca_file` is
// not empty, that file's too. Throws when the file cannot be read.
ssl::context https_client_context(const std::string& ca_file);

using HttpsResponse = http::response<http::string_body>;
// `error` empty: `response` is whatever status the peer answered.
using HttpsHandler = std::function<void(const std::string& error, HttpsResponse response)>;

// Sends `request` (its host and user agent set here) to `url` and calls
// `done` once, on `strand`. `tls` must outlive the exchange. An answer longer
// than `body_limit` bytes is an error.
void https_exchange(Strand strand, ssl::context& tls, const HttpsUrl& url,
                    http::request<http::string_body> request, std::chrono::milliseconds timeout,
                    std::size_t body_limit, HttpsHandler done);

}  // namespace circle::server
