#include "up/autoscale.h"

#include <fmt/format.h>

#include "up/advise_inputs.h"

namespace carve::up {

std::vector<Advice> DecideAutoscale(double now_s, const std::vector<AutoscaleInput>& in,
                                    std::map<std::string, double>& last_change) {
  std::vector<Advice> out;
  for (const auto& m : in) {
    const double interval = m.interval_s;
    auto [since, first_look] = last_change.try_emplace(m.advice.model, now_s);
    if (now_s - since->second < interval) continue;  // at most one change per interval
    // The whole window measured, and measured since the last change.
    if (m.advice.traffic.seconds < interval) continue;
    Advice a = AdviseModel(m.advice);
    if (a.kind == AdviceKind::kKeep) continue;
    since->second = now_s;
    out.push_back(std::move(a));
  }
  return out;
}

namespace {

// The advice inputs of the models with autoscale:, each over its interval.
std::vector<AutoscaleInput> Inputs(const ServiceState& st) {
  std::vector<AutoscaleInput> out;
  for (const auto& m : st.spec.models) {
    if (!m.autoscale) continue;
    const int interval = m.autoscale->interval_s;
    for (auto& in : AdviceInputs(st, std::chrono::seconds(interval)))
      if (in.model == m.name) out.push_back({std::move(in), interval});
  }
  return out;
}

}  // namespace

void Autoscaler::Tick(Clock::time_point now) {
  if (now - last_tick_ < TrafficHistory::kEvery) return;  // as often as the history grows
  last_tick_ = now;
  auto st = ReadServiceState(state_dir_);
  if (!st.ok()) return;  // starting, or nothing measured yet
  std::vector<AutoscaleInput> in = Inputs(*st);
  if (in.empty()) return;
  const double now_s = std::chrono::duration<double>(now - start_).count();
  std::vector<Advice> changes = DecideAutoscale(now_s, in, last_change_);
  if (changes.empty()) return;
  std::vector<AdviceInput> inputs;
  for (const auto& a : changes)
    for (const auto& i : in)
      if (i.advice.model == a.model) inputs.push_back(i.advice);
  Overrides overrides = st->overrides;
  (void)AdvisedSpec(*st, inputs, changes, "autoscale", overrides);
  for (const auto& a : changes)
    note_(fmt::format("autoscale: {} {} {} → {} replicas: {}", a.model, AdviceKindName(a.kind),
                      a.from, a.to, a.reason));
  if (Status s = WriteOverrides(state_dir_, overrides); !s.ok()) {
    note_("autoscale: " + s.ToString());
    return;
  }
  Status s = reload_();
  if (s.ok()) return note_("autoscale: done");
  // The overrides as they were: a change that does not fit must not fail the
  // next reload too. The rate limit keeps it from being tried every tick.
  (void)WriteOverrides(state_dir_, st->overrides);
  note_("autoscale: the change failed, overrides restored: " + s.ToString());
}

}  // namespace carve::up
