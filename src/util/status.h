// Status and Result<T>: carve's error values. No exceptions cross a module
// boundary; every fallible call returns one of these.
//
// A message is for the person at the terminal: what went wrong and where. The
// optional hint says what to do next. Codes mirror the hardware's refusals so
// that the NVML backend and the NVML drop-in translate them one to one.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace carve {

enum class Code {
  kOk = 0,
  kInvalidArgument,  // bad input: a flag, a file, a profile name
  kNotFound,         // no such GPU, GPU instance, file …
  kAlreadyExists,
  kNotSupported,           // the hardware cannot do this (e.g. MIG off, no such profile)
  kInUse,                  // refused: something is using it
  kInsufficientResources,  // refused: no room (placement, count, engines)
  kResetRequired,          // a MIG mode change waits for a GPU reset
  kNoPermission,
  kBusy,         // another carve holds the machine
  kUnavailable,  // no backend: no driver and no simulator
  kTimeout,
  kIo,
  kInternal,
  kUnknown,
};

std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(Code code, std::string message, std::string hint = {}) {
    return Status(code, std::move(message), std::move(hint));
  }
  static Status InvalidArgument(std::string m, std::string h = {}) {
    return Error(Code::kInvalidArgument, std::move(m), std::move(h));
  }
  static Status NotFound(std::string m, std::string h = {}) {
    return Error(Code::kNotFound, std::move(m), std::move(h));
  }
  static Status NotSupported(std::string m, std::string h = {}) {
    return Error(Code::kNotSupported, std::move(m), std::move(h));
  }
  static Status InUse(std::string m, std::string h = {}) {
    return Error(Code::kInUse, std::move(m), std::move(h));
  }
  static Status Insufficient(std::string m, std::string h = {}) {
    return Error(Code::kInsufficientResources, std::move(m), std::move(h));
  }
  static Status Io(std::string m, std::string h = {}) {
    return Error(Code::kIo, std::move(m), std::move(h));
  }
  static Status Internal(std::string m) { return Error(Code::kInternal, std::move(m)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& hint() const { return hint_; }

  // The same error with "context: " put before the message.
  Status Prefixed(std::string_view context) const;
  // The same error with another hint.
  Status WithHint(std::string hint) const;
  // "message" or "message\nhint" for a terminal.
  std::string ToString() const;

 private:
  Status(Code code, std::string message, std::string hint)
      : code_(code), message_(std::move(message)), hint_(std::move(hint)) {}
  Code code_ = Code::kOk;
  std::string message_;
  std::string hint_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace carve

#define CARVE_CONCAT_INNER(a, b) a##b
#define CARVE_CONCAT(a, b) CARVE_CONCAT_INNER(a, b)

#define CARVE_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::carve::Status carve_status_ = (expr);        \
    if (!carve_status_.ok()) return carve_status_; \
  } while (0)

#define CARVE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()

#define CARVE_ASSIGN_OR_RETURN(lhs, expr) \
  CARVE_ASSIGN_OR_RETURN_IMPL(CARVE_CONCAT(carve_result_, __LINE__), lhs, expr)
