// The spec's on-demand models and their pools (docs/pools.md): the keys of
// a model that make it on demand, and the top-level `pools:` list. Part of
// the spec reader (spec.cpp calls these); errors name FILE:LINE.
#pragma once

#include <string>
#include <vector>

#include "spec/spec.h"
#include "util/status.h"
#include "util/yaml_fields.h"

namespace carve::spec {

// A pool's name (a node pool's, or a pool of on-demand models): a DNS label,
// as it becomes a node label value and part of object names.
bool IsPoolName(const std::string& s);

// Reads on_demand:, pool: and keep_warm: of one model (pool: "default" when
// on demand and unnamed).
Status ParseOnDemand(const yaml::Fields& f, Model* m);

// The rules between an on-demand model's keys: pool: and keep_warm: need
// on_demand: true; on demand refuses replicas, throughput, autoscale,
// spread, share, tensor_parallel > 1, profiles, min_profile, latency_slo_ms
// and gpus, and needs memory or an estimate.
Status CheckOnDemand(const yaml::Fields& f, const Model& m);

// `pools:`, after the models: each pool declared once and named by an
// on-demand model.
Status ParsePools(const YAML::Node& node, const std::string& file, const std::vector<Model>& models,
                  std::vector<Pool>* out);

}  // namespace carve::spec
