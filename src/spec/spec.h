// The spec file (carve.yaml): what to serve and on which fleet. Parsing is
// strict: unknown keys and unknown versions are errors that name the file and
// line, say what was wrong and what to write instead. docs/spec.md lists every
// key. Everything is read here into the types below, `gpus:` included (the
// layouts to hold; apply/layout_file.h places them on a machine's GPUs); the
// `gateway:` section alone stays a YAML node, which gateway::ParseConfigNode
// reads in place so its errors name carve.yaml's own lines.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/status.h"
#include "util/yaml_fields.h"

namespace carve::spec {

// A place in the spec, for messages: "carve.yaml:12".
using yaml::Where;

struct FleetEntry {
  std::string gpu;  // catalogue alias, product name or PCI id
  int count = 1;
  std::optional<double> cost_per_month;
  // A node pool: its name (a DNS label, unique in the fleet), and the one MIG
  // profile a managed pool has already carved every GPU into ("" = carve
  // chooses the layout). A fixed profile needs a pool name.
  std::string pool;
  std::string fixed_profile;
  Where where;
};

// One measured option for a replica: on `profile` (a MIG profile name, or a
// GPU alias for a whole card) one replica serves `throughput` requests/s.
struct ProfileOption {
  std::string profile;
  double throughput = 0;
  std::optional<double> latency_ms;
  std::vector<std::string> args;
  Where where;
};

// How to estimate a replica's memory from the model's own files.
struct Estimate {
  std::string config;  // config.json, or a directory holding it (and *.safetensors)
  std::string hub_id;  // instead: a Hugging Face id, read from the local cache (hf_cache.h)
  std::string gguf;    // a .gguf file (instead of config)
  std::string dtype;   // weights: bf16 fp16 fp32 fp8 int8 int4, or a GGUF type; default: the file's
  std::string kv_dtype;                  // default: the weights' 16-bit type (fp8 when asked)
  int max_model_len = 0;                 // default: the model's own context length
  int concurrency = 0;                   // sequences at full length held in KV cache; default 1
  std::optional<uint64_t> overhead_mib;  // default: per engine (docs/sizing.md)
  Where where;
};

// Bounds within which `carve up` changes a model's replica count by itself,
// from measured traffic (docs/live.md, "Autoscale"): at most one change per
// interval, and only after a whole interval measured since the last one.
struct Autoscale {
  int min = 1, max = 1;  // 1 <= min <= max
  int interval_s = 60;   // >= 10 (advise.h's shortest window)
  Where where;
};

inline constexpr int64_t kDefaultKeepWarmS = 300;
inline constexpr const char* kDefaultPool = "default";

struct Model {
  std::string name;
  std::string engine;  // vllm | llama.cpp | sglang | command | echo
  std::string source;
  std::vector<std::string> command;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;  // added to the engine's environment
  std::string launcher = "process";        // process | docker: how carve up starts its engines
  std::string image;  // container image (launcher: docker, carve render); default per engine
  std::optional<uint64_t> memory_mib;
  std::optional<Estimate> estimate;
  std::optional<int> replicas;
  std::optional<double> throughput;  // requests/s in total
  std::optional<double> latency_slo_ms;
  std::vector<ProfileOption> profiles;
  std::string min_profile;
  bool spread = false;
  std::vector<std::string> gpus;  // GPU models it may run on (aliases); empty = any
  bool share = false;
  int tensor_parallel = 0;  // 0: carve decides (1 when it fits one slice)
  std::optional<Autoscale> autoscale;
  // carve up's gateway limits for this model (docs/gateway.md, models[]):
  // requests per replica at once, and requests waiting for a slot or for a
  // ready replica (an on-demand model's load) beyond which it answers busy.
  std::optional<int> max_in_flight = {}, max_queue = {};
  // On demand (docs/pools.md): no replica of its own; `carve up` starts its
  // engine on a slice of `pool` when a request arrives and may evict it once
  // idle for `keep_warm_s`. `pool` is "default" when on_demand and unnamed,
  // empty otherwise. Such a model has memory (or an estimate) and none of
  // replicas, throughput, autoscale, spread, share, tensor_parallel > 1.
  bool on_demand = false;
  std::string pool = {};
  int64_t keep_warm_s = kDefaultKeepWarmS;  // -1: forever
  Where where;
};

// A pool of slices that on-demand models time-share (`pools:`). Unset
// profile and count (0) are the planner's to choose (plan/on_demand.h).
struct Pool {
  std::string name;
  std::string profile = {};
  int count = 0;
  int resident = 2;  // models expected resident at once: what count is sized for
  Where where;
};

// One item of a `gpus:` entry's slices: "3g.40gb@4", or
// {slice: 3g.40gb@4, compute: [1c, 2c]} to split it into compute instances.
struct SliceItem {
  std::string slice;  // PROFILE[@START], as written
  // Its compute instance profiles; absent: one spanning the slice; []: none.
  std::optional<std::vector<std::string>> compute;
  bool mapping = false;  // written as {slice:, compute:}
  Where where;
};

// One entry of `gpus:`: which GPUs (exactly one of index, uuid, model, all)
// and the layout they hold. Which GPUs those are is the machine's question.
struct GpuEntry {
  std::optional<int> index;
  std::string uuid;
  std::string model;  // a catalogue alias or product name
  bool all = false;
  bool mig = true;  // mig: off turns MIG off
  std::optional<std::vector<SliceItem>> slices;
  Where where;
};

// Slices `carve up` keeps empty for failover (docs/live.md): `count` slices
// of `profile`, on GPUs that have it.
struct Spare {
  std::string profile;
  int count = 1;
  Where where;
};

struct Spec {
  std::string file;
  std::string version;  // "v1"
  std::optional<std::vector<FleetEntry>> fleet;
  std::string currency = "USD";  // ISO 4217 code of every cost in the spec and on --fleet
  std::vector<Model> models;
  std::optional<std::vector<GpuEntry>> gpus;  // the layouts to hold (carve apply)
  YAML::Node gateway;                         // the `gateway:` section as written; null when absent
  std::optional<Spare> spare;                 // carve up's failover reserve
  std::vector<Pool> pools;                    // declared pools (others are named by models only)
  Where gpus_where, gateway_where;
};

// Parses spec text; `file` is only used in messages.
Result<Spec> ParseSpec(std::string_view text, const std::string& file);
// Reads and parses a spec file. Relative paths inside it (estimate.config,
// estimate.gguf) are made relative to the spec's directory.
Result<Spec> LoadSpec(const std::string& path);

}  // namespace carve::spec
