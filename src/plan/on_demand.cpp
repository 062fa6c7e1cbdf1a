#include "plan/on_demand.h"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

#include "plan/fleet.h"
#include "plan/problem.h"
#include "plan/spec_plan.h"
#include "spec/quantity.h"

namespace carve::plan {
namespace {

// One pool as the spec gives it: its declaration (if any) and its models' memory.
struct PoolModels {
  std::string name;
  const spec::Pool* declared = nullptr;
  spec::Where where;  // the declaration, else its first model
  std::vector<std::string> models;
  std::vector<uint64_t> memory_mib;  // by model
};

uint64_t MemoryOf(const std::vector<ModelDemand>& demands, const std::string& model) {
  for (const auto& d : demands)
    if (d.name == model) return d.memory_mib;
  return 0;
}

std::vector<PoolModels> Gather(const spec::Spec& spec, const std::vector<ModelDemand>& demands) {
  std::vector<PoolModels> out;
  for (const auto& m : spec.models) {
    if (!m.on_demand) continue;
    auto it = std::find_if(out.begin(), out.end(), [&](auto& p) { return p.name == m.pool; });
    if (it == out.end()) {
      PoolModels p{m.pool, nullptr, m.where, {}, {}};
      for (const auto& d : spec.pools)
        if (d.name == m.pool) p.declared = &d, p.where = d.where;
      it = out.insert(out.end(), std::move(p));
    }
    it->models.push_back(m.name);
    it->memory_mib.push_back(MemoryOf(demands, m.name));
  }
  return out;
}

// Where slices of one profile hold a model: the GPU models, and the least
// memory such a slice has among them.
struct Holders {
  std::vector<std::string> gpus;
  uint64_t slice_mib = 0;
};

Holders HoldersOf(const std::string& profile, uint64_t mib,
                  const std::vector<const mig::GpuModel*>& gpus) {
  Holders h;
  for (const auto* g : gpus) {
    const mig::Profile* p = g->mig ? g->FindProfile(profile) : nullptr;
    if (!p || p->memory_mib < mib) continue;
    h.gpus.push_back(g->alias);
    h.slice_mib = h.slice_mib == 0 ? p->memory_mib : std::min(h.slice_mib, p->memory_mib);
  }
  return h;
}

std::string Aliases(const std::vector<const mig::GpuModel*>& gpus) {
  std::string out;
  for (const auto* g : gpus) out += (out.empty() ? "" : ", ") + g->alias;
  return out.empty() ? "none" : out;
}

std::string Largest(const PoolModels& p) {
  size_t i =
      size_t(std::max_element(p.memory_mib.begin(), p.memory_mib.end()) - p.memory_mib.begin());
  return fmt::format("'{}' ({})", p.models[i], spec::FormatMiB(p.memory_mib[i]));
}

Status PoolError(const PoolModels& p, const std::string& what, const std::string& hint) {
  return Status::InvalidArgument(fmt::format("{}: pool '{}': {}", p.where.str(), p.name, what),
                                 hint);
}

// The plain profile with the least memory that holds `mib` (fewest compute slices among equals).
Result<std::string> ChooseProfile(const PoolModels& p, uint64_t mib,
                                  const std::vector<const mig::GpuModel*>& gpus) {
  const Kind* best = nullptr;
  uint64_t best_mib = 0;
  for (const auto* g : gpus) {
    if (!g->mig) continue;
    for (const auto& k : KindsOf(*g)) {
      uint64_t have = k.profile ? HoldersOf(k.name, mib, gpus).slice_mib : 0;
      if (have == 0) continue;
      if (!best || have < best_mib ||
          (have == best_mib && std::tie(k.compute, k.name) < std::tie(best->compute, best->name)))
        best = &k, best_mib = have;
    }
  }
  if (!best)
    return PoolError(
        p,
        fmt::format("no MIG profile of these GPUs ({}) holds its largest model {}", Aliases(gpus),
                    Largest(p)),
        "Give that model a pool of its own on larger GPUs, serve it always-on (drop on_demand), "
        "or shrink it (dtype, max_model_len).");
  return best->name;
}

Status CheckDeclared(const PoolModels& p, uint64_t mib,
                     const std::vector<const mig::GpuModel*>& gpus) {
  const std::string& profile = p.declared->profile;
  if (HoldersOf(profile, 1, gpus).gpus.empty())
    return PoolError(
        p, fmt::format("profile '{}' is on none of these GPUs ({})", profile, Aliases(gpus)),
        "Name a profile they have (`carve catalog MODEL` lists them), or leave "
        "profile: out and carve chooses.");
  if (HoldersOf(profile, mib, gpus).gpus.empty())
    return PoolError(p,
                     fmt::format("profile {} does not hold its largest model {} on these GPUs "
                                 "({})",
                                 profile, Largest(p), Aliases(gpus)),
                     "Name a larger profile, or leave profile: out and carve chooses.");
  return Status::Ok();
}

// The fewest slices of `slice_mib` that hold the `resident` largest models (first-fit decreasing).
int PackedCount(std::vector<uint64_t> memory, int resident, uint64_t slice_mib) {
  std::sort(memory.rbegin(), memory.rend());
  memory.resize(std::min(memory.size(), size_t(resident)));
  std::vector<uint64_t> free;
  for (uint64_t m : memory) {
    auto it = std::find_if(free.begin(), free.end(), [&](uint64_t f) { return f >= m; });
    if (it == free.end())
      free.push_back(slice_mib - m);
    else
      *it -= m;
  }
  return std::max(1, int(free.size()));
}

Result<PoolPlan> SizePool(const PoolModels& p, const std::vector<const mig::GpuModel*>& gpus) {
  PoolPlan out;
  out.name = p.name, out.models = p.models;
  out.largest_mib = *std::max_element(p.memory_mib.begin(), p.memory_mib.end());
  if (p.declared && !p.declared->profile.empty()) {
    out.profile = p.declared->profile;
    CARVE_RETURN_IF_ERROR(CheckDeclared(p, out.largest_mib, gpus));
  } else {
    CARVE_ASSIGN_OR_RETURN(out.profile, ChooseProfile(p, out.largest_mib, gpus));
  }
  Holders h = HoldersOf(out.profile, out.largest_mib, gpus);
  out.gpus = std::move(h.gpus), out.slice_mib = h.slice_mib;
  const int resident = p.declared ? p.declared->resident : spec::Pool{}.resident;
  out.count = p.declared && p.declared->count > 0
                  ? p.declared->count
                  : PackedCount(p.memory_mib, resident, out.slice_mib);
  return out;
}

}  // namespace

std::string PoolModelName(const std::string& pool) { return std::string(kPoolModelPrefix) + pool; }

bool IsPoolModel(std::string_view model_name) { return model_name.starts_with(kPoolModelPrefix); }

std::vector<const mig::GpuModel*> GpuModelsOf(const std::vector<FleetGpu>& fleet) {
  std::vector<const mig::GpuModel*> out;
  for (const auto& g : fleet)
    if (g.model && std::find(out.begin(), out.end(), g.model) == out.end()) out.push_back(g.model);
  return out;
}

Result<std::vector<PoolPlan>> SizePools(const spec::Spec& spec,
                                        const std::vector<ModelDemand>& demands,
                                        const std::vector<const mig::GpuModel*>& gpu_models) {
  std::vector<PoolPlan> out;
  for (const auto& p : Gather(spec, demands)) {
    CARVE_ASSIGN_OR_RETURN(PoolPlan sized, SizePool(p, gpu_models));
    out.push_back(std::move(sized));
  }
  return out;
}

std::vector<ModelDemand> WithPools(const std::vector<ModelDemand>& demands, const spec::Spec& spec,
                                   const std::vector<PoolPlan>& pools) {
  std::vector<ModelDemand> out;
  for (const auto& d : demands) {
    auto m = std::find_if(spec.models.begin(), spec.models.end(),
                          [&](const spec::Model& s) { return s.name == d.name; });
    if (m == spec.models.end() || !m->on_demand) out.push_back(d);
  }
  for (const auto& p : pools) {
    ModelDemand d;
    d.name = PoolModelName(p.name), d.engine = "echo";
    d.memory_mib = p.slice_mib, d.replicas = p.count, d.gpus = p.gpus;
    d.options.push_back(Option{p.profile, 0, 0, {}});
    d.tensor_parallel = 1;  // a pool is slices, never a group of whole GPUs
    out.push_back(std::move(d));
  }
  return out;
}

Result<std::vector<PoolPlan>> PoolsOf(const spec::Spec& spec,
                                      const std::vector<device::Gpu>& gpus) {
  CARVE_ASSIGN_OR_RETURN(auto fleet, FleetFromMachine(gpus));
  CARVE_ASSIGN_OR_RETURN(auto demands, DemandsOf(spec));
  return SizePools(spec, demands, GpuModelsOf(fleet));
}

}  // namespace carve::plan
