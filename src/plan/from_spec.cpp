#include "plan/from_spec.h"

#include <fmt/format.h>

#include "plan/explain.h"

namespace carve::plan {
namespace {

bool IsProfileName(const mig::Catalog& cat, const std::string& name) {
  for (const auto& m : cat.models()) {
    if (m.alias == name || m.FindProfile(name)) return true;
  }
  return name == "whole";
}

Status CheckModel(const spec::Model& m, const mig::Catalog& cat) {
  auto at = [&](const spec::Where& w) { return fmt::format("{}: model '{}'", w.str(), m.name); };
  for (const auto& g : m.gpus)
    if (!cat.Find(g))
      return Status::InvalidArgument(
          fmt::format("{}: gpus: unknown GPU model '{}'", at(m.where), g),
          fmt::format("Known models: {}.", cat.AliasList()));
  for (const auto& o : m.profiles) {
    if (!IsProfileName(cat, o.profile))
      return Status::InvalidArgument(
          fmt::format("{}: profile '{}' is neither a MIG profile nor a GPU alias carve knows",
                      at(o.where), o.profile),
          "Use a profile name from `carve catalog MODEL` (e.g. 1g.10gb) or a GPU alias for a whole "
          "card.");
    bool whole = o.profile == "whole" || cat.Find(o.profile);
    if (m.tensor_parallel > 1 && !whole)
      return Status::InvalidArgument(
          fmt::format("{}: tensor_parallel {} with MIG profile {}: refused; {}", at(o.where),
                      m.tensor_parallel, o.profile, TensorParallelAcrossSlices()),
          fmt::format("Measure it on a whole-GPU group (profile: a GPU alias such as h100-80gb, "
                      "MIG off), or "
                      "drop tensor_parallel and serve a model that fits one slice."));
  }
  return Status::Ok();
}

}  // namespace

Result<Sizing> SizeFromFiles(const spec::ModelFiles& files, const SizingParams& params) {
  Result<ModelFacts> facts = files.config_json.empty()
                                 ? FactsFromGguf(files.gguf_header, files.gguf_size)
                                 : FactsFromConfigJson(files.config_json, files.safetensors_bytes);
  if (!facts.ok()) return facts.status().Prefixed(files.description);
  return Estimate(*facts, params);
}

Result<std::vector<SizedModel>> DemandsFromSpec(
    const spec::Spec& spec, const std::map<std::string, spec::ModelFiles>& files,
    const mig::Catalog& catalog) {
  std::vector<SizedModel> out;
  for (const auto& m : spec.models) {
    CARVE_RETURN_IF_ERROR(CheckModel(m, catalog));
    SizedModel s;
    ModelDemand& d = s.demand;
    d.name = m.name, d.engine = m.engine;
    d.replicas = m.replicas.value_or(0);
    d.throughput = m.throughput.value_or(0);
    d.latency_slo_ms = m.latency_slo_ms.value_or(0);
    for (const auto& o : m.profiles)
      d.options.push_back(Option{o.profile, o.throughput, o.latency_ms.value_or(0), o.args});
    d.min_profile = m.min_profile, d.spread = m.spread, d.share = m.share, d.gpus = m.gpus;
    d.tensor_parallel = m.tensor_parallel;
    if (m.estimate) {
      auto it = files.find(m.name);
      if (it == files.end()) return Status::Internal("model files not read for " + m.name);
      SizingParams params{m.engine,
                          m.estimate->dtype,
                          m.estimate->kv_dtype,
                          m.estimate->max_model_len,
                          m.estimate->concurrency,
                          m.estimate->overhead_mib ? int64_t(*m.estimate->overhead_mib) : -1};
      auto sizing = SizeFromFiles(it->second, params);
      if (!sizing.ok())
        return sizing.status().Prefixed(
            fmt::format("{}: model '{}' estimate", m.estimate->where.str(), m.name));
      s.estimated = true, s.sizing = *sizing;
      d.memory_mib = sizing->total_mib, d.overhead_mib = sizing->overhead_mib;
    } else if (m.memory_mib) {
      d.memory_mib = *m.memory_mib;
      d.overhead_mib = std::min(d.memory_mib, EngineOverheadMiB(m.engine));
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace carve::plan
