#include "up/reconcile.h"

#include <algorithm>

namespace carve::up {
namespace {

bool SameSlice(const device::SliceRef& a, const device::SliceRef& b) {
  return a.gpu == b.gpu && a.profile == b.profile && a.start == b.start;
}

}  // namespace

std::vector<Action> Reconcile(const std::vector<Want>& desired, const std::vector<Have>& actual) {
  std::vector<const Have*> running;
  for (const auto& h : actual) running.push_back(&h);
  std::sort(running.begin(), running.end(), [](auto* a, auto* b) { return a->id < b->id; });
  std::vector<bool> used(running.size(), false), placed(desired.size(), false);
  std::vector<Action> keeps, moves, starts, stops;
  auto pair = [&](auto match, ActionKind kind, std::vector<Action>& into) {
    for (size_t w = 0; w < desired.size(); ++w)
      for (size_t h = 0; h < running.size() && !placed[w]; ++h)
        if (!used[h] && match(desired[w], *running[h])) {
          used[h] = placed[w] = true;
          into.push_back({kind, running[h]->id, static_cast<int>(w)});
        }
  };
  pair(
      [](const Want& w, const Have& h) {
        return w.model == h.model && w.settings == h.settings && SameSlice(w.slice, h.slice);
      },
      ActionKind::kKeep, keeps);
  pair([](const Want& w, const Have& h) { return w.model == h.model; }, ActionKind::kMove, moves);
  for (size_t w = 0; w < desired.size(); ++w)
    if (!placed[w]) starts.push_back({ActionKind::kStart, "", static_cast<int>(w)});
  for (size_t h = 0; h < running.size(); ++h)
    if (!used[h]) stops.push_back({ActionKind::kStop, running[h]->id, -1});
  std::vector<Action> out = std::move(keeps);
  for (auto* part : {&moves, &starts, &stops}) out.insert(out.end(), part->begin(), part->end());
  return out;
}

const char* ActionName(ActionKind kind) {
  switch (kind) {
    case ActionKind::kKeep:
      return "keep";
    case ActionKind::kMove:
      return "move";
    case ActionKind::kStart:
      return "start";
    case ActionKind::kStop:
      return "stop";
  }
  return "?";
}

}  // namespace carve::up
