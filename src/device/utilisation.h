// What both backends agree on about slice utilisation (Machine::ReadUtilisation):
// which GPUs give it, what to say where they do not, and the first window.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "device/machine.h"

namespace carve::device {

// How long the first ReadUtilisation of a GPU measures (there is no earlier
// sample to measure from).
inline constexpr std::chrono::milliseconds kFirstUtilisationWindow{100};

// Whether NVML gives utilisation per slice on `arch`: its GPM metrics, on
// Hopper and later. Ampere has none per MIG slice.
bool HasGpm(mig::Arch arch);

// Why GPU `g` has no utilisation, naming where to get it (DCGM).
std::string NoUtilisationReason(const Gpu& g);

// Every slice of `g` (one entry per GPU instance, or one for the whole GPU
// when MIG is off) marked unavailable with `why`.
std::vector<SliceUtilisation> Unavailable(const Gpu& g, const std::string& why);

// The slices ReadUtilisation reports on GPU `g`, each with a key that names
// it across calls ("0/9/MIG-…": a slice made again is a new slice).
struct UtilisationTarget {
  int gi = -1;  // -1: the whole GPU
  std::string key;
};
std::vector<UtilisationTarget> UtilisationTargets(const Gpu& g);

// ReadUtilisation for a backend that measures between two samples: takes a
// sample of every slice of `g` (take(gi) -> Result<S>; gi -1: the whole GPU),
// waits kFirstUtilisationWindow once when a slice has no earlier sample in
// `last`, and reports between(earlier, now) -> Result<Utilisation> for each
// (an error there marks that slice unavailable). `last` keeps the new samples.
template <typename S, typename Take, typename Between>
Result<std::vector<SliceUtilisation>> MeasureBetweenSamples(const Gpu& g,
                                                            std::map<std::string, S>& last,
                                                            Take take, Between between) {
  auto targets = UtilisationTargets(g);
  std::vector<S> now(targets.size());
  bool first = false;
  for (size_t i = 0; i < targets.size(); ++i) {
    CARVE_ASSIGN_OR_RETURN(now[i], take(targets[i].gi));
    if (!last.count(targets[i].key)) last[targets[i].key] = std::move(now[i]), first = true;
  }
  if (first) {
    std::this_thread::sleep_for(kFirstUtilisationWindow);
    for (size_t i = 0; i < targets.size(); ++i) {
      CARVE_ASSIGN_OR_RETURN(now[i], take(targets[i].gi));
    }
  }
  std::vector<SliceUtilisation> out;
  for (size_t i = 0; i < targets.size(); ++i) {
    SliceUtilisation s{targets[i].gi, std::nullopt, ""};
    Result<Utilisation> u = between(last[targets[i].key], now[i]);
    if (u.ok())
      s.value = *u;
    else
      s.unavailable = u.status().message();
    last[targets[i].key] = std::move(now[i]);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace carve::device
