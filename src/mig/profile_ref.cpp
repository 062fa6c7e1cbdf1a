#include "mig/profile_ref.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>

namespace carve::mig {
namespace {

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::optional<int> ParseInt(std::string_view s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string Offered(const GpuModel& gpu) {
  std::string out;
  for (const auto& p : gpu.profiles)
    out += fmt::format("{}{} (id {})", out.empty() ? "" : ", ", p.name, p.id);
  return out;
}

}  // namespace

Result<const ComputeProfile*> ResolveComputeProfile(const GpuModel& gpu, const Profile& gi,
                                                    std::string_view ref) {
  std::string r = Trim(ref);
  for (const auto& c : gpu.ComputeProfilesFor(gi)) {
    std::string full = c.NameIn(gi);
    if (r == full || r == fmt::format("{}c", c.slices) ||
        r == fmt::format("{}c.{}", c.slices, gi.name) || ParseInt(r) == c.id)
      return &c;
  }
  std::string offered;
  for (const auto& c : gpu.ComputeProfilesFor(gi))
    offered += fmt::format("{}{} (id {})", offered.empty() ? "" : ", ", c.NameIn(gi), c.id);
  return Status::InvalidArgument(
      fmt::format("{} has no compute-instance profile '{}' inside a {}", gpu.name, r, gi.name),
      fmt::format("Inside {} carve knows: {}.", gi.name, offered));
}

Result<ProfileRef> ResolveProfile(const GpuModel& gpu, std::string_view ref) {
  if (!gpu.mig)
    return Status::NotSupported(fmt::format("{} does not support MIG", gpu.name),
                                "Use the whole GPU; it has no profiles.");
  std::string r = Trim(ref);
  if (r.rfind("MIG ", 0) == 0) r = r.substr(4);
  if (auto id = ParseInt(r)) {
    if (const Profile* p = gpu.FindProfileById(*id)) return ProfileRef{p, nullptr};
    return Status::InvalidArgument(fmt::format("{} has no profile with id {}", gpu.name, *id),
                                   fmt::format("Its profiles: {}.", Offered(gpu)));
  }
  std::string constant = r.rfind("NVML_GPU_INSTANCE_PROFILE_", 0) == 0 ? r.substr(26) : r;
  for (const auto& p : gpu.profiles)
    if (p.nvml_profile_name == constant) return ProfileRef{&p, nullptr};
  if (const Profile* p = gpu.FindProfile(r)) return ProfileRef{p, nullptr};
  // "1c.3g.40gb": a compute-instance sub-division of a GI profile.
  size_t dot = r.find('.');
  if (dot != std::string::npos && dot > 0 && r[dot - 1] == 'c') {
    if (const Profile* gi = gpu.FindProfile(r.substr(dot + 1))) {
      CARVE_ASSIGN_OR_RETURN(const ComputeProfile* ci, ResolveComputeProfile(gpu, *gi, r));
      return ProfileRef{gi, ci};
    }
  }
  return Status::InvalidArgument(fmt::format("{} has no profile '{}'", gpu.name, r),
                                 fmt::format("Its profiles: {}.", Offered(gpu)));
}

Result<std::vector<SliceRequest>> ParseSliceList(const GpuModel& gpu, std::string_view text) {
  std::vector<SliceRequest> out;
  std::string item;
  auto flush = [&]() -> Status {
    std::string t = Trim(item);
    item.clear();
    if (t.empty()) return Status::Ok();
    SliceRequest req;
    std::string name = t;
    if (size_t at = t.find('@'); at != std::string::npos) {
      name = t.substr(0, at);
      auto start = ParseInt(t.substr(at + 1));
      if (!start)
        return Status::InvalidArgument(fmt::format("'{}': the start after @ must be a number", t),
                                       "Write PROFILE@START, e.g. 3g.40gb@4.");
      req.start = *start;
    }
    CARVE_ASSIGN_OR_RETURN(ProfileRef ref, ResolveProfile(gpu, name));
    req.profile = ref.gi;
    req.ci = ref.ci;
    if (req.start && !req.profile->LegalStart(*req.start)) {
      std::string starts;
      for (const auto& pl : req.profile->placements)
        starts += (starts.empty() ? "" : ", ") + std::to_string(pl.start);
      return Status::InvalidArgument(
          fmt::format("{} cannot start at unit {} on {}", req.profile->name, *req.start, gpu.name),
          fmt::format("{} can start at {} only.", req.profile->name, starts));
    }
    out.push_back(req);
    return Status::Ok();
  };
  for (char c : text) {
    if (c == ',' || std::isspace(static_cast<unsigned char>(c))) {
      CARVE_RETURN_IF_ERROR(flush());
    } else {
      item += c;
    }
  }
  CARVE_RETURN_IF_ERROR(flush());
  if (out.empty()) return Status::InvalidArgument("no profiles given", "e.g. 3g.40gb@4,1g.10gb");
  return out;
}

}  // namespace carve::mig
