#include "spec/hf_cache.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace carve::spec {
namespace fs = std::filesystem;
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// refs/main's revision, if the file is there and names a snapshot.
std::string MainRevision(const fs::path& repo) {
  std::ifstream in(repo / "refs" / "main");
  std::string rev;
  std::getline(in, rev);
  rev.erase(std::remove_if(rev.begin(), rev.end(), [](char c) { return std::isspace(c); }),
            rev.end());
  return !rev.empty() && rev.size() < 100 && fs::is_directory(repo / "snapshots" / rev) ? rev : "";
}

}  // namespace

bool IsHubId(const std::string& s) {
  if (s.empty() || s.size() > 200 || s.front() == '/' || s.front() == '.') return false;
  if (std::count(s.begin(), s.end(), '/') > 1) return false;
  bool ok = std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
           c == '/';
  });
  return ok;
}

std::vector<std::string> HubCacheDirs() {
  if (std::string d = Env("HF_HUB_CACHE"); !d.empty()) return {d};
  if (std::string d = Env("HUGGINGFACE_HUB_CACHE"); !d.empty()) return {d};
  if (std::string d = Env("HF_HOME"); !d.empty()) return {d + "/hub"};
  if (std::string d = Env("XDG_CACHE_HOME"); !d.empty()) return {d + "/huggingface/hub"};
  if (std::string d = Env("HOME"); !d.empty()) return {d + "/.cache/huggingface/hub"};
  return {};
}

Result<std::string> FindInHubCache(const std::string& id) {
  std::string folder = "models--" + id;  // "org/name" → "models--org--name"
  if (size_t slash = folder.find('/'); slash != std::string::npos) folder.replace(slash, 1, "--");
  std::vector<std::string> dirs = HubCacheDirs();
  std::error_code ec;
  for (const auto& dir : dirs) {
    fs::path repo = fs::path(dir) / folder;
    if (!fs::is_directory(repo / "snapshots", ec)) continue;
    std::string rev = MainRevision(repo);
    std::vector<fs::path> snapshots;
    if (!rev.empty()) snapshots.push_back(repo / "snapshots" / rev);
    for (const auto& e : fs::directory_iterator(repo / "snapshots", ec))
      if (rev.empty() && e.is_directory()) snapshots.push_back(e.path());
    if (snapshots.size() == 1 && fs::exists(snapshots[0] / "config.json", ec))
      return snapshots[0].string();
    if (snapshots.size() > 1)
      return Status::InvalidArgument(
          fmt::format("model '{}' has {} snapshots in {} and no refs/main to choose", id,
                      snapshots.size(), repo.string()),
          "Point estimate.config at the snapshot folder you serve.");
  }
  std::string where =
      dirs.empty() ? "no cache folder (HOME is unset)" : fmt::format("{}", fmt::join(dirs, ", "));
  return Status::NotFound(
      fmt::format("model '{}' is not in the local Hugging Face cache (looked in {})", id, where),
      fmt::format("carve sizes a model from its config.json and weights index. Fetch them with "
                  "`huggingface-cli download {} --include '*.json'` (or set HF_HOME / HF_HUB_CACHE "
                  "to where they are), or give memory: (e.g. memory: 10GiB), or estimate: "
                  "{{config: path/to/config.json}}.",
                  id));
}

}  // namespace carve::spec
