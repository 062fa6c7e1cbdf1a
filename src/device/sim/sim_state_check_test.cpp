// Issue #12.3: state files of the wrong shape aborted carve (and any program
// using the NVML drop-in); a negative start crashed apply and overflowed the
// heap in read-only verbs. Every broken invariant is now refused at load.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "device/sim/sim_machine.h"
#include "device/sim/sim_state.h"

namespace carve::device::sim {
namespace {

// A valid H100 state with MIG on, a 3g.40gb@4 (GI 2) holding its full CI and
// a 1g.10gb@0, and a process on the 3g; `edit` then breaks it.
std::string StateWith(const std::function<void(nlohmann::json&)>& edit) {
  auto s = NewState({mig::Catalog::Builtin().Find("h100-80gb")}, /*mig_on=*/true, 7);
  EXPECT_TRUE(s.ok());
  nlohmann::json j = nlohmann::json::parse(FormatState(*s));
  j["gpus"][0]["gpu_instances"] = nlohmann::json::parse(R"([
      {"id": 2, "profile_id": 9, "start": 4, "cis": [{"id": 0, "profile_id": 2, "start": 0, "uuid": "MIG-a"}]},
      {"id": 13, "profile_id": 19, "start": 0, "cis": []}])");
  j["gpus"][0]["processes"] = nlohmann::json::parse(
      R"([{"pid": 42, "name": "vllm", "memory_mib": 100, "gi": 2, "ci": 0, "track": false}])");
  edit(j);
  return j.dump();
}

TEST(SimStateCheck, AValidStateLoads) {
  auto s = ParseState(StateWith([](nlohmann::json&) {}), "state.json");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->gpus[0].gis.size(), 2u);
}

TEST(SimStateCheck, ANameThatIsNotUtf8IsWrittenNotThrown) {
  auto s = NewState({mig::Catalog::Builtin().Find("h100-80gb")}, /*mig_on=*/false, 3);
  ASSERT_TRUE(s.ok());
  s->gpus[0].processes.push_back({42, "bad\xff\xfename", 1, -1, -1, false});
  auto back = ParseState(FormatState(*s), "state.json");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->gpus[0].processes[0].pid, 42u);
}

TEST(SimStateCheck, GpusWithoutMigLoadBesideMigOnes) {
  auto s = NewState({mig::Catalog::Builtin().Find("h100-80gb"), mig::Catalog::Builtin().Find("l4")},
                    /*mig_on=*/true, 3);
  ASSERT_TRUE(s.ok());
  auto back = ParseState(FormatState(*s), "state.json");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->gpus.size(), 2u);
}

TEST(SimStateCheck, JsonOfTheWrongShapeIsRefusedNotThrown) {
  for (std::string text :
       {"[]", "\"x\"", "42", "null", R"({"schema":1})", R"({"schema":"x"})",
        R"({"schema":"carve-sim/v1"})", R"({"schema":"carve-sim/v1","gpus":7})",
        R"({"version":"v2"})", R"({"version":1})", R"({"version":"v1","gpus":7})"}) {
    auto s = ParseState(text, "state.json");
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_NE(s.status().message().find("state.json"), std::string::npos) << s.status().ToString();
  }
}

// Issue #14.2: written with the one version spelling; a state file an earlier
// carve wrote ("schema": "carve-sim/v1") still loads.
TEST(SimStateCheck, ReadsItsVersionAndTheOldSpelling) {
  auto s = NewState({mig::Catalog::Builtin().Find("a30")}, true, 9);
  ASSERT_TRUE(s.ok());
  std::string text = FormatState(*s);
  EXPECT_NE(text.find("\"version\": \"v1\""), std::string::npos) << text;
  std::string old = text;
  old.replace(old.find("\"version\": \"v1\""), 15, "\"schema\": \"carve-sim/v1\"");
  auto back = ParseState(old, "state.json");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->gpus.size(), 1u);
  auto bad = ParseState(R"({"version":"v9"})", "state.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("version \"v9\", expected \"v1\""), std::string::npos)
      << bad.status().message();
}

// Issue #13.10: the settings carve doctor checks live in the state file;
// files written before them load with the defaults.
TEST(SimStateCheck, DoctorSettingsRoundTripAndOlderFilesGetDefaults) {
  auto s = NewState({mig::Catalog::Builtin().Find("rtx-pro-6000")}, false, 5);
  ASSERT_TRUE(s.ok());
  auto& g = s->gpus[0];
  g.pci_device_id = 0x2BB110DE;
  g.display_mode = true;
  g.ecc = {true, false};
  g.persistence_mode = false;
  g.mig_timeslicing = false;
  auto back = ParseState(FormatState(*s), "state.json");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  const SimGpu& b = back->gpus[0];
  EXPECT_EQ(b.pci_device_id, 0x2BB110DEu);
  EXPECT_TRUE(b.display_mode);
  EXPECT_EQ(b.ecc, (EccMode{true, false}));
  EXPECT_FALSE(b.persistence_mode);
  EXPECT_EQ(b.mig_timeslicing, std::optional<bool>(false));
  auto old = StateWith([](nlohmann::json& j) {
    for (const char* key : {"pci_device_id", "display_mode", "ecc", "mig_timeslicing"})
      j["gpus"][0].erase(key);
  });
  back = ParseState(old, "state.json");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->gpus[0].pci_device_id, 0x233010DEu);
  EXPECT_EQ(back->gpus[0].ecc, EccMode{});
  EXPECT_EQ(back->gpus[0].mig_timeslicing, std::nullopt);
}

struct Broken {
  const char* what;
  std::function<void(nlohmann::json&)> edit;
  const char* says;
};

TEST(SimStateCheck, EveryBrokenInvariantIsRefusedWithWhereAndWhat) {
  auto gi = [](nlohmann::json& j, int i) -> nlohmann::json& {
    return j["gpus"][0]["gpu_instances"][i];
  };
  std::vector<Broken> cases = {
      {"negative start", [&](auto& j) { gi(j, 1)["start"] = -3; }, "GPU instance 13: start -3"},
      {"start past the GPU", [&](auto& j) { gi(j, 1)["start"] = 9; }, "start 9"},
      {"illegal start", [&](auto& j) { gi(j, 0)["start"] = 2; }, "start 2"},
      {"overlap", [&](auto& j) { gi(j, 1)["start"] = 5; }, "GPU 0"},
      {"duplicate GI id", [&](auto& j) { gi(j, 1)["id"] = 2; }, "used twice"},
      {"negative GI id", [&](auto& j) { gi(j, 1)["id"] = -1; }, "negative"},
      {"unknown profile", [&](auto& j) { gi(j, 1)["profile_id"] = 77; }, "profile id 77"},
      {"MIG off with GIs", [&](auto& j) { j["gpus"][0]["mig"]["current"] = false; }, "MIG is off"},
      {"unknown GPU model", [&](auto& j) { j["gpus"][0]["model"] = "h999"; }, "'h999'"},
      {"CI outside its GI", [&](auto& j) { gi(j, 0)["cis"][0]["start"] = 5; },
       "compute instance 0"},
      {"unknown CI profile", [&](auto& j) { gi(j, 0)["cis"][0]["profile_id"] = 8; },
       "compute profile id 8"},
      {"overlapping CIs",
       [&](auto& j) {
         gi(j, 0)["cis"].push_back({{"id", 1}, {"profile_id", 0}, {"start", 1}, {"uuid", "MIG-b"}});
       },
       "overlaps"},
      {"duplicate CI id",
       [&](auto& j) {
         gi(j, 1)["cis"] = nlohmann::json::parse(
             R"([{"id":0,"profile_id":0,"start":0,"uuid":"m"},{"id":0,"profile_id":0,"start":0,"uuid":"n"}])");
       },
       "used twice"},
      {"process on a missing CI", [&](auto& j) { j["gpus"][0]["processes"][0]["ci"] = 3; },
       "process 42"},
      {"negative fault delay", [&](auto& j) { j["faults"]["delay_ms"] = -1; }, "delay_ms"},
      {"zero boots", [&](auto& j) { j["boots"] = 0; }, "boots"},
      {"a pid kill(2) reads as -1",
       [&](auto& j) { j["gpus"][0]["processes"][0]["pid"] = 4294967295u; }, "out of range"},
      {"pid 0", [&](auto& j) { j["gpus"][0]["processes"][0]["pid"] = 0; }, "out of range"},
      {"a start too large for an int", [&](auto& j) { gi(j, 1)["start"] = 1e49; }, "'start'"},
      {"an id past 2^32", [&](auto& j) { gi(j, 1)["id"] = 4294967298ull; }, "'id'"},
      {"a process larger than the GPU",
       [&](auto& j) { j["gpus"][0]["processes"][0]["memory_mib"] = 1ull << 40; },
       "more than the GPU has"},
      {"a product of another model", [&](auto& j) { j["gpus"][0]["pci_device_id"] = "0x2BB110DE"; },
       "0x2BB110DE is not a h100-80gb"},
      {"a PCI id that is not one", [&](auto& j) { j["gpus"][0]["pci_device_id"] = "2330"; },
       "pci_device_id"},
      {"display mode on a card without one", [&](auto& j) { j["gpus"][0]["display_mode"] = true; },
       "has no display mode"},
      {"a driver version that is not one", [&](auto& j) { j["driver_version"] = "r580"; },
       "'r580'"},
      {"two GPUs, one UUID", [&](auto& j) { j["gpus"].push_back(j["gpus"][0]); }, "UUID"},
  };
  for (const auto& c : cases) {
    auto s = ParseState(StateWith(c.edit), "state.json");
    ASSERT_FALSE(s.ok()) << c.what;
    EXPECT_NE(s.status().message().find(c.says), std::string::npos)
        << c.what << ": " << s.status().ToString();
    EXPECT_NE(s.status().message().find("state.json"), std::string::npos) << c.what;
  }
}

}  // namespace
}  // namespace carve::device::sim
