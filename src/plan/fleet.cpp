#include "plan/fleet.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "mig/layout.h"
#include "spec/quantity.h"

namespace carve::plan {
namespace {

void Append(std::vector<FleetGpu>& fleet, const mig::GpuModel* model, int count, double cost,
            const std::string& node = "", const std::string& pool = "") {
  int local = 0;
  for (const auto& g : fleet) local += g.node == node && g.pool == pool;
  for (int c = 0; c < count; ++c)
    fleet.push_back(
        FleetGpu{int(fleet.size()), node, local + c, model, cost, {}, {}, pool, {}, nullptr, 0});
}

std::string ProfileNames(const mig::GpuModel& model) {
  std::string out;
  for (const auto& p : model.profiles) out += (out.empty() ? "" : ", ") + p.name;
  return out;
}

std::string Dashed(std::string s) {
  std::replace(s.begin(), s.end(), ' ', '-');
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// GFD writes the product with dashes for spaces ("NVIDIA-H100-80GB-HBM3"), so
// products whose own name has dashes ("NVIDIA A100-SXM4-80GB") are compared dashed.
const mig::GpuModel* FindProduct(const mig::Catalog& cat, std::string product) {
  if (const auto* m = cat.Find(product)) return m;
  for (const auto& m : cat.models())
    for (const auto& p : m.products)
      if (Dashed(p.name) == Dashed(product)) return &m;
  std::replace(product.begin(), product.end(), '-', ' ');
  return cat.Find(product);
}

}  // namespace

Result<std::vector<FleetGpu>> FleetFromSpec(const std::vector<spec::FleetEntry>& entries,
                                            const mig::Catalog& catalog) {
  std::vector<FleetGpu> fleet;
  for (const auto& e : entries) {
    auto model = catalog.Lookup(e.gpu);
    if (!model.ok()) return model.status().Prefixed(e.where.str() + ": fleet");
    const mig::Profile* fixed = nullptr;
    if (!e.fixed_profile.empty()) {
      fixed = (*model)->FindProfile(e.fixed_profile);
      if (!fixed)
        return Status::InvalidArgument(
            fmt::format("{}: fleet pool '{}': {} has no MIG profile '{}'", e.where.str(), e.pool,
                        (*model)->alias, e.fixed_profile),
            fmt::format("Its profiles: {} (carve profiles -m {}).", ProfileNames(**model),
                        (*model)->alias));
    }
    size_t first = fleet.size();
    Append(fleet, *model, e.count, e.cost_per_month.value_or(0), "", e.pool);
    for (size_t i = first; i < fleet.size(); ++i) {
      fleet[i].pool_selector = e.pool.empty() ? "" : std::string(kPoolLabel) + "=" + e.pool;
      if (fixed) Fix(fleet[i], fixed, FilledCount(**model, *fixed));
    }
  }
  return fleet;
}

int FilledCount(const mig::GpuModel& model, const mig::Profile& profile) {
  return mig::RemainingCapacity(model, {}, profile);
}

void Fix(FleetGpu& g, const mig::Profile* profile, int count) {
  g.fixed = profile;
  g.fixed_count = count;
  std::vector<mig::SliceRequest> reqs(size_t(count), mig::SliceRequest{profile, {}, nullptr});
  auto placed = mig::Place(*g.model, {}, reqs);
  g.current = placed.ok() ? *placed : std::vector<mig::Slice>{};
}

Result<std::vector<FleetGpu>> FleetFromFlag(std::string_view text, const mig::Catalog& catalog) {
  std::vector<FleetGpu> fleet;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    std::string item(
        text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
    pos = comma == std::string_view::npos ? text.size() + 1 : comma + 1;
    if (item.empty()) continue;
    std::string alias = item.substr(0, item.find(':'));
    int count = 1;
    double cost = 0;
    size_t c1 = item.find(':');
    if (c1 != std::string::npos) {
      char* end = nullptr;
      long n = std::strtol(item.c_str() + c1 + 1, &end, 10);
      count = n < 1 || n > spec::kMaxGpuCount ? 0 : int(n);
      if (*end == ':') cost = std::strtod(end + 1, &end);
      if (*end != '\0' || count < 1 || !(cost >= 0) || !std::isfinite(cost))
        return Status::InvalidArgument(
            fmt::format("--fleet: '{}' is not ALIAS[:COUNT[:COST_PER_MONTH]]", item),
            fmt::format("Example: --fleet h100-80gb:8:2100,rtx-5090:1:400 (COUNT from 1 to {}).",
                        spec::kMaxGpuCount));
    }
    auto model = catalog.Lookup(alias);
    if (!model.ok()) return model.status().Prefixed("--fleet");
    Append(fleet, *model, count, cost);
  }
  if (fleet.empty())
    return Status::InvalidArgument("--fleet lists no GPUs", "Example: --fleet h100-80gb:8");
  bool some = std::any_of(fleet.begin(), fleet.end(), [](auto& g) { return g.cost_per_month > 0; });
  bool all = std::all_of(fleet.begin(), fleet.end(), [](auto& g) { return g.cost_per_month > 0; });
  if (some && !all)
    return Status::InvalidArgument("--fleet gives a cost for some GPU models but not all",
                                   "Give :COST_PER_MONTH for every entry or none.");
  return fleet;
}

Result<std::vector<FleetGpu>> FleetFromMachine(const std::vector<device::Gpu>& gpus) {
  std::vector<FleetGpu> fleet;
  for (const auto& g : gpus) {
    if (!g.model)
      return Status::NotSupported(
          fmt::format("GPU {} ({}) is not in carve's catalogue", g.index, g.name),
          "Plan for the other GPUs with --fleet, or add the model to catalog/ (see `carve "
          "catalog`).");
    FleetGpu f{int(fleet.size()), "", g.index, g.model, 0, {}, {}};
    for (const auto& gi : g.mig.current ? g.gpu_instances : std::vector<device::GpuInstance>{}) {
      const mig::Profile* p = g.model->FindProfileById(gi.profile_id);
      if (p) f.current.push_back(mig::Slice{p, gi.placement.start, gi.id});
    }
    fleet.push_back(std::move(f));
  }
  if (fleet.empty())
    return Status::NotFound("the machine has no GPUs",
                            "Give the fleet in the spec or with --fleet.");
  return fleet;
}

namespace {

// Node labels that name a node's pool, by provider (Karpenter, GKE, AKS, EKS).
constexpr const char* kPoolLabels[] = {"karpenter.sh/nodepool", "cloud.google.com/gke-nodepool",
                                       "kubernetes.azure.com/agentpool",
                                       "eks.amazonaws.com/nodegroup", kPoolLabel};

// The profile GFD names in a `single` product label (…-MIG-1g.24gb; a '+' is
// written '.' there, as label values cannot hold it).
const mig::Profile* SingleProfile(const mig::GpuModel& model, const std::string& label) {
  for (const auto& p : model.profiles) {
    std::string dotted = p.name;
    std::replace(dotted.begin(), dotted.end(), '+', '.');
    if (p.name == label || dotted == label) return &p;
  }
  return nullptr;
}

// The node's pool by its provider's label, else named by its GPU and profile.
std::string PoolOf(const nlohmann::json& labels, const mig::GpuModel& model,
                   const mig::Profile& profile) {
  for (const char* key : kPoolLabels)
    if (labels.contains(key) && labels[key].is_string()) return labels[key].get<std::string>();
  std::string out = model.alias + "-" + profile.name;
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c == '.' || c == '+'; }, '-');
  return out;
}

// A node on the device plugin's `single` strategy: its GPUs are already
// carved, each into `profile` slices, and its counts are slices, not GPUs
// (allocatable nvidia.com/gpu when the node list has it, else GFD's count).
// Each GPU holds as many as an empty one can, the last the rest.
Status AppendSingle(std::vector<FleetGpu>& fleet, const nlohmann::json& node,
                    const mig::GpuModel& model, const std::string& label, int slices) {
  const auto& meta = node["metadata"];
  std::string name = meta.value("name", "?");
  const auto& labels = meta["labels"];
  const mig::Profile* profile = model.mig ? SingleProfile(model, label) : nullptr;
  if (label == "INVALID")
    return Status::InvalidArgument(
        fmt::format(
            "--nodes: node {} runs the single MIG strategy, and GPU Feature Discovery labels it "
            "-MIG-INVALID: its GPUs do not all hold one profile, so its device plugin offers "
            "nothing",
            name),
        "Give every GPU of the node one profile (or all MIG off), or run the node's device plugin "
        "with the "
        "mixed strategy, then list the nodes again.");
  if (!profile)
    return Status::NotFound(
        fmt::format("--nodes: node {} runs the single MIG strategy with profile '{}', which {} "
                    "does not have in carve's catalogue",
                    name, label, model.alias),
        fmt::format("Its profiles: {} (carve profiles -m {}).", ProfileNames(model), model.alias));
  // Time-slicing advertises each slice `replicas` times, as nvidia.com/gpu or (renamed)
  // nvidia.com/gpu.shared.
  auto allocatable =
      node.value("status", nlohmann::json::object()).value("allocatable", nlohmann::json::object());
  for (const char* key : {"nvidia.com/gpu", "nvidia.com/gpu.shared"}) {
    if (!allocatable.contains(key) || !allocatable[key].is_string()) continue;
    std::string text = allocatable[key].get<std::string>();
    char* end = nullptr;
    long n = std::strtol(text.c_str(), &end, 10);
    long shares = std::max(
        1L, std::strtol(labels.value("nvidia.com/gpu.replicas", "1").c_str(), nullptr, 10));
    if (*end != '\0' || n < 0 || n > spec::kMaxGpuCount)
      return Status::InvalidArgument(
          fmt::format("--nodes: node {} has allocatable {} '{}', not a count", name, key, text),
          "Check the node (kubectl describe node NAME).");
    slices = int(n / shares);
    break;
  }
  int per = FilledCount(model, *profile);
  std::string product = labels["nvidia.com/gpu.product"].get<std::string>();
  if (product.size() > 7 && product.ends_with("-SHARED")) product.resize(product.size() - 7);
  size_t first = fleet.size();
  Append(fleet, &model, (slices + per - 1) / per, 0, name, PoolOf(labels, model, *profile));
  for (size_t i = first; i < fleet.size(); ++i) {
    fleet[i].pool_selector = "nvidia.com/gpu.product=" + product;
    fleet[i].mig_config = labels.value("nvidia.com/mig.config", "");
    Fix(fleet[i], profile, std::min(per, slices - per * int(i - first)));
  }
  return Status::Ok();
}

Result<std::vector<FleetGpu>> ParseNodes(std::string_view text, const mig::Catalog& catalog) {
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("items") || !doc["items"].is_array())
    return Status::InvalidArgument(
        "--nodes: not the output of `kubectl get nodes -o json` (no items list)");
  std::vector<FleetGpu> fleet;
  for (const auto& node : doc["items"]) {
    const auto& meta = node.value("metadata", nlohmann::json::object());
    std::string name = meta.value("name", "?");
    const auto& labels = meta.value("labels", nlohmann::json::object());
    if (!labels.contains("nvidia.com/gpu.product")) continue;
    std::string product = labels["nvidia.com/gpu.product"].get<std::string>();
    if (product.ends_with("-SHARED"))
      product.resize(product.size() - 7);  // time-slicing's mark (single)
    size_t mig_at = product.find("-MIG-");
    const mig::GpuModel* model = FindProduct(catalog, product.substr(0, mig_at));
    if (!model)
      return Status::NotFound(
          fmt::format("--nodes: node {} has GPU product '{}', which carve's catalogue lacks", name,
                      product),
          fmt::format("Known models: {}.", catalog.AliasList()));
    std::string label = labels.value("nvidia.com/gpu.count", "0");
    char* end = nullptr;
    long n = std::strtol(label.c_str(), &end, 10);
    if (*end != '\0' || n < 0 || n > spec::kMaxGpuCount)
      return Status::InvalidArgument(
          fmt::format("--nodes: node {} has nvidia.com/gpu.count '{}', not a count from 0 to {}",
                      name, label, spec::kMaxGpuCount),
          "Check the node's labels (kubectl get node NAME --show-labels).");
    int count = int(n);
    if (mig_at != std::string::npos) {
      CARVE_RETURN_IF_ERROR(AppendSingle(fleet, node, *model, product.substr(mig_at + 5), count));
      continue;
    }
    if (labels.value("nvidia.com/mig.capable", "") != "true") model = WholeGpuModel(model);
    Append(fleet, model, count, 0, name);
    for (int i = int(fleet.size()) - count; i < int(fleet.size()); ++i)
      fleet[i].mig_config = labels.value("nvidia.com/mig.config", "");
  }
  if (fleet.empty())
    return Status::NotFound(
        "--nodes: no node carries the GPU Feature Discovery labels nvidia.com/gpu.product and "
        "nvidia.com/gpu.count",
        "Install the GPU Operator (or GFD) on the GPU nodes, or give the fleet with --fleet.");
  return fleet;
}

}  // namespace

const mig::GpuModel* WholeGpuModel(const mig::GpuModel* model) {
  if (!model->mig) return model;
  static std::mutex mu;
  static std::map<const mig::GpuModel*, std::unique_ptr<mig::GpuModel>> whole;
  std::lock_guard<std::mutex> lock(mu);
  auto& w = whole[model];
  if (!w) {
    w = std::make_unique<mig::GpuModel>(*model);
    w->mig = false;
    w->profiles.clear();
    w->compute_profiles.clear();
  }
  return w.get();
}

namespace {

// The listed nodes that carry GPU Feature Discovery's product label, with their labels.
std::vector<std::pair<nlohmann::json, nlohmann::json>> GpuNodes(std::string_view text) {
  std::vector<std::pair<nlohmann::json, nlohmann::json>> out;
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("items") || !doc["items"].is_array())
    return out;
  for (const auto& node : doc["items"]) {
    if (!node.is_object() || !node.contains("metadata") || !node["metadata"].is_object()) continue;
    auto labels = node["metadata"].value("labels", nlohmann::json::object());
    if (labels.is_object() && labels.contains("nvidia.com/gpu.product"))
      out.push_back({node, labels});
  }
  return out;
}

}  // namespace

bool NodesRunGpuOperator(std::string_view text) {
  for (const auto& [node, labels] : GpuNodes(text))
    for (const auto& [key, value] : labels.items())
      if (key.starts_with("nvidia.com/gpu.deploy.") || key == "nvidia.com/mig.config") return true;
  return false;
}

std::string NodesCloud(std::string_view text) {
  for (const auto& [node, labels] : GpuNodes(text)) {
    auto spec = node.value("spec", nlohmann::json::object());
    std::string id =
        spec.is_object() && spec.contains("providerID") && spec["providerID"].is_string()
            ? spec["providerID"].get<std::string>()
            : "";
    if (id.starts_with("aws://")) return "aws";
    if (id.starts_with("exoscale://")) return "exoscale";
  }
  return "";
}

Result<std::vector<FleetGpu>> FleetFromNodes(std::string_view text, const mig::Catalog& catalog) {
  try {
    return ParseNodes(text, catalog);
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(
        fmt::format("--nodes: unexpected value in the node list ({})", e.what()));
  }
}

}  // namespace carve::plan
