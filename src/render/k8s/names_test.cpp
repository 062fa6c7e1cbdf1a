// The device plugin's resource names (mixed strategy), for every profile in
// the catalogue: the table is the device plugin's rule written out by hand
// ("+" becomes "."; "-me" stays), so a new catalogue profile needs a row.
#include <gtest/gtest.h>

#include <map>
#include <regex>

#include "mig/catalog.h"
#include "render/k8s/cluster.h"
#include "render/k8s/yaml_out.h"

namespace carve::render::k8s {
namespace {

const std::map<std::string, std::string> kDevicePluginNames = {
    {"1g.10gb", "nvidia.com/mig-1g.10gb"},
    {"1g.10gb+me", "nvidia.com/mig-1g.10gb.me"},
    {"1g.12gb", "nvidia.com/mig-1g.12gb"},
    {"1g.12gb+me", "nvidia.com/mig-1g.12gb.me"},
    {"1g.16gb", "nvidia.com/mig-1g.16gb"},
    {"1g.16gb+gfx", "nvidia.com/mig-1g.16gb.gfx"},
    {"1g.16gb+me.all", "nvidia.com/mig-1g.16gb.me.all"},
    {"1g.16gb-me", "nvidia.com/mig-1g.16gb-me"},
    {"1g.18gb", "nvidia.com/mig-1g.18gb"},
    {"1g.18gb+me", "nvidia.com/mig-1g.18gb.me"},
    {"1g.20gb", "nvidia.com/mig-1g.20gb"},
    {"1g.23gb", "nvidia.com/mig-1g.23gb"},
    {"1g.23gb+me", "nvidia.com/mig-1g.23gb.me"},
    {"1g.24gb", "nvidia.com/mig-1g.24gb"},
    {"1g.24gb+gfx", "nvidia.com/mig-1g.24gb.gfx"},
    {"1g.24gb+me", "nvidia.com/mig-1g.24gb.me"},
    {"1g.24gb+me.all", "nvidia.com/mig-1g.24gb.me.all"},
    {"1g.24gb-me", "nvidia.com/mig-1g.24gb-me"},
    {"1g.34gb", "nvidia.com/mig-1g.34gb"},
    {"1g.34gb+me", "nvidia.com/mig-1g.34gb.me"},
    {"1g.35gb", "nvidia.com/mig-1g.35gb"},
    {"1g.35gb+me", "nvidia.com/mig-1g.35gb.me"},
    {"1g.36gb", "nvidia.com/mig-1g.36gb"},
    {"1g.45gb", "nvidia.com/mig-1g.45gb"},
    {"1g.47gb", "nvidia.com/mig-1g.47gb"},
    {"1g.5gb", "nvidia.com/mig-1g.5gb"},
    {"1g.5gb+me", "nvidia.com/mig-1g.5gb.me"},
    {"1g.67gb", "nvidia.com/mig-1g.67gb"},
    {"1g.6gb", "nvidia.com/mig-1g.6gb"},
    {"1g.6gb+me", "nvidia.com/mig-1g.6gb.me"},
    {"1g.70gb", "nvidia.com/mig-1g.70gb"},
    {"2g.10gb", "nvidia.com/mig-2g.10gb"},
    {"2g.12gb", "nvidia.com/mig-2g.12gb"},
    {"2g.12gb+me", "nvidia.com/mig-2g.12gb.me"},
    {"2g.20gb", "nvidia.com/mig-2g.20gb"},
    {"2g.24gb", "nvidia.com/mig-2g.24gb"},
    {"2g.32gb", "nvidia.com/mig-2g.32gb"},
    {"2g.32gb+gfx", "nvidia.com/mig-2g.32gb.gfx"},
    {"2g.35gb", "nvidia.com/mig-2g.35gb"},
    {"2g.36gb", "nvidia.com/mig-2g.36gb"},
    {"2g.45gb", "nvidia.com/mig-2g.45gb"},
    {"2g.47gb", "nvidia.com/mig-2g.47gb"},
    {"2g.48gb", "nvidia.com/mig-2g.48gb"},
    {"2g.48gb+gfx", "nvidia.com/mig-2g.48gb.gfx"},
    {"2g.48gb+me.all", "nvidia.com/mig-2g.48gb.me.all"},
    {"2g.48gb-me", "nvidia.com/mig-2g.48gb-me"},
    {"2g.67gb", "nvidia.com/mig-2g.67gb"},
    {"2g.70gb", "nvidia.com/mig-2g.70gb"},
    {"3g.135gb", "nvidia.com/mig-3g.135gb"},
    {"3g.139gb", "nvidia.com/mig-3g.139gb"},
    {"3g.20gb", "nvidia.com/mig-3g.20gb"},
    {"3g.40gb", "nvidia.com/mig-3g.40gb"},
    {"3g.47gb", "nvidia.com/mig-3g.47gb"},
    {"3g.48gb", "nvidia.com/mig-3g.48gb"},
    {"3g.71gb", "nvidia.com/mig-3g.71gb"},
    {"3g.72gb", "nvidia.com/mig-3g.72gb"},
    {"3g.90gb", "nvidia.com/mig-3g.90gb"},
    {"3g.93gb", "nvidia.com/mig-3g.93gb"},
    {"4g.135gb", "nvidia.com/mig-4g.135gb"},
    {"4g.139gb", "nvidia.com/mig-4g.139gb"},
    {"4g.20gb", "nvidia.com/mig-4g.20gb"},
    {"4g.24gb", "nvidia.com/mig-4g.24gb"},
    {"4g.40gb", "nvidia.com/mig-4g.40gb"},
    {"4g.47gb", "nvidia.com/mig-4g.47gb"},
    {"4g.48gb", "nvidia.com/mig-4g.48gb"},
    {"4g.71gb", "nvidia.com/mig-4g.71gb"},
    {"4g.72gb", "nvidia.com/mig-4g.72gb"},
    {"4g.90gb", "nvidia.com/mig-4g.90gb"},
    {"4g.93gb", "nvidia.com/mig-4g.93gb"},
    {"4g.96gb", "nvidia.com/mig-4g.96gb"},
    {"4g.96gb+gfx", "nvidia.com/mig-4g.96gb.gfx"},
    {"7g.141gb", "nvidia.com/mig-7g.141gb"},
    {"7g.144gb", "nvidia.com/mig-7g.144gb"},
    {"7g.180gb", "nvidia.com/mig-7g.180gb"},
    {"7g.186gb", "nvidia.com/mig-7g.186gb"},
    {"7g.269gb", "nvidia.com/mig-7g.269gb"},
    {"7g.278gb", "nvidia.com/mig-7g.278gb"},
    {"7g.40gb", "nvidia.com/mig-7g.40gb"},
    {"7g.80gb", "nvidia.com/mig-7g.80gb"},
    {"7g.94gb", "nvidia.com/mig-7g.94gb"},
    {"7g.96gb", "nvidia.com/mig-7g.96gb"},
};

TEST(K8sNames, EveryCatalogueProfileHasTheDevicePluginsName) {
  // An extended resource: a qualified name, the part after '/' at most 63
  // characters of [A-Za-z0-9-_.], starting and ending alphanumeric.
  std::regex qualified("nvidia\\.com/[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?");
  int checked = 0;
  for (const auto& model : mig::Catalog::Builtin().models())
    for (const auto& p : model.profiles) {
      auto it = kDevicePluginNames.find(p.name);
      ASSERT_NE(it, kDevicePluginNames.end()) << model.alias << " " << p.name << ": add a row";
      EXPECT_EQ(MigResourceName(p.name), it->second) << model.alias;
      EXPECT_TRUE(std::regex_match(MigResourceName(p.name), qualified)) << p.name;
      ++checked;
    }
  EXPECT_GT(checked, 60);
}

TEST(K8sNames, SuffixVariants) {
  EXPECT_EQ(MigResourceName("1g.10gb+me"), "nvidia.com/mig-1g.10gb.me");
  EXPECT_EQ(MigResourceName("1g.24gb+me.all"), "nvidia.com/mig-1g.24gb.me.all");
  EXPECT_EQ(MigResourceName("1g.24gb-me"), "nvidia.com/mig-1g.24gb-me");
  EXPECT_EQ(MigResourceName("4g.96gb+gfx"), "nvidia.com/mig-4g.96gb.gfx");
  EXPECT_EQ(MigResourceName("3g.40gb"), "nvidia.com/mig-3g.40gb");
}

TEST(K8sNames, DnsLabels) {
  EXPECT_EQ(DnsLabel("Llama-3.1_8B"), "llama-3-1-8b");
  EXPECT_EQ(DnsLabel("--a--b--"), "a-b");
  std::string longer(100, 'a');
  EXPECT_EQ(DnsLabel(longer).size(), 63u);
  EXPECT_NE(DnsLabel(longer), DnsLabel(longer + "b"));
}

TEST(K8sYaml, QuotesWhatReadersWouldMistake) {
  EXPECT_EQ(YamlScalar("true"), "\"true\"");
  EXPECT_EQ(YamlScalar("8000"), "\"8000\"");
  EXPECT_EQ(YamlScalar("0x233010DE"), "\"0x233010DE\"");
  EXPECT_EQ(YamlScalar("1:20"), "\"1:20\"");
  EXPECT_EQ(YamlScalar("null"), "\"null\"");
  EXPECT_EQ(YamlScalar(""), "\"\"");
  EXPECT_EQ(YamlScalar("a: b"), "\"a: b\"");
  EXPECT_EQ(YamlScalar("1g.10gb"), "1g.10gb");
  EXPECT_EQ(YamlScalar("nvidia.com/mig-1g.10gb"), "nvidia.com/mig-1g.10gb");
}

TEST(K8sYaml, BlocksAndLists) {
  Json j{{"a", Json::array({1, "x"})},
         {"b", {{"c", "line1\nline2\n"}}},
         {"d", Json::array({Json{{"e", 1}, {"f", 2}}})},
         {"g", Json::object()}};
  EXPECT_EQ(ToYaml(j),
            "a:\n  - 1\n  - x\nb:\n  c: |\n    line1\n    line2\nd:\n  - e: 1\n    f: 2\ng: {}\n");
}

}  // namespace
}  // namespace carve::render::k8s
