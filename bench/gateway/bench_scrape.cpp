// The cost of one /metrics scrape with many models and keys: 100 models (one
// replica each, every label filled), 50 API keys, every key having used every
// model (200s and 429s) and met one gateway error per model: 10,000 request
// series and 5,000 error series, plus per-slice lines as `carve up` appends
// them. Prints the median and worst render time against the 10 ms budget
// (docs/observe.md). Usage:
//   ninja -C build bench_scrape && build/bench/bench_scrape [--models 100] [--keys 50]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "gateway/exposition.h"
#include "gateway/keyed_counts.h"

using namespace carve::gateway;

int main(int argc, char** argv) {
  int models = 100, keys = 50, rounds = 50;  // rounds >= 2
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--models")) models = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--keys")) keys = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
  }
  std::vector<std::pair<Backend, Endpoint>> backends;
  std::string slices;  // what carve up appends: five slice series per replica
  for (int m = 0; m < models; ++m) {
    std::string url = fmt::format("http://127.0.0.1:{}", 20000 + m);
    Backend b{fmt::format("model-{}", m),
              url,
              std::to_string(m / 7),
              "",
              fmt::format("GPU-{:08}", m / 7),
              "1g.10gb",
              fmt::format("{}:1", m % 7),
              fmt::format("MIG-{:032}", m),
              "vllm"};
    backends.emplace_back(b, *ParseUrl(url));
    std::string labels = JoinLabels(BackendLabels(b));
    for (const char* f : {"carve_slice_memory_used_bytes", "carve_slice_memory_total_bytes",
                          "carve_slice_sm_active_ratio", "carve_slice_memory_bandwidth_ratio",
                          "carve_slice_tensor_active_ratio"})
      slices += fmt::format("{}{{{}}} 0.25\n", f, labels);
  }
  std::vector<ApiKey> key_list;
  for (int k = 0; k < keys; ++k)
    key_list.push_back({fmt::format("team-{}", k), std::string(64, 'a'), {"*"}});
  KeyRing ring(key_list);
  Router router;
  router.Update(backends, {}, Limits{});
  for (const auto& pool : router.Pools())
    for (const auto& key : ring.keys()) {
      auto r = pool->replicas().front();
      r->requests.Add(key.tag, 200);
      r->requests.Add(key.tag, 429);
      r->duration.Observe(0.02);
      r->first_byte.Observe(0.005);
      pool->errors.Add(key.tag, static_cast<uint32_t>(ErrorKind::kQueueFull));
    }
  ErrorCounts unrouted{};
  std::vector<double> ms;
  size_t bytes = 0;
  for (int i = 0; i < rounds; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    std::string page = RenderMetrics(router, unrouted, {10, false}, slices, ring);
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    bytes = page.size();
  }
  double first = ms.front();  // its page's memory is new to the process
  double slowest = *std::max_element(ms.begin() + 1, ms.end());
  std::sort(ms.begin(), ms.end());
  double median = ms[ms.size() / 2];
  fmt::print(
      "{} models x {} keys: {:.0f} KiB per scrape; render median {:.2f} ms ({:.0f}% of the 10 ms "
      "budget), slowest after the first {:.2f} ms, the first {:.2f} ms\n",
      models, keys, bytes / 1024.0, median, median * 10, slowest, first);
  return 0;
}
