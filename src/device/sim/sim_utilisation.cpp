// SimMachine's utilisation: samples of the work the processes on a slice
// report (activity.h), and the utilisation between two of them.
#include <fmt/format.h>

#include <algorithm>

#include "device/sim/sim_machine.h"
#include "device/sim/sim_ops.h"
#include "device/utilisation.h"

namespace carve::device::sim {
namespace {

// The activity files of the processes on `gi` (every process without it),
// and the compute slices they share.
Status ActivityOf(const SimGpu& g, std::optional<int> gi, std::vector<std::string>* files,
                  int* compute_slices) {
  const mig::GpuModel* m = mig::Catalog::Builtin().Find(g.model);
  if (!m) return Status::Internal("unknown GPU model " + g.model);
  *compute_slices = std::max(1, m->compute_slices);
  if (gi) {
    auto it = std::find_if(g.gis.begin(), g.gis.end(), [&](auto& x) { return x.id == *gi; });
    if (it == g.gis.end()) return Status::NotFound(fmt::format("no GPU instance {}", *gi));
    const mig::Profile* p = m->FindProfileById(it->profile_id);
    if (p) *compute_slices = std::max(1, p->slices);
  }
  for (const auto& p : g.processes)
    if (!p.activity.empty() && (!gi || p.gi == *gi)) files->push_back(p.activity);
  return Status::Ok();
}

}  // namespace

Result<ActivitySample> SimMachine::SampleActivity(int gpu, std::optional<int> gi) {
  std::vector<std::string> files;
  ActivitySample out;
  CARVE_RETURN_IF_ERROR(Transact(Kind::kRead, [&](SimState& s) -> Status {
    CARVE_ASSIGN_OR_RETURN(SimGpu * g, FindGpu(s, gpu));
    return ActivityOf(*g, gi, &files, &out.compute_slices);
  }));
  out.t_ns = MonotonicNs();
  for (const auto& f : files) {
    ActivityCounts c = ReadActivity(f);
    out.counts.requests += c.requests;
    out.counts.prompt_tokens += c.prompt_tokens;
    out.counts.completion_tokens += c.completion_tokens;
  }
  return out;
}

Result<std::vector<SliceUtilisation>> SimMachine::ReadUtilisation(int gpu) {
  CARVE_ASSIGN_OR_RETURN(Gpu g, GetGpu(gpu));
  if (!HasGpm(g.arch)) return Unavailable(g, NoUtilisationReason(g));
  return MeasureBetweenSamples(
      g, last_samples_,
      [&](int gi) {
        std::optional<int> which;
        if (gi >= 0) which = gi;
        return SampleActivity(gpu, which);
      },
      [](const ActivitySample& a, const ActivitySample& b) -> Result<Utilisation> {
        return Between(a, b);
      });
}

}  // namespace carve::device::sim
