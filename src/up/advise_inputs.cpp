#include "up/advise_inputs.h"

#include <fmt/format.h>

#include <cmath>

#include "up/gateway_config.h"
#include "up/state_dir.h"

namespace carve::up {
namespace {

// The mean measured throughput of one of `m`'s replicas, over those in the
// status whose profile has a row with one; 0 when none has.
double CapacityPerReplica(const spec::Model& m, const nlohmann::ordered_json& status) {
  double sum = 0;
  int known = 0;
  for (const auto& r : status.value("replicas", nlohmann::ordered_json::array())) {
    if (r.value("model", "") != m.name) continue;
    for (const auto& o : m.profiles)
      if (o.profile == r.value("profile", "") && o.throughput > 0) sum += o.throughput, ++known;
  }
  return known ? sum / known : 0;
}

int RunningReplicas(const std::string& model, const nlohmann::ordered_json& status) {
  int n = 0;
  for (const auto& r : status.value("replicas", nlohmann::ordered_json::array()))
    n += r.value("model", "") == model;
  return n;
}

const spec::Model* Find(const spec::Spec& s, const std::string& name) {
  for (const auto& m : s.models)
    if (m.name == name) return &m;
  return nullptr;
}

}  // namespace

Result<ServiceState> ReadServiceState(const std::string& state_dir) {
  ServiceState st;
  st.state_dir = state_dir;
  CARVE_ASSIGN_OR_RETURN(st.status, ReadStatus(state_dir));
  auto h = ReadTrafficHistory(state_dir);
  if (!h.ok() && h.status().code() == Code::kNotFound)
    return Status::Error(Code::kUnavailable, "carve up has not measured any traffic yet",
                         "Try again in a few seconds (it keeps 15 minutes of history).");
  if (!h.ok()) return h.status();
  st.history = std::move(*h);
  CARVE_ASSIGN_OR_RETURN(st.written, spec::LoadSpec(st.status.value("spec", "")));
  CARVE_ASSIGN_OR_RETURN(st.overrides, ReadOverrides(state_dir));
  st.in_force = InForce(st.written, st.overrides);
  st.spec = st.written;
  (void)ApplyOverrides(st.spec, st.overrides);
  return st;
}

std::vector<AdviceInput> AdviceInputs(const ServiceState& st, std::chrono::seconds window) {
  const auto traffic = st.history.Over(window);
  std::map<std::string, gateway::Limits> limits;
  if (auto cfg = GatewayConfigFor(st.spec, st.state_dir); cfg.ok()) limits = cfg->ModelLimits();
  std::vector<AdviceInput> out;
  for (const auto& m : st.spec.models) {
    if (m.on_demand) continue;  // its pool serves it as asked (docs/pools.md)
    AdviceInput in;
    in.model = m.name;
    if (auto t = traffic.find(m.name); t != traffic.end()) in.traffic = t->second;
    in.traffic.seconds = traffic.empty() ? 0 : traffic.begin()->second.seconds;
    in.replicas = m.replicas ? *m.replicas : RunningReplicas(m.name, st.status);
    in.capacity_per_replica = CapacityPerReplica(m, st.status);
    if (auto l = limits.find(m.name); l != limits.end()) in.max_in_flight = l->second.max_in_flight;
    if (m.autoscale) in.min = m.autoscale->min, in.max = m.autoscale->max;
    out.push_back(std::move(in));
  }
  return out;
}

double AdvisedThroughput(const AdviceInput& in, const Advice& a) {
  return std::ceil(a.to * in.capacity_per_replica);
}

spec::Spec AdvisedSpec(const ServiceState& st, const std::vector<AdviceInput>& in,
                       const std::vector<Advice>& advice, const std::string& by,
                       Overrides& overrides) {
  spec::Spec next = st.written;
  for (size_t i = 0; i < advice.size() && i < in.size(); ++i) {
    const Advice& a = advice[i];
    const spec::Model* written = Find(st.written, a.model);
    if (a.kind == AdviceKind::kKeep || !written) continue;
    Override o;
    o.by = by;
    o.at = UtcNow();
    if (written->replicas) {
      o.replicas = a.to;
      o.spec = *written->replicas;
    } else if (written->throughput && in[i].capacity_per_replica > 0) {
      o.throughput = AdvisedThroughput(in[i], a);
      o.spec = *written->throughput;
    } else {
      continue;
    }
    if ((o.replicas ? double(*o.replicas) : *o.throughput) == o.spec)
      overrides.erase(a.model);  // back to what the spec says
    else
      overrides[a.model] = o;
  }
  (void)ApplyOverrides(next, overrides);
  return next;
}

}  // namespace carve::up
