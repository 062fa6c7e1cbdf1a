#include "cli/machine_open.h"

#include <fmt/format.h>
#include <unistd.h>

#include "device/gpu_ref.h"
#include "device/nvml/nvml_machine.h"
#include "device/sim/sim_machine.h"

namespace carve::cli {
namespace {

Status NoBackend(const std::string& why) {
  return Status::Error(
      Code::kUnavailable, fmt::format("no GPU backend: {}", why),
      "Either run on a machine with the NVIDIA driver (libnvidia-ml.so.1), or use a simulated "
      "machine:\n  carve sim new /tmp/gpus.json h100-80gb:2 --mig on\n  carve --sim /tmp/gpus.json "
      "gpus        (or export CARVE_SIM=/tmp/gpus.json)");
}

Result<std::unique_ptr<device::Machine>> OpenSim(const Globals& g) {
  if (g.sim.empty()) return NoBackend("--backend sim needs --sim FILE or CARVE_SIM");
  CARVE_ASSIGN_OR_RETURN(auto sim, device::sim::SimMachine::Open(g.sim));
  return std::unique_ptr<device::Machine>(std::move(sim));
}

}  // namespace

Result<std::unique_ptr<device::Machine>> OpenMachine(const Globals& g) {
  if (g.backend == "sim" || (g.backend == "auto" && !g.sim.empty())) return OpenSim(g);
  auto nvml = device::nvml::NvmlMachine::Open();
  if (g.backend == "nvml") {
    if (!nvml.ok()) return nvml.status();
    return std::unique_ptr<device::Machine>(std::move(nvml).value());
  }
  // auto, no simulator named: NVML when it loads and sees a GPU.
  if (!nvml.ok()) return NoBackend(nvml.status().message() + ", and no simulator was given");
  auto count = (*nvml)->DeviceCount();
  if (!count.ok()) return NoBackend(count.status().message() + ", and no simulator was given");
  if (*count == 0) return NoBackend("NVML sees no GPU, and no simulator was given");
  return std::unique_ptr<device::Machine>(std::move(nvml).value());
}

Result<std::optional<FileLock>> LockForChanges(device::Machine& m, bool wait,
                                               const std::string& what) {
  std::string path = m.ChangeLockPath();
  if (path.empty()) return std::optional<FileLock>();
  CARVE_ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(path, wait));
  lock.Note(fmt::format("pid {}, carve {}", ::getpid(), what));
  return std::optional<FileLock>(std::move(lock));
}

Result<std::vector<device::Gpu>> SelectGpus(device::Machine& m,
                                            const std::vector<std::string>& refs) {
  CARVE_ASSIGN_OR_RETURN(std::vector<device::Gpu> all, m.Gpus());
  if (refs.empty()) return all;
  CARVE_ASSIGN_OR_RETURN(std::vector<int> indices, device::ResolveGpuRefs(all, refs));
  std::vector<device::Gpu> out;
  for (int i : indices)
    for (auto& g : all)
      if (g.index == i) out.push_back(std::move(g));
  return out;
}

Result<device::Gpu> SelectOneGpu(device::Machine& m, const std::vector<std::string>& refs) {
  if (refs.size() != 1)
    return Status::InvalidArgument("name one GPU with -i (an index, a GPU-… UUID or a PCI bus id)",
                                   "See the GPUs: carve gpus");
  CARVE_ASSIGN_OR_RETURN(std::vector<device::Gpu> gpus, SelectGpus(m, refs));
  return std::move(gpus[0]);
}

void AddGpuOption(CLI::App* cmd, std::vector<std::string>& refs, const std::string& help) {
  cmd->add_option("-i,--gpu", refs, help + ": index, GPU-UUID (or its start) or PCI bus id")
      ->delimiter(',')
      ->allow_extra_args(false)
      ->type_name("GPU");
}

}  // namespace carve::cli
