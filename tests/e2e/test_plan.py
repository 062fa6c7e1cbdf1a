"""carve plan / carve size end to end, with --fleet so no machine is needed."""
import json, os, pathlib, subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
EX = ROOT / "examples"


def carve(*args):
    # The timeout is a safety net: a carve that hangs fails the test instead of the run.
    return subprocess.run([os.environ["CARVE_BIN"], *map(str, args)], capture_output=True, text=True,
                          timeout=60)


def test_plan_json_has_the_documented_fields():
    out = carve("--json", "plan", EX / "mixed.yaml", "--fleet", "h100-80gb:4")
    assert out.returncode == 0, out.stderr
    j = json.loads(out.stdout)
    for key in ("gpus_used", "lower_bound", "gpus", "models", "unmet"):
        assert key in j
    assert j["gpus_used"] == 2 and j["lower_bound"] == 2 and j["optimal"]
    slice0 = next(g for g in j["gpus"] if g["used"])["slices"][0]
    assert {"profile", "start", "replicas"} <= slice0.keys()
    assert {"model", "memory_mib", "throughput"} <= slice0["replicas"][0].keys()
    assert all(m["met"] for m in j["models"])
    assert {"name", "replicas", "throughput", "demand", "met"} <= j["models"][0].keys()


def test_plan_text_draws_layouts_and_compares():
    out = carve("plan", EX / "mixed.yaml", "--compare")
    assert out.returncode == 0, out.stderr
    assert "┌" in out.stdout and "┐" in out.stdout
    assert "first-fit decreasing" in out.stdout and "whole GPU" in out.stdout
    assert "cost/month" in out.stdout


def test_plan_is_deterministic():
    a = carve("--json", "plan", EX / "mixed-fleet.yaml").stdout
    b = carve("--json", "plan", EX / "mixed-fleet.yaml").stdout
    strip = lambda s: {k: v for k, v in json.loads(s).items() if k != "solve_seconds"}
    assert strip(a) == strip(b)


def test_write_produces_a_gpus_section_carve_reads(tmp_path):
    f = tmp_path / "layout.yaml"
    out = carve("plan", EX / "mixed.yaml", "--fleet", "h100-80gb:2", "--write", f)
    assert out.returncode == 0, out.stderr
    text = f.read_text()
    assert "version: v1" in text and "gpus:" in text and "mig: on" in text
    assert "slices: [" in text and "@" in text
    again = carve("size", f)  # a spec with no models still parses
    assert again.returncode == 0, again.stderr


def test_unmet_demand_is_explained_with_exit_3():
    out = carve("plan", EX / "mixed.yaml", "--fleet", "h100-80gb:1")
    assert out.returncode == 3
    assert "Unmet" in out.stdout and "add gpus" in out.stdout.lower()


def test_spec_error_has_file_and_line(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("version: v1\nmodels:\n  - name: a\n    memroy: 1GiB\n    replicas: 1\n")
    out = carve("plan", f, "--fleet", "h100-80gb:1")
    assert out.returncode == 2
    assert f"{f}:4" in out.stderr and "memroy" in out.stderr and "Did you mean 'memory'" in out.stderr


def test_no_fleet_and_no_machine_says_what_to_do(tmp_path):
    f = tmp_path / "nofleet.yaml"
    f.write_text("version: v1\nmodels:\n  - {name: a, memory: 1GiB, replicas: 1}\n")
    out = carve("plan", f)
    assert out.returncode != 0
    assert "--fleet" in out.stderr


def test_nodes_file(tmp_path):
    nodes = tmp_path / "nodes.json"
    nodes.write_text(json.dumps({"items": [{"metadata": {"name": "gpu-1", "labels": {
        "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3", "nvidia.com/gpu.count": "2",
        "nvidia.com/mig.capable": "true"}}}]}))
    out = carve("--json", "plan", EX / "mixed.yaml", "--nodes", nodes)
    assert out.returncode == 0, out.stderr
    assert {g["node"] for g in json.loads(out.stdout)["gpus"]} == {"gpu-1"}


def test_size_model_dir_and_spec():
    out = carve("--json", "size", EX / "models/llama-3-8b", "--max-model-len", "8192")
    assert out.returncode == 0, out.stderr
    m = json.loads(out.stdout)["models"][0]
    assert m["kv_cache_mib"] == 1024 and m["weights_mib"] == 15317
    out = carve("size", EX / "estimate.yaml")
    assert out.returncode == 0, out.stderr
    assert "KV cache" in out.stdout and "llama-3-8b-fp8" in out.stdout


def test_costs_are_in_the_specs_currency_per_model_and_per_replica(tmp_path):
    """#13.12: the currency was fixed to $; the plan shows cost per replica."""
    spec = tmp_path / "eur.yaml"
    spec.write_text((EX / "mixed.yaml").read_text().replace("version: v1", "version: v1\ncurrency: EUR", 1))
    out = carve("plan", spec)
    assert out.returncode == 0, out.stderr
    assert "$" not in out.stdout
    assert "€4200/month" in out.stdout
    assert "per replica" in out.stdout
    j = json.loads(carve("--json", "plan", spec).stdout)
    assert j["currency"] == "EUR"
    for m in j["models"]:
        assert abs(m["cost_per_replica_month"] * m["replicas"] - m["cost_per_month"]) < 1e-6
    assert abs(sum(m["cost_per_month"] for m in j["models"]) - j["cost_per_month"]) < 1e-6
    other = tmp_path / "chf.yaml"
    other.write_text(spec.read_text().replace("EUR", "CHF"))
    assert "CHF 4200/month" in carve("plan", other).stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(spec.read_text().replace("EUR", "euro"))
    out = carve("plan", bad)
    line = bad.read_text().splitlines().index("currency: euro") + 1
    assert out.returncode == 2 and f"bad.yaml:{line}:" in out.stderr and "ISO 4217" in out.stderr


def hub_cache(tmp_path, model_id="meta-llama/Meta-Llama-3-8B"):
    """A local Hugging Face cache laid out as the hub's libraries lay it out,
    holding the example model's config.json and weights index."""
    repo = tmp_path / "hf" / "hub" / ("models--" + model_id.replace("/", "--"))
    snap = repo / "snapshots" / "0123abcd"
    snap.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    src = EX / "models" / "llama-3-8b"
    for f in src.iterdir():
        (snap / f.name).write_bytes(f.read_bytes())
    return dict(os.environ, HF_HOME=str(tmp_path / "hf"))


def carve_env(env, *args):
    return subprocess.run([os.environ["CARVE_BIN"], *map(str, args)], capture_output=True,
                          text=True, env=env)


def test_models_are_sized_by_hub_id_from_the_local_cache(tmp_path):
    """#13.11: an id like Qwen/Qwen3-4B could not be sized; carve size ID and a
    spec with only source: now read the local Hugging Face cache."""
    env = hub_cache(tmp_path)
    by_dir = json.loads(carve("--json", "size", EX / "models/llama-3-8b", "--max-model-len", "8192").stdout)
    out = carve_env(env, "--json", "size", "meta-llama/Meta-Llama-3-8B", "--max-model-len", "8192")
    assert out.returncode == 0, out.stderr
    by_id = json.loads(out.stdout)["models"][0]
    assert by_id["total_mib"] == by_dir["models"][0]["total_mib"]
    spec = tmp_path / "hub.yaml"
    spec.write_text("version: v1\nfleet: [{gpu: h100-80gb, count: 1}]\nmodels:\n"
                    "  - name: llama\n    source: meta-llama/Meta-Llama-3-8B\n    replicas: 1\n")
    out = carve_env(env, "--json", "plan", spec)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["models"][0]["met"]
    # Not in the cache: what to provide, and where carve looked.
    empty = dict(os.environ, HF_HOME=str(tmp_path / "nothing"))
    out = carve_env(empty, "plan", spec)
    assert out.returncode == 6, out.stderr
    assert "not in the local Hugging Face cache" in out.stderr
    assert str(tmp_path / "nothing" / "hub") in out.stderr
    assert "memory:" in out.stderr and "huggingface-cli download" in out.stderr
    out = carve_env(empty, "size", "Qwen/Qwen3-4B")
    assert out.returncode == 6 and "Qwen/Qwen3-4B" in out.stderr


def test_apply_on_a_spec_without_gpus_points_at_plan_write(tmp_path):
    carve("sim", "new", tmp_path / "m.json", "h100-80gb")
    out = carve("--sim", tmp_path / "m.json", "apply", EX / "mixed.yaml", "--dry-run")
    assert out.returncode == 2
    assert "carve plan" in out.stderr and "--write" in out.stderr


def test_endless_inputs_are_refused_not_read_forever(tmp_path):
    """issue #12: /dev/zero as a spec, a node list or an estimate.config was read forever."""
    out = carve("plan", "/dev/zero", "--fleet", "h100-80gb:1")
    assert out.returncode == 2
    assert "spec /dev/zero is not a regular file" in out.stderr
    spec = tmp_path / "estimate.yaml"
    spec.write_text("version: v1\nmodels:\n  - name: a\n    estimate: {config: /dev/zero}\n"
                    "    replicas: 1\n")
    for verb in ("plan", "size"):
        out = carve(verb, spec, "--fleet", "h100-80gb:1") if verb == "plan" else carve(verb, spec)
        assert out.returncode == 2, out.stderr
        assert f"{spec}:4: model 'a' estimate: model config /dev/zero is not a regular file" in out.stderr
    out = carve("plan", EX / "mixed.yaml", "--nodes", "/dev/zero")
    assert out.returncode == 2
    assert "node list /dev/zero is not a regular file" in out.stderr
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (16 << 20) + b"\n")
    out = carve("plan", big, "--fleet", "h100-80gb:1")
    assert out.returncode == 2
    assert f"spec {big} is larger than 16 MiB" in out.stderr


def spec_with(tmp_path, **model):
    f = tmp_path / "spec.yaml"
    lines = "".join(f"    {k}: {v}\n" for k, v in model.items())
    f.write_text(f"version: v1\nfleet: [{{gpu: h100-80gb, count: 2}}]\nmodels:\n  - name: a\n{lines}"
                 "    replicas: 1\n")
    return f


def test_absurd_quantities_are_refused_at_their_line(tmp_path):
    """issue #12: 1e20GiB and 99g.1tb were "met" by a tensor-parallel group of two GPUs."""
    out = carve("plan", spec_with(tmp_path, memory="1e20GiB"))
    assert out.returncode == 2
    assert "spec.yaml:5: model 'a': 'memory' '1e20GiB' is more than 1 PiB" in out.stderr
    out = carve("plan", spec_with(tmp_path, memory="10GiB", min_profile="99g.1tb"))
    assert out.returncode == 2
    assert "spec.yaml:6: model 'a': 'min_profile' '99g.1tb' is not a profile name" in out.stderr


def test_demand_no_slice_or_group_holds_is_unmet_with_the_reason(tmp_path):
    out = carve("--json", "plan", spec_with(tmp_path, memory="100TiB"))
    assert out.returncode == 3
    plan = json.loads(out.stdout)
    assert plan["gpus_used"] == 0 and not plan["models"][0]["met"]
    why = plan["unmet"][0]["reason"]
    assert "needs 102400.0 GiB per replica" in why and "the largest: 2× h100-80gb, 157.3 GiB" in why
    out = carve("--json", "plan", spec_with(tmp_path, memory="10GiB", min_profile="99g.1000gb"))
    assert out.returncode == 3
    plan = json.loads(out.stdout)
    assert plan["gpus_used"] == 0 and not plan["models"][0]["met"]
    assert "min_profile 99g.1000gb: no GPU in this fleet" in plan["unmet"][0]["reason"]
