// Overrides: replica counts (or, for a `throughput:` model, its requests/s)
// that `carve advise --apply` and autoscale set over the spec, in
// STATE_DIR/overrides.json. carve up never rewrites the user's spec file; it
// applies these after loading it, on every reload.
//
// Each override remembers the spec's own value it was set over (`spec`): once
// the user changes that model's replicas (or throughput) in the file, the
// file wins and the override is ignored. Counts of a model with `autoscale:`
// stay within its [min, max]. The service removes the file when it starts, so
// an override lives as long as the carve up that took it.
//
//   {"version": "v1", "models": {NAME: {"replicas": N | "throughput": R,
//    "spec": the spec's value then, "by": "carve advise --apply" | "autoscale",
//    "at": "2026-12-04T08:00:00Z"}}}
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "spec/spec.h"
#include "util/status.h"

namespace carve::up {

struct Override {
  std::optional<int> replicas;
  std::optional<double> throughput;
  double spec = 0;  // the spec's replicas (or throughput) it was set over
  std::string by, at;
};
using Overrides = std::map<std::string, Override>;  // by model

// What the file holds; none when it is missing. kInvalidArgument, naming the
// file, when it does not parse.
Result<Overrides> ReadOverrides(const std::string& state_dir);
Status WriteOverrides(const std::string& state_dir, const Overrides& o);
void RemoveOverrides(const std::string& state_dir);

// The overrides that hold for `s`: its model exists, has the same kind of
// demand and still has the value the override was set over.
Overrides InForce(const spec::Spec& s, const Overrides& o);
// Sets the overrides in force on `s`'s models (autoscale's bounds kept); one
// line per model changed ("chat: replicas 3 (spec 2; carve advise --apply)").
std::vector<std::string> ApplyOverrides(spec::Spec& s, const Overrides& o);
// The same with STATE_DIR/overrides.json: what carve up does after loading
// its spec. Fails only when the file exists and does not parse.
Status ApplyOverrides(spec::Spec& s, const std::string& state_dir);

// The time now as "2026-12-04T08:00:00Z", for `at`.
std::string UtcNow();

}  // namespace carve::up
