#include "render/k8s/cluster.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "plan/sizing.h"

namespace carve::render::k8s {
namespace {

std::string Hash8(const std::string& text) {
  uint32_t h = 2166136261u;
  for (unsigned char c : text) h = (h ^ c) * 16777619u;
  return fmt::format("{:08x}", h);
}

// What one GPU holds, as mig-parted sees it (counts in placement order).
MigEntry EntryOf(const plan::PlannedGpu& g) {
  MigEntry e;
  e.devices = {g.gpu.local_index};
  if (g.gpu.fixed) {  // used or not, a fixed GPU holds its pool's slices
    e.mig_enabled = true;
    e.counts = {{g.gpu.fixed->name, g.gpu.fixed_count}};
    return e;
  }
  e.mig_enabled = g.mig && g.used();
  if (!e.mig_enabled) return e;
  for (const auto& s : g.slices) {
    auto it = std::find_if(e.counts.begin(), e.counts.end(),
                           [&](auto& c) { return c.first == s.profile->name; });
    if (it == e.counts.end())
      e.counts.push_back({s.profile->name, 1});
    else
      ++it->second;
  }
  return e;
}

std::string EntryKey(const MigEntry& e, const mig::GpuModel* model) {
  std::string key = model->alias + (e.mig_enabled ? ":on" : ":off");
  for (const auto& [p, n] : e.counts) key += fmt::format(" {}x{}", p, n);
  return key;
}

// The node's GPUs grouped by identical layout, in order of first index.
NodeLayout LayoutOf(const std::vector<const plan::PlannedGpu*>& gpus, const TimeSlices& shared) {
  NodeLayout l;
  l.model = gpus.front()->gpu.model;
  l.gpu_count = int(gpus.size());
  std::set<std::string> models;
  std::vector<std::string> keys;
  for (const auto* g : gpus) {
    models.insert(g->gpu.model->alias);
    l.mig_capable = l.mig_capable || g->gpu.model->mig;
    MigEntry e = EntryOf(*g);
    std::string key = EntryKey(e, g->gpu.model);
    auto at = std::find(keys.begin(), keys.end(), key);
    if (at != keys.end()) {
      l.entries[size_t(at - keys.begin())].devices.push_back(g->gpu.local_index);
      continue;
    }
    keys.push_back(key);
    if (models.size() > 1 || gpus.size() > 1)
      for (const auto& p : g->gpu.model->products) e.device_filter.push_back(p.pci_device_id);
    l.entries.push_back(std::move(e));
  }
  if (l.entries.size() == 1) l.entries[0].devices.clear();  // all
  if (models.size() == 1)
    for (auto& e : l.entries) e.device_filter.clear();
  std::string canon;
  for (size_t i = 0; i < keys.size(); ++i)
    canon += fmt::format("{}[{}];", keys[i], fmt::join(l.entries[i].devices, ","));
  for (const auto& [resource, k] : shared) canon += fmt::format("shared {}x{};", resource, k);
  l.time_slices = shared;
  const plan::FleetGpu& first = gpus.front()->gpu;
  if (first.fixed) {
    l.pool = FixedPool{first.pool, first.pool_selector, first.fixed};
    canon += "pool " + first.pool_selector;  // one layout per pool: each has its own selector
  }
  std::string what = first.fixed ? first.pool : models.size() == 1 ? l.model->alias : "mixed";
  l.name = DnsLabel(fmt::format("carve-{}-{}", what, Hash8(canon)));
  return l;
}

struct GroupKey {
  int model;
  std::string layout, profile;
  int gpus;
  long fraction;  // hundredths
  std::vector<std::string> args;
  auto Tie() const { return std::tie(model, layout, profile, gpus, fraction, args); }
  bool operator<(const GroupKey& o) const { return Tie() < o.Tie(); }
};

int TpSize(const plan::Plan& plan, const plan::PlannedGpu& g, const plan::PlacedReplica& r) {
  if (r.tp_group < 0) return 1;
  int n = 0;
  for (const auto& o : plan.gpus)
    if (o.gpu.node == g.gpu.node)
      for (const auto& s : o.slices)
        for (const auto& x : s.replicas) n += x.model == r.model && x.tp_group == r.tp_group;
  return std::max(n, 1);
}

void AddReplicas(const plan::Plan& plan, const Node& node, bool single,
                 std::map<GroupKey, Workload>& groups) {
  std::set<std::pair<int, int>> tp_seen;
  for (const auto* g : node.gpus)
    for (const auto& s : g->slices)
      for (const auto& r : s.replicas) {
        if (r.tp_group >= 0 && !tp_seen.insert({r.model, r.tp_group}).second) continue;
        int tp = TpSize(plan, *g, r);
        // A time-sliced pod may share any slice of its resource: it keeps to its own part.
        bool shared = r.tp_group < 0 &&
                      node.time_slices.count(SliceResource(s.profile, single || g->gpu.fixed));
        double fraction = shared && r.memory_fraction > 0
                              ? plan::MemoryFraction(r.memory_mib, s.memory_mib, false)
                              : r.memory_fraction;
        GroupKey key{
            r.model, node.layout, s.profile ? s.profile->name : "", tp, std::lround(fraction * 100),
            r.args};
        Workload& w = groups[key];
        w.time_sliced = shared;
        w.model = r.model, w.layout = node.layout, w.profile = s.profile, w.gpus = tp;
        w.memory_fraction = key.fraction / 100.0, w.args = r.args;
        w.memory_mib = s.memory_mib;
        ++w.replicas;
      }
}

void NameWorkloads(const plan::Plan& plan, std::map<GroupKey, Workload>& groups) {
  std::map<int, int> per_model;
  for (const auto& [k, w] : groups) ++per_model[k.model];
  std::set<std::string> used;
  for (auto& [k, w] : groups) {
    std::string base = plan.models[k.model].name;
    std::string name = DnsLabel(base);
    if (per_model[k.model] > 1)
      name = DnsLabel(base + "-" + (w.profile ? w.profile->name : fmt::format("gpu{}", w.gpus)));
    if (used.count(name)) name = DnsLabel(name + "-" + k.layout.substr(k.layout.size() - 8));
    for (int i = 2; used.count(name); ++i) name = DnsLabel(fmt::format("{}-{}", base, i));
    used.insert(name);
    w.name = name;
  }
}

}  // namespace

std::string MigEntry::Text() const {
  if (!mig_enabled) return "MIG off";
  std::string out;
  for (const auto& [p, k] : counts) out += fmt::format("{}{}×{}", out.empty() ? "" : " + ", p, k);
  return out;
}

std::string MigResourceName(const std::string& profile) {
  std::string name = "nvidia.com/mig-" + profile;
  std::replace(name.begin(), name.end(), '+', '.');
  return name;
}

std::string DnsLabel(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    char d = std::isalnum(c) ? char(std::tolower(c)) : '-';
    if (d == '-' && (out.empty() || out.back() == '-')) continue;
    out += d;
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  if (out.empty()) out = "x";
  if (out.size() > 63) out = out.substr(0, 54) + "-" + Hash8(text);
  return out;
}

std::string Workload::Resource(Strategy s) const {
  return SliceResource(profile, s == Strategy::kSingle || pool.fixed()) +
         (time_sliced ? ".shared" : "");
}

std::pair<std::string, std::string> FixedPool::Label() const {
  size_t eq = selector.find('=');
  return {selector.substr(0, eq), eq == std::string::npos ? "" : selector.substr(eq + 1)};
}

Result<Cluster> BuildCluster(const plan::Plan& plan, const Options& options) {
  // A fleet without node names is one node per pool.
  std::map<std::pair<std::string, std::string>, std::vector<const plan::PlannedGpu*>> by_node;
  for (const auto& g : plan.gpus)
    by_node[{g.gpu.node, g.gpu.node.empty() ? g.gpu.pool : ""}].push_back(&g);
  Cluster c;
  std::map<std::string, NodeLayout> layouts;
  std::map<GroupKey, Workload> groups;
  for (auto& [key, gpus] : by_node) {
    const std::string& name = key.first;
    std::sort(gpus.begin(), gpus.end(),
              [](auto* a, auto* b) { return a->gpu.local_index < b->gpu.local_index; });
    Node n{name, "", gpus.front()->gpu.mig_config, false, {}, {}, gpus};
    bool used = std::any_of(gpus.begin(), gpus.end(), [](auto* g) { return g->used(); });
    CARVE_ASSIGN_OR_RETURN(n.time_slices,
                           NodeTimeSlices(gpus, plan, options.strategy == Strategy::kSingle));
    NodeLayout l = LayoutOf(gpus, n.time_slices);
    n.mig_capable = l.mig_capable;
    n.pool = l.pool;
    if (used) {
      n.layout = l.name;
      auto [it, fresh] = layouts.emplace(l.name, l);
      it->second.nodes.push_back(name);
      AddReplicas(plan, n, options.strategy == Strategy::kSingle, groups);
    }
    c.nodes.push_back(std::move(n));
  }
  for (auto& [name, l] : layouts) c.layouts.push_back(std::move(l));
  NameWorkloads(plan, groups);
  for (auto& [k, w] : groups) {
    for (const auto& l : c.layouts)
      if (l.name == w.layout) w.nodes = l.nodes, w.pool = l.pool;
    c.workloads.push_back(std::move(w));
  }
  std::sort(c.workloads.begin(), c.workloads.end(),
            [](auto& a, auto& b) { return a.name < b.name; });
  if (options.strategy == Strategy::kSingle) CARVE_RETURN_IF_ERROR(CheckSingle(c));
  if (options.op == Operator::kNone) CARVE_RETURN_IF_ERROR(CheckNoOperator(c));
  return c;
}

Status CheckNoOperator(const Cluster& cluster) {
  for (const auto& n : cluster.nodes) {
    if (n.layout.empty() || n.name.empty() || !n.mig_capable || n.pool.fixed()) continue;
    return Status::NotSupported(
        fmt::format("--operator none: node {} needs its GPUs partitioned ({}), and without the GPU "
                    "Operator "
                    "nothing in the cluster runs the MIG manager that would do it",
                    n.name, n.layout),
        "Install NVIDIA's GPU Operator (then --operator gpu-operator), or run the node in a pool "
        "its provider "
        "carves (a fixed pool: the single strategy, or fleet: fixed_profile:).");
  }
  return Status::Ok();
}

Status CheckSingle(const Cluster& cluster) {
  for (const auto& n : cluster.nodes) {
    if (n.layout.empty()) continue;
    std::set<std::string> shapes;
    std::vector<std::string> what;
    for (const auto* g : n.gpus) {
      MigEntry e = EntryOf(*g);
      std::string shape = !e.mig_enabled         ? "MIG off"
                          : e.counts.size() == 1 ? e.counts[0].first
                                                 : "several profiles";
      shapes.insert(shape);
      what.push_back(fmt::format("GPU {}: {}", g->gpu.local_index, e.Text()));
    }
    if (shapes.size() == 1 && *shapes.begin() != "several profiles") continue;
    return Status::NotSupported(
        fmt::format(
            "--strategy single: node {} is not uniform ({}); the device plugin's single strategy "
            "needs one MIG profile on every GPU of a node, with MIG on for all of them, and fails "
            "otherwise (GFD labels the node …-MIG-INVALID)",
            n.name.empty() ? "(the fleet)" : n.name, fmt::join(what, "; ")),
        "Use --strategy mixed (GPU Operator mig.strategy=mixed), or pin models (gpus:, "
        "min_profile) so that "
        "each node holds one profile.");
  }
  return Status::Ok();
}

}  // namespace carve::render::k8s
