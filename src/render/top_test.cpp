#include "render/top.h"

#include <gtest/gtest.h>

#include "render/table.h"

namespace carve::render {
namespace {

using Json = nlohmann::ordered_json;

// A carve up status as it writes it: an H100 (utilisation per slice), an A100
// (none: Ampere), a whole GPU with MIG off, and the per-model traffic section.
const char* kStatus = R"({
  "version": "v1", "pid": 4242, "spec": "/srv/carve.yaml", "state_dir": "/run/carve",
  "gateway": {"listen": "127.0.0.1:8000", "url": "http://127.0.0.1:8000"},
  "replicas": [
    {"id": "chat/0", "model": "chat", "gpu": 0, "state": "ready", "requests": 40,
     "requests_per_s": 4.0, "errors": 0},
    {"id": "chat/1", "model": "chat", "gpu": 0, "state": "ready", "requests": 40,
     "requests_per_s": 3.5, "errors": 0},
    {"id": "coder/0", "model": "coder", "gpu": 1, "state": "ready", "requests": 2,
     "requests_per_s": 0.5, "errors": 3},
    {"id": "embed/0", "model": "embed", "gpu": 2, "state": "starting", "requests": 0,
     "requests_per_s": 0.0, "errors": 0}],
  "reload_error": "",
  "gpus": [
    {"index": 0, "uuid": "GPU-7716da39-cba2-75b2-f234-186bc19530c2", "name": "NVIDIA H100 80GB HBM3",
     "model": "h100-80gb", "placement_units": 8, "mig": true,
     "memory": {"used_bytes": 19327352832, "total_bytes": 85520809984}},
    {"index": 1, "uuid": "GPU-1b9730bf-3fc5-de36-a345-97410b5fbe98", "name": "NVIDIA A100-SXM4-80GB",
     "model": "a100-80gb", "placement_units": 8, "mig": true,
     "memory": {"used_bytes": 32212254720, "total_bytes": 85899345920}},
    {"index": 2, "uuid": "GPU-0000aaaa-0000-0000-0000-00000000beef", "name": "NVIDIA L4",
     "model": "l4", "placement_units": 0, "mig": false,
     "memory": {"used_bytes": 1073741824, "total_bytes": 24159191040}}],
  "slices": [
    {"gpu": 0, "gi": 9, "profile": "1g.10gb", "start": 2, "size": 1,
     "mig_uuid": "MIG-435eb231-96e4-7bda-b53a-f55398604381", "placement": "2:1",
     "memory": {"used_bytes": 9663676416, "total_bytes": 10200547328},
     "utilisation": {"sm": 0.42, "memory_bandwidth": 0.1, "tensor": 0.05},
     "processes": [], "replicas": ["chat/0"], "models": ["chat"]},
    {"gpu": 0, "gi": 10, "profile": "1g.10gb", "start": 3, "size": 1,
     "mig_uuid": "MIG-8ea5269b-74de-e2bc-aa18-e122c9eeb6ba", "placement": "3:1",
     "memory": {"used_bytes": 9663676416, "total_bytes": 10200547328},
     "utilisation": {"sm": 0.0, "memory_bandwidth": 0.0, "tensor": 0.0},
     "processes": [], "replicas": ["chat/1"], "models": ["chat"]},
    {"gpu": 1, "gi": 1, "profile": "4g.40gb", "start": 0, "size": 4,
     "mig_uuid": "MIG-e880a903-bcff-6547-7478-13be66bc5bf9", "placement": "0:4",
     "memory": {"used_bytes": 32212254720, "total_bytes": 42144366592},
     "utilisation": null,
     "utilisation_unavailable": "NVML gives no utilisation per MIG slice on Ampere (NVIDIA A100-SXM4-80GB; its GPM metrics need Hopper or later); DCGM's profiling metrics give it",
     "processes": [{"pid": 7, "name": "echo", "memory_bytes": 1}], "replicas": ["coder/0"],
     "models": ["coder"]},
    {"gpu": 2, "gi": null, "profile": "whole", "start": 0, "size": 0, "mig_uuid": "",
     "placement": "0:0", "memory": {"used_bytes": 1073741824, "total_bytes": 24159191040},
     "utilisation": null, "utilisation_unavailable": "not measured yet",
     "processes": [], "replicas": ["embed/0"], "models": ["embed"]}],
  "fits": {"1g.10gb": 9, "3g.40gb": 1},
  "stranded_units": {"0": 0, "1": 1},
  "models": [
    {"model": "chat", "replicas": 2, "ready": 2, "requests": 80, "errors": 0,
     "requests_per_s": 7.5, "tokens_per_s": 60.0, "errors_per_s": 0.0,
     "latency_ms": {"p50": 1.2, "p99": 4.5}, "ttft_ms": {"p50": 0.9, "p99": 3.0},
     "in_flight": 1, "queued": 0},
    {"model": "coder", "replicas": 1, "ready": 1, "requests": 2, "errors": 3,
     "requests_per_s": 0.5, "tokens_per_s": 4.0, "errors_per_s": 0.3,
     "latency_ms": {"p50": 80.0, "p99": 250.0}, "ttft_ms": null, "in_flight": 0, "queued": 2},
    {"model": "embed", "replicas": 1, "ready": 0, "requests": 0, "errors": 0,
     "requests_per_s": 0.0, "tokens_per_s": 0.0, "errors_per_s": 0.0,
     "latency_ms": null, "ttft_ms": null, "in_flight": 0, "queued": 0}],
  "traffic_window_s": 10
})";

Json Status() { return Json::parse(kStatus); }

std::string Render(const Json& st, TopView::Pane pane, int width = 200, int height = 60,
                   TopView::Sort sort = TopView::Sort::kName) {
  TopView v;
  v.pane = pane;
  v.sort = sort;
  return RenderTop(st, v, width, height, Style(false));
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  for (size_t at = 0, nl; (nl = text.find('\n', at)) != std::string::npos; at = nl + 1)
    out.push_back(text.substr(at, nl - at));
  return out;
}

const TopView::Pane kPanes[] = {TopView::Pane::kGpus, TopView::Pane::kSlices,
                                TopView::Pane::kModels};

TEST(Top, GpusPaneDrawsEveryGpuAndSliceWithItsBars) {
  std::string s = Render(Status(), TopView::Pane::kGpus);
  for (const char* want :
       {"GPU 0", "GPU 1", "GPU 2", "2:1", "3:1", "0:4", "1g.10gb", "4g.40gb", "whole GPU",
        "MIG-435e", "placement units", "stranded 1", "n/a (Ampere: DCGM)", "SM [███·····]  42 %",
        "9.0/9.5 GiB", "still fits (all GPUs): 1g.10gb ×9  3g.40gb ×1"})
    EXPECT_NE(s.find(want), std::string::npos) << want << "\n" << s;
  // The layout picture labels each slice with its model.
  EXPECT_NE(s.find("│ coder"), std::string::npos) << s;
  Json full = Status();
  full["fits"] = {{"1g.10gb", 0}, {"7g.80gb", 0}};
  std::string none = Render(full, TopView::Pane::kGpus);
  EXPECT_NE(none.find("still fits (all GPUs): no more slices"), std::string::npos) << none;
}

TEST(Top, SlicesPaneListsEverySliceWithFullUuidsWhenThereIsRoom) {
  Json st = Status();
  std::string wide = Render(st, TopView::Pane::kSlices, 220);
  for (const auto& slice : st["slices"]) {
    if (!slice["gi"].is_null()) {
      EXPECT_NE(wide.find(slice["placement"].get<std::string>()), std::string::npos);
      EXPECT_NE(wide.find(slice["mig_uuid"].get<std::string>()), std::string::npos) << wide;
    }
  }
  for (const char* want : {"42 %", "n/a", "starting", "whole GPU", "n/a: NVML gives no"})
    EXPECT_NE(wide.find(want), std::string::npos) << want << "\n" << wide;
  std::string narrow = Render(st, TopView::Pane::kSlices, 100);
  EXPECT_NE(narrow.find("MIG-e880…f9"), std::string::npos) << narrow;
}

TEST(Top, ModelsPaneShowsTrafficPerModel) {
  std::string s = Render(Status(), TopView::Pane::kModels);
  for (const char* want : {"chat", "coder", "embed", "2/2", "0/1", "7.5", "60.0", "250",
                           "GPU0 1g.10gb@2, GPU0 1g.10gb@3", "over the last 10 s"})
    EXPECT_NE(s.find(want), std::string::npos) << want << "\n" << s;
}

TEST(Top, ModelsPaneWithoutTheTrafficSectionSumsTheReplicas) {
  Json st = Status();
  st.erase("models");
  std::string s = Render(st, TopView::Pane::kModels);
  auto lines = Lines(s);
  auto chat = std::find_if(lines.begin(), lines.end(),
                           [](const std::string& l) { return l.rfind("chat ", 0) == 0; });
  ASSERT_NE(chat, lines.end()) << s;
  EXPECT_NE(chat->find("2/2"), std::string::npos) << *chat;
  EXPECT_NE(chat->find("7.5"), std::string::npos) << *chat;
  EXPECT_NE(chat->find(" - "), std::string::npos) << *chat;  // no latency
  EXPECT_NE(s.find("per replica counts only"), std::string::npos) << s;
}

TEST(Top, SortKeyReordersTheModels) {
  Json st = Status();
  auto order = [&](TopView::Sort sort) {
    std::string s = Render(st, TopView::Pane::kModels, 200, 60, sort);
    std::string out;
    for (const auto& l : Lines(s))
      for (const char* m : {"chat", "coder", "embed"})
        if (l.rfind(std::string(m) + " ", 0) == 0) out += std::string(m) + " ";
    return out;
  };
  EXPECT_EQ(order(TopView::Sort::kName), "chat coder embed ");
  EXPECT_EQ(order(TopView::Sort::kRequests), "chat coder embed ");
  EXPECT_EQ(order(TopView::Sort::kP99), "coder chat embed ");  // embed has no p99: last
  EXPECT_EQ(order(TopView::Sort::kErrors), "coder chat embed ");
}

TEST(Top, KeysSwitchPanesCycleSortAndGpus) {
  Json st = Status();
  TopView v;
  EXPECT_TRUE(ApplyTopKey('m', st, v));
  EXPECT_EQ(v.pane, TopView::Pane::kModels);
  EXPECT_TRUE(ApplyTopKey('s', st, v));
  EXPECT_EQ(v.pane, TopView::Pane::kSlices);
  EXPECT_TRUE(ApplyTopKey('o', st, v));
  EXPECT_EQ(v.sort, TopView::Sort::kRequests);
  std::vector<int> gpus;
  for (int i = 0; i < 4; ++i) ApplyTopKey('\t', st, v), gpus.push_back(v.gpu);
  EXPECT_EQ(gpus, (std::vector<int>{0, 1, 2, -1}));
  v.gpu = 1;
  std::string one = RenderTop(st, v, 200, 60, Style(false));
  EXPECT_NE(one.find("0:4"), std::string::npos);
  EXPECT_EQ(one.find("MIG-435e"), std::string::npos) << one;
  EXPECT_FALSE(ApplyTopKey('q', st, v));
}

TEST(Top, LinesNeverExceedTheScreen) {
  for (auto pane : kPanes)
    for (auto [w, h] : {std::pair{80, 24}, {40, 10}, {200, 60}, {1, 1}, {20, 3}}) {
      std::string s = Render(Status(), pane, w, h);
      auto lines = Lines(s);
      EXPECT_LE(static_cast<int>(lines.size()), h) << w << "x" << h << "\n" << s;
      for (const auto& l : lines) EXPECT_LE(static_cast<int>(DisplayWidth(l)), w) << l;
    }
  std::string cut = Render(Status(), TopView::Pane::kGpus, 80, 10);
  EXPECT_NE(cut.find("more lines"), std::string::npos) << cut;
}

TEST(Top, ColourOnlyWhenAsked) {
  EXPECT_EQ(DisplayWidth(Style(true).Red("ab") + "c"), 3u);  // colour takes no column
  TopView v;
  for (auto pane : kPanes) {
    v.pane = pane;
    EXPECT_EQ(RenderTop(Status(), v, 120, 40, Style(false)).find('\033'), std::string::npos);
    std::string coloured = RenderTop(Status(), v, 60, 40, Style(true));
    EXPECT_NE(coloured.find('\033'), std::string::npos);
    for (const auto& l : Lines(coloured)) EXPECT_LE(DisplayWidth(l), 60u) << l;
  }
}

TEST(Top, HeaderNamesTheSource) {
  std::string up = Render(Status(), TopView::Pane::kGpus);
  EXPECT_NE(up.find("carve up pid 4242 · /srv/carve.yaml · http://127.0.0.1:8000"),
            std::string::npos)
      << up;
  EXPECT_NE(up.find("[g GPUs]"), std::string::npos) << up;
  Json machine = Status();
  for (const char* key : {"pid", "spec", "gateway", "replicas", "models"}) machine.erase(key);
  machine["state_dir"] = "/run/carve";
  std::string m = Render(machine, TopView::Pane::kModels);
  EXPECT_NE(m.find("no carve up in /run/carve: the machine only"), std::string::npos) << m;
  EXPECT_NE(m.find("[m models]"), std::string::npos) << m;
}

// Issue #17.3: fields of another type (or none) read as absent, never throw.
TEST(Top, OddStatusesRenderWithoutThrowing) {
  for (const char* text :
       {"{}", "[]", "null", R"({"pid": "x", "gpus": {}, "slices": [1, null], "models": [3]})",
        R"({"pid": 1, "slices": [{"gpu": 0, "memory": {"used_bytes": "a"}, "models": [1]}],
            "gpus": [{"index": 0, "mig": true, "placement_units": -4}], "fits": [],
            "models": [{"model": 5, "latency_ms": 3}]})"})
    for (auto pane : kPanes) EXPECT_NO_THROW(Render(Json::parse(text), pane, 80, 24)) << text;
}

}  // namespace
}  // namespace carve::render
