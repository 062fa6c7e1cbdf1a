"""carve plan --pools: node-pool advice end to end, and its fleet: entries
planned again as fixed pools (and rendered for Kubernetes)."""
import json, os, pathlib, subprocess

MODELS = """models:
  - {name: chat, source: Qwen/Qwen3-8B, memory: 20GiB, replicas: 5}
  - {name: big, source: Qwen/Qwen3-32B, memory: 70GiB, replicas: 1}
"""


def carve(*args):
    return subprocess.run([os.environ["CARVE_BIN"], *map(str, args)], capture_output=True, text=True, timeout=60)


def test_pools_text_compares_with_the_best_mixed_layout(tmp_path):
    spec = tmp_path / "carve.yaml"
    spec.write_text("version: v1\ncurrency: EUR\n" + MODELS)
    out = carve("plan", spec, "--fleet", "h100-80gb:4:2100,rtx-pro-6000:4:1100", "--pools")
    assert out.returncode == 0, out.stderr
    assert "one MIG profile per node pool" in out.stdout
    assert "best mixed" in out.stdout and "€" in out.stdout
    assert "fixed_profile" not in out.stdout  # only with --fill


def test_pools_fill_round_trips_as_fixed_pools(tmp_path):
    spec = tmp_path / "carve.yaml"
    spec.write_text("version: v1\n" + MODELS)
    out = carve("--json", "plan", spec, "--fleet", "rtx-pro-6000:4:1100", "--pools", "--fill")
    assert out.returncode == 0, out.stderr
    advice = json.loads(out.stdout)
    assert advice["fill"] and advice["all_met"]
    assert {p["profile"] for p in advice["pools"]} == {"1g.24gb", "4g.96gb"}
    assert advice["cost_per_month"] >= advice["mixed_cost_per_month"]
    pools = tmp_path / "pools.yaml"
    pools.write_text("version: v1\n" + advice["fleet_yaml"] + MODELS)
    again = carve("--json", "plan", pools)
    assert again.returncode == 0, again.stderr
    plan = json.loads(again.stdout)
    assert all(m["met"] for m in plan["models"])
    assert all(g.get("fixed_profile") for g in plan["gpus"])
    k8s = carve("render", "k8s", pools, "-o", tmp_path / "out")
    assert k8s.returncode == 0, k8s.stderr
    assert not (tmp_path / "out" / "mig-config.yaml").exists()  # fixed pools only: no GPU Operator


def test_fill_without_pools_is_refused(tmp_path):
    spec = tmp_path / "carve.yaml"
    spec.write_text("version: v1\n" + MODELS)
    out = carve("plan", spec, "--fleet", "h100-80gb:1", "--fill")
    assert out.returncode != 0
    assert "--pools" in out.stderr
