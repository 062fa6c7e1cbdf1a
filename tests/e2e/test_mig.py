"""The workflows people follow with nvidia-smi mig today, done with carve."""
import concurrent.futures
import json
import subprocess

from conftest import BIN


def slices(carve, gpu=0):
    g = carve.json("mig", "list", "-i", str(gpu))["gpus"][0]
    return [(s["profile"], s["start"]) for s in g["slices"]]


def test_h100_mixed_4g_with_1g_slices(carve):
    carve.new("h100-80gb:2")
    carve.ok("mig", "enable", "-i", "0")
    carve.ok("mig", "create", "-i", "0", "4g.40gb,1g.10gb,1g.10gb,1g.10gb")
    assert sorted(slices(carve)) == [("1g.10gb", 4), ("1g.10gb", 5), ("1g.10gb", 6), ("4g.40gb", 0)]
    carve.run("gpus")
    carve.run("profiles", "-i", "0")
    carve.run("mig", "list")
    carve.golden("h100_mixed")


def test_ids_in_the_order_nvidia_smi_refuses_still_work(carve):
    carve.new("h100-80gb", mig="on")
    p = carve.ok("mig", "create", "-i", "0", "19,19,14,9")
    assert p.stdout.count("created GPU instance") == 4
    g = carve.json("mig", "list")["gpus"][0]
    assert all(len(s["compute_instances"]) == 1 for s in g["slices"])
    assert all(s["uuid"].startswith("MIG-") for s in g["slices"])


def test_a_full_gpu_refuses_and_says_why(carve):
    carve.new("h100-80gb", mig="on")
    carve.ok("mig", "create", "-i", "0", "3g.40gb,3g.40gb")
    p = carve.run("mig", "create", "-i", "0", "1g.10gb")
    assert p.returncode == 3
    assert "need 9 placement units" in p.stderr
    p = carve.run("mig", "create", "-i", "0", "3g.40gb,3g.40gb,1g.10gb")
    assert p.returncode == 3


def test_create_is_all_or_nothing(carve):
    carve.new("h100-80gb", mig="on")
    carve.ok("sim", "fault", carve.state, "--after", "4", "--error", "insufficient_resources")
    p = carve.run("mig", "create", "-i", "0", "3g.40gb,2g.20gb,1g.10gb")
    assert p.returncode == 3, p.stderr
    assert "Nothing was changed" in p.stderr
    assert slices(carve) == []


def test_destroy_refuses_a_slice_in_use_then_force_stops_it(carve):
    carve.new("h100-80gb", mig="on")
    carve.ok("mig", "create", "-i", "0", "3g.40gb@4")
    carve.ok("sim", "attach", carve.state, "-i", "0", "--gi", "2", "--pid", "4121",
             "--name", "vllm", "--memory", "39117")
    p = carve.run("mig", "destroy", "-i", "0", "--all")
    assert p.returncode == 3
    assert "process 4121 (vllm, 38.2 GiB)" in p.stderr
    assert "--force" in p.stderr
    assert slices(carve) == [("3g.40gb", 4)]
    p = carve.ok("mig", "destroy", "-i", "0", "--all", "--force")
    assert "stopped process 4121 (vllm)" in p.stdout
    assert slices(carve) == []


def test_hopper_loses_its_layout_at_reboot(carve):
    carve.new("h100-80gb", mig="on")
    carve.ok("mig", "create", "-i", "0", "7g.80gb")
    carve.ok("sim", "reboot", carve.state)
    g = carve.json("gpus")["gpus"][0]
    assert g["mig"] == {"capable": True, "current": False, "pending": False}
    assert g["slices"] == []


def test_compute_instance_subdivision(carve):
    carve.new("h100-80gb", mig="on")
    carve.ok("mig", "create", "-i", "0", "3g.40gb@0", "--gi-only")
    carve.ok("mig", "create-ci", "-i", "0", "--gi", "1", "1c,1c,1c")
    g = carve.json("mig", "list")["gpus"][0]
    cis = g["slices"][0]["compute_instances"]
    assert [c["profile"] for c in cis] == ["1c.3g.40gb"] * 3
    p = carve.run("mig", "create-ci", "-i", "0", "--gi", "1", "1c")
    assert p.returncode == 3
    p = carve.run("mig", "destroy", "-i", "0", "--gi", "1")
    assert p.returncode == 0, p.stderr


def test_destroy_ci_keeps_the_gpu_instance_and_list_gi_shows_one(carve):
    carve.new("h100-80gb", mig="on")
    carve.ok("mig", "create", "-i", "0", "3g.40gb@0,3g.40gb@4", "--gi-only")
    carve.ok("mig", "create-ci", "-i", "0", "--gi", "1", "1c,1c,1c")
    carve.ok("mig", "create-ci", "-i", "0", "--gi", "2")
    carve.ok("sim", "attach", carve.state, "-i", "0", "--gi", "1", "--ci", "2", "--pid", "4122",
             "--name", "vllm")
    only = carve.json("mig", "list", "-i", "0", "--gi", "1")["gpus"][0]
    assert [s["gi"] for s in only["slices"]] == [1]
    assert "GI 2" not in carve.ok("mig", "list", "--gi", "1").stdout
    p = carve.run("mig", "list", "--gi", "5")
    assert p.returncode == 6 and "no GPU instance 5 on GPU 0" in p.stderr
    p = carve.ok("mig", "destroy-ci", "-i", "0", "--gi", "1", "--ci", "0,1")
    assert "destroyed CI 0 (1c.3g.40gb) in 3g.40gb@0 (GI 1)" in p.stdout
    p = carve.run("mig", "destroy-ci", "-i", "0", "--all")
    assert p.returncode == 3 and "process 4122 (vllm" in p.stderr and "--force" in p.stderr
    p = carve.ok("mig", "destroy-ci", "-i", "0", "--all", "--force")
    assert "stopped process 4122 (vllm)" in p.stdout
    g = carve.json("mig", "list")["gpus"][0]
    assert [(s["gi"], s["compute_instances"]) for s in g["slices"]] == [(1, []), (2, [])]
    p = carve.run("mig", "destroy-ci", "-i", "0", "--gi", "1", "--ci", "0")
    assert p.returncode == 6 and "GPU instance 1 has no compute instance 0" in p.stderr
    assert carve.run("mig", "destroy-ci", "-i", "0").returncode == 2


def test_dash_i_takes_an_index_uuid_prefix_or_pci_bus_id_like_nvidia_smi(carve):
    carve.new("h100-80gb:3")
    g = carve.json("gpus")["gpus"]
    bus = g[1]["pci_bus_id"]  # 00000000:28:00.0
    p = carve.ok("mig", "enable", "-i", f"{g[2]['uuid'][:12]},{bus[9:]}")
    assert p.stdout.splitlines() == ["GPU 2: MIG on.", "GPU 1: MIG on."]
    carve.ok("mig", "create", "-i", bus[4:], "3g.40gb@0")
    assert [x["index"] for x in carve.json("mig", "list", "-i", f"{g[1]['uuid']},1")["gpus"]] == [1]
    assert carve.json("profiles", "-i", g[2]["uuid"].upper())["gpus"][0]["index"] == 2
    carve.ok("sim", "attach", carve.state, "-i", bus, "--gi", "1", "--pid", "4200")
    assert carve.json("mig", "list", "-i", "1")["gpus"][0]["processes"][0]["pid"] == 4200
    p = carve.run("mig", "list", "-i", "GPU-")
    assert p.returncode == 2 and "fits 3 GPUs: GPU 0, GPU 1, GPU 2" in p.stderr
    p = carve.run("mig", "destroy", "-i", "00000000:99:00.0", "--all")
    assert p.returncode == 6 and "no GPU 00000000:99:00.0 on this machine" in p.stderr
    assert f"1  {g[1]['uuid']}  {bus}" in p.stderr


def test_profiles_json_shape(carve):
    carve.new("h100-80gb", mig="on")
    carve.ok("mig", "create", "-i", "0", "2g.20gb@0,1g.10gb@2,1g.10gb@3")
    prof = {p["name"]: p for p in carve.json("profiles", "-i", "0")["gpus"][0]["profiles"]}
    for key in ("name", "id", "nvml_profile", "memory_mib", "sm", "max_instances",
                "free_instances", "placements"):
        assert key in prof["3g.40gb"]
    assert prof["3g.40gb"]["free_starts"] == [4]
    assert prof["4g.40gb"]["free_instances"] == 0
    assert prof["1g.10gb"]["free_starts"] == [4, 5, 6]
    assert prof["1g.10gb"]["placements"][0] == {"start": 0, "size": 1}


def test_no_backend_names_both_ways_forward(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": str(tmp_path)}
    p = subprocess.run([BIN, "gpus"], capture_output=True, text=True, env=env)
    assert p.returncode == 5
    assert "carve sim new" in p.stderr and "NVIDIA driver" in p.stderr


def test_bad_input_is_a_usage_error_with_the_fix(carve):
    carve.new("h100-80gb", mig="on")
    p = carve.run("mig", "create", "-i", "0", "5g.50gb")
    assert p.returncode == 2 and "3g.40gb (id 9)" in p.stderr
    p = carve.run("mig", "create", "-i", "0", "1g.10gb@7")
    assert p.returncode == 2 and "can start at 0, 1, 2, 3, 4, 5, 6 only" in p.stderr
    p = carve.run("mig", "create", "-i", "9", "1g.10gb")
    assert p.returncode == 6 and "no GPU 9" in p.stderr
    p = carve.run("sim", "new", carve.state, "h100-80gb")
    assert p.returncode == 3 and "--force" in p.stderr
    p = carve.run("sim", "new", str(carve.tmp / "x.json"), "h999")
    assert p.returncode == 6 and "Known models" in p.stderr


def test_many_concurrent_creates_leave_a_valid_uncorrupted_state(carve):
    carve.new("h100-80gb:2", mig="on")

    def create(gpu):
        return carve.run("mig", "create", "-i", str(gpu), "1g.10gb").returncode

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(create, [0, 1] * 10))
    assert codes.count(0) == 14  # 7 per GPU fit
    assert all(c in (0, 3) for c in codes)
    state = json.loads(open(carve.state).read())
    for g in state["gpus"]:
        starts = sorted(gi["start"] for gi in g["gpu_instances"])
        assert starts == list(range(7))
