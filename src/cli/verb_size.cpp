// carve size SPEC|MODEL: how much memory one replica needs, and why.
#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/verbs.h"
#include "plan/from_spec.h"
#include "plan/spec_plan.h"
#include "spec/hf_cache.h"
#include "spec/model_files.h"
#include "spec/quantity.h"
#include "spec/spec.h"

namespace carve::cli {

namespace {

struct SizeFlags {
  std::string target;
  plan::SizingParams params;
};

nlohmann::json SizingJson(const std::string& name, const plan::Sizing& s) {
  return {{"name", name},
          {"weights_mib", s.weights_mib},
          {"kv_cache_mib", s.kv_cache_mib},
          {"overhead_mib", s.overhead_mib},
          {"total_mib", s.total_mib},
          {"params", s.params},
          {"dtype", s.dtype},
          {"kv_dtype", s.kv_dtype},
          {"kv_bytes_per_token", s.kv_bytes_per_token},
          {"max_model_len", s.max_model_len},
          {"concurrency", s.concurrency},
          {"notes", s.notes}};
}

void PrintSizing(const std::string& name, const plan::Sizing& s) {
  fmt::print("{}\n", name);
  fmt::print("  weights    {:>10}   {:.2f}B params, {}\n", spec::FormatMiB(s.weights_mib),
             s.params / 1e9, s.dtype);
  fmt::print("  KV cache   {:>10}   {} KiB/token ({}) × {} tokens × {} sequence(s)\n",
             spec::FormatMiB(s.kv_cache_mib), s.kv_bytes_per_token / 1024.0, s.kv_dtype,
             s.max_model_len, s.concurrency);
  fmt::print("  overhead   {:>10}   engine: CUDA context, activations, CUDA graphs\n",
             spec::FormatMiB(s.overhead_mib));
  fmt::print("  total      {:>10}   ({} MiB)\n", spec::FormatMiB(s.total_mib), s.total_mib);
  for (const auto& n : s.notes) fmt::print("  · {}\n", n);
}

Status SizeModel(const Globals& g, const SizeFlags& f) {
  spec::Estimate where;
  bool gguf = f.target.size() > 5 && f.target.substr(f.target.size() - 5) == ".gguf";
  (gguf ? where.gguf : where.config) = f.target;
  if (!spec::LooksLikeModel(f.target)) where.config.clear(), where.hub_id = f.target;
  CARVE_ASSIGN_OR_RETURN(auto files, spec::ReadModelFilesFor(where));
  CARVE_ASSIGN_OR_RETURN(auto s, plan::SizeFromFiles(files, f.params));
  if (g.json)
    fmt::print("{}\n", nlohmann::json{{"models", {SizingJson(f.target, s)}}}.dump(2));
  else
    PrintSizing(f.target, s);
  return Status::Ok();
}

Status SizeSpec(const Globals& g, const SizeFlags& f) {
  CARVE_ASSIGN_OR_RETURN(spec::Spec spec, spec::LoadSpec(f.target));
  CARVE_ASSIGN_OR_RETURN(auto files, plan::ReadEstimateFiles(spec));
  CARVE_ASSIGN_OR_RETURN(auto sized, plan::DemandsFromSpec(spec, files, mig::Catalog::Builtin()));
  nlohmann::json all = nlohmann::json::array();
  for (const auto& s : sized) {
    if (s.estimated) {
      if (g.json)
        all.push_back(SizingJson(s.demand.name, s.sizing));
      else
        PrintSizing(s.demand.name, s.sizing), fmt::print("\n");
    } else if (g.json) {
      all.push_back({{"name", s.demand.name}, {"total_mib", s.demand.memory_mib}, {"given", true}});
    } else {
      fmt::print(
          "{}\n  total      {:>10}   given in the spec (memory:)\n\n", s.demand.name,
          s.demand.memory_mib ? spec::FormatMiB(s.demand.memory_mib) : std::string("by profile"));
    }
  }
  if (g.json) fmt::print("{}\n", nlohmann::json{{"models", all}}.dump(2));
  return Status::Ok();
}

}  // namespace

void AddSize(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("size", "Memory one replica needs: weights + KV cache + overhead");
  auto f = std::make_shared<SizeFlags>();
  cmd->add_option("target", f->target,
                  "A spec, a model directory (config.json), a .gguf file, or a Hugging Face id "
                  "(Qwen/Qwen3-4B) in the local cache")
      ->required();
  cmd->add_option("--engine", f->params.engine, "vllm, llama.cpp, sglang, command (model only)");
  cmd->add_option("--dtype", f->params.dtype,
                  "Weights dtype: bf16 fp16 fp8 int8 int4 or a GGUF type");
  cmd->add_option("--kv-dtype", f->params.kv_dtype, "KV-cache dtype (default fp16)");
  cmd->add_option("--max-model-len", f->params.max_model_len, "Context length in tokens");
  cmd->add_option("--concurrency", f->params.concurrency,
                  "Full-length sequences held at once (default 1)");
  cmd->callback(Body(g, [&g, f] {
    std::error_code ec;
    bool hub = !std::filesystem::exists(f->target, ec) && spec::IsHubId(f->target);
    return spec::LooksLikeModel(f->target) || hub ? SizeModel(g, *f) : SizeSpec(g, *f);
  }));
}

}  // namespace carve::cli
