// Checks the shipped catalogue (catalog/*.json) against the facts in the MIG
// reference note (mig-catalogue.md): ids, memory, SMs, placements, engines,
// and the layout rule carve builds on. Each table row is one sourced fact, so
// a data edit that contradicts the reference fails here with the row named.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "mig/catalog.h"

namespace carve::mig {
namespace {

using Placements = std::vector<Placement>;

const GpuModel& Gpu(const std::string& alias) {
  const GpuModel* m = Catalog::Builtin().Find(alias);
  if (!m) throw std::runtime_error("no GPU '" + alias + "' in the catalogue");
  return *m;
}

const Profile& Prof(const std::string& alias, const std::string& name) {
  const Profile* p = Gpu(alias).FindProfile(name);
  if (!p) throw std::runtime_error("no profile '" + name + "' on " + alias);
  return *p;
}

Placements Span(std::initializer_list<int> starts, int size) {
  Placements out;
  for (int s : starts) out.push_back({s, size});
  return out;
}

bool Within(const Engines& a, const Engines& cap) {
  return a.ce <= cap.ce && a.dec <= cap.dec && a.enc <= cap.enc && a.jpeg <= cap.jpeg &&
         a.ofa <= cap.ofa;
}

void Add(Engines* sum, const Engines& e) {
  sum->ce += e.ce, sum->dec += e.dec, sum->enc += e.enc, sum->jpeg += e.jpeg, sum->ofa += e.ofa;
}

bool PlaceFrom(const std::vector<const Profile*>& ps, size_t i, Placements* used) {
  if (i == ps.size()) return true;
  for (const Placement& pl : ps[i]->placements) {
    if (std::any_of(used->begin(), used->end(), [&](auto& u) { return u.Overlaps(pl); })) continue;
    used->push_back(pl);
    if (PlaceFrom(ps, i + 1, used)) return true;
    used->pop_back();
  }
  return false;
}

// carve's layout rule (docs/catalog.md): some choice of legal starts without
// overlap, each profile within max_instances, and engine sums within the
// GPU's totals. The engine sum is what forbids a second +me and anything but
// -me beside +me.all.
bool CanPlace(const GpuModel& g, const std::vector<std::string>& names) {
  std::vector<const Profile*> ps;
  std::map<const Profile*, int> count;
  Engines sum;
  for (const auto& n : names) {
    const Profile* p = g.FindProfile(n);
    if (!p) return false;
    ps.push_back(p);
    Add(&sum, p->engines);
    if (++count[p] > p->max_instances) return false;
  }
  if (!Within(sum, g.engines)) return false;
  Placements used;
  return PlaceFrom(ps, 0, &used);
}

// mig-catalogue.md 1.6 (go-nvlib getMigMemorySizeGB), in integers:
// eighths = ceil(mem / total * 8); GB = round_half_away(eighths / 8 * ceil(total / GiB)).
std::string NameByRule(uint64_t device_mib, uint64_t profile_mib, int slices,
                       const std::string& suffix) {
  uint64_t eighths = (profile_mib * 8 + device_mib - 1) / device_mib;
  uint64_t gib = (device_mib + 1023) / 1024;
  uint64_t gb = (eighths * gib * 2 + 8) / 16;
  return fmt::format("{}g.{}gb{}", slices, gb, suffix);
}

std::string Suffix(const std::string& name) { return name.substr(name.find("gb") + 2); }

bool Flagged(const std::vector<std::string>& unverified, const std::string& field) {
  return std::find(unverified.begin(), unverified.end(), field) != unverified.end();
}

// ---------------------------------------------------------------- aliases

TEST(CatalogData, EveryRequiredAliasExistsWithItsMigMode) {
  const std::vector<std::pair<std::string, bool>> kRequired = {
      {"a30", true},          {"a100-40gb", true}, {"a100-80gb", true}, {"h100-80gb", true},
      {"h100-pcie", true},    {"h100-nvl", true},  {"h200", true},      {"h200-nvl", true},
      {"gh200", true},        {"b200", true},      {"gb200", true},     {"rtx-pro-6000", true},
      {"b300", true},         {"gb300", true},     {"h20", true},       {"rtx-pro-5000", true},
      {"rtx-pro-4500", true}, {"rtx-5090", false}, {"rtx-4090", false}, {"l40s", false},
      {"l4", false}};
  for (const auto& [alias, mig] : kRequired) {
    const GpuModel* m = Catalog::Builtin().Find(alias);
    ASSERT_NE(m, nullptr) << alias;
    EXPECT_EQ(m->alias, alias);
    EXPECT_EQ(m->mig, mig) << alias;
  }
}

// Issue #13.13: every GPU on NVIDIA's MIG "Supported GPUs" list (v620: the
// Supported GPUs table and the Deployment Considerations driver table) is in
// the catalogue, or named here with what the reference lacks to model it.
TEST(CatalogData, EveryGpuOnNvidiasSupportedListIsInTheCatalogue) {
  const std::vector<std::pair<std::string, std::string>> kSupported = {
      {"A100-SXM4 40GB", "a100-40gb"},
      {"A100-PCIE 40GB", "a100-40gb"},
      {"A100-SXM4 80GB", "a100-80gb"},
      {"A100-PCIE 80GB", "a100-80gb"},
      {"A30", "a30"},
      {"H100-SXM5 80GB", "h100-80gb"},
      {"H100-PCIE 80GB", "h100-pcie"},
      {"H100 94GB (NVL)", "h100-nvl"},
      {"H100 on GH200 96GB", "h100-96gb"},
      {"H20", "h20"},
      {"H200-SXM5", "h200"},
      {"H200 NVL", "h200-nvl"},
      {"B200", "b200"},
      {"GB200", "gb200"},
      {"B300", "b300"},
      {"GB300 (DGX Station)", "gb300"},
      {"RTX PRO 6000 Blackwell Server Edition", "rtx-pro-6000"},
      {"RTX PRO 6000 Blackwell Workstation Edition", "rtx-pro-6000"},
      {"RTX PRO 6000 Blackwell Max-Q Workstation Edition", "rtx-pro-6000"},
      {"RTX PRO 5000 Blackwell", "rtx-pro-5000"},
      {"RTX PRO 4500 Blackwell", "rtx-pro-4500"}};
  for (const auto& [product, alias] : kSupported) {
    const GpuModel* m = Catalog::Builtin().Find(alias);
    ASSERT_NE(m, nullptr) << product;
    EXPECT_TRUE(m->mig) << product;
    EXPECT_FALSE(m->source.empty()) << product;
    for (const auto& p : m->profiles) EXPECT_FALSE(p.source.empty()) << product << " " << p.name;
  }
  // Not modelled: the Thor iGPU (Jetson T5000; unified memory, 2 instances).
  // The reference has no PCI id, profile table, ids or placements for it.
  EXPECT_EQ(Catalog::Builtin().Find("thor"), nullptr);
}

// B300 and GB300 have only names and counts (GB300 also its smi ids) in the
// reference: each figure that is a best value says so, and SMs are 0
// (unknown) exactly where they are flagged.
TEST(CatalogData, B300AndGb300SayWhatIsUnverified) {
  for (const std::string alias : {"b300", "gb300", "h20"}) {
    SCOPED_TRACE(alias);
    const GpuModel& g = Gpu(alias);
    EXPECT_FALSE(g.verified());
    for (const char* f : {"memory_mib", "sm_count", "engines", "compute_profiles"})
      EXPECT_TRUE(Flagged(g.unverified, f)) << f;
    EXPECT_FALSE(g.compute_profiles_verified);
    EXPECT_EQ(g.profiles.size(), 7u);
    for (const auto& p : g.profiles) {
      for (const char* f : {"id", "memory_mib", "sm", "engines", "placements"})
        EXPECT_TRUE(Flagged(p.unverified, f)) << p.name << " " << f;
      EXPECT_EQ(p.sm, 0) << p.name;
    }
  }
  EXPECT_TRUE(Flagged(Gpu("gb300").unverified, "min_driver"));  // the DGX Station's
  const std::map<std::string, int> kB300Counts = {
      {"1g.34gb", 7},  {"1g.34gb+me", 1}, {"1g.67gb", 4}, {"2g.67gb", 3},
      {"3g.135gb", 2}, {"4g.135gb", 1},   {"7g.269gb", 1}};
  for (const auto& [name, count] : kB300Counts)
    EXPECT_EQ(Prof("b300", name).max_instances, count) << name;
  const std::map<std::string, int> kGb300Ids = {
      {"1g.35gb", 19}, {"1g.35gb+me", 20}, {"1g.70gb", 15}, {"2g.70gb", 14},
      {"3g.139gb", 9}, {"4g.139gb", 5},    {"7g.278gb", 0}};
  for (const auto& [name, id] : kGb300Ids) EXPECT_EQ(Prof("gb300", name).id, id) << name;
}

// ---------------------------------------------------------------- GPU facts

struct GpuRow {
  std::string alias;
  Arch arch;
  int units, compute_slices, sm_count;
  Engines engines;
  std::string min_driver;
};

TEST(CatalogData, GpuGeometryEnginesAndDrivers) {
  const std::vector<GpuRow> kRows = {
      {"a30", Arch::kAmpere, 4, 4, 56, {4, 4, 0, 1, 1}, "460.73.01"},
      {"a100-40gb", Arch::kAmpere, 8, 7, 108, {7, 5, 0, 1, 1}, "450.80.02"},
      {"a100-80gb", Arch::kAmpere, 8, 7, 108, {7, 5, 0, 1, 1}, "450.80.02"},
      {"h100-80gb", Arch::kHopper, 8, 7, 132, {8, 7, 0, 7, 1}, "525.85.12"},
      {"h100-pcie", Arch::kHopper, 8, 7, 114, {8, 7, 0, 7, 1}, "525.85.12"},
      {"h100-nvl", Arch::kHopper, 8, 7, 132, {8, 7, 0, 7, 1}, "525.85.12"},
      {"h200", Arch::kHopper, 8, 7, 132, {8, 7, 0, 7, 1}, "550.90.07"},
      {"b200", Arch::kBlackwell, 8, 7, 148, {16, 7, 0, 7, 1}, "570.133.20"},
      {"gb200", Arch::kBlackwell, 8, 7, 148, {16, 7, 0, 7, 1}, "570.133.20"},
      {"rtx-pro-6000", Arch::kBlackwell, 12, 4, 188, {4, 4, 4, 4, 1}, "575.51.03"},
      {"rtx-pro-5000", Arch::kBlackwell, 2, 2, 0, {4, 3, 3, 1, 1}, "575.57.08"},
      {"rtx-pro-4500", Arch::kBlackwell, 2, 2, 0, {2, 3, 3, 2, 1}, "575.64"},
      {"b300", Arch::kBlackwell, 8, 7, 0, {16, 7, 0, 7, 1}, "580.82.07"},
      {"gb300", Arch::kBlackwell, 8, 7, 0, {16, 7, 0, 7, 1}, "595.58.03"},
      {"h20", Arch::kHopper, 8, 7, 0, {8, 7, 0, 7, 1}, "535.161.07"},
  };
  for (const auto& r : kRows) {
    SCOPED_TRACE(r.alias);
    const GpuModel& g = Gpu(r.alias);
    EXPECT_EQ(g.arch, r.arch);
    EXPECT_EQ(g.placement_units, r.units);
    EXPECT_EQ(g.compute_slices, r.compute_slices);
    EXPECT_EQ(g.sm_count, r.sm_count);
    EXPECT_EQ(g.engines.ce, r.engines.ce);
    EXPECT_EQ(g.engines.dec, r.engines.dec);
    EXPECT_EQ(g.engines.enc, r.engines.enc);
    EXPECT_EQ(g.engines.jpeg, r.engines.jpeg);
    EXPECT_EQ(g.engines.ofa, r.engines.ofa);
    EXPECT_EQ(g.min_driver, r.min_driver);
  }
}

TEST(CatalogData, WholeGpuCards) {
  struct Row {
    std::string alias;
    Arch arch;
    int sm;
    uint32_t pci;
  };
  const std::vector<Row> kRows = {{"rtx-5090", Arch::kBlackwell, 170, 0x2B8510DE},
                                  {"rtx-4090", Arch::kAda, 128, 0x268410DE},
                                  {"l40s", Arch::kAda, 142, 0x26B910DE},
                                  {"l4", Arch::kAda, 58, 0x27B810DE}};
  for (const auto& r : kRows) {
    const GpuModel& g = Gpu(r.alias);
    EXPECT_EQ(g.arch, r.arch) << r.alias;
    EXPECT_EQ(g.sm_count, r.sm) << r.alias;
    EXPECT_EQ(Catalog::Builtin().FindByPciId(r.pci), &g) << r.alias;
    EXPECT_TRUE(g.profiles.empty()) << r.alias;
    EXPECT_TRUE(Flagged(g.unverified, "memory_mib")) << r.alias << ": NVML total not sourced";
  }
}

// ---------------------------------------------------------------- profile facts

struct ProfileRow {
  std::string alias, name, nvml;
  int id;
  uint64_t memory_mib;
  int sm, max;
  Placements placements;
};

TEST(CatalogData, RepresentativeProfilesMatchTheReference) {
  const std::vector<ProfileRow> kRows = {
      {"a100-40gb", "1g.5gb", "1_SLICE", 19, 4864, 14, 7, Span({0, 1, 2, 3, 4, 5, 6}, 1)},
      {"a100-40gb", "1g.10gb", "1_SLICE_REV2", 15, 9856, 14, 4, Span({0, 2, 4, 6}, 2)},
      {"a100-40gb", "3g.20gb", "3_SLICE", 9, 19968, 42, 2, Span({0, 4}, 4)},
      {"a100-40gb", "7g.40gb", "7_SLICE", 0, 40192, 98, 1, Span({0}, 8)},
      {"a100-80gb", "1g.10gb", "1_SLICE", 19, 9728, 14, 7, Span({0, 1, 2, 3, 4, 5, 6}, 1)},
      {"a100-80gb", "3g.40gb", "3_SLICE", 9, 40192, 42, 2, Span({0, 4}, 4)},
      {"a30", "1g.6gb", "1_SLICE", 14, 5952, 14, 4, Span({0, 1, 2, 3}, 1)},
      {"a30", "2g.12gb+me", "2_SLICE_REV1", 6, 11968, 28, 1, Span({0, 2}, 2)},
      {"a30", "4g.24gb", "4_SLICE", 0, 24064, 56, 1, Span({0}, 4)},
      {"h100-80gb", "1g.20gb", "1_SLICE_REV2", 15, 20096, 26, 4, Span({0, 2, 4, 6}, 2)},
      {"h100-80gb", "3g.40gb", "3_SLICE", 9, 40448, 60, 2, Span({0, 4}, 4)},
      {"h100-80gb", "7g.80gb", "7_SLICE", 0, 81152, 132, 1, Span({0}, 8)},
      {"h100-pcie", "1g.20gb", "1_SLICE_REV2", 15, 20096, 14, 4, Span({0, 2, 4, 6}, 2)},
      {"h100-pcie", "4g.40gb", "4_SLICE", 5, 40448, 62, 1, Span({0}, 4)},
      {"h100-nvl", "1g.12gb", "1_SLICE", 19, 11008, 16, 7, Span({0, 1, 2, 3, 4, 5, 6}, 1)},
      {"h100-nvl", "3g.47gb", "3_SLICE", 9, 47488, 60, 2, Span({0, 4}, 4)},
      {"h200", "1g.18gb", "1_SLICE", 19, 16384, 16, 7, Span({0, 1, 2, 3, 4, 5, 6}, 1)},
      {"h200", "7g.141gb", "7_SLICE", 0, 143104, 132, 1, Span({0}, 8)},
      {"h200-nvl", "3g.71gb", "3_SLICE", 9, 71168, 60, 2, Span({0, 4}, 4)},
      {"gh200", "1g.18gb+me", "1_SLICE_REV1", 20, 17920, 16, 1, Span({0, 1, 2, 3, 4, 5, 6}, 1)},
      {"gh200", "2g.36gb", "2_SLICE", 14, 36096, 32, 3, Span({0, 2, 4}, 2)},
      {"b200", "1g.23gb", "1_SLICE", 19, 20992, 18, 7, Span({0, 1, 2, 3, 4, 5, 6}, 1)},
      {"b200", "2g.45gb", "2_SLICE", 14, 45312, 36, 3, Span({0, 2, 4}, 2)},
      {"b200", "7g.180gb", "7_SLICE", 0, 182784, 148, 1, Span({0}, 8)},
      {"gb200", "1g.47gb", "1_SLICE_REV2", 15, 46592, 32, 4, Span({0, 2, 4, 6}, 2)},
      {"gb200", "2g.47gb", "2_SLICE", 14, 46592, 38, 3, Span({0, 2, 4}, 2)},
      {"rtx-pro-6000", "1g.24gb", "1_SLICE", 14, 24192, 46, 4, Span({0, 3, 6, 9}, 3)},
      {"rtx-pro-6000", "1g.24gb+me.all", "1_SLICE_ALL_ME", 65, 24192, 46, 1, Span({0, 3, 6, 9}, 3)},
      {"rtx-pro-6000", "2g.48gb-me", "2_SLICE_NO_ME", 66, 48512, 94, 2, Span({0, 6}, 6)},
      {"rtx-pro-6000", "4g.96gb+gfx", "4_SLICE_GFX", 32, 97408, 188, 1, Span({0}, 12)},
  };
  for (const auto& r : kRows) {
    SCOPED_TRACE(r.alias + " " + r.name);
    const Profile& p = Prof(r.alias, r.name);
    EXPECT_EQ(p.nvml_profile_name, r.nvml);
    EXPECT_EQ(p.id, r.id);
    EXPECT_EQ(p.memory_mib, r.memory_mib);
    EXPECT_EQ(p.sm, r.sm);
    EXPECT_EQ(p.max_instances, r.max);
    EXPECT_EQ(p.placements, r.placements);
  }
}

TEST(CatalogData, EnginesFollowRealOutputWhereSourcesConflict) {
  struct Row {
    std::string alias, name;
    Engines e;
    std::string why;
  };
  const std::vector<Row> kRows = {
      {"a30", "1g.6gb", {1, 1, 0, 0, 0}, "real -lgip shows DEC 1; guide and mock say 0"},
      {"a30", "1g.6gb+me", {1, 1, 0, 1, 1}, "+me holds the single JPEG and OFA"},
      {"a30", "2g.12gb+me", {2, 2, 0, 1, 1}, "+me holds the single JPEG and OFA"},
      {"a100-40gb", "1g.5gb+me", {1, 1, 0, 1, 1}, "+me holds the single JPEG and OFA"},
      {"a100-80gb", "1g.10gb", {1, 0, 0, 0, 0}, "real -lgip shows DEC 0; go-nvml mock says 1"},
      {"a100-40gb", "1g.10gb", {1, 1, 0, 0, 0}, "double-memory 1g has a DEC, no JPEG"},
      {"h100-80gb", "7g.80gb", {8, 7, 0, 7, 1}, "go-nvml mock has CE 7, JPEG 0"},
      {"b200", "2g.45gb", {4, 2, 0, 2, 0}, "guide says CE 2, DEC 1; real -lgip CE 4, DEC 2"},
      {"rtx-pro-6000", "1g.24gb+me.all", {1, 4, 4, 4, 1}, "+me.all takes every media engine"},
      {"rtx-pro-6000", "1g.24gb-me", {1, 0, 0, 0, 0}, "-me has no media engine"},
      {"rtx-pro-5000", "1g.24gb+me.all", {1, 3, 3, 1, 1}, "latest MIG guide"},
      {"rtx-pro-4500", "2g.32gb", {2, 3, 3, 2, 1}, "latest MIG guide"},
  };
  for (const auto& r : kRows) {
    SCOPED_TRACE(r.alias + " " + r.name + ": " + r.why);
    const Engines& e = Prof(r.alias, r.name).engines;
    EXPECT_EQ(e.ce, r.e.ce);
    EXPECT_EQ(e.dec, r.e.dec);
    EXPECT_EQ(e.enc, r.e.enc);
    EXPECT_EQ(e.jpeg, r.e.jpeg);
    EXPECT_EQ(e.ofa, r.e.ofa);
  }
}

// ---------------------------------------------------------------- PCI ids

TEST(CatalogData, PciIdsAreUniqueAcrossTheCatalogue) {
  std::map<uint32_t, std::string> seen;
  for (const auto& g : Catalog::Builtin().models())
    for (const auto& p : g.products) {
      auto [it, fresh] = seen.emplace(p.pci_device_id, g.alias + " / " + p.name);
      EXPECT_TRUE(fresh) << fmt::format("0x{:08X} in {} and {}/{}", p.pci_device_id, it->second,
                                        g.alias, p.name);
    }
}

TEST(CatalogData, PciIdsFindTheirModelAndMockIdsFindNothing) {
  const std::vector<std::pair<uint32_t, std::string>> kIds = {
      {0x20B010DE, "a100-40gb"},    {0x20F610DE, "a100-40gb"},    {0x20B510DE, "a100-80gb"},
      {0x20B710DE, "a30"},          {0x233010DE, "h100-80gb"},    {0x232410DE, "h100-80gb"},
      {0x233110DE, "h100-pcie"},    {0x232110DE, "h100-nvl"},     {0x233A10DE, "h100-nvl"},
      {0x233510DE, "h200"},         {0x233B10DE, "h200-nvl"},     {0x234810DE, "gh200"},
      {0x290110DE, "b200"},         {0x294110DE, "gb200"},        {0x318210DE, "b300"},
      {0x31C210DE, "gb300"},        {0x232910DE, "h20"},          {0x2BB110DE, "rtx-pro-6000"},
      {0x2BB410DE, "rtx-pro-6000"}, {0x2BB310DE, "rtx-pro-5000"}, {0x2C3110DE, "rtx-pro-4500"}};
  for (const auto& [id, alias] : kIds)
    EXPECT_EQ(Catalog::Builtin().FindByPciId(id), &Gpu(alias)) << fmt::format("0x{:08X}", id);
  // go-nvml's mocks use these ids; the driver README says otherwise (reference 6, 7).
  EXPECT_EQ(Catalog::Builtin().FindByPciId(0x233310DE), nullptr);
  EXPECT_EQ(Catalog::Builtin().FindByPciId(0x2B0010DE), nullptr);
}

// ---------------------------------------------------------------- naming rule

TEST(CatalogData, NamingRuleHelperReproducesTheReferenceChecks) {
  EXPECT_EQ(NameByRule(81559, 9984, 1, ""), "1g.10gb");            // H100
  EXPECT_EQ(NameByRule(186 * 1024, 46592, 1, ""), "1g.47gb");      // GB200: 46.5 rounds up
  EXPECT_EQ(NameByRule(269 * 1024, 269 * 128, 1, ""), "1g.34gb");  // B300, 1/8
  EXPECT_EQ(NameByRule(269 * 1024, 269 * 256, 1, ""), "1g.67gb");  // B300, 2/8
}

// Driver-dependent names (reference 1.5): A100-80GB 3g.40gb is "3g.39gb" on
// some 535/545 drivers; GB200's 1g was "1g.24gb" at 20.00 GiB on an early
// driver; A100-40GB printed 9.75/19.62 GiB on older drivers. The catalogue
// holds the current drivers' memory, for which the rule gives the current
// names, so no profile is exempt. Add "alias/profile" here, with the reason,
// if a sourced row ever needs to differ from the rule.
const std::set<std::string> kNamingRuleExceptions = {};

void CheckNames(bool only_sourced_memory, int min_checked) {
  int checked = 0;
  for (const auto& g : Catalog::Builtin().models()) {
    for (const auto& p : g.profiles) {
      if (only_sourced_memory && Flagged(p.unverified, "memory_mib")) continue;
      if (kNamingRuleExceptions.count(g.alias + "/" + p.name)) continue;
      EXPECT_EQ(p.name, NameByRule(g.memory_mib, p.memory_mib, p.slices, Suffix(p.name)))
          << g.alias << " (device " << g.memory_mib << " MiB, profile " << p.memory_mib << " MiB)";
      ++checked;
    }
  }
  EXPECT_GE(checked, min_checked) << "the naming check ran on too few profiles to mean anything";
}

TEST(CatalogData, ProfileNamesFollowTheNamingRuleWhereMemoryIsSourced) { CheckNames(true, 35); }

// Inferred memory (GiB x 1024, or the name's GB x 1024) must at least be
// consistent with the name it claims.
TEST(CatalogData, InferredMemoryIsConsistentWithProfileNames) { CheckNames(false, 100); }

// ---------------------------------------------------------------- placements

TEST(CatalogData, NoOneSliceProfileStartsAtUnitSevenOnEightUnitParts) {
  for (const auto& g : Catalog::Builtin().models()) {
    if (g.placement_units != 8) continue;
    for (const auto& p : g.profiles) {
      if (p.slices != 1) continue;
      EXPECT_FALSE(p.LegalStart(7)) << g.alias << " " << p.name;
    }
  }
}

TEST(CatalogData, EightUnitPartsShareTheSwizzIdTable) {
  const std::map<std::string, Placements> kTable = {
      {"1_SLICE", Span({0, 1, 2, 3, 4, 5, 6}, 1)},
      {"1_SLICE_REV1", Span({0, 1, 2, 3, 4, 5, 6}, 1)},
      {"1_SLICE_REV2", Span({0, 2, 4, 6}, 2)},
      {"2_SLICE", Span({0, 2, 4}, 2)},
      {"3_SLICE", Span({0, 4}, 4)},
      {"4_SLICE", Span({0}, 4)},
      {"7_SLICE", Span({0}, 8)}};
  for (const auto& g : Catalog::Builtin().models()) {
    if (g.placement_units != 8) continue;
    for (const auto& p : g.profiles) {
      ASSERT_TRUE(kTable.count(p.nvml_profile_name)) << g.alias << " " << p.name;
      EXPECT_EQ(p.placements, kTable.at(p.nvml_profile_name)) << g.alias << " " << p.name;
    }
  }
}

TEST(CatalogData, EachProfileHasOnePlacementSizeAndFitsTheGpu) {
  for (const auto& g : Catalog::Builtin().models()) {
    for (const auto& p : g.profiles) {
      ASSERT_FALSE(p.placements.empty()) << g.alias << " " << p.name;
      for (const auto& pl : p.placements) {
        EXPECT_EQ(pl.size, p.size()) << g.alias << " " << p.name;
        EXPECT_LE(pl.end(), g.placement_units) << g.alias << " " << p.name;
      }
      EXPECT_LE(p.max_instances, static_cast<int>(p.placements.size())) << g.alias << " " << p.name;
    }
  }
}

// ---------------------------------------------------------------- engines

TEST(CatalogData, EngineTotalsAreTheFullGpuProfilesEngines) {
  for (const auto& g : Catalog::Builtin().models()) {
    if (!g.mig) continue;
    int full = 0;
    for (const auto& p : g.profiles) {
      EXPECT_TRUE(Within(p.engines, g.engines)) << g.alias << " " << p.name;
      if (p.size() != g.placement_units) continue;
      ++full;
      EXPECT_TRUE(Within(g.engines, p.engines)) << g.alias << " " << p.name;
      EXPECT_EQ(p.slices, g.compute_slices) << g.alias << " " << p.name;
    }
    EXPECT_GE(full, 1) << g.alias << " has no full-GPU profile";
  }
}

// ---------------------------------------------------------------- layouts

struct LayoutRow {
  std::string alias;
  std::vector<std::string> profiles;
  bool valid;
  std::string why;
};

TEST(CatalogData, LayoutRuleAcceptsAndRejectsWhatTheReferenceSays) {
  auto n = [](int k, const std::string& p) { return std::vector<std::string>(k, p); };
  auto cat = [](std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  const std::vector<LayoutRow> kRows = {
      {"a100-40gb", {"4g.20gb", "3g.20gb"}, true, "4g@0 + 3g@4 (R510+)"},
      {"a100-40gb", {"3g.20gb", "3g.20gb"}, true, "one SM slice idle"},
      {"a100-40gb", {"3g.20gb", "3g.20gb", "1g.5gb"}, false, "3g+3g uses all 8 memory slices"},
      {"a100-40gb", n(7, "1g.5gb"), true, "7x 1g leaves unit 7 idle"},
      {"a100-40gb", n(8, "1g.5gb"), false, "no 1g at unit 7"},
      {"a100-40gb", n(4, "1g.10gb"), true, "three SM slices idle"},
      {"a100-40gb", {"3g.20gb", "1g.10gb", "1g.10gb"}, true, "two SM slices idle"},
      {"a100-40gb", cat(n(3, "2g.10gb"), {"1g.10gb"}), true, "double-memory 1g at 6"},
      {"a100-40gb", cat({"1g.5gb+me"}, n(6, "1g.5gb")), true, "one +me"},
      {"a100-40gb", {"1g.5gb+me", "1g.5gb+me"}, false, "one OFA"},
      {"a100-40gb", {"4g.20gb", "4g.20gb"}, false, "4g only at 0"},
      {"h100-80gb", {"3g.40gb", "3g.40gb", "1g.10gb"}, false, "3g+3g uses all 8 memory slices"},
      {"h100-80gb", cat({"1g.10gb+me"}, n(6, "1g.10gb")), true, "one +me"},
      {"b200", {"4g.90gb", "3g.90gb"}, true, "4g@0 + 3g@4"},
      {"b200", {"1g.23gb+me", "1g.23gb+me"}, false, "one OFA"},
      {"a30", n(4, "1g.6gb"), true, "4x 1g"},
      {"a30", cat({"1g.6gb+me"}, n(3, "1g.6gb")), true, "one +me"},
      {"a30", {"2g.12gb+me", "2g.12gb"}, true, "one +me"},
      {"a30", {"1g.6gb+me", "2g.12gb+me"}, false, "both +me need the single OFA/JPEG"},
      {"a30", {"4g.24gb", "1g.6gb"}, false, "4g is the whole GPU"},
      {"rtx-pro-6000", n(4, "1g.24gb"), true, "1g x4"},
      {"rtx-pro-6000", {"2g.48gb", "1g.24gb", "1g.24gb"}, true, "2g + 1g x2"},
      {"rtx-pro-6000", {"2g.48gb", "2g.48gb"}, true, "2g x2"},
      {"rtx-pro-6000", n(5, "1g.24gb"), false, "4 slots"},
      {"rtx-pro-6000", cat({"1g.24gb+me"}, n(3, "1g.24gb")), true, "one +me"},
      {"rtx-pro-6000", cat({"1g.24gb+me.all"}, n(3, "1g.24gb-me")), true, "+me.all beside -me"},
      {"rtx-pro-6000", {"2g.48gb+me.all", "2g.48gb-me"}, true, "+me.all beside -me"},
      {"rtx-pro-6000", {"1g.24gb+me.all", "1g.24gb"}, false, "+me.all blocks all but -me"},
      {"rtx-pro-6000", {"1g.24gb+me.all", "1g.24gb+gfx"}, false, "+me.all blocks all but -me"},
      {"rtx-pro-6000", {"1g.24gb+me.all", "1g.24gb+me"}, false, "one OFA"},
      {"rtx-pro-6000", {"2g.48gb+gfx", "1g.24gb+gfx", "1g.24gb"}, true, "+gfx mixes by placement"},
      {"rtx-pro-5000", {"1g.24gb", "1g.24gb"}, true, "2 instances"},
      {"rtx-pro-5000", {"1g.24gb+me.all", "1g.24gb-me"}, true, "+me.all beside -me"},
      {"rtx-pro-5000", {"1g.24gb+me.all", "1g.24gb"}, false, "+me.all blocks all but -me"},
      {"rtx-pro-4500", {"1g.16gb+me.all", "1g.16gb-me"}, true, "+me.all beside -me"},
      {"rtx-pro-4500", {"1g.16gb+me.all", "1g.16gb+gfx"}, false, "+me.all blocks all but -me"},
  };
  for (const auto& r : kRows) {
    EXPECT_EQ(CanPlace(Gpu(r.alias), r.profiles), r.valid)
        << r.alias << " " << fmt::format("{}", fmt::join(r.profiles, " + ")) << ": " << r.why;
  }
}

// Every multiset of plain (non-+me) profiles that uses all 7 compute slices
// and fits. The reference enumerates 17 on A100-40GB, 11 without 1g.10gb.
int FullComputeMultisets(const GpuModel& g, bool with_double_memory_1g) {
  std::vector<const Profile*> plain;
  for (const auto& p : g.profiles) {
    if (p.name.find("+me") != std::string::npos) continue;
    if (!with_double_memory_1g && p.nvml_profile_name == "1_SLICE_REV2") continue;
    plain.push_back(&p);
  }
  int found = 0;
  std::vector<std::string> cur;
  auto rec = [&](auto&& self, size_t from, int slices) -> void {
    if (slices == g.compute_slices) {
      found += CanPlace(g, cur);
      return;
    }
    for (size_t i = from; i < plain.size(); ++i) {
      if (slices + plain[i]->slices > g.compute_slices) continue;
      cur.push_back(plain[i]->name);
      self(self, i, slices + plain[i]->slices);
      cur.pop_back();
    }
  };
  rec(rec, 0, 0);
  return found;
}

TEST(CatalogData, EightUnitPartsHaveTheSeventeenFullGeometries) {
  EXPECT_EQ(FullComputeMultisets(Gpu("a100-40gb"), true), 17);
  EXPECT_EQ(FullComputeMultisets(Gpu("a100-40gb"), false), 11);
  for (const auto& g : Catalog::Builtin().models())
    if (g.placement_units == 8) {
      EXPECT_EQ(FullComputeMultisets(g, true), 17) << g.alias;
    }
}

// ---------------------------------------------------------------- compute instances

TEST(CatalogData, ComputeProfilesHaveOneFullDefaultPerGiSize) {
  for (const auto& g : Catalog::Builtin().models()) {
    std::set<int> gi_sizes;
    for (const auto& p : g.profiles) gi_sizes.insert(p.slices);
    for (const auto& [gi, cis] : g.compute_profiles) {
      SCOPED_TRACE(fmt::format("{} {}g", g.alias, gi));
      EXPECT_TRUE(gi_sizes.count(gi)) << "compute profiles for a GI size no profile has";
      int per_slice = -1;
      for (const auto& c : cis) {
        if (c.slices == 1) per_slice = c.sm;
        if (c.is_default) {
          EXPECT_EQ(c.slices, gi);
          EXPECT_EQ(c.placements.front().start, 0);
          bool matches_gi = std::any_of(g.profiles.begin(), g.profiles.end(),
                                        [&](auto& p) { return p.slices == gi && p.sm == c.sm; });
          EXPECT_TRUE(matches_gi) << "full CI SMs match no GI of that size";
        } else {
          EXPECT_LT(c.slices, gi);
          EXPECT_EQ(c.sm, c.slices * per_slice) << c.slices << "c";
        }
      }
    }
    // No -lcipp output exists for any GPU (reference 10.1).
    EXPECT_FALSE(g.compute_profiles_verified) << g.alias;
  }
}

TEST(CatalogData, ComputePlacementsFollowTheReferenceTable) {
  struct Row {
    std::string alias;
    int gi, ci;
    Placements pl;
    int max, sm;
  };
  const std::vector<Row> kRows = {
      {"a100-40gb", 7, 3, Span({0, 4}, 4), 2, 42},
      {"a100-40gb", 7, 2, Span({0, 2, 4}, 2), 3, 28},
      {"a100-40gb", 3, 3, Span({0}, 4), 1, 42},
      {"a100-40gb", 3, 2, Span({0}, 2), 1, 28},
      {"h100-80gb", 7, 7, Span({0}, 8), 1, 132},
      {"h100-80gb", 7, 3, Span({0, 4}, 4), 2, 48},
      {"h100-80gb", 4, 2, Span({0, 2}, 2), 2, 32},
      {"a30", 4, 2, Span({0, 2}, 2), 2, 28},
      {"rtx-pro-6000", 4, 1, Span({0, 3, 6, 9}, 3), 4, 46},
      {"rtx-pro-6000", 2, 2, Span({0}, 6), 1, 94},
  };
  for (const auto& r : kRows) {
    SCOPED_TRACE(fmt::format("{} {}c in {}g", r.alias, r.ci, r.gi));
    const auto& cis = Gpu(r.alias).compute_profiles.at(r.gi);
    auto it = std::find_if(cis.begin(), cis.end(), [&](auto& c) { return c.slices == r.ci; });
    ASSERT_NE(it, cis.end());
    EXPECT_EQ(it->placements, r.pl);
    EXPECT_EQ(it->max_instances, r.max);
    EXPECT_EQ(it->sm, r.sm);
  }
  // S2 -lcip: a 4g GI offers no 3c.
  for (const auto& g : Catalog::Builtin().models()) {
    auto it = g.compute_profiles.find(4);
    if (it == g.compute_profiles.end()) continue;
    for (const auto& c : it->second) EXPECT_NE(c.slices, 3) << g.alias;
  }
}

// ---------------------------------------------------------------- provenance

TEST(CatalogData, UnverifiedFieldsAreNamedAndExplained) {
  const std::set<std::string> kGpuFields = {"memory_mib",     "sm_count",        "placement_units",
                                            "compute_slices", "engines",         "min_driver",
                                            "products",       "compute_profiles"};
  const std::set<std::string> kProfileFields = {"id",      "memory_mib",    "sm",
                                                "engines", "max_instances", "placements"};
  for (const auto& g : Catalog::Builtin().models()) {
    EXPECT_FALSE(g.source.empty()) << g.alias;
    if (!g.unverified.empty()) {
      EXPECT_FALSE(g.notes.empty()) << g.alias;
    }
    for (const auto& f : g.unverified) EXPECT_TRUE(kGpuFields.count(f)) << g.alias << ": " << f;
    // sm 0 is how the data says "unknown"; it must never pass as a fact.
    if (g.sm_count == 0) {
      EXPECT_TRUE(Flagged(g.unverified, "sm_count")) << g.alias;
    }
    EXPECT_GT(g.memory_mib, 0u) << g.alias;
    for (const auto& p : g.profiles) {
      SCOPED_TRACE(g.alias + " " + p.name);
      EXPECT_FALSE(p.source.empty());
      if (!p.unverified.empty()) {
        EXPECT_FALSE(p.notes.empty() && p.source.empty());
      }
      for (const auto& f : p.unverified) EXPECT_TRUE(kProfileFields.count(f)) << f;
      if (p.sm == 0) {
        EXPECT_TRUE(Flagged(p.unverified, "sm"));
      }
      EXPECT_GT(p.memory_mib, 0u);
      EXPECT_LE(p.memory_mib, g.memory_mib);
    }
  }
}

// Values the reference marks X/C/unverified, or that carve derived, must stay
// flagged so nobody mistakes them for captured facts. "gpu" means the GPU's
// own field; "*" means every profile of that GPU.
TEST(CatalogData, InferredValuesStayFlagged) {
  struct Row {
    std::string alias, profile, field;
  };
  const std::vector<Row> kRows = {
      {"a30", "gpu", "memory_mib"},
      {"a30", "4g.24gb", "memory_mib"},
      {"a100-40gb", "gpu", "memory_mib"},
      {"a100-40gb", "gpu", "products"},
      {"a100-80gb", "*", "memory_mib"},
      {"a100-80gb", "*", "placements"},
      {"h100-pcie", "gpu", "memory_mib"},
      {"h100-pcie", "*", "placements"},
      {"h100-nvl", "gpu", "memory_mib"},
      {"h100-nvl", "7g.94gb", "memory_mib"},
      {"h100-96gb", "gpu", "sm_count"},
      {"h100-96gb", "*", "id"},
      {"h100-96gb", "*", "sm"},
      {"h100-96gb", "*", "max_instances"},
      {"h200", "gpu", "memory_mib"},
      {"h200", "*", "memory_mib"},
      {"h200", "*", "placements"},
      {"h200-nvl", "gpu", "sm_count"},
      {"h200-nvl", "*", "id"},
      {"h200-nvl", "*", "sm"},
      {"h200-nvl", "*", "engines"},
      {"gh200", "gpu", "engines"},
      {"gh200", "*", "memory_mib"},
      {"gh200", "*", "placements"},
      {"gh200", "3g.72gb", "sm"},
      {"gh200", "7g.144gb", "id"},
      {"b200", "gpu", "memory_mib"},
      {"b200", "3g.90gb", "id"},
      {"b200", "4g.90gb", "id"},
      {"b200", "7g.180gb", "id"},
      {"gb200", "gpu", "sm_count"},
      {"gb200", "*", "memory_mib"},
      {"gb200", "*", "placements"},
      {"gb200", "3g.93gb", "sm"},
      {"gb200", "7g.186gb", "engines"},
      {"rtx-pro-6000", "*", "memory_mib"},
      {"rtx-pro-5000", "gpu", "placement_units"},
      {"rtx-pro-5000", "*", "id"},
      {"rtx-pro-5000", "*", "sm"},
      {"rtx-pro-5000", "*", "placements"},
      {"rtx-pro-4500", "gpu", "placement_units"},
      {"rtx-pro-4500", "*", "id"},
      {"rtx-pro-4500", "*", "sm"},
      {"rtx-pro-4500", "*", "placements"},
  };
  for (const auto& r : kRows) {
    const GpuModel& g = Gpu(r.alias);
    if (r.profile == "gpu") {
      EXPECT_TRUE(Flagged(g.unverified, r.field)) << r.alias << " " << r.field;
      continue;
    }
    for (const auto& p : g.profiles) {
      if (r.profile != "*" && p.name != r.profile) continue;
      EXPECT_TRUE(Flagged(p.unverified, r.field)) << r.alias << " " << p.name << " " << r.field;
    }
  }
}

TEST(CatalogData, OnlyTheFullyCapturedGpuIsFullyVerified) {
  // h100-80gb has MiB-exact memory, -lgipp placements and a sourced device
  // total; every other model carries at least one inferred value.
  for (const auto& g : Catalog::Builtin().models()) {
    bool all = g.verified();
    for (const auto& p : g.profiles) all = all && p.verified();
    EXPECT_EQ(all, g.alias == "h100-80gb") << g.alias;
  }
}

}  // namespace
}  // namespace carve::mig
