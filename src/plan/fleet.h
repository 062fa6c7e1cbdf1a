// Where the fleet comes from: the spec's `fleet:` list, the --fleet flag
// ("h100-80gb:8,rtx-5090:1"), the GPUs of the machine behind the backend
// (with their current layouts), or a Kubernetes node list
// (`kubectl get nodes -o json`, GPU Feature Discovery labels). Pure: callers
// read files and machines and pass what they got.
#pragma once

#include <string_view>
#include <vector>

#include "device/machine.h"
#include "mig/catalog.h"
#include "plan/plan.h"
#include "spec/spec.h"
#include "util/status.h"

namespace carve::plan {

// The node label a spec's pool is selected by: carve.dev/pool=NAME.
inline constexpr const char* kPoolLabel = "carve.dev/pool";

// Entries with `pool:` and `fixed_profile:` give GPUs fixed at that profile,
// filled (every slice of it the GPU holds), as managed pools carve them.
Result<std::vector<FleetGpu>> FleetFromSpec(const std::vector<spec::FleetEntry>& entries,
                                            const mig::Catalog& catalog);
// "ALIAS[:COUNT[:COST_PER_MONTH]],…"
Result<std::vector<FleetGpu>> FleetFromFlag(std::string_view text, const mig::Catalog& catalog);
// The machine's GPUs; MIG-enabled ones bring their current slices.
Result<std::vector<FleetGpu>> FleetFromMachine(const std::vector<device::Gpu>& gpus);
// Nodes with nvidia.com/gpu.product and nvidia.com/gpu.count labels; others are skipped.
// A node whose nvidia.com/mig.capable is not "true" gets its model's whole-GPU
// variant (WholeGpuModel), so it is planned with MIG off; each GPU keeps the
// node's current nvidia.com/mig.config.
Result<std::vector<FleetGpu>> FleetFromNodes(std::string_view kubectl_json,
                                             const mig::Catalog& catalog);

// Whether NVIDIA's GPU Operator runs on the listed nodes: a GPU node carries
// its labels (nvidia.com/gpu.deploy.*, or the MIG manager's nvidia.com/mig.config).
bool NodesRunGpuOperator(std::string_view kubectl_json);
// The cloud the listed GPU nodes run in, from their spec.providerID
// ("aws://…" → "aws", "exoscale://…" → "exoscale"); "" when they do not say.
std::string NodesCloud(std::string_view kubectl_json);

// `model` with MIG off (no profiles): how a GPU is planned on a node the GPU
// Operator does not partition. The same pointer for the same model; lives as
// long as the process.
const mig::GpuModel* WholeGpuModel(const mig::GpuModel* model);

// How many `profile` slices an empty `model` holds.
int FilledCount(const mig::GpuModel& model, const mig::Profile& profile);
// Makes `g` a fixed GPU: `count` slices of `profile`, placed, as `current`.
void Fix(FleetGpu& g, const mig::Profile* profile, int count);

}  // namespace carve::plan
