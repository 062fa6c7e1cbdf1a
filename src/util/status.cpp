#include "util/status.h"

namespace carve {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "ok";
    case Code::kInvalidArgument:
      return "invalid_argument";
    case Code::kNotFound:
      return "not_found";
    case Code::kAlreadyExists:
      return "already_exists";
    case Code::kNotSupported:
      return "not_supported";
    case Code::kInUse:
      return "in_use";
    case Code::kInsufficientResources:
      return "insufficient_resources";
    case Code::kResetRequired:
      return "reset_required";
    case Code::kNoPermission:
      return "no_permission";
    case Code::kBusy:
      return "busy";
    case Code::kUnavailable:
      return "unavailable";
    case Code::kTimeout:
      return "timeout";
    case Code::kIo:
      return "io";
    case Code::kInternal:
      return "internal";
    case Code::kUnknown:
      return "unknown";
  }
  return "unknown";
}

Status Status::Prefixed(std::string_view context) const {
  if (ok()) return *this;
  return Status(code_, std::string(context) + ": " + message_, hint_);
}

Status Status::WithHint(std::string hint) const {
  if (ok()) return *this;
  return Status(code_, message_, std::move(hint));
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return hint_.empty() ? message_ : message_ + "\n" + hint_;
}

}  // namespace carve
