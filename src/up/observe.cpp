#include "up/observe.h"

#include <fmt/format.h>

#include <bit>

#include "gateway/metrics.h"
#include "mig/capacity.h"
#include "serve/supervisor.h"

namespace carve::up {
namespace {

using Json = nlohmann::ordered_json;
constexpr uint64_t kMiB = 1024 * 1024;

// A slice of the machine: a GPU instance, or a whole GPU with MIG off.
struct Slice {
  const device::Gpu* gpu = nullptr;
  const device::GpuInstance* gi = nullptr;  // null: the whole GPU
  std::vector<const ReplicaFacts*> replicas;
  const device::SliceUtilisation* utilisation = nullptr;
};

std::vector<Slice> SlicesOf(const MachineView& v) {
  std::vector<Slice> out;
  auto add = [&](const device::Gpu& g, const device::GpuInstance* gi) {
    Slice s{&g, gi, {}, nullptr};
    int id = gi ? gi->id : -1;
    for (const auto& r : v.replicas)
      if (r.place.gpu == g.index && r.place.gi == id) s.replicas.push_back(&r);
    if (auto u = v.utilisation.find(g.index); u != v.utilisation.end())
      for (const auto& x : u->second)
        if (x.gi == id) s.utilisation = &x;
    out.push_back(std::move(s));
  };
  for (const auto& g : v.gpus) {
    if (!g.mig.current) add(g, nullptr);
    for (const auto& gi : g.gpu_instances) add(g, &gi);
  }
  return out;
}

std::string Join(const std::vector<const ReplicaFacts*>& rs, std::string ReplicaPlace::*field) {
  std::string out;
  for (const auto* r : rs) out += (out.empty() ? "" : ",") + r->place.*field;
  return out;
}

// The gateway's label set for a slice; the models and engines of all its
// replicas, comma-joined, when it has more than one.
std::string SliceLabels(const Slice& s, const std::vector<device::Gpu>& gpus) {
  ReplicaPlace p{Join(s.replicas, &ReplicaPlace::model), Join(s.replicas, &ReplicaPlace::url),
                 Join(s.replicas, &ReplicaPlace::engine), s.gpu->index, s.gi ? s.gi->id : -1};
  return gateway::JoinLabels(gateway::BackendLabels(BackendFor(p, gpus)));
}

uint64_t UsedMib(const Slice& s) { return s.gi ? s.gi->memory_used_mib : s.gpu->memory_used_mib; }
uint64_t TotalMib(const Slice& s) {
  return s.gi ? s.gi->memory_total_mib : s.gpu->memory_total_mib;
}

void SliceFamilies(gateway::PromWriter& w, const std::vector<Slice>& slices,
                   const std::vector<std::string>& labels) {
  struct Family {
    const char* name;
    const char* help;
    double device::Utilisation::*field;
  };
  w.Family("carve_slice_memory_used_bytes", "gauge", "Memory the processes on a slice use.");
  for (size_t i = 0; i < slices.size(); ++i)
    w.Sample("carve_slice_memory_used_bytes", labels[i], "", UsedMib(slices[i]) * kMiB);
  w.Family("carve_slice_memory_total_bytes", "gauge", "Memory a slice has.");
  for (size_t i = 0; i < slices.size(); ++i)
    w.Sample("carve_slice_memory_total_bytes", labels[i], "", TotalMib(slices[i]) * kMiB);
  w.Family("carve_slice_utilisation_available", "gauge",
           "1 where the hardware gives utilisation per slice (NVML GPM: Hopper and later), 0 "
           "where it does not (carve status names the source then).");
  for (size_t i = 0; i < slices.size(); ++i) {
    bool has = slices[i].utilisation && slices[i].utilisation->value;
    w.Sample("carve_slice_utilisation_available", labels[i], "", has ? 1 : 0);
  }
  for (const Family& f :
       {Family{"carve_slice_sm_active_ratio", "Share of a slice's SMs busy (GPM SM_UTIL).",
               &device::Utilisation::sm},
        Family{"carve_slice_memory_bandwidth_ratio",
               "Share of a slice's memory bandwidth used (GPM DRAM_BW_UTIL).",
               &device::Utilisation::memory_bandwidth},
        Family{"carve_slice_tensor_active_ratio",
               "Share of time a slice's SMs ran tensor operations (GPM ANY_TENSOR_UTIL).",
               &device::Utilisation::tensor}}) {
    w.Family(f.name, "gauge", f.help);
    for (size_t i = 0; i < slices.size(); ++i)
      if (slices[i].utilisation && slices[i].utilisation->value)
        w.Raw(fmt::format("{}{{{}}} {}", f.name, labels[i],
                          (*slices[i].utilisation->value).*f.field));
  }
}

void EngineFamilies(gateway::PromWriter& w, const MachineView& v) {
  w.Family("carve_engine_restarts_total", "counter", "Engines started after a replica's first.");
  std::vector<std::string> labels;
  for (const auto& r : v.replicas)
    labels.push_back(gateway::JoinLabels(gateway::BackendLabels(BackendFor(r.place, v.gpus))));
  for (size_t i = 0; i < v.replicas.size(); ++i)
    w.Sample("carve_engine_restarts_total", labels[i], "",
             static_cast<uint64_t>(v.replicas[i].restarts));
  w.Family("carve_engine_state", "gauge",
           "1 for the state a replica's engine is in, 0 for the others.");
  for (size_t i = 0; i < v.replicas.size(); ++i)
    for (int s = 0; s <= static_cast<int>(serve::State::kStopped); ++s) {
      std::string name = serve::StateName(static_cast<serve::State>(s));
      w.Sample("carve_engine_state", labels[i], "state=\"" + name + '"',
               v.replicas[i].state == name ? 1 : 0);
    }
}

// The GPUs whose room `fits` and `stranded` describe: MIG on, model known.
std::vector<mig::Slice> LayoutOf(const device::Gpu& g) {
  std::vector<mig::Slice> out;
  for (const auto& gi : g.gpu_instances)
    if (const mig::Profile* p = g.model->FindProfileById(gi.profile_id))
      out.push_back({p, gi.placement.start, gi.id});
  return out;
}
bool HasRoomFacts(const device::Gpu& g) { return g.mig.current && g.model && g.model->mig; }

void GpuFamilies(gateway::PromWriter& w, const MachineView& v) {
  w.Family("carve_gpu_slices_free", "gauge",
           "How many more slices of each profile still fit on a GPU with MIG on.");
  for (const auto& g : v.gpus)
    if (HasRoomFacts(g))
      for (const auto& room : mig::RoomPerProfile(*g.model, LayoutOf(g)))
        w.Sample("carve_gpu_slices_free",
                 {{"gpu", std::to_string(g.index)},
                  {"gpu_uuid", g.uuid},
                  {"profile", room.profile->name}},
                 room.count);
  w.Family("carve_gpu_stranded_units", "gauge",
           "Free placement units of a GPU that no profile can use given its layout.");
  w.Family("carve_gpu_placement_units", "gauge", "Placement units a GPU has.");
  for (const auto& g : v.gpus)
    if (HasRoomFacts(g)) {
      gateway::Labels l{{"gpu", std::to_string(g.index)}, {"gpu_uuid", g.uuid}};
      w.Sample("carve_gpu_stranded_units", l,
               std::popcount(mig::StrandedUnits(*g.model, LayoutOf(g))));
      w.Sample("carve_gpu_placement_units", l, g.model->placement_units);
    }
}

Json MemoryJson(uint64_t used_mib, uint64_t total_mib) {
  return {{"used_bytes", used_mib * kMiB}, {"total_bytes", total_mib * kMiB}};
}

Json SliceJson(const Slice& s) {
  const device::Gpu& g = *s.gpu;
  int units = g.model ? g.model->placement_units : 0;
  Json j = {{"gpu", g.index},
            {"gpu_uuid", g.uuid},
            {"gi", s.gi ? Json(s.gi->id) : Json(nullptr)},
            {"profile", s.gi ? s.gi->profile : "whole"},
            {"start", s.gi ? s.gi->placement.start : 0},
            {"size", s.gi ? s.gi->placement.size : units},
            {"mig_uuid",
             s.gi && !s.gi->compute_instances.empty() ? s.gi->compute_instances.front().uuid : ""},
            {"memory", MemoryJson(UsedMib(s), TotalMib(s))}};
  j["placement"] = fmt::format("{}:{}", j["start"].get<int>(), j["size"].get<int>());
  if (s.utilisation && s.utilisation->value) {
    const auto& u = *s.utilisation->value;
    j["utilisation"] = {
        {"sm", u.sm}, {"memory_bandwidth", u.memory_bandwidth}, {"tensor", u.tensor}};
  } else {
    j["utilisation"] = nullptr;
    j["utilisation_unavailable"] = s.utilisation ? s.utilisation->unavailable : "not measured yet";
  }
  Json procs = Json::array();
  for (const auto& p : g.processes)
    if (!s.gi || p.gi == s.gi->id)
      procs.push_back({{"pid", p.pid}, {"name", p.name}, {"memory_bytes", p.memory_mib * kMiB}});
  j["processes"] = procs;
  Json ids = Json::array(), models = Json::array();
  for (const auto* r : s.replicas) ids.push_back(r->id), models.push_back(r->place.model);
  j["replicas"] = ids;
  j["models"] = models;
  return j;
}

}  // namespace

std::string MetricsText(const MachineView& v) {
  auto slices = SlicesOf(v);
  std::vector<std::string> labels;
  for (const auto& s : slices) labels.push_back(SliceLabels(s, v.gpus));
  gateway::PromWriter w;
  SliceFamilies(w, slices, labels);
  EngineFamilies(w, v);
  GpuFamilies(w, v);
  return std::move(w).Take();
}

Json StatusParts(const MachineView& v) {
  Json gpus = Json::array(), slices = Json::array(), fits = Json::object(),
       stranded = Json::object();
  for (const auto& g : v.gpus) {
    gpus.push_back({{"index", g.index},
                    {"uuid", g.uuid},
                    {"name", g.name},
                    {"model", g.model ? g.model->alias : ""},
                    {"placement_units", g.model ? g.model->placement_units : 0},
                    {"mig", g.mig.current},
                    {"memory", MemoryJson(g.memory_used_mib, g.memory_total_mib)}});
    if (!HasRoomFacts(g)) continue;
    auto layout = LayoutOf(g);
    for (const auto& room : mig::RoomPerProfile(*g.model, layout))
      fits[room.profile->name] = fits.value(room.profile->name, 0) + room.count;
    stranded[std::to_string(g.index)] = std::popcount(mig::StrandedUnits(*g.model, layout));
  }
  for (const auto& s : SlicesOf(v)) slices.push_back(SliceJson(s));
  return {{"gpus", gpus}, {"slices", slices}, {"fits", fits}, {"stranded_units", stranded}};
}

}  // namespace carve::up
