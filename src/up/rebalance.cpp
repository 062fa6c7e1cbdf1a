#include "up/rebalance.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "up/moves.h"
#include "up/reconcile.h"

namespace carve::up {
namespace {

const apply::GpuLayout* LayoutAt(const apply::Layouts& layouts, int gpu) {
  for (const auto& l : layouts)
    if (l.gpu == gpu) return &l;
  return nullptr;
}

// Whether `g` holds slices, or runs one of `running` (a whole GPU has no slice).
bool InUseNow(const device::Gpu& g, const std::vector<RunningReplica>& running) {
  if (g.mig.current && !g.gpu_instances.empty()) return true;
  return std::any_of(running.begin(), running.end(),
                     [&](const auto& r) { return r.slot.gpu == g.index; });
}

// Whether `g` holds slices or runs a replica once `layouts` hold.
bool InUseAfter(const device::Gpu& g, const apply::Layouts& layouts,
                const std::vector<WantedReplica>& wanted) {
  if (const apply::GpuLayout* l = LayoutAt(layouts, g.index)) return !l->mig || !l->slices.empty();
  return (g.mig.current && !g.gpu_instances.empty()) ||
         std::any_of(wanted.begin(), wanted.end(),
                     [&](const auto& w) { return w.slot.gpu == g.index; });
}

int UnitsOf(const device::Gpu& g) { return g.model ? g.model->placement_units : 1; }

std::vector<std::string> ModelsOn(int gpu, const std::string& profile, int start,
                                  const std::vector<std::pair<std::string, Slot>>& on) {
  std::vector<std::string> out;
  for (const auto& [model, slot] : on)
    if (slot.gpu == gpu && slot.profile == profile && (profile == "whole" || slot.start == start))
      out.push_back(model);
  return out;
}

// One GPU's picture from its slices (profile, start, size) and what runs where.
GpuPicture Picture(const device::Gpu& g, bool mig,
                   const std::vector<std::tuple<std::string, int, int>>& slices,
                   const std::vector<std::pair<std::string, Slot>>& on) {
  GpuPicture pic{g.index, UnitsOf(g), {}};
  if (!mig) {
    auto models = ModelsOn(g.index, "whole", 0, on);
    if (!models.empty()) pic.slices.push_back({"whole", 0, pic.units, models});
    return pic;
  }
  for (const auto& [profile, start, size] : slices)
    pic.slices.push_back({profile, start, size, ModelsOn(g.index, profile, start, on)});
  return pic;
}

std::vector<GpuPicture> Before(const std::vector<device::Gpu>& gpus,
                               const std::vector<RunningReplica>& running) {
  std::vector<std::pair<std::string, Slot>> on;
  for (const auto& r : running) on.emplace_back(r.model, r.slot);
  std::vector<GpuPicture> out;
  for (const auto& g : gpus) {
    std::vector<std::tuple<std::string, int, int>> slices;
    for (const auto& gi : g.gpu_instances)
      slices.emplace_back(gi.profile, gi.placement.start, gi.placement.size);
    out.push_back(Picture(g, g.mig.current, slices, on));
  }
  return out;
}

std::vector<GpuPicture> After(const std::vector<device::Gpu>& gpus, const apply::Layouts& layouts,
                              const std::vector<WantedReplica>& wanted) {
  std::vector<std::pair<std::string, Slot>> on;
  for (const auto& w : wanted) on.emplace_back(w.model, w.slot);
  std::vector<GpuPicture> out;
  for (const auto& g : gpus) {
    const apply::GpuLayout* l = LayoutAt(layouts, g.index);
    std::vector<std::tuple<std::string, int, int>> slices;
    if (!l) {
      for (const auto& gi : g.gpu_instances)
        slices.emplace_back(gi.profile, gi.placement.start, gi.placement.size);
      out.push_back(Picture(g, g.mig.current, slices, on));
      continue;
    }
    for (const auto& s : l->slices)
      slices.emplace_back(s.profile->name, s.start.value_or(0), s.profile->size());
    out.push_back(Picture(g, l->mig, slices, on));
  }
  return out;
}

// The settings each model's wanted replicas have: a running replica is taken
// to have them (the spec it was started from is the one re-planned).
std::map<std::string, std::string> SettingsByModel(const std::vector<WantedReplica>& wanted) {
  std::map<std::string, std::string> out;
  for (const auto& w : wanted) out[w.model] = w.settings;
  return out;
}

void KeepEnginesPut(plan::Plan& p, const spec::Spec& spec,
                    const std::vector<RunningReplica>& running) {
  std::vector<Running> r;
  std::set<std::string> stable;
  for (const auto& m : spec.models) stable.insert(m.name);
  for (const auto& x : running) r.push_back({x.model, x.slot});
  StayPut(p, r, stable);
}

int ReadyTimeoutOf(const WantedReplica& w) {
  return w.spec.probe ? w.spec.probe->ready_timeout_ms
                      : serve::DefaultProbe(w.spec.engine).ready_timeout_ms;
}

// The moves, starts and stops that take `running` to `wanted` on `layouts`.
void Diff(const std::vector<WantedReplica>& wanted, const std::vector<RunningReplica>& running,
          const apply::Layouts& layouts, const std::vector<device::Gpu>& gpus, Candidate& c) {
  auto settings = SettingsByModel(wanted);
  std::vector<Want> wants;
  for (const auto& w : wanted) wants.push_back({w.model, w.settings, w.slot.ref()});
  std::vector<Have> haves;
  std::map<std::string, const RunningReplica*> by_id;
  for (const auto& r : running) {
    haves.push_back({r.id, r.model, settings[r.model], r.slot.ref()});
    by_id[r.id] = &r;
  }
  std::vector<Leaving> leaving;
  std::vector<Slot> arriving;
  for (const Action& a : Reconcile(wants, haves)) {
    if (a.kind == ActionKind::kMove || a.kind == ActionKind::kStop)
      leaving.push_back({a.id, by_id.at(a.id)->slot});
    if (a.kind == ActionKind::kMove || a.kind == ActionKind::kStart)
      arriving.push_back(wanted[a.want].slot);
    if (a.kind == ActionKind::kMove)
      c.moves.push_back({a.id, wanted[a.want].model, by_id.at(a.id)->slot, wanted[a.want].slot,
                         false, "", ReadyTimeoutOf(wanted[a.want])});
    if (a.kind == ActionKind::kStart) c.starts.push_back(wanted[a.want].model);
    if (a.kind == ActionKind::kStop) c.stops.push_back(a.id);
  }
  Interim interim = InterimLayouts(layouts, gpus, leaving, arriving);
  for (auto& m : c.moves)
    if (auto it = interim.stop_first.find(m.id); it != interim.stop_first.end())
      m.stop_first = true, m.why = it->second;
  // As the service does: a model left with no ready replica serves from a
  // temporary home where one fits (the preview does not know the service's
  // spares and quarantined slices; the service avoids them).
  std::map<std::string, std::string> model_of;
  std::set<std::string> moving, busy;
  for (const auto& r : running) model_of[r.id] = r.model, busy.insert(r.slot.where());
  for (const auto& s : arriving) busy.insert(s.where());
  std::map<std::string, Slot> homes_for;
  for (const auto& m : c.moves) moving.insert(m.id), homes_for.try_emplace(m.model, m.to);
  const std::set<std::string> dark = DarkModels(interim, model_of, moving);
  std::erase_if(homes_for, [&](const auto& w) { return !dark.count(w.first); });
  for (const auto& home : AddTemporaryHomes(interim, gpus, homes_for, busy))
    for (auto& m : c.moves)
      if (m.model == home.model && m.stop_first) m.temporary = home.slot.where();
}

// Models with fewer replicas running than `wanted` has.
std::vector<std::string> ModelsMet(const std::vector<WantedReplica>& wanted,
                                   const std::vector<RunningReplica>& running) {
  std::map<std::string, int> want, have;
  for (const auto& w : wanted) ++want[w.model];
  for (const auto& r : running) ++have[r.model];
  std::vector<std::string> out;
  for (const auto& [model, n] : want)
    if (have[model] < n) out.push_back(model);
  return out;
}

std::string GpuList(const std::vector<int>& gpus) {
  std::string out = gpus.size() == 1 ? "GPU " : "GPUs ";
  for (size_t i = 0; i < gpus.size(); ++i) out += (i ? ", " : "") + std::to_string(gpus[i]);
  return out;
}

std::string MovesText(const Candidate& c) {
  if (c.moves.empty()) return "no engine moves";
  int first = int(
      std::count_if(c.moves.begin(), c.moves.end(), [](const auto& m) { return m.stop_first; }));
  int mbb = int(c.moves.size()) - first;
  std::string kinds;
  if (mbb) kinds = fmt::format("{} make-before-break", mbb);
  if (first) kinds += fmt::format("{}{} stop-first", kinds.empty() ? "" : ", ", first);
  return fmt::format("{} move{}, {}", c.moves.size(), c.moves.size() == 1 ? "" : "s", kinds);
}

// What the candidate gains, as a phrase; "" when nothing.
std::string GainText(const Candidate& c) {
  std::vector<std::string> parts;
  if (!c.gpus_freed.empty()) parts.push_back("frees " + GpuList(c.gpus_freed));
  if (!c.gpus_taken.empty()) parts.push_back("takes " + GpuList(c.gpus_taken));
  for (const auto& m : c.models_met) parts.push_back("serves " + m + " (waiting now)");
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
  return out;
}

bool Gains(const Candidate& c) {
  return c.gpus_freed.size() > c.gpus_taken.size() || !c.models_met.empty();
}

using Json = nlohmann::ordered_json;

Json PicturesJson(const std::vector<GpuPicture>& pics) {
  Json out = Json::array();
  for (const auto& p : pics) {
    Json slices = Json::array();
    for (const auto& s : p.slices)
      slices.push_back(
          {{"profile", s.profile}, {"start", s.start}, {"size", s.size}, {"models", s.models}});
    out.push_back({{"gpu", p.gpu}, {"units", p.units}, {"slices", slices}});
  }
  return out;
}

Json MoveJson(const RebalanceMove& m) {
  return {{"replica", m.id},
          {"model", m.model},
          {"from", m.from.where()},
          {"to", m.to.where()},
          {"kind", m.stop_first ? "stop-first" : "make-before-break"},
          {"why", m.why},
          {"temporary_home", m.temporary.empty() ? Json(nullptr) : Json(m.temporary)},
          // The longest the model waits: none while its old engine or a
          // temporary home serves.
          {"unavailable_max_s",
           m.stop_first && m.temporary.empty() ? m.ready_timeout_ms / 1000.0 : 0.0}};
}

Json SummaryJson(const Candidate& c) {
  return {{"replan", ReplanName(c.replan)}, {"score", c.score},
          {"moves", c.moves.size()},        {"gpus_freed", c.gpus_freed},
          {"gpus_taken", c.gpus_taken},     {"models_met", c.models_met}};
}

}  // namespace

Json RebalanceJson(const RebalanceDecision& d) {
  const Candidate& c = d.chosen;
  Json moves = Json::array();
  for (const auto& m : c.moves) moves.push_back(MoveJson(m));
  Json considered = Json::array();
  for (const auto& k : d.considered) considered.push_back(SummaryJson(k));
  return {{"change", d.change},
          {"why", d.why},
          {"replan", ReplanName(c.replan)},
          {"score", c.score},
          {"moves", moves},
          {"starts", c.starts},
          {"stops", c.stops},
          {"gpus_freed", c.gpus_freed},
          {"gpus_taken", c.gpus_taken},
          {"models_met", c.models_met},
          {"before", PicturesJson(d.before)},
          {"after", PicturesJson(c.after)},
          {"considered", considered}};
}

const char* ReplanName(Replan r) {
  switch (r) {
    case Replan::kKept:
      return "kept";
    case Replan::kFresh:
      return "fresh";
    default:
      return "";
  }
}

Replan ParseReplan(const std::string& name) {
  if (name == "kept") return Replan::kKept;
  if (name == "fresh") return Replan::kFresh;
  return Replan::kNone;
}

int Candidate::Cost(const RebalanceWeights& w) const {
  int cost = 0;
  for (const auto& m : moves)
    cost += !m.stop_first         ? w.make_before_break
            : m.temporary.empty() ? w.stop_first
                                  : w.temporary_home;
  return cost;
}

apply::Layouts FreeUnusedGpus(const plan::Plan& p, const std::vector<device::Gpu>& gpus,
                              const std::set<uint32_t>& ours, apply::Layouts layouts) {
  for (const auto& g : gpus) {
    if (LayoutAt(layouts, g.index) || !g.model || !g.mig.current || g.gpu_instances.empty())
      continue;
    bool planned = std::any_of(p.gpus.begin(), p.gpus.end(), [&](const auto& pg) {
      return pg.used() && pg.gpu.local_index == g.index;
    });
    bool foreign = std::any_of(g.processes.begin(), g.processes.end(),
                               [&](const auto& pr) { return !ours.count(pr.pid); });
    if (planned || foreign) continue;
    layouts.push_back({g.index, g.model, true, {}, "carve rebalance: frees the GPU"});
  }
  std::sort(layouts.begin(), layouts.end(),
            [](const auto& a, const auto& b) { return a.gpu < b.gpu; });
  return layouts;
}

Result<Candidate> Evaluate(Replan replan, plan::Plan p, const spec::Spec& spec,
                           const std::vector<device::Gpu>& gpus,
                           const std::vector<RunningReplica>& running, const RebalanceWeights& w) {
  if (!p.unmet.empty())
    return Status::InvalidArgument(
        fmt::format("the {} plan leaves {} unserved", ReplanName(replan), p.unmet.front().model));
  if (!running.empty()) KeepEnginesPut(p, spec, running);
  CARVE_ASSIGN_OR_RETURN(auto wanted, WantedFromPlan(p, spec, 0));
  CARVE_ASSIGN_OR_RETURN(apply::Layouts layouts, LayoutsFromPlan(p, gpus));
  std::set<uint32_t> ours;
  for (const auto& r : running)
    if (r.pid > 0) ours.insert(static_cast<uint32_t>(r.pid));
  layouts = FreeUnusedGpus(p, gpus, ours, std::move(layouts));
  Candidate c;
  c.replan = replan;
  Diff(wanted, running, layouts, gpus, c);
  for (const auto& g : gpus) {
    bool now = InUseNow(g, running), after = InUseAfter(g, layouts, wanted);
    if (now && !after) c.gpus_freed.push_back(g.index);
    if (!now && after) c.gpus_taken.push_back(g.index);
  }
  c.models_met = ModelsMet(wanted, running);
  c.score = w.gpu_freed * (int(c.gpus_freed.size()) - int(c.gpus_taken.size())) +
            w.model_met * int(c.models_met.size()) - c.Cost(w);
  c.after = After(gpus, layouts, wanted);
  return c;
}

RebalanceDecision Decide(std::vector<Candidate> candidates, const std::vector<device::Gpu>& gpus,
                         const std::vector<RunningReplica>& running, const RebalanceWeights& w) {
  RebalanceDecision d;
  d.before = Before(gpus, running);
  d.considered = std::move(candidates);
  if (d.considered.empty()) {
    d.why = "nothing to rebalance: no plan of the spec serves every model";
    return d;
  }
  // Of the candidates that gain something (else of all): the best score; of
  // equal scores, fewer moves; then the order given (kept first).
  bool any_gains = std::any_of(d.considered.begin(), d.considered.end(), Gains);
  auto better = [&](const Candidate& a, const Candidate& b) {
    if (any_gains && Gains(a) != Gains(b)) return Gains(a);
    return a.score != b.score ? a.score > b.score : a.moves.size() < b.moves.size();
  };
  d.chosen = *std::min_element(d.considered.begin(), d.considered.end(), better);
  d.change = Gains(d.chosen) && d.chosen.score > 0;
  if (d.change) {
    d.why = fmt::format("{}; {}", GainText(d.chosen), MovesText(d.chosen));
  } else if (!Gains(d.chosen)) {
    d.why = "nothing to rebalance: no plan frees a GPU or serves a waiting model";
  } else {
    d.why = fmt::format(
        "nothing to rebalance: {} is not worth {} (score {}: a GPU is worth {} "
        "moves, a stop-first move costs {})",
        GainText(d.chosen), MovesText(d.chosen), d.chosen.score, w.gpu_freed, w.stop_first);
  }
  return d;
}

}  // namespace carve::up
