#include "up/advise_change.h"

#include <fmt/format.h>

#include <set>

#include "plan/spec_plan.h"
#include "up/desired.h"
#include "up/moves.h"
#include "up/reconcile.h"

namespace carve::up {
namespace {

using Json = nlohmann::ordered_json;

// A running replica of the status, with its slot.
struct Runner {
  std::string id, model;
  Slot slot;
};

std::vector<Runner> RunnersOf(const Json& status) {
  std::vector<Runner> out;
  for (const auto& r : status.value("replicas", Json::array())) {
    Slot s;
    s.gpu = r.value("gpu", 0);
    s.profile = r.value("profile", "");
    s.start = r.value("start", 0);
    out.push_back({r.value("id", ""), r.value("model", ""), s});
  }
  return out;
}

// The fewest GPUs like gpus[0], added empty, with which `next` fits (0: none
// up to 8 does).
int MoreGpus(const spec::Spec& next, std::vector<device::Gpu> gpus) {
  if (gpus.empty()) return 0;
  device::Gpu blank = gpus.front();
  blank.gpu_instances.clear();
  blank.processes.clear();
  blank.memory_used_mib = 0;
  for (int k = 1; k <= 8; ++k) {
    blank.index = static_cast<int>(gpus.size());
    blank.uuid = fmt::format("GPU-advise-{}", k);
    gpus.push_back(blank);
    auto p = plan::PlanSpecOnMachine(next, gpus);
    if (p.ok() && p->unmet.empty()) return k;
  }
  return 0;
}

std::vector<int> GpusOf(const std::vector<Runner>& runners) {
  std::set<int> s;
  for (const auto& r : runners) s.insert(r.slot.gpu);
  return {s.begin(), s.end()};
}

std::vector<int> GpusOf(const plan::Plan& p) {
  std::vector<int> out;
  for (size_t i = 0; i < p.gpus.size(); ++i)
    for (const auto& s : p.gpus[i].slices)
      if (!s.replicas.empty()) {
        out.push_back(static_cast<int>(i));
        break;
      }
  return out;
}

// The models every running replica of which stops first.
std::vector<std::string> Waiting(const std::vector<ReplicaChange>& changes) {
  std::map<std::string, bool> all_first;  // model → every running replica stops first
  for (const auto& c : changes) {
    if (c.id.empty()) continue;  // a start: nothing runs yet
    auto [it, fresh] = all_first.try_emplace(c.model, true);
    it->second = it->second && c.stop_first;
  }
  std::vector<std::string> out;
  for (const auto& [model, first] : all_first)
    if (first) out.push_back(model);
  return out;
}

}  // namespace

Result<ChangePreview> PreviewChange(const spec::Spec& next, const std::vector<device::Gpu>& gpus,
                                    const Json& status) {
  ChangePreview out;
  CARVE_ASSIGN_OR_RETURN(out.plan, plan::PlanSpecOnMachine(next, gpus));
  const std::vector<Runner> runners = RunnersOf(status);
  out.gpus_before = GpusOf(runners);
  if (!out.plan.unmet.empty()) {
    out.fits = false;
    out.more_gpus = MoreGpus(next, gpus);
    out.more_like = gpus.empty() ? 0 : gpus.front().index;
    return out;
  }
  // As a reload does: engines stay put where they can (every model's settings
  // are the spec's own: advice changes counts only).
  std::vector<Running> running;
  std::set<std::string> stable;
  for (const auto& r : runners) running.push_back({r.model, r.slot}), stable.insert(r.model);
  StayPut(out.plan, running, stable);
  out.gpus_after = GpusOf(out.plan);
  CARVE_ASSIGN_OR_RETURN(auto wanted, WantedFromPlan(out.plan, next, 0));
  std::vector<Want> wants;
  std::map<std::string, std::string> settings;
  for (const auto& w : wanted)
    wants.push_back({w.model, w.settings, w.slot.ref()}), settings[w.model] = w.settings;
  std::vector<Have> haves;
  for (const auto& r : runners) haves.push_back({r.id, r.model, settings[r.model], r.slot.ref()});
  std::map<std::string, Slot> slot_of;
  for (const auto& r : runners) slot_of[r.id] = r.slot;
  std::vector<Leaving> leaving;
  std::vector<Slot> arriving;
  const std::vector<Action> actions = Reconcile(wants, haves);
  for (const Action& a : actions) {
    if (a.kind == ActionKind::kMove || a.kind == ActionKind::kStop)
      leaving.push_back({a.id, slot_of[a.id]});
    if (a.kind == ActionKind::kMove || a.kind == ActionKind::kStart)
      arriving.push_back(wanted[a.want].slot);
  }
  CARVE_ASSIGN_OR_RETURN(apply::Layouts layouts, LayoutsFromPlan(out.plan, gpus));
  const Interim interim = InterimLayouts(layouts, gpus, leaving, arriving);
  for (const Action& a : actions) {
    ReplicaChange c{ActionName(a.kind), a.id, "", "", "", false, ""};
    if (!a.id.empty()) c.from = slot_of[a.id].where();
    if (a.want >= 0) c.to = wanted[a.want].slot.where(), c.model = wanted[a.want].model;
    for (const auto& r : runners)
      if (r.id == a.id) c.model = r.model;
    if (auto it = interim.stop_first.find(a.id); it != interim.stop_first.end())
      c.stop_first = true,
      c.why = a.kind == ActionKind::kStop
                  ? fmt::format("its slice {} is in the way of a new replica", c.from)
                  : it->second;
    out.changes.push_back(std::move(c));
  }
  out.waiting = Waiting(out.changes);
  return out;
}

}  // namespace carve::up
