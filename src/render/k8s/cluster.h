// The plan seen as a cluster: nodes, the distinct node layouts (one named
// mig-parted config each) and the workloads (one Deployment each). Every
// k8s renderer reads this; it is a pure function of the plan and the spec.
//
// Workloads are grouped by (model, node layout, profile, engine settings),
// and each is pinned to the nodes holding that layout. All nodes of one
// layout advertise the same resources, and every workload of a profile on a
// layout may use any of them, so the scheduler can always place the whole
// plan: the grouping is exact, not a hint.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "plan/plan.h"
#include "spec/spec.h"
#include "util/status.h"

namespace carve::render::k8s {

enum class Strategy { kMixed, kSingle };
// Who runs NVIDIA's components: the GPU Operator (MIG manager, device plugin,
// ClusterPolicy), or nobody carve can drive (managed pools whose device plugin
// comes preinstalled: no MIG manager, no ClusterPolicy).
enum class Operator { kGpuOperator, kNone };
// Whose node classes karpenter.yaml holds: AWS (EC2NodeClass) or Exoscale
// (ExoscaleNodeClass).
enum class Cloud { kAws, kExoscale };

struct Options {
  Strategy strategy = Strategy::kMixed;
  Operator op = Operator::kGpuOperator;
  Cloud cloud = Cloud::kAws;
  bool dra = false;          // slices by Dynamic Resource Allocation claims, not extended resources
  std::string ns = "carve";  // namespace of the workloads
  std::string mig_configmap = "carve-mig-parted-config";  // ClusterPolicy migManager.config.name
  std::string operator_ns = "gpu-operator";               // where the GPU Operator runs
  std::string carve_image = "ghcr.io/carve-project/carve:" CARVE_VERSION;  // the gateway
  std::string spec_file;                                                   // named in comments
};

// One mig-parted entry: GPUs (by index on the node) with the same layout.
struct MigEntry {
  std::vector<int> devices;  // empty = all
  bool mig_enabled = false;
  std::vector<std::pair<std::string, int>> counts;  // profile → count, in placement order
  std::vector<uint32_t> device_filter;              // PCI ids, when the node mixes products
  std::string Text() const;                         // "1g.10gb×4 + 3g.40gb×1", or "MIG off"
};

// A fixed pool's nodes (plan::FleetGpu::fixed): carved by their provider
// under the device plugin's `single` strategy, so carve writes no MIG config
// or labels for them; workloads select them by the pool's node label.
struct FixedPool {
  std::string name;      // the pool
  std::string selector;  // "key=value", the node label its nodes carry
  const mig::Profile* profile = nullptr;
  bool fixed() const { return profile != nullptr; }
  std::pair<std::string, std::string> Label() const;  // selector split at '='
};

// Time-sliced resources of a node: resource (before renaming) → shares per slice.
using TimeSlices = std::map<std::string, int>;

struct NodeLayout {
  std::string name;                      // carve-<gpu>-<hash>: also the nvidia.com/mig.config value
  const mig::GpuModel* model = nullptr;  // the node's (first) GPU model
  int gpu_count = 0;
  bool mig_capable = false;
  std::vector<MigEntry> entries;
  std::vector<std::string> nodes;  // names ("" for a fleet without node names)
  FixedPool pool;                  // the pool, when its nodes' layout is fixed
  TimeSlices time_slices;          // shared slices (part of the layout's identity)
};

struct Node {
  std::string name;     // "" for a fleet without node names
  std::string layout;   // NodeLayout::name
  std::string current;  // nvidia.com/mig.config now
  bool mig_capable = false;
  FixedPool pool;
  TimeSlices time_slices;
  std::vector<const plan::PlannedGpu*> gpus;
};

struct Workload {
  std::string name;  // Deployment name
  int model = 0;     // index into plan.models / spec.models
  std::string layout;
  const mig::Profile* profile = nullptr;  // nullptr: whole GPUs
  int gpus = 1;                           // whole GPUs per replica (tensor parallel)
  int replicas = 0;
  double memory_fraction = 0;
  std::vector<std::string> args;   // the option's args
  std::vector<std::string> nodes;  // where its layout is (empty names: any node with the label)
  FixedPool pool;                  // its layout's fixed pool, if any
  bool time_sliced = false;        // its slices are shared: it requests <resource>.shared
  // nvidia.com/mig-…, nvidia.com/gpu (always on a fixed pool); .shared when time-sliced
  std::string Resource(Strategy s) const;
  uint64_t memory_mib = 0;  // GPU memory of one replica's slice(s)
};

struct Cluster {
  std::vector<Node> nodes;          // sorted by name
  std::vector<NodeLayout> layouts;  // sorted by name
  std::vector<Workload> workloads;  // sorted by name
};

// Fails when the plan cannot be expressed: shared slices whose time-slicing
// would not keep every pod within its slice (NodeTimeSlices), a node that is
// not uniform under the single strategy (with the node and the reason), or,
// without the GPU Operator, a named node whose GPUs carve would have to
// partition (nothing there could).
Result<Cluster> BuildCluster(const plan::Plan& plan, const Options& options);

// The resource a slice is advertised as before any sharing (`single`: a fixed
// pool, or the single strategy).
std::string SliceResource(const mig::Profile* profile, bool single);
// Which resources of a node are time-sliced, and into how many shares: the
// most pods any of its slices holds. The device plugin shares every slice of
// a resource alike and hands shares out in any order, so fails unless any
// that many of the node's pods on it fit one slice (by memory fraction), or
// when whole GPUs would be shared beside a tensor-parallel group.
Result<TimeSlices> NodeTimeSlices(const std::vector<const plan::PlannedGpu*>& gpus,
                                  const plan::Plan& plan, bool single);

// The device plugin's resource name for a profile under `mixed`:
// nvidia.com/mig-<profile> with every '+' written as '.'.
std::string MigResourceName(const std::string& profile);
// A DNS-1123 label from any text: lower case, [a-z0-9-], at most 63
// characters (longer names keep a hash of the whole).
std::string DnsLabel(const std::string& text);
// Is every node's layout uniform (one profile, all GPUs MIG-enabled, or all
// whole)? The reason names the node and what differs.
Status CheckSingle(const Cluster& cluster);
// Without the GPU Operator: is every named MIG node a fixed pool's?
Status CheckNoOperator(const Cluster& cluster);

}  // namespace carve::render::k8s
