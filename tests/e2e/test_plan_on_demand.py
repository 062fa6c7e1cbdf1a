"""carve plan on a spec with on-demand models (issue #16): their pools are
planned as slices ("pool:NAME"), the models themselves are not."""
import json, os, pathlib, subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
SPEC = ROOT / "examples" / "on-demand.yaml"


def carve(*args):
    # The timeout is a safety net: a carve that hangs fails the test instead of the run.
    return subprocess.run([os.environ["CARVE_BIN"], *map(str, args)], capture_output=True, text=True,
                          timeout=60)


def test_plan_text_shows_each_pool_its_slices_and_models():
    out = carve("plan", SPEC, "--fleet", "h100-80gb:1")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "pool small: 1 × 1g.10gb for 5 on-demand models (largest 4.0 GiB)" in text, text
    assert "pool large: 1 × 2g.20gb for 3 on-demand models (largest 16.0 GiB)" in text, text
    assert "ft-support, ft-legal, ft-sales, ft-hr, ft-it" in text
    # The per-slice rows name the pools; no on-demand model has a slice of its own.
    slice_rows = text.split("\nModels\n")[0]
    assert "pool:small" in slice_rows and "pool:large" in slice_rows
    assert "ft-support" not in slice_rows and "code-a" not in slice_rows


def test_plan_json_lists_pools_and_places_their_slices():
    out = carve("--json", "plan", SPEC, "--fleet", "h100-80gb:1")
    assert out.returncode == 0, out.stderr
    j = json.loads(out.stdout)
    pools = {p["name"]: p for p in j["pools"]}
    assert pools["small"] == {"name": "small", "model": "pool:small", "profile": "1g.10gb",
                              "count": 1, "slice_mib": 9984, "largest_mib": 4096,
                              "models": ["ft-support", "ft-legal", "ft-sales", "ft-hr", "ft-it"]}
    assert pools["large"]["profile"] == "2g.20gb" and pools["large"]["count"] == 1
    placed = [(s["profile"], r["model"]) for g in j["gpus"] for s in g["slices"]
              for r in s["replicas"]]
    assert ("1g.10gb", "pool:small") in placed and ("2g.20gb", "pool:large") in placed
    assert {m["name"] for m in j["models"]} == {"chat", "embed", "pool:small", "pool:large"}


def test_pool_no_gpu_can_hold_is_an_error_naming_the_line(tmp_path):
    spec = tmp_path / "c.yaml"
    spec.write_text("version: v1\nmodels:\n"
                    "  - {name: a, engine: echo, memory: 4GiB, on_demand: true}\n"
                    "  - {name: b, engine: echo, memory: 90GiB, on_demand: true}\n")
    out = carve("plan", spec, "--fleet", "h100-80gb:2")
    assert out.returncode != 0
    assert f"{spec}:3: pool 'default': no MIG profile" in out.stderr, out.stderr
    assert "'b'" in out.stderr


def test_render_refuses_on_demand_models_clearly():
    out = carve("render", "docker", SPEC, "--fleet", "h100-80gb:1")
    assert out.returncode != 0
    assert "is on demand" in out.stderr and "carve up" in out.stderr, out.stderr
