#include "up/gateway_config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace carve::up {
namespace {

Status CheckSection(const spec::Spec& s) {
  if (!s.gateway || s.gateway.IsNull()) return Status::Ok();
  if (!s.gateway.IsMap())
    return Status::InvalidArgument(
        fmt::format("{}: gateway: must be a mapping", s.gateway_where.str()));
  if (s.gateway["models"])
    return Status::InvalidArgument(
        fmt::format("{}: gateway: has models:, but carve fills those from the spec's models",
                    s.gateway_where.str()),
        "Remove gateway.models (docs/up.md).");
  return Status::Ok();
}

// {url, gpu, slice} of a replica ("0:3g.40gb@4" → gpu 0, slice 3g.40gb@4).
YAML::Node ReplicaNode(const serve::ReplicaSpec& r) {
  YAML::Node n;
  n["url"] = fmt::format("http://127.0.0.1:{}", r.port.value_or(0));
  size_t colon = r.slice.find(':');
  if (!r.slice.empty()) n["gpu"] = r.slice.substr(0, colon);
  if (colon != std::string::npos) n["slice"] = r.slice.substr(colon + 1);
  return n;
}

}  // namespace

gateway::Backend BackendFor(const ReplicaPlace& r, const std::vector<device::Gpu>& gpus) {
  gateway::Backend b{r.model, r.url, std::to_string(r.gpu), ""};
  b.engine = r.engine;
  b.profile = r.gi < 0 ? "whole" : "";
  for (const auto& g : gpus) {
    if (g.index != r.gpu) continue;
    b.gpu_uuid = g.uuid;
    if (r.gi < 0 && g.model) b.placement = fmt::format("0:{}", g.model->placement_units);
    for (const auto& gi : g.gpu_instances) {
      if (gi.id != r.gi) continue;
      b.profile = gi.profile;
      b.placement = fmt::format("{}:{}", gi.placement.start, gi.placement.size);
      b.slice = fmt::format("{}@{}", gi.profile, gi.placement.start);
      if (!gi.compute_instances.empty()) b.mig_uuid = gi.compute_instances.front().uuid;
    }
  }
  return b;
}

Result<gateway::GatewayConfig> GatewayConfigFor(const spec::Spec& s, const std::string& state_dir) {
  CARVE_RETURN_IF_ERROR(CheckSection(s));
  bool has_log = s.gateway && s.gateway.IsMap() && s.gateway["access_log"];
  auto cfg = gateway::ParseConfigNode(s.gateway, s.file, "gateway.");
  if (!cfg.ok()) return cfg.status();
  if (!has_log) cfg->access_log = state_dir + "/access.log";
  for (const auto& m : s.models) {  // the replicas come later (UpdateBackends)
    if (!m.max_in_flight && !m.max_queue) continue;
    gateway::ModelConfig mc{m.name, {}, {}};
    if (m.max_in_flight) mc.limits.max_in_flight = *m.max_in_flight;
    if (m.max_queue) mc.limits.max_queue = *m.max_queue;
    cfg->models.push_back(std::move(mc));
  }
  return cfg;
}

Result<std::string> GatewayYamlFor(const spec::Spec& s,
                                   const std::vector<serve::ReplicaSpec>& replicas) {
  CARVE_RETURN_IF_ERROR(CheckSection(s));
  YAML::Node root =
      s.gateway && s.gateway.IsMap() ? YAML::Clone(s.gateway) : YAML::Node(YAML::NodeType::Map);
  YAML::Node models(YAML::NodeType::Sequence);
  for (const auto& m : s.models) {
    YAML::Node model;
    model["name"] = m.name;
    for (const auto& r : replicas)
      if (r.model == m.name) model["replicas"].push_back(ReplicaNode(r));
    if (model["replicas"]) models.push_back(model);
  }
  root["models"] = models;
  auto checked = gateway::ParseConfigNode(root, s.file, "gateway.");
  if (!checked.ok()) return checked.status();
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

}  // namespace carve::up
