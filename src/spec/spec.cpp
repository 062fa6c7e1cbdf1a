#include "spec/spec.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "spec/hf_cache.h"
#include "spec/on_demand.h"
#include "spec/quantity.h"
#include "util/read_file.h"

namespace carve::spec {
namespace {

using yaml::Fields;
using yaml::WhereOf;

Status OptMemory(const Fields& f, std::string_view key, std::optional<uint64_t>* out) {
  if (!f.Has(key)) return Status::Ok();
  YAML::Node n = f.Get(key);
  auto mib = ParseMemoryMiB(n.IsScalar() ? n.Scalar() : "");
  if (!mib.ok()) return f.Err(key, mib.status().message(), mib.status().hint());
  *out = *mib;
  return Status::Ok();
}

constexpr const char* kEngines[] = {"vllm", "llama.cpp", "sglang", "command", "echo"};

Status ParsePool(const Fields& f, const std::vector<FleetEntry>& before, FleetEntry* e) {
  CARVE_RETURN_IF_ERROR(f.Str("pool", &e->pool));
  CARVE_RETURN_IF_ERROR(f.Str("fixed_profile", &e->fixed_profile));
  if (f.Has("pool") && !IsPoolName(e->pool))
    return f.Err("pool", fmt::format("'{}' is not a pool name", e->pool),
                 "Use lower-case letters, digits and '-', at most 63, starting and ending with a "
                 "letter or digit (it becomes the node label carve.dev/pool).");
  for (const auto& b : before)
    if (!e->pool.empty() && b.pool == e->pool)
      return f.Err("pool",
                   fmt::format("pool '{}' is named twice (also at {})", e->pool, b.where.str()),
                   "Give each pool its own name, or one entry with the sum of the counts.");
  if (f.Has("fixed_profile") && e->pool.empty())
    return f.Err("fixed_profile",
                 "a fixed profile belongs to a node pool, and this entry names none",
                 "Add pool: NAME (the pool's nodes carry the label carve.dev/pool=NAME).");
  return Status::Ok();
}

Status ParseFleet(const YAML::Node& node, const std::string& file, std::vector<FleetEntry>* out) {
  if (!node.IsSequence())
    return Status::InvalidArgument(
        fmt::format("{}: 'fleet' must be a list", WhereOf(file, node).str()),
        "Write e.g. fleet: [{gpu: h100-80gb, count: 8}].");
  for (size_t i = 0; i < node.size(); ++i) {
    Fields f(node[i], file, fmt::format("fleet[{}]", i));
    CARVE_RETURN_IF_ERROR(f.Check({"pool", "gpu", "count", "cost_per_month", "fixed_profile"}));
    FleetEntry e;
    e.where = f.where();
    CARVE_RETURN_IF_ERROR(f.Str("gpu", &e.gpu, true));
    CARVE_RETURN_IF_ERROR(f.Int("count", &e.count));
    if (e.count < 1 || e.count > kMaxGpuCount)
      return f.Err("count", fmt::format("must be from 1 to {}", kMaxGpuCount));
    CARVE_RETURN_IF_ERROR(f.OptNumber("cost_per_month", &e.cost_per_month));
    CARVE_RETURN_IF_ERROR(ParsePool(f, *out, &e));
    out->push_back(std::move(e));
  }
  int costed = 0;
  for (const auto& e : *out) costed += e.cost_per_month.has_value();
  if (costed != 0 && costed != static_cast<int>(out->size()))
    for (const auto& e : *out)
      if (!e.cost_per_month)
        return Status::InvalidArgument(
            fmt::format("{}: fleet entry '{}' has no cost_per_month, but others do", e.where.str(),
                        e.gpu),
            "Give cost_per_month for every fleet entry or for none: carve minimises cost only "
            "when it knows every price.");
  return Status::Ok();
}

Status ParseOption(const YAML::Node& node, const std::string& file, const std::string& what,
                   ProfileOption* o) {
  Fields f(node, file, what);
  CARVE_RETURN_IF_ERROR(f.Check({"profile", "throughput", "latency_ms", "args"}));
  o->where = f.where();
  CARVE_RETURN_IF_ERROR(f.Str("profile", &o->profile, true));
  std::optional<double> thr;
  CARVE_RETURN_IF_ERROR(f.OptNumber("throughput", &thr));
  o->throughput = thr.value_or(0);
  CARVE_RETURN_IF_ERROR(f.OptNumber("latency_ms", &o->latency_ms));
  return f.StrList("args", &o->args);
}

Status ParseEstimate(const YAML::Node& node, const std::string& file, const std::string& what,
                     Estimate* e) {
  Fields f(node, file, what + " estimate");
  CARVE_RETURN_IF_ERROR(
      f.Check({"config", "gguf", "dtype", "kv_dtype", "max_model_len", "concurrency", "overhead"}));
  e->where = f.where();
  CARVE_RETURN_IF_ERROR(f.Str("config", &e->config));
  CARVE_RETURN_IF_ERROR(f.Str("gguf", &e->gguf));
  if (e->config.empty() == e->gguf.empty())
    return f.Err("",
                 "needs exactly one of 'config' (a Hugging Face config.json or its directory) "
                 "or 'gguf' (a .gguf file)");
  CARVE_RETURN_IF_ERROR(f.Str("dtype", &e->dtype));
  CARVE_RETURN_IF_ERROR(f.Str("kv_dtype", &e->kv_dtype));
  CARVE_RETURN_IF_ERROR(f.Int("max_model_len", &e->max_model_len));
  CARVE_RETURN_IF_ERROR(f.Int("concurrency", &e->concurrency));
  return OptMemory(f, "overhead", &e->overhead_mib);
}

Status ParseAutoscale(const YAML::Node& node, const std::string& file, const std::string& what,
                      Autoscale* a) {
  Fields f(node, file, what + " autoscale");
  if (!node.IsMap()) return f.Err("", "must be a mapping", "Write autoscale: {min: 1, max: 4}.");
  CARVE_RETURN_IF_ERROR(f.Check({"min", "max", "interval_s"}));
  a->where = f.where();
  if (!f.Has("min") || !f.Has("max"))
    return f.Err("", "needs both 'min' and 'max' (replicas)", "Write autoscale: {min: 1, max: 4}.");
  CARVE_RETURN_IF_ERROR(f.Whole("min", &a->min, 1));
  CARVE_RETURN_IF_ERROR(f.Whole("max", &a->max, 1));
  CARVE_RETURN_IF_ERROR(f.Whole("interval_s", &a->interval_s, 10));
  if (a->min > a->max)
    return f.Err("max", fmt::format("is {}, below min {}", a->max, a->min), "Make min <= max.");
  return Status::Ok();
}

// autoscale: bounds a replica count, so it goes with replicas: (the start
// count, within the bounds); a throughput: model is sized by its measured
// options instead (carve advise proposes a new throughput for it).
Status CheckAutoscale(const Fields& f, const Model& m) {
  if (!m.autoscale) return Status::Ok();
  if (!m.replicas)
    return f.Err("autoscale", "needs 'replicas' (the count it starts with), not 'throughput'",
                 "throughput: sizes the model from its measured profiles; carve advise proposes "
                 "a new throughput for it. Use replicas: N with autoscale: {min, max}.");
  if (*m.replicas < m.autoscale->min || *m.replicas > m.autoscale->max)
    return f.Err("replicas",
                 fmt::format("is {}, outside autoscale's [{}, {}]", *m.replicas, m.autoscale->min,
                             m.autoscale->max),
                 "Start within the bounds: min <= replicas <= max.");
  return Status::Ok();
}

// Rules between keys of one model, after each key parsed on its own.
Status CheckModel(const Fields& f, const Model& m) {
  if (std::find(std::begin(kEngines), std::end(kEngines), m.engine) == std::end(kEngines))
    return f.Err("engine", fmt::format("is '{}'", m.engine),
                 "Use vllm, llama.cpp, sglang, command or echo.");
  if (m.launcher != "process" && m.launcher != "docker")
    return f.Err("launcher", fmt::format("is '{}'", m.launcher),
                 "Use process (the default: the engine runs on this host) or docker (its "
                 "container, docker run --gpus device=MIG-…).");
  if (m.launcher == "docker" && m.image.empty() && (m.engine == "command" || m.engine == "echo"))
    return f.Err("launcher",
                 fmt::format("is docker, but engine '{}' has no image to run", m.engine),
                 "Add image: (a container image that serves it), or drop launcher: docker.");
  if (m.engine == "command" && m.command.empty())
    return f.Err("", "uses engine 'command' but has no 'command' list",
                 "Add command: [\"./serve.sh\", \"--port\", \"{port}\"].");
  if (m.memory_mib && m.estimate)
    return f.Err("estimate", "is given together with 'memory'",
                 "Keep one: memory states it, estimate computes it.");
  CARVE_RETURN_IF_ERROR(CheckOnDemand(f, m));
  if (m.on_demand) return Status::Ok();
  if (m.replicas.has_value() == m.throughput.has_value())
    return f.Err("", "needs exactly one of 'replicas' or 'throughput'",
                 "replicas: N runs N copies; throughput: R (requests/s) with profiles: [...] lets "
                 "carve choose.");
  if (m.throughput && m.profiles.empty())
    return f.Err("throughput", "needs 'profiles': measured requests/s of one replica per profile",
                 "Add profiles: [{profile: 1g.10gb, throughput: 40}, …].");
  if (m.throughput)
    for (const auto& o : m.profiles)
      if (o.throughput <= 0)
        return Status::InvalidArgument(
            fmt::format("{}: model '{}': profile row '{}' has no throughput", o.where.str(), m.name,
                        o.profile),
            "With throughput demand every row needs throughput: R (requests/s).");
  if (!m.throughput && m.latency_slo_ms)
    return f.Err("latency_slo_ms", "only applies with 'throughput' and measured profiles");
  if (!m.memory_mib && !m.estimate && m.profiles.empty())
    return f.Err("", "needs 'memory' (e.g. 14GiB) or 'estimate' (from config.json or GGUF)",
                 "carve sizes slices from what one replica needs; with a Hugging Face id in "
                 "source: it reads the model from the local cache.");
  if (m.share && m.throughput)
    return f.Err("share",
                 "cannot go with throughput demand: replicas sharing a slice share its "
                 "compute, so measured per-profile throughput no longer holds");
  if (m.share && !m.memory_mib && !m.estimate)
    return f.Err("share", "needs 'memory' or 'estimate': sharing splits a slice by memory");
  return CheckAutoscale(f, m);
}

Status ParseModel(const YAML::Node& node, const std::string& file, size_t i, Model* m) {
  std::string name = node.IsMap() && node["name"].IsScalar() ? node["name"].Scalar() : "";
  Fields f(node, file,
           name.empty() ? fmt::format("models[{}]", i) : fmt::format("model '{}'", name));
  CARVE_RETURN_IF_ERROR(f.Check({"name",      "engine",      "source",     "memory",
                                 "estimate",  "replicas",    "throughput", "latency_slo_ms",
                                 "profiles",  "min_profile", "spread",     "gpus",
                                 "share",     "args",        "command",    "tensor_parallel",
                                 "image",     "env",         "launcher",   "autoscale",
                                 "on_demand", "pool",        "keep_warm",  "max_in_flight",
                                 "max_queue"}));
  m->where = f.where();
  CARVE_RETURN_IF_ERROR(f.Str("name", &m->name, true));
  m->engine = "vllm";
  CARVE_RETURN_IF_ERROR(f.Str("engine", &m->engine));
  CARVE_RETURN_IF_ERROR(f.Str("source", &m->source));
  CARVE_RETURN_IF_ERROR(f.StrList("command", &m->command));
  CARVE_RETURN_IF_ERROR(f.Str("image", &m->image));
  CARVE_RETURN_IF_ERROR(f.Str("launcher", &m->launcher));
  CARVE_RETURN_IF_ERROR(f.StrList("args", &m->args));
  CARVE_RETURN_IF_ERROR(f.EnvMap("env", &m->env));
  CARVE_RETURN_IF_ERROR(OptMemory(f, "memory", &m->memory_mib));
  // Neither memory nor estimate, but a hub id to serve: size it from the local
  // Hugging Face cache, with the estimate's defaults.
  const bool loads_hub_models = m->engine != "command" && m->engine != "echo";
  if (!f.Has("memory") && !f.Has("estimate") && !f.Has("profiles") && loads_hub_models &&
      m->source.find('/') != std::string::npos && IsHubId(m->source)) {
    m->estimate.emplace();
    m->estimate->hub_id = m->source;
    m->estimate->where = m->where;
  }
  if (f.Has("estimate")) {
    m->estimate.emplace();
    CARVE_RETURN_IF_ERROR(
        ParseEstimate(f.Get("estimate"), file, fmt::format("model '{}'", m->name), &*m->estimate));
  }
  CARVE_RETURN_IF_ERROR(f.OptInt("replicas", &m->replicas));
  CARVE_RETURN_IF_ERROR(f.OptInt("max_in_flight", &m->max_in_flight));
  CARVE_RETURN_IF_ERROR(f.OptInt("max_queue", &m->max_queue));
  if (m->max_in_flight && *m->max_in_flight < 1)
    return f.Err("max_in_flight", "must be at least 1 (leave it out for no limit)");
  if (m->max_queue && *m->max_queue < 0) return f.Err("max_queue", "must be 0 or more");
  CARVE_RETURN_IF_ERROR(f.OptNumber("throughput", &m->throughput));
  CARVE_RETURN_IF_ERROR(f.OptNumber("latency_slo_ms", &m->latency_slo_ms));
  if (f.Has("profiles")) {
    YAML::Node rows = f.Get("profiles");
    if (!rows.IsSequence()) return f.Err("profiles", "must be a list of {profile, throughput, …}");
    for (size_t r = 0; r < rows.size(); ++r) {
      ProfileOption o;
      CARVE_RETURN_IF_ERROR(
          ParseOption(rows[r], file, fmt::format("model '{}' profiles[{}]", m->name, r), &o));
      m->profiles.push_back(std::move(o));
    }
  }
  CARVE_RETURN_IF_ERROR(f.Str("min_profile", &m->min_profile));
  if (auto min = ParseMinProfile(m->min_profile); !m->min_profile.empty() && !min.ok())
    return f.Err("min_profile", min.status().message(), min.status().hint());
  CARVE_RETURN_IF_ERROR(f.Bool("spread", &m->spread));
  CARVE_RETURN_IF_ERROR(f.StrList("gpus", &m->gpus));
  CARVE_RETURN_IF_ERROR(f.Bool("share", &m->share));
  CARVE_RETURN_IF_ERROR(f.Int("tensor_parallel", &m->tensor_parallel));
  if (f.Has("autoscale")) {
    m->autoscale.emplace();
    CARVE_RETURN_IF_ERROR(ParseAutoscale(f.Get("autoscale"), file,
                                         fmt::format("model '{}'", m->name), &*m->autoscale));
  }
  CARVE_RETURN_IF_ERROR(ParseOnDemand(f, m));
  return CheckModel(f, *m);
}

Status ParseModels(const YAML::Node& node, const std::string& file, std::vector<Model>* out) {
  if (!node.IsSequence())
    return Status::InvalidArgument(
        fmt::format("{}: 'models' must be a list", WhereOf(file, node).str()));
  std::set<std::string> names;
  for (size_t i = 0; i < node.size(); ++i) {
    Model m;
    CARVE_RETURN_IF_ERROR(ParseModel(node[i], file, i, &m));
    if (!names.insert(m.name).second)
      return Status::InvalidArgument(
          fmt::format("{}: model name '{}' is used twice", m.where.str(), m.name),
          "Clients pick a model by name; give each a distinct one.");
    out->push_back(std::move(m));
  }
  return Status::Ok();
}

Status ParseSlice(const YAML::Node& n, const std::string& file, const std::string& what,
                  SliceItem* s) {
  s->where = WhereOf(file, n);
  if (n.IsScalar()) {
    s->slice = n.Scalar();
    return Status::Ok();
  }
  Fields f(n, file, what, "docs/apply.md");
  CARVE_RETURN_IF_ERROR(f.Check({"slice", "compute"}));
  s->mapping = true;
  if (!f.Has("slice"))
    return f.Err("", "is a mapping without slice:",
                 "Write {slice: PROFILE@START, compute: [1c, 2c]}, or the slice alone.");
  CARVE_RETURN_IF_ERROR(f.Str("slice", &s->slice));
  if (!f.Has("compute")) return Status::Ok();
  if (!f.Get("compute").IsSequence()) return f.Err("compute", "must be a list, e.g. [1c, 1c, 1c]");
  s->compute.emplace();
  return f.StrList("compute", &*s->compute);
}

Status ParseGpuEntry(const YAML::Node& node, const std::string& file, size_t i, GpuEntry* e) {
  Fields f(node, file, fmt::format("gpus[{}]", i), "docs/apply.md");
  CARVE_RETURN_IF_ERROR(f.Check({"index", "uuid", "model", "all", "mig", "slices"}));
  e->where = f.where();
  if (f.Has("index") + f.Has("uuid") + f.Has("model") + f.Has("all") != 1)
    return f.Err("", "must say which GPUs with exactly one of index:, uuid:, model: or all: true");
  if (f.Has("index")) {
    int index = 0;
    CARVE_RETURN_IF_ERROR(f.Int("index", &index));
    e->index = index;
  }
  CARVE_RETURN_IF_ERROR(f.Str("uuid", &e->uuid));
  CARVE_RETURN_IF_ERROR(f.Str("model", &e->model));
  CARVE_RETURN_IF_ERROR(f.Bool("all", &e->all));
  if (f.Has("all") && !e->all) return f.Err("all", "may only be true");
  if (!f.Has("mig") && !f.Has("slices"))
    return f.Err("", "must say mig: on|off, slices: […], or both");
  CARVE_RETURN_IF_ERROR(f.Bool("mig", &e->mig));
  if (!f.Has("slices")) return Status::Ok();
  YAML::Node list = f.Get("slices");
  if (!list.IsSequence()) return f.Err("slices", "must be a list, e.g. [3g.40gb@4, 1g.10gb]");
  if (!e->mig && list.size() > 0)
    return f.Err("slices", "contradicts mig: off", "Drop the slices or say mig: on.");
  e->slices.emplace();
  for (size_t k = 0; k < list.size(); ++k) {
    SliceItem item;
    CARVE_RETURN_IF_ERROR(
        ParseSlice(list[k], file, fmt::format("gpus[{}].slices[{}]", i, k), &item));
    e->slices->push_back(std::move(item));
  }
  return Status::Ok();
}

Status ParseGpus(const YAML::Node& node, const std::string& file, std::vector<GpuEntry>* out) {
  if (!node.IsSequence())
    return yaml::ErrorAt(file, node, "'gpus' must be a list of GPU entries",
                         "Write e.g. gpus: [{index: 0, slices: [3g.40gb, 3g.40gb]}] "
                         "(docs/apply.md).");
  for (size_t i = 0; i < node.size(); ++i) {
    GpuEntry e;
    CARVE_RETURN_IF_ERROR(ParseGpuEntry(node[i], file, i, &e));
    out->push_back(std::move(e));
  }
  return Status::Ok();
}

Status ParseSpare(const YAML::Node& node, const std::string& file, Spare* out) {
  if (!node.IsMap())
    return yaml::ErrorAt(file, node, "'spare' must be a mapping",
                         "Write e.g. spare: {profile: 1g.10gb, count: 1} (docs/spec.md).");
  Fields f(node, file, "spare");
  CARVE_RETURN_IF_ERROR(f.Check({"profile", "count"}));
  out->where = f.where();
  CARVE_RETURN_IF_ERROR(f.Str("profile", &out->profile, true));
  return f.Whole("count", &out->count, 0, 64);
}

Status ParseRoot(const YAML::Node& root, const std::string& file, Spec* spec) {
  Fields f(root, file, "the spec");
  CARVE_RETURN_IF_ERROR(
      f.Check({"version", "currency", "fleet", "gpus", "models", "gateway", "spare", "pools"}));
  CARVE_RETURN_IF_ERROR(f.Str("version", &spec->version, true));
  if (spec->version != "v1")
    return f.Err("version", fmt::format("is '{}'; this carve reads v1", spec->version),
                 "Write version: v1, or use the carve release that wrote this file.");
  CARVE_RETURN_IF_ERROR(f.Str("currency", &spec->currency));
  if (spec->currency.size() != 3 || !std::all_of(spec->currency.begin(), spec->currency.end(),
                                                 [](char c) { return c >= 'A' && c <= 'Z'; }))
    return f.Err("currency",
                 fmt::format("'{}' is not a three-letter ISO 4217 code", spec->currency),
                 "Write e.g. currency: EUR (or USD, GBP, CHF, JPY …).");
  if (f.Has("fleet")) {
    spec->fleet.emplace();
    CARVE_RETURN_IF_ERROR(ParseFleet(f.Get("fleet"), file, &*spec->fleet));
  }
  if (f.Has("models")) CARVE_RETURN_IF_ERROR(ParseModels(f.Get("models"), file, &spec->models));
  if (f.Has("gpus")) {
    spec->gpus.emplace();
    CARVE_RETURN_IF_ERROR(ParseGpus(f.Get("gpus"), file, &*spec->gpus));
    spec->gpus_where = WhereOf(file, f.Get("gpus"));
  }
  if (f.Has("gateway"))
    spec->gateway = f.Get("gateway"), spec->gateway_where = WhereOf(file, spec->gateway);
  if (f.Has("spare"))
    CARVE_RETURN_IF_ERROR(ParseSpare(f.Get("spare"), file, &spec->spare.emplace()));
  if (f.Has("pools"))
    CARVE_RETURN_IF_ERROR(ParsePools(f.Get("pools"), file, spec->models, &spec->pools));
  return Status::Ok();
}

}  // namespace

Result<Spec> ParseSpec(std::string_view text, const std::string& file) {
  Spec spec;
  spec.file = file;
  CARVE_ASSIGN_OR_RETURN(YAML::Node root, yaml::Parse(text, file));
  if (!root.IsMap())
    return Status::InvalidArgument(
        fmt::format("{}: is not a carve spec (expected a mapping with version: v1)", file));
  try {
    CARVE_RETURN_IF_ERROR(yaml::CheckNoDuplicateKeys(file, root));
    CARVE_RETURN_IF_ERROR(ParseRoot(root, file, &spec));
  } catch (const YAML::Exception& e) {  // Fields keeps them in; this is the backstop
    return Status::InvalidArgument(fmt::format("{}:{}: {}", file, e.mark.line + 1, e.msg));
  }
  return spec;
}

Result<Spec> LoadSpec(const std::string& path) {
  auto text = ReadFileBounded(path, kMaxConfigBytes, "spec");
  if (!text.ok() && text.status().code() == Code::kNotFound)
    return text.status().WithHint("Give the path to a carve.yaml.");
  if (!text.ok()) return text.status();
  CARVE_ASSIGN_OR_RETURN(Spec spec, ParseSpec(*text, path));
  namespace fs = std::filesystem;
  fs::path dir = fs::path(path).parent_path();
  auto rebase = [&](std::string& p) {
    if (!p.empty() && fs::path(p).is_relative()) p = (dir / p).lexically_normal().string();
  };
  for (auto& m : spec.models)
    if (m.estimate) rebase(m.estimate->config), rebase(m.estimate->gguf);
  return spec;
}

}  // namespace carve::spec
