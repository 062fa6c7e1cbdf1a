// The service's failover (failover.h, docs/live.md "Failover"): watching for
// failed slices, quarantining them and moving their replicas.
#include <fmt/format.h>

#include <algorithm>

#include "up/service_impl.h"
#include "util/utc.h"

namespace carve::up {

namespace {

bool SameSlice(const device::SliceRef& a, const device::SliceRef& b) {
  return a.gpu == b.gpu && a.profile == b.profile && a.start == b.start;
}

const device::GpuInstance* InstanceAt(const std::vector<device::Gpu>& gpus,
                                      const device::SliceRef& r) {
  for (const auto& g : gpus)
    if (g.index == r.gpu)
      for (const auto& gi : g.gpu_instances)
        if (gi.profile == r.profile && gi.placement.start == r.start) return &gi;
  return nullptr;
}

}  // namespace

Status Service::Impl::PlaceAroundFaults(plan::Plan& p, const spec::Spec& next) {
  std::vector<device::SliceRef> bad;
  for (const auto& q : quarantined) bad.push_back(q.slice);
  for (const auto& line : AvoidQuarantined(p, bad, spares)) Note(line);
  if (!next.spare || next.spare->count == 0) {
    spares.clear();
    return Status::Ok();
  }
  const std::string& profile = next.spare->profile;
  if (std::none_of(p.gpus.begin(), p.gpus.end(), [&](const plan::PlannedGpu& g) {
        return g.gpu.model && g.gpu.model->FindProfile(profile);
      }))
    return Status::InvalidArgument(fmt::format("{}: spare: {} is not a MIG profile of any GPU here",
                                               next.spare->where.str(), profile),
                                   "carve profiles lists each GPU's profiles.");
  std::string short_note;
  spares = ReserveSpares(p, profile, next.spare->count, spares, short_note, !hold_spares);
  if (!short_note.empty()) Note(short_note);
  return Status::Ok();
}

std::vector<Quarantine> Service::Impl::NewFaults() {
  std::vector<Quarantine> out;
  auto known = [&](const device::SliceRef& r) {
    auto same = [&](const Quarantine& q) { return SameSlice(q.slice, r); };
    return std::any_of(quarantined.begin(), quarantined.end(), same) ||
           std::any_of(out.begin(), out.end(), same);
  };
  for (const auto& g : gpus_seen)
    for (const auto& gi : g.gpu_instances)
      if (device::SliceRef r{g.index, gi.profile, gi.placement.start};
          !gi.fault.empty() && !known(r))
        out.push_back({r, gi.fault, UtcNow(), true});
  for (const auto& s : sup->Snapshot()) {
    auto it = replicas.find(s.id);
    // One that never served there is a broken engine (its log says why), not a broken slice.
    if (s.state != serve::State::kCrashLooping || it == replicas.end() || !it->second.served)
      continue;
    device::SliceRef r = it->second.want.slot.ref();
    if (r.profile.empty() || known(r)) continue;
    // A crash loop on a second slice is the engine's fault, not the slice's.
    if (int& seen = crash_moved[s.model]; seen > 0) {
      if (seen == 1)
        Note(
            fmt::format("{} crash-loops on its new slice too: its engine, not the slice, is at "
                        "fault; it stays. Its log: {}",
                        s.id, s.log_path));
      seen = 2;
      continue;
    }
    crash_moved[s.model] = 1;
    out.push_back({r,
                   fmt::format("its engine crash-loops ({} restarts{})", s.restarts,
                               s.last_exit.empty() ? "" : "; last: " + s.last_exit),
                   UtcNow(), false});
  }
  return out;
}

Status Service::Impl::Failover() {
  auto now = std::chrono::steady_clock::now();
  if (now - last_fault_check < std::chrono::milliseconds(500)) return Status::Ok();
  last_fault_check = now;
  if (auto g = machine->Gpus(); g.ok()) gpus_seen = std::move(*g);
  // A device fault ends when the device heals (or the slice is gone).
  std::erase_if(quarantined, [&](const Quarantine& q) {
    const device::GpuInstance* gi = q.from_device ? InstanceAt(gpus_seen, q.slice) : nullptr;
    bool healed = q.from_device && (!gi || gi->fault.empty());
    if (healed) Note(fmt::format("{} healed: no longer quarantined", q.slice.str()));
    return healed;
  });
  std::vector<Quarantine> fresh = NewFaults();
  if (fresh.empty()) return Status::Ok();
  std::vector<std::string> off;
  for (const auto& q : fresh) {
    Note(fmt::format("quarantining {}: {}", q.slice.str(), q.why));
    quarantined.push_back(q);
    for (const auto& [id, r] : replicas)
      if (SameSlice(r.want.slot.ref(), q.slice)) off.push_back(id);
  }
  // Its engines fail anyway: out of rotation and stopped now, not after
  // their successors are ready.
  for (const auto& id : off) StopReplica(id);
  // The moved replicas first; the spares they used are made again after,
  // so that no slice creation delays the model's new engine.
  hold_spares = true;
  Status s = Converge(spec_path, /*first=*/false);
  hold_spares = false;
  if (s.ok() && spec.spare && int(spares.size()) < spec.spare->count)
    s = Converge(spec_path, /*first=*/false);
  reload_error = s.ok() ? "" : "failover: " + s.ToString();
  Tick(true);
  return s;
}

Status Service::Failover() { return impl_->Failover(); }

}  // namespace carve::up
