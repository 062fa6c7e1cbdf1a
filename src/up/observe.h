// What `carve up` shows about its slices, joined: each slice of the machine
// with its memory, utilisation and the replicas on it, each GPU's room for
// more slices ("what still fits") and its stranded units, as Prometheus lines
// (appended to the gateway's /metrics) and as the `gpus`, `slices`, `fits`
// and `stranded_units` parts of status.json. docs/observe.md has both shapes.
// Pure functions of the machine as last read; LatestText is the one class
// that is shared between threads.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "device/machine.h"
#include "up/gateway_config.h"
#include "util/mutex.h"

namespace carve::up {

// One replica, as the views need it.
struct ReplicaFacts {
  std::string id;  // "MODEL/N"
  ReplicaPlace place;
  std::string state;  // serve::StateName
  int restarts = 0;
};

// Machine::ReadUtilisation's answers, by GPU index.
using UtilisationByGpu = std::map<int, std::vector<device::SliceUtilisation>>;

struct MachineView {
  std::vector<device::Gpu> gpus;
  UtilisationByGpu utilisation;
  std::vector<ReplicaFacts> replicas;
};

// The slice, engine and GPU families (carve_slice_*, carve_engine_*,
// carve_gpu_*), every slice and engine series with the gateway's label set.
std::string MetricsText(const MachineView& v);

// {"gpus": [...], "slices": [...], "fits": {profile: n}, "stranded_units": {gpu: n}}.
nlohmann::ordered_json StatusParts(const MachineView& v);

// The latest text of something the service makes and the gateway serves (the
// slice families of /metrics, the status for the dashboard), handed from the
// service's thread to the gateway's.
class LatestText {
 public:
  void Set(std::string text) {
    util::MutexLock lock(mu_);
    text_ = std::make_shared<const std::string>(std::move(text));
  }
  std::string Get() const {
    std::shared_ptr<const std::string> t;
    {
      util::MutexLock lock(mu_);
      t = text_;
    }
    return t ? *t : std::string();
  }

 private:
  mutable util::Mutex mu_;
  std::shared_ptr<const std::string> text_ GUARDED_BY(mu_);
};

}  // namespace carve::up
