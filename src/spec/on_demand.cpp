#include "spec/on_demand.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <string_view>

#include "spec/quantity.h"

namespace carve::spec {

using yaml::Fields;

namespace {

// Keys that mean nothing for an on-demand model, and why.
struct Refused {
  const char* key;
  const char* why;
  const char* hint;
};
constexpr Refused kNotOnDemand[] = {
    {"replicas", "has no replicas of its own: carve up starts one on a pool slice on request",
     "Drop replicas:, or drop on_demand: to keep N replicas running."},
    {"throughput", "has no replicas of its own: carve up starts one on a pool slice on request",
     "Drop throughput:, or drop on_demand: to size replicas for it."},
    {"autoscale", "is started and evicted by requests, not scaled by traffic",
     "Drop autoscale:, or drop on_demand:."},
    {"spread", "runs one engine, on one pool slice", "Drop spread:."},
    {"share",
     "time-shares its pool's slices already; share: splits a slice between models "
     "that always run",
     "Drop share:."},
    {"tensor_parallel", "runs on one pool slice, so it must fit one",
     "Drop tensor_parallel:, or drop on_demand: for a model that spans GPUs."},
    {"profiles", "runs on its pool's profile", "Set it on the pool: pools: [{name, profile}]."},
    {"min_profile", "runs on its pool's profile", "Set it on the pool: pools: [{name, profile}]."},
    {"latency_slo_ms", "has no measured profiles to choose from", "Drop latency_slo_ms:."},
    {"gpus", "runs on its pool's slices", "Drop gpus:; the pool's profile decides the GPUs."},
};

bool Refuses(const Model& m, std::string_view key) {
  if (key == "spread") return m.spread;
  if (key == "share") return m.share;
  if (key == "tensor_parallel") return m.tensor_parallel > 1;
  return true;
}

}  // namespace

Status CheckOnDemand(const Fields& f, const Model& m) {
  if (!m.on_demand) {
    for (const char* key : {"pool", "keep_warm"})
      if (f.Has(key))
        return f.Err(key, "only applies to an on-demand model",
                     "Add on_demand: true (carve up then starts it on request), or drop it.");
    return Status::Ok();
  }
  for (const auto& r : kNotOnDemand)
    if (f.Has(r.key) && Refuses(m, r.key))
      return f.Err(r.key, fmt::format("cannot go with on_demand: an on-demand model {}", r.why),
                   r.hint);
  if (!m.memory_mib && !m.estimate)
    return f.Err("on_demand",
                 "needs 'memory' (e.g. 4GiB) or 'estimate': a pool is sized by the largest "
                 "model it holds",
                 "Add memory: SIZE, or estimate: {config: …} (docs/sizing.md).");
  return Status::Ok();
}

namespace {

Status ParseKeepWarm(const Fields& f, int64_t* out) {
  if (!f.Has("keep_warm")) return Status::Ok();
  YAML::Node n = f.Get("keep_warm");
  std::string text = n.IsScalar() ? n.Scalar() : "";
  if (text == "forever") {
    *out = -1;
    return Status::Ok();
  }
  auto s = ParseDurationS(text);
  if (!s.ok())
    return f.Err("keep_warm", s.status().message(),
                 "Write how long it stays loaded once idle: 90s, 10m, 2h, or forever.");
  *out = *s;
  return Status::Ok();
}

}  // namespace

Status ParseOnDemand(const Fields& f, Model* m) {
  CARVE_RETURN_IF_ERROR(f.Bool("on_demand", &m->on_demand));
  CARVE_RETURN_IF_ERROR(f.Str("pool", &m->pool));
  if (f.Has("pool") && !IsPoolName(m->pool))
    return f.Err("pool", fmt::format("'{}' is not a pool name", m->pool),
                 "Use lower-case letters, digits and '-', at most 63, starting and ending with a "
                 "letter or digit.");
  if (m->on_demand && m->pool.empty()) m->pool = kDefaultPool;
  return ParseKeepWarm(f, &m->keep_warm_s);
}

namespace {

Status ParsePoolEntry(const YAML::Node& node, const std::string& file, size_t i, Pool* p) {
  Fields f(node, file, fmt::format("pools[{}]", i));
  CARVE_RETURN_IF_ERROR(f.Check({"name", "profile", "count", "resident"}));
  p->where = f.where();
  CARVE_RETURN_IF_ERROR(f.Str("name", &p->name, true));
  if (!IsPoolName(p->name))
    return f.Err("name", fmt::format("'{}' is not a pool name", p->name),
                 "Use lower-case letters, digits and '-', at most 63, starting and ending with a "
                 "letter or digit.");
  CARVE_RETURN_IF_ERROR(f.Str("profile", &p->profile));
  CARVE_RETURN_IF_ERROR(f.Whole("count", &p->count, 1, 1024));
  return f.Whole("resident", &p->resident, 1, 1024);
}

}  // namespace

// pools: each named once, and each holding at least one on-demand model (a
// pool nothing uses would hold slices for nothing).
Status ParsePools(const YAML::Node& node, const std::string& file, const std::vector<Model>& models,
                  std::vector<Pool>* out) {
  if (!node.IsSequence())
    return yaml::ErrorAt(file, node, "'pools' must be a list",
                         "Write e.g. pools: [{name: small, profile: 1g.10gb}] (docs/pools.md).");
  for (size_t i = 0; i < node.size(); ++i) {
    Pool p;
    CARVE_RETURN_IF_ERROR(ParsePoolEntry(node[i], file, i, &p));
    for (const auto& b : *out)
      if (b.name == p.name)
        return Status::InvalidArgument(fmt::format("{}: pool '{}' is declared twice (also at {})",
                                                   p.where.str(), p.name, b.where.str()),
                                       "Declare each pool once.");
    if (std::none_of(models.begin(), models.end(),
                     [&](const Model& m) { return m.on_demand && m.pool == p.name; }))
      return Status::InvalidArgument(
          fmt::format("{}: pool '{}' holds no model", p.where.str(), p.name),
          fmt::format("Put models in it (on_demand: true, pool: {}), or drop the pool.", p.name));
    out->push_back(std::move(p));
  }
  return Status::Ok();
}

bool IsPoolName(const std::string& s) {
  if (s.empty() || s.size() > 63 || !std::isalnum(static_cast<unsigned char>(s.front())) ||
      !std::isalnum(static_cast<unsigned char>(s.back())))
    return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return (std::islower(c) || std::isdigit(c) || c == '-');
  });
}

}  // namespace carve::spec
