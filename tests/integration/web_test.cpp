// The web app circled serves on its own port (--web-root): content types,
// caching, security headers, and no way out of the root. Raw requests over
// real TLS, so that nothing (a client library, a browser) tidies a path first.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <filesystem>
#include <fstream>

#include "support/test_server.hpp"

namespace circle::test {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;

constexpr std::string_view kSecret = "the-secret-outside-the-root";

// A web root with an index, a hashed asset, and links that lead out of it;
// a secret next to it that must never be served.
struct WebRootOnDisk {
  WebRootOnDisk() : base(make_temp_dir()), root(base + "/dist") {
    fs::create_directories(root + "/assets");
    write(root + "/index.html", "<!doctype html><title>Circle</title>");
    write(root + "/assets/index-AbC123.js", "console.log(1)");
    write(base + "/secret.txt", std::string(kSecret));
    fs::create_symlink(base + "/secret.txt", root + "/leak.txt");
    fs::create_directory_symlink(base, root + "/up");
  }
  ~WebRootOnDisk() { fs::remove_all(base); }
  static void write(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
  }
  std::string base;
  std::string root;
};

struct Answer {
  int status = 0;
  std::string body;
  http::fields headers;
};

// One raw request to the web port; `target` goes on the request line as is.
Answer request(const TestServer& server, http::verb verb, const std::string& target,
               const std::string& origin = {}, bool upgrade = false) {
  auto address = circle::client::parse_server_url(
      "wss://" + server.web_url().substr(std::string("https://").size()), nullptr);
  boost::asio::io_context ioc;
  auto tls = server.client_tls();
  beast::ssl_stream<beast::tcp_stream> stream(ioc, *tls);
  boost::asio::ip::tcp::resolver resolver(ioc);
  beast::get_lowest_layer(stream).expires_after(kDeadline);
  beast::get_lowest_layer(stream).connect(resolver.resolve(address->host, address->port));
  stream.handshake(boost::asio::ssl::stream_base::client);
  std::string raw = std::string(http::to_string(verb)) + " " + target + " HTTP/1.1\r\n" +
                    "Host: 127.0.0.1:" + address->port + "\r\n";
  if (!upgrade) raw += "Connection: close\r\n";
  if (!origin.empty()) raw += "Origin: " + origin + "\r\n";
  if (upgrade) {
    raw +=
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  }
  raw += "\r\n";
  boost::asio::write(stream, boost::asio::buffer(raw));
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.skip(verb == http::verb::head);
  beast::error_code ec;
  http::read(stream, buffer, parser, ec);
  Answer answer;
  if (ec) return answer;
  answer.status = parser.get().result_int();
  answer.body = parser.get().body();
  answer.headers = parser.get().base();
  return answer;
}

std::string header(const Answer& answer, std::string_view name) {
  auto found = answer.headers.find(name);
  return found == answer.headers.end() ? "" : std::string(found->value());
}

TEST(Web, ServesTheAppWithItsTypesCachingAndSecurityHeaders) {
  WebRootOnDisk web;
  TestServer server({"--web-root", web.root});
  ASSERT_EQ(server.web_url().rfind("https://127.0.0.1:", 0), 0u) << server.web_url();

  auto index = request(server, http::verb::get, "/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, "<!doctype html><title>Circle</title>");
  EXPECT_EQ(header(index, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(header(index, "Cache-Control"), "no-cache");
  const auto csp = header(index, "Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe"), std::string::npos) << csp;
  EXPECT_EQ(header(index, "Referrer-Policy"), "no-referrer");
  EXPECT_EQ(header(index, "X-Content-Type-Options"), "nosniff");

  auto script = request(server, http::verb::get, "/assets/index-AbC123.js?v=1");
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(header(script, "Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(header(script, "Cache-Control"), "public, max-age=31536000, immutable");

  auto head = request(server, http::verb::head, "/index.html");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(header(head, "Content-Length"), "36");

  EXPECT_EQ(request(server, http::verb::post, "/").status, 405);
  EXPECT_EQ(request(server, http::verb::get, "/missing.js").status, 404);
  // The WebSocket port itself still serves no pages.
  EXPECT_EQ(server.web_url().find(":" + server.address().port + "/"), std::string::npos);
}

TEST(Web, NoPathLeadsOutOfTheRoot) {
  WebRootOnDisk web;
  TestServer server({"--web-root", web.root});
  const std::vector<std::string> targets = {"/../secret.txt",
                                            "/assets/../../secret.txt",
                                            "/%2e%2e/secret.txt",
                                            "/%2E%2E/secret.txt",
                                            "/assets/%2e%2e/%2e%2e/secret.txt",
                                            "/..%2fsecret.txt",
                                            "/..%5csecret.txt",
                                            "/..\\secret.txt",
                                            "/assets\\..\\..\\secret.txt",
                                            "/%00",
                                            "/index.html%00.js",
                                            "//secret.txt",
                                            "/./index.html",
                                            "/leak.txt",
                                            "/up/secret.txt",
                                            "/up/dist/index.html",
                                            std::string("/") + web.base.substr(1) + "/secret.txt",
                                            "secret.txt",
                                            "http://127.0.0.1/../secret.txt",
                                            "/%c0%ae%c0%ae/secret.txt",
                                            "/%"};
  for (const auto& target : targets) {
    auto answer = request(server, http::verb::get, target);
    EXPECT_GE(answer.status, 400) << target;
    EXPECT_LT(answer.status, 500) << target;
    EXPECT_EQ(answer.body.find(kSecret), std::string::npos) << target;
  }
  // And it still serves after all that.
  EXPECT_EQ(request(server, http::verb::get, "/").status, 200);
}

TEST(Web, PagesOfItsOwnOriginMayConnectAndOthersMayNot) {
  WebRootOnDisk web;
  TestServer server({"--web-root", web.root, "--allowed-origin", "https://circle.example.org"});
  const auto own = server.web_url().substr(0, server.web_url().size() - 1);  // no trailing /
  EXPECT_EQ(request(server, http::verb::get, "/", own, /*upgrade=*/true).status, 101);
  EXPECT_EQ(request(server, http::verb::get, "/", "https://evil.example", true).status, 403);
  EXPECT_EQ(request(server, http::verb::get, "/", "https://circle.example.org", true).status, 101);
}

TEST(Web, ARootThatIsNotThereStopsTheServerWithAReason) {
  ChildProcess circled({circled_path(), "--port", "0", "--web-port", "0", "--no-metrics",
                        "--data-dir", make_temp_dir(), "--cert", test_cert_dir() + "/server.crt",
                        "--key", test_cert_dir() + "/server.key", "--web-root", "/nonexistent"},
                       ChildProcess::Options{});
  auto status = circled.wait_exit(kDeadline);
  ASSERT_TRUE(status);
  EXPECT_NE(*status, 0);
}

}  // namespace
}  // namespace circle::test
