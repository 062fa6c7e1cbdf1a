#include "up/advise.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace carve::up {
namespace {

// Load and one replica's capacity in the same unit, and that unit's words.
struct Measure {
  double load = 0, capacity = 0;
  std::string unit;  // "req/s" or "in the system"
};

Measure MeasureOf(const AdviceInput& in) {
  const WindowTraffic& t = in.traffic;
  if (in.capacity_per_replica > 0) return {t.requests_per_s, in.capacity_per_replica, "req/s"};
  if (in.max_in_flight > 0)
    return {t.in_flight + t.queued, static_cast<double>(in.max_in_flight), "requests at once"};
  return {};
}

int Clamp(const AdviceInput& in, int n) {
  n = std::max({n, in.min, 1});
  return in.max > 0 ? std::min(n, in.max) : n;
}

std::string BoundNote(const AdviceInput& in, int wanted, int to) {
  if (wanted > to) return fmt::format(" (wants {}; max {})", wanted, in.max);
  if (wanted < to) return fmt::format(" (wants {}; min {})", wanted, std::max(in.min, 1));
  return "";
}

Advice Keep(const AdviceInput& in, double used, std::string reason) {
  return {in.model, AdviceKind::kKeep, in.replicas, in.replicas, used, std::move(reason)};
}

Advice Change(const AdviceInput& in, int wanted, double used, const std::string& why) {
  const int to = Clamp(in, wanted);
  if (to == in.replicas)
    return Keep(in, used,
                fmt::format("{}; stays at {}{}", why, in.replicas, BoundNote(in, wanted, to)));
  AdviceKind kind = to > in.replicas ? AdviceKind::kGrow : AdviceKind::kShrink;
  return {in.model, kind, in.replicas,
          to,       used, fmt::format("{} → {}{}", why, to, BoundNote(in, wanted, to))};
}

bool Idle(const WindowTraffic& t) {
  return t.requests_per_s == 0 && t.in_flight == 0 && t.queued == 0;
}

}  // namespace

const char* AdviceKindName(AdviceKind k) {
  switch (k) {
    case AdviceKind::kGrow:
      return "grow";
    case AdviceKind::kShrink:
      return "shrink";
    default:
      return "keep";
  }
}

Advice AdviseModel(const AdviceInput& in) {
  const WindowTraffic& t = in.traffic;
  if (t.seconds < kMinWindowS)
    return Keep(
        in, -1,
        fmt::format("{:.0f} s of traffic measured, {:.0f} s needed", t.seconds, kMinWindowS));
  if (Idle(t))
    return Change(in, std::max(in.min, 1), 0,
                  fmt::format("idle: no request for {:.0f} s", t.seconds));
  const Measure m = MeasureOf(in);
  if (m.capacity <= 0)
    return Keep(in, -1,
                fmt::format("{:.1f} req/s, but no capacity known for one replica: give its "
                            "profiles: a measured throughput, or the gateway a max_in_flight",
                            t.requests_per_s));
  const int n = std::max(in.replicas, 1);
  const double replicas = t.replicas > 0 ? t.replicas : n;
  const double used = m.load / (replicas * m.capacity);
  const int needed = static_cast<int>(std::ceil(m.load / (m.capacity * kTargetUtilisation)));
  const double shown = std::round(replicas * 10) / 10;  // "2 replicas", "1.5 replicas"
  std::string why =
      fmt::format("{:g} replica{} at {:.0f}% ({:.1f} of {:.1f} {})", shown, shown == 1 ? "" : "s",
                  used * 100, m.load, replicas * m.capacity, m.unit);
  if (t.queued >= 0.05) why += fmt::format(", {:.1f} queued on average", t.queued);
  const bool waited = t.queued >= 1 && used > kTargetUtilisation;
  if (used > kGrowAbove || waited) return Change(in, std::max(needed, n + 1), used, why);
  if (needed < n) return Change(in, needed, used, why);
  return Keep(in, used, why + "; within the 70–80% band");
}

}  // namespace carve::up
