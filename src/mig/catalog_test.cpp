#include "mig/catalog.h"

#include <gtest/gtest.h>

namespace carve::mig {
namespace {

TEST(Catalog, BuiltinLoadsAndFindsByAliasProductAndPciId) {
  const Catalog& cat = Catalog::Builtin();
  const GpuModel* h100 = cat.Find("h100-80gb");
  ASSERT_NE(h100, nullptr);
  EXPECT_EQ(cat.Find("NVIDIA H100 80GB HBM3"), h100);
  EXPECT_EQ(cat.Find("h100 80gb hbm3"), h100);
  EXPECT_EQ(cat.Find("0x233010DE"), h100);
  EXPECT_EQ(cat.FindByPciId(0x233010DE), h100);
  EXPECT_EQ(cat.Find("no-such-gpu"), nullptr);
  EXPECT_FALSE(cat.Lookup("no-such-gpu").ok());
}

TEST(Catalog, RejectsUnknownKeysWithTheirPlace) {
  auto r = Catalog::Parse({{"bad.json",
                            R"({"schema":"carve-catalog/v1","family":"x","gpus":[
                               {"alias":"g","name":"G","architecture":"ada","mig":false,
                                "products":[{"name":"G","pci_device_id":"0x00000000"}],
                                "memory_mib":1,"sm_count":1,"source":"s","colour":"red"}]})"}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("bad.json: gpu g has unknown key 'colour'"),
            std::string::npos)
      << r.status().message();
}

TEST(Catalog, RejectsUnknownVersionsAndReadsTheOldSpelling) {
  auto r = Catalog::Parse({{"v2.json", R"({"version":"v2","family":"x","gpus":[]})"}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("has version 'v2'"), std::string::npos);
  r = Catalog::Parse({{"v2.json", R"({"schema":"carve-catalog/v2","family":"x","gpus":[]})"}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("carve-catalog/v2"), std::string::npos);
  r = Catalog::Parse({{"none.json", R"({"family":"x","gpus":[]})"}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("none.json lacks \"version\": \"v1\""), std::string::npos)
      << r.status().message();
  EXPECT_TRUE(Catalog::Parse({{"v1.json", R"({"version":"v1","family":"x","gpus":[]})"}}).ok());
  EXPECT_TRUE(
      Catalog::Parse({{"old.json", R"({"schema":"carve-catalog/v1","family":"x","gpus":[]})"}})
          .ok());
}

}  // namespace
}  // namespace carve::mig
