// What a loaded simulator state must satisfy before anything reads it: the
// same rules the simulator enforces when it changes the state, so a file
// edited by hand (or by a fuzzer) can never reach code that trusts them.
#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <map>
#include <set>

#include "device/sim/sim_state.h"
#include "device/xid.h"
#include "mig/catalog.h"
#include "mig/layout.h"

namespace carve::device::sim {
namespace {

constexpr int kMaxId = 1 << 16;              // far beyond any driver's instance ids
constexpr int kMaxDelayMs = 10 * 60 * 1000;  // a fault delay of ten minutes at most

bool Overlap(mig::Placement a, mig::Placement b) {
  return a.start < b.start + b.size && b.start < a.start + a.size;
}

Status CheckComputeInstances(const mig::GpuModel& m, const mig::Profile& p,
                             const SimGpuInstance& gi, const std::string& where) {
  std::set<int> ids;
  std::vector<mig::Placement> used;
  std::map<int, int> per_profile;
  for (const auto& ci : gi.cis) {
    std::string at = fmt::format("{}, compute instance {}", where, ci.id);
    if (ci.id < 0 || ci.id >= kMaxId || !ids.insert(ci.id).second)
      return Status::InvalidArgument(at + ": the id is negative, too large or used twice");
    const mig::ComputeProfile* cp = nullptr;
    for (const auto& c : m.ComputeProfilesFor(p))
      if (c.id == ci.profile_id) cp = &c;
    if (!cp)
      return Status::InvalidArgument(fmt::format("{}: compute profile id {} does not exist in a {}",
                                                 at, ci.profile_id, p.name));
    mig::Placement here{ci.start, cp->placements.empty() ? 0 : cp->placements.front().size};
    bool legal = false;
    for (const auto& pl : cp->placements) legal = legal || pl.start == ci.start;
    if (!legal)
      return Status::InvalidArgument(
          fmt::format("{}: start {} is not a legal placement of {}", at, ci.start, cp->NameIn(p)));
    for (const auto& u : used)
      if (Overlap(u, here))
        return Status::InvalidArgument(at + ": overlaps another compute instance");
    used.push_back(here);
    if (++per_profile[cp->id] > cp->max_instances)
      return Status::InvalidArgument(
          fmt::format("{}: more than {} of {}", at, cp->max_instances, cp->NameIn(p)));
  }
  return Status::Ok();
}

Status CheckGpuInstances(const mig::GpuModel& m, const SimGpu& g, const std::string& where) {
  if (!g.gis.empty() && !(m.mig && g.mig.current))
    return Status::InvalidArgument(where + ": GPU instances exist while MIG is off");
  std::set<int> ids;
  std::vector<mig::Slice> layout;
  for (const auto& gi : g.gis) {
    std::string at = fmt::format("{}, GPU instance {}", where, gi.id);
    if (gi.id < 0 || gi.id >= kMaxId || !ids.insert(gi.id).second)
      return Status::InvalidArgument(at + ": the id is negative, too large or used twice");
    const mig::Profile* p = m.FindProfileById(gi.profile_id);
    if (!p)
      return Status::InvalidArgument(
          fmt::format("{}: profile id {} does not exist on {}", at, gi.profile_id, m.alias));
    if (!p->LegalStart(gi.start))
      return Status::InvalidArgument(
          fmt::format("{}: start {} is not a legal placement of {}", at, gi.start, p->name));
    if (gi.xid != 0 && !XidWords(gi.xid))
      return Status::InvalidArgument(
          fmt::format("{}: xid {} is not one carve knows ({})", at, gi.xid, KnownXidList()));
    if (gi.xid == 0 && !gi.fault_files.empty())
      return Status::InvalidArgument(at + ": fault files on a healthy instance");
    // Healing unlinks them: a hand-edited file must not name anything else.
    for (const auto& f : gi.fault_files)
      if (f != "fault" && !f.ends_with("/fault"))
        return Status::InvalidArgument(
            fmt::format("{}: '{}' is not a fault file (…/fault)", at, f));
    layout.push_back({p, gi.start, gi.id});
    CARVE_RETURN_IF_ERROR(CheckComputeInstances(m, *p, gi, at));
  }
  if (layout.empty()) return Status::Ok();
  Status st = mig::CheckLayout(m, layout);
  if (!st.ok()) return Status::InvalidArgument(where + ": " + st.message());
  return Status::Ok();
}

Status CheckProcesses(const mig::GpuModel& m, const SimGpu& g, const std::string& where) {
  for (const auto& p : g.processes) {
    // Tracked pids go to kill(2): 0 would signal the process group, and one
    // past INT_MAX becomes -1, every process the user may signal.
    if (p.pid == 0 || p.pid > static_cast<uint32_t>(INT_MAX))
      return Status::InvalidArgument(
          fmt::format("{}: process id {} is out of range (1 to {})", where, p.pid, INT_MAX));
    if (p.memory_mib > m.memory_mib)
      return Status::InvalidArgument(fmt::format(
          "{}: process {} uses {} MiB, more than the GPU has", where, p.pid, p.memory_mib));
    if (p.gi < 0) continue;
    bool found = false;
    for (const auto& gi : g.gis)
      for (const auto& ci : gi.cis) found = found || (gi.id == p.gi && ci.id == p.ci);
    if (!found)
      return Status::InvalidArgument(fmt::format(
          "{}: process {} runs on GPU instance {} / compute instance {}, which do not exist", where,
          p.pid, p.gi, p.ci));
  }
  return Status::Ok();
}

// The product is one of the model's; only a display-mode product can be in
// display mode, and there MIG is off (the driver reports it not supported).
Status CheckProduct(const mig::GpuModel& m, const SimGpu& g, const std::string& where) {
  auto p = std::find_if(m.products.begin(), m.products.end(),
                        [&](const mig::Product& x) { return x.pci_device_id == g.pci_device_id; });
  if (p == m.products.end())
    return Status::InvalidArgument(
        fmt::format("{}: PCI device id 0x{:08X} is not a {}", where, g.pci_device_id, m.alias));
  if (g.display_mode && !p->display_mode)
    return Status::InvalidArgument(fmt::format("{}: a {} has no display mode", where, p->name));
  if (g.display_mode && (g.mig.current || g.mig.pending))
    return Status::InvalidArgument(where + ": MIG is on in display mode");
  return Status::Ok();
}

}  // namespace

Status CheckState(const SimState& s) {
  if (s.boots < 1) return Status::InvalidArgument("boots must be at least 1");
  if (s.faults.fail_after < 0 || s.faults.delay_ms < 0 || s.faults.delay_ms > kMaxDelayMs)
    return Status::InvalidArgument(
        fmt::format("faults: fail_after must be ≥ 0 and delay_ms between 0 and {}", kMaxDelayMs));
  if (s.driver_version.empty() ||
      s.driver_version.find_first_not_of("0123456789.") != std::string::npos)
    return Status::InvalidArgument(
        fmt::format("driver version '{}' is not like 580.95.05", s.driver_version));
  std::set<std::string> uuids;
  for (size_t i = 0; i < s.gpus.size(); ++i) {
    const SimGpu& g = s.gpus[i];
    std::string where = fmt::format("GPU {}", i);
    const mig::GpuModel* m = mig::Catalog::Builtin().Find(g.model);
    if (!m)
      return Status::InvalidArgument(
          fmt::format("{}: '{}' is not a GPU model carve knows (carve catalog)", where, g.model));
    if (g.uuid.empty() || !uuids.insert(g.uuid).second)
      return Status::InvalidArgument(where + ": its UUID is empty or another GPU's");
    if (!m->mig && (g.mig.current || g.mig.pending))
      return Status::InvalidArgument(where + ": MIG is on, but a " + m->alias + " has no MIG");
    if (g.resets < 0) return Status::InvalidArgument(where + ": resets is negative");
    CARVE_RETURN_IF_ERROR(CheckProduct(*m, g, where));
    CARVE_RETURN_IF_ERROR(CheckGpuInstances(*m, g, where));
    CARVE_RETURN_IF_ERROR(CheckProcesses(*m, g, where));
  }
  return Status::Ok();
}

}  // namespace carve::device::sim
