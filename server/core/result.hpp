// A value or a typed refusal. Logic functions return this instead of throwing,
// so that every refused request maps to exactly one protocol Error.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "circle/v1/circle.pb.h"

namespace circle::core {

// Why something was refused: the protocol's error code and a message that names
// the action (never user text).
struct Refusal {
  circle::v1::ErrorCode code = circle::v1::ERROR_CODE_INTERNAL;
  std::string message;
};

template <class T>
class Result {
 public:
  Result(T value) : state_(std::move(value)) {}            // NOLINT: implicit by design
  Result(Refusal refusal) : state_(std::move(refusal)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(state_); }
  const T& value() const { return std::get<0>(state_); }
  const Refusal& refusal() const { return std::get<1>(state_); }

 private:
  std::variant<T, Refusal> state_;
};

// For checks that produce nothing but may refuse.
using Check = std::optional<Refusal>;

// "<action>: <what>" was not found (a member, a message, an alert ...).
inline Refusal not_found(const std::string& action, const std::string& what) {
  return Refusal{circle::v1::ERROR_CODE_NOT_FOUND, action + ": " + what};
}

}  // namespace circle::core
