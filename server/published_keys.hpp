// The identity provider's public keys as the server holds them now, and
// where they come from: a JWK Set file (JwksFile) or URL (JwksUrl, in
// jwks_url.hpp). Sessions read `current()` in Hello; a load that fails keeps
// the keys held, so a provider's outage or a bad file never signs anyone out.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "auth/jwk.hpp"
#include "metrics.hpp"

namespace circle::server {

class PublishedKeys {
 public:
  explicit PublishedKeys(Metrics& metrics) : metrics_(metrics) {}
  virtual ~PublishedKeys() = default;
  PublishedKeys(const PublishedKeys&) = delete;
  PublishedKeys& operator=(const PublishedKeys&) = delete;

  // Sources that fetch in the background begin and end here.
  virtual void start() {}
  virtual void stop() {}

  // From any thread; null while no set has been taken yet.
  std::shared_ptr<const auth::KeySet> current() const { return keys_.load(); }

  // A token named a key not in current(). Calls `done(true)` after a load
  // that this call was allowed to start (or joined) has ended, or
  // `done(false)` at once when none may start now. Any thread.
  virtual void refresh_for_unknown_key(std::function<void(bool loaded)> done) = 0;

  // Read or fetch again (a reload). Returns what went wrong, empty when the
  // new keys were taken or a fetch was started.
  virtual std::string reload() = 0;

 protected:
  // Takes a parsed set (counted, logged without key material).
  void take(std::shared_ptr<const auth::KeySet> keys, const std::string& from);
  // A load that failed: counted, logged; the keys held stay.
  void failed(const std::string& from, const std::string& why);

 private:
  Metrics& metrics_;
  std::atomic<std::shared_ptr<const auth::KeySet>> keys_;
};

// --jwks-file: read at start (a failure stops the start) and on reload (a
// failure keeps the keys held).
class JwksFile final : public PublishedKeys {
 public:
  // Throws std::runtime_error naming the file and what is wrong.
  JwksFile(std::string path, Metrics& metrics);

  // A file changes only when someone changes it: no reading per token.
  void refresh_for_unknown_key(std::function<void(bool)> done) override { done(false); }
  std::string reload() override;

 private:
  std::string load();  // empty: taken

  std::string path_;
};

}  // namespace circle::server
