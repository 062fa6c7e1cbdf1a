// Activity files: how much work a simulated engine did, as counters in a
// small file that the engine adds to and the simulator reads. carve's echo
// engine writes one (CARVE_ACTIVITY_FILE); the simulator turns the counts of
// the processes on a slice into that slice's utilisation (device/sim/activity.h).
//
// The file is mapped shared; adds are atomic, so a reader in another process
// sees each counter whole. An ActivityWriter is safe to use from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "util/status.h"

namespace carve {

struct ActivityCounts {
  uint64_t requests = 0;
  uint64_t prompt_tokens = 0;
  uint64_t completion_tokens = 0;
  bool operator==(const ActivityCounts&) const = default;
};

class ActivityWriter {
 public:
  // Creates `path` (mode 0644, readable by whoever samples the slice) or
  // opens the one there, keeping its counts. kIo when it cannot.
  static Result<std::unique_ptr<ActivityWriter>> Open(const std::string& path);
  ~ActivityWriter();
  ActivityWriter(const ActivityWriter&) = delete;
  ActivityWriter& operator=(const ActivityWriter&) = delete;

  // One request served, with its tokens in and out.
  void Add(uint64_t prompt_tokens, uint64_t completion_tokens);

 private:
  explicit ActivityWriter(uint64_t* words) : words_(words) {}
  uint64_t* words_;  // the mapped file: magic, requests, prompt, completion
};

// The counts in `path`; all zero when there is no such file or it is not an
// activity file (an engine that never served, or one that is gone).
ActivityCounts ReadActivity(const std::string& path);

// The fault file beside activity file `activity_file` (in its directory: an
// engine's working directory under carve up). While the simulator has the
// engine's GPU instance failed it holds what the driver reported ("Xid 94:
// contained ECC error"); the echo engine then fails, as CUDA calls fail on
// a failed instance (docs/nvml-simulator.md).
std::string FaultFileBeside(const std::string& activity_file);

}  // namespace carve
