// What `carve advise` and the autoscaler read from a running carve up, and
// the advice inputs they make of it: per model its traffic over the window
// (traffic.json, history.h), the replicas it has (status.json), what one
// replica serves (the spec's profiles: rows with a measured throughput, on
// the profile each replica runs on) and its bounds (autoscale:, else 1..).
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "spec/spec.h"
#include "up/advise.h"
#include "up/history.h"
#include "up/overrides.h"

namespace carve::up {

struct ServiceState {
  std::string state_dir;
  nlohmann::ordered_json status;  // status.json
  TrafficHistory history;         // traffic.json
  spec::Spec written;             // the spec file the service runs, as it is now
  spec::Spec spec;                // the same with the overrides in force
  Overrides overrides;            // all of overrides.json
  Overrides in_force;             // those that hold for the spec file as it is now
};

// kNotFound when no carve up runs there; kUnavailable while it starts or
// before it measured its first seconds of traffic.
Result<ServiceState> ReadServiceState(const std::string& state_dir);

// One per model of the spec, over the last `window`.
std::vector<AdviceInput> AdviceInputs(const ServiceState& st, std::chrono::seconds window);

// The requests/s to ask of a `throughput:` model for `a`: what its advised
// count of replicas serves at the measured capacity of one.
double AdvisedThroughput(const AdviceInput& in, const Advice& a);

// `st.spec` with the advice applied (replicas, or throughput for a
// throughput: model), and the overrides that say so, set `by`.
spec::Spec AdvisedSpec(const ServiceState& st, const std::vector<AdviceInput>& in,
                       const std::vector<Advice>& advice, const std::string& by,
                       Overrides& overrides);

}  // namespace carve::up
