// Autoscale: carve up applying the advice (advise.h) by itself, for the
// models whose spec opts in with `autoscale: {min, max, interval_s}`
// (docs/live.md, "Autoscale"). Models without it are never changed.
//
// For each such model, at most one change per interval_s, and only on an
// interval's worth of traffic measured after its last change (the window is
// interval_s long and must be full): what a change did is measured before the
// next one. The count stays within [min, max]. A change goes through the
// same path as `carve advise --apply`: an override (overrides.h) and a
// reload, make before break.
//
// Decide is pure (a fake clock tests it); Autoscaler::Tick is the thin hook
// RunService's loop calls.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "up/advise.h"

namespace carve::up {

struct AutoscaleInput {
  AdviceInput advice;  // its window interval_s long; min and max autoscale's
  int interval_s = 60;
};

// `last_change`: per model, when (seconds on the caller's clock) it last
// changed, or was first seen (then a full interval must pass first); updated
// for every change returned. Returns the changes to make now.
std::vector<Advice> DecideAutoscale(double now_s, const std::vector<AutoscaleInput>& in,
                                    std::map<std::string, double>& last_change);

class Service;

class Autoscaler {
 public:
  using Clock = std::chrono::steady_clock;
  // `reload` re-plans the spec (with the overrides just written); `note`
  // writes a line to up.log.
  Autoscaler(std::string state_dir, std::function<Status()> reload,
             std::function<void(const std::string&)> note)
      : state_dir_(std::move(state_dir)), reload_(std::move(reload)), note_(std::move(note)) {}

  // Every few seconds at most: reads the service's files, decides, and
  // applies the changes through an override and one reload.
  void Tick(Clock::time_point now);

 private:
  std::string state_dir_;
  std::function<Status()> reload_;
  std::function<void(const std::string&)> note_;
  std::map<std::string, double> last_change_;
  Clock::time_point start_ = Clock::now(), last_tick_{};
};

}  // namespace carve::up
