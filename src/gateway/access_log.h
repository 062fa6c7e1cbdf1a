// The access log: one JSON object per line, per request.
//
// Lines are appended under a mutex into a stdio buffer and flushed by Flush(),
// which the gateway calls a few times a second, so a busy gateway does not pay
// a write(2) per request. Keys are never logged, only the key's name.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "util/mutex.h"
#include "util/status.h"

namespace carve::gateway {

struct AccessRecord {
  std::string id;  // X-Request-Id (the client's, or one the gateway made)
  std::string method;
  std::string path;
  std::string model;
  std::string key;      // the key's name, "" when keys are off
  std::string replica;  // upstream url, "" if never routed
  int status = 0;
  std::string error;  // the gateway's error code, if it originated the answer
  double duration_ms = 0;
  double first_byte_ms = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  bool stream = false;
};

// One JSON line (with the trailing newline) for `r`, stamped with `unix_ms`.
std::string FormatAccessRecord(const AccessRecord& r, int64_t unix_ms);

class AccessLog {
 public:
  // `target`: a path, "-" for stdout, or "off".
  static Result<std::unique_ptr<AccessLog>> Open(const std::string& target);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  void Write(const AccessRecord& r);
  void Flush();
  bool enabled() const { return file_ != nullptr; }  // false: "off", Write does nothing

 private:
  explicit AccessLog(FILE* f, bool owned) : file_(f), owned_(owned) {}
  util::Mutex mu_;
  FILE* const file_ PT_GUARDED_BY(mu_);  // null when off; lines written under mu_
  bool owned_;
};

}  // namespace carve::gateway
