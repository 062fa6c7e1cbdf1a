#include "up/desired.h"

#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>

#include "plan/on_demand.h"
#include "plan/sizing.h"

namespace carve::up {
namespace {

const spec::Model* FindModel(const spec::Spec& s, const std::string& name) {
  for (const auto& m : s.models)
    if (m.name == name) return &m;
  return nullptr;
}

// The engine's launch of one placed replica of `m`, without id and uuid.
Result<serve::ReplicaSpec> LaunchOf(const spec::Model& m, const plan::PlacedReplica& r,
                                    int ready_timeout_ms) {
  serve::ReplicaSpec spec;
  CARVE_ASSIGN_OR_RETURN(spec.engine, serve::ParseEngine(m.engine.empty() ? "vllm" : m.engine));
  spec.model = m.name;
  spec.source = m.source;
  spec.command = m.command;
  spec.args = m.args;
  spec.args.insert(spec.args.end(), r.args.begin(), r.args.end());
  spec.memory_fraction = r.memory_fraction > 0 ? r.memory_fraction : 0.9;
  spec.image = m.image;
  spec.launcher = m.launcher == "docker" ? serve::Launcher::kDocker : serve::Launcher::kProcess;
  spec.env = m.env;
  if (ready_timeout_ms > 0) {
    serve::ProbeSpec probe = serve::DefaultProbe(spec.engine);
    probe.ready_timeout_ms = ready_timeout_ms;
    spec.probe = probe;
  }
  return spec;
}

std::string SettingsOf(const spec::Model& m, const serve::ReplicaSpec& spec) {
  nlohmann::ordered_json k = {{"engine", m.engine},
                              {"source", m.source},
                              {"command", m.command},
                              {"args", spec.args},
                              {"fraction", spec.memory_fraction},
                              {"image", m.image},
                              {"env", m.env},
                              {"launcher", m.launcher}};
  return k.dump();
}

Result<WantedReplica> WantedOf(const plan::PlannedGpu& g, const plan::PlannedSlice& slice,
                               const plan::PlacedReplica& r, const spec::Model& m,
                               int ready_timeout_ms) {
  if (r.tp_group >= 0)
    return Status::NotSupported(
        fmt::format("{}: model '{}' spans GPUs (tensor parallel); carve up runs one slice "
                    "per replica",
                    m.where.str(), m.name),
        "Give it a memory that fits one GPU, or serve it with carve render k8s.");
  WantedReplica w;
  w.model = m.name;
  w.slot.gpu = g.gpu.local_index;
  w.slot.profile = slice.profile ? slice.profile->name : "whole";
  w.slot.start = slice.start;
  w.slot.memory_mib = r.memory_mib;
  CARVE_ASSIGN_OR_RETURN(w.spec, LaunchOf(m, r, ready_timeout_ms));
  w.settings = SettingsOf(m, w.spec);
  return w;
}

}  // namespace

Result<std::vector<WantedReplica>> WantedFromPlan(const plan::Plan& p, const spec::Spec& s,
                                                  int ready_timeout_ms) {
  std::vector<WantedReplica> out;
  for (const auto& g : p.gpus)
    for (const auto& slice : g.slices)
      for (const auto& r : slice.replicas) {
        const std::string& name = p.models.at(r.model).name;
        if (plan::IsPoolModel(name)) continue;
        const spec::Model* m = FindModel(s, name);
        if (!m) return Status::Internal("the plan names an unknown model " + name);
        CARVE_ASSIGN_OR_RETURN(WantedReplica w, WantedOf(g, slice, r, *m, ready_timeout_ms));
        out.push_back(std::move(w));
      }
  return out;
}

std::map<std::string, std::vector<Slot>> PoolSlotsFromPlan(const plan::Plan& p) {
  std::map<std::string, std::vector<Slot>> out;
  for (const auto& g : p.gpus)
    for (const auto& slice : g.slices)
      for (const auto& r : slice.replicas) {
        const std::string& name = p.models.at(r.model).name;
        if (!plan::IsPoolModel(name)) continue;
        Slot s;
        s.gpu = g.gpu.local_index;
        s.profile = slice.profile ? slice.profile->name : "whole";
        s.start = slice.start;
        s.memory_mib = slice.memory_mib;
        out[name.substr(plan::kPoolModelPrefix.size())].push_back(s);
      }
  return out;
}

Result<WantedReplica> OnDemandReplica(const spec::Model& m, const Slot& slice, uint64_t need_mib,
                                      int ready_timeout_ms) {
  plan::PlacedReplica r;
  r.memory_mib = need_mib;
  r.memory_fraction = plan::MemoryFraction(need_mib, slice.memory_mib, /*alone=*/false);
  WantedReplica w;
  w.model = m.name;
  w.slot = slice;
  w.slot.memory_mib = need_mib;
  CARVE_ASSIGN_OR_RETURN(w.spec, LaunchOf(m, r, ready_timeout_ms));
  w.settings = SettingsOf(m, w.spec);
  return w;
}

Result<apply::Layouts> LayoutsFromPlan(const plan::Plan& p, const std::vector<device::Gpu>& gpus) {
  apply::Layouts out;
  for (const auto& g : p.gpus) {
    if (!g.used()) continue;
    int index = g.gpu.local_index;
    auto dev =
        std::find_if(gpus.begin(), gpus.end(), [&](const auto& d) { return d.index == index; });
    if (dev == gpus.end())
      return Status::NotFound(fmt::format("the plan uses GPU {}, which this machine lacks", index));
    apply::GpuLayout l{index, dev->model, g.mig, {}, "the plan"};
    if (g.mig && (!dev->model || !dev->model->mig))
      return Status::NotSupported(
          fmt::format("the plan slices GPU {} ({}), which does not support MIG", index, dev->name));
    for (const auto& s : g.mig ? g.slices : std::vector<plan::PlannedSlice>{})
      l.slices.push_back(apply::FullSlice(*dev->model, *s.profile, s.start));
    out.push_back(std::move(l));
  }
  return out;
}

Status ResolveSlot(Slot& slot, const std::vector<device::Gpu>& gpus) {
  CARVE_ASSIGN_OR_RETURN(device::FoundSlice found, device::FindSlice(gpus, slot.ref()));
  slot.uuid = found.uuid;
  if (found.gi) slot.gi = found.gi->id, slot.ci = found.gi->compute_instances.front().id;
  return Status::Ok();
}

Result<std::vector<serve::ReplicaSpec>> ReplicasFromPlan(const plan::Plan& p, const spec::Spec& s,
                                                         const std::vector<device::Gpu>& gpus,
                                                         int& placeholders) {
  CARVE_ASSIGN_OR_RETURN(auto wanted, WantedFromPlan(p, s, 0));
  std::vector<serve::ReplicaSpec> out;
  std::map<std::string, int> next;
  placeholders = 0;
  for (auto& w : wanted) {
    if (!ResolveSlot(w.slot, gpus).ok()) {
      w.slot.uuid = fmt::format("MIG-{}-{}@{}", w.slot.gpu, w.slot.profile, w.slot.start);
      ++placeholders;
    }
    w.spec.id = fmt::format("{}/{}", w.model, next[w.model]++);
    w.spec.uuid = w.slot.uuid;
    w.spec.slice = w.slot.where();
    out.push_back(std::move(w.spec));
  }
  return out;
}

}  // namespace carve::up
