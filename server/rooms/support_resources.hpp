// The operator's crisis resources (--support-resources), given with every
// answer to a request for support. A reload swaps the text while rooms run:
// each answer carries one whole text, the old or the new, never a mix.
#pragma once

#include <atomic>
#include <memory>
#include <string>

namespace circle::server {

class SupportResources {
 public:
  // From any thread.
  void set(std::string text) { text_.store(std::make_shared<const std::string>(std::move(text))); }
  // Empty: none configured.
  std::shared_ptr<const std::string> text() const { return text_.load(); }

 private:
  std::atomic<std::shared_ptr<const std::string>> text_{std::make_shared<const std::string>()};
};

}  // namespace circle::server
