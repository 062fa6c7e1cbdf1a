#include "gateway/access_log.h"

#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "gateway/errors.h"

namespace carve::gateway {

std::string FormatAccessRecord(const AccessRecord& r, int64_t unix_ms) {
  boost::json::object o;
  o["ts_ms"] = unix_ms;
  o["id"] = r.id;
  o["method"] = Clip(r.method, 20);
  o["path"] = Clip(r.path);
  o["status"] = r.status;
  if (!r.model.empty()) o["model"] = Clip(r.model);
  if (!r.key.empty()) o["key"] = r.key;
  if (!r.replica.empty()) o["replica"] = r.replica;
  if (!r.error.empty()) o["error"] = r.error;
  o["stream"] = r.stream;
  // Whole microseconds: Boost.JSON would print fractional milliseconds as 1.05E-1.
  o["duration_us"] = static_cast<int64_t>(r.duration_ms * 1000);
  if (r.first_byte_ms > 0) o["first_byte_us"] = static_cast<int64_t>(r.first_byte_ms * 1000);
  o["bytes_in"] = r.bytes_in;
  o["bytes_out"] = r.bytes_out;
  return boost::json::serialize(o) + "\n";
}

Result<std::unique_ptr<AccessLog>> AccessLog::Open(const std::string& target) {
  if (target == "off" || target.empty())
    return std::unique_ptr<AccessLog>(new AccessLog(nullptr, false));
  if (target == "-") return std::unique_ptr<AccessLog>(new AccessLog(stdout, false));
  FILE* f = std::fopen(target.c_str(), "a");
  if (!f)
    return Status::Io("cannot open access log " + target + ": " + std::strerror(errno),
                      "check the directory exists and is writable, or set access_log: off");
  return std::unique_ptr<AccessLog>(new AccessLog(f, true));
}

AccessLog::~AccessLog() {
  Flush();
  if (owned_ && file_) std::fclose(file_);
}

void AccessLog::Write(const AccessRecord& r) {
  if (!file_) return;
  auto now = std::chrono::system_clock::now().time_since_epoch();
  std::string line =
      FormatAccessRecord(r, std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
  util::MutexLock lock(mu_);
  std::fwrite(line.data(), 1, line.size(), file_);
}

void AccessLog::Flush() {
  util::MutexLock lock(mu_);
  if (file_) std::fflush(file_);
}

}  // namespace carve::gateway
