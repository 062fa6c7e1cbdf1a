"""carve apply / assert / export through the real binary on a simulated machine."""
import json
import os
import subprocess
import time
from pathlib import Path

from conftest import BIN

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

MIXED = """version: v1
gpus:
  - index: 0
    mig: on
    slices: [2g.20gb@0, 1g.10gb@2, 1g.10gb@3, 3g.40gb@4]
"""
TARGET = """version: v1
gpus:
  - index: 0
    mig: on
    slices: [2g.20gb@0, 1g.20gb@2, 3g.40gb@4]
  - index: 1
    mig: off
"""


def write(carve, name, text):
    path = carve.tmp / name
    path.write_text(text)
    return str(path)


def slices(carve, gpu=0):
    g = carve.json("mig", "list", "-i", str(gpu))["gpus"][0]
    return [(s["profile"], s["start"]) for s in g["slices"]]


def test_dry_run_pictures_then_apply_assert_export(carve):
    carve.new("h100-80gb:2", mig="on")
    carve.ok("apply", write(carve, "mixed.yaml", MIXED), "--yes")
    carve.ok("sim", "attach", carve.state, "-i", "0", "--gi", "3", "--pid", "4121",
             "--name", "vllm", "--memory", "9000")
    target = write(carve, "target.yaml", TARGET)
    carve.transcript.clear()
    p = carve.run("apply", target, "--dry-run")
    assert p.returncode == 0
    assert "Verdict: 7 operations on GPUs 0, 1; MIG mode change on GPU 1; no reset; nothing in use is touched." in p.stdout
    assert carve.run("assert", target).returncode == 1
    carve.run("apply", target, "--yes")
    carve.run("assert", target)
    carve.transcript = [t.replace(str(carve.tmp), "$TMP") for t in carve.transcript]
    carve.golden("apply_dry_run_and_apply")
    assert slices(carve) == [("2g.20gb", 0), ("1g.20gb", 2), ("3g.40gb", 4)]
    exported = write(carve, "export.yaml", carve.ok("export").stdout)
    p = carve.ok("apply", exported)
    assert "nothing to do" in p.stdout


def test_json_shapes(carve):
    carve.new("h100-80gb", mig="on")
    target = write(carve, "t.yaml", "version: v1\ngpus:\n  - index: 0\n    slices: [3g.40gb, 3g.40gb]\n")
    plan = carve.json("apply", target, "--dry-run")
    assert plan["gpus"][0]["create"] == ["3g.40gb@0", "3g.40gb@4"]
    assert plan["in_use"] is False and len(plan["operations"]) == 4
    assert carve.json("apply", target, "--yes")["gpus"][0]["holds"] == "target"
    assert carve.json("assert", target)["match"] is True
    exported = carve.json("export")["gpus"][0]
    assert exported["mig"] is True
    assert exported["slices"][1] == {"profile": "3g.40gb", "start": 4, "compute": ["3g.40gb"]}


def test_refuses_without_a_terminal_unless_yes(carve):
    carve.new("h100-80gb", mig="on")
    p = carve.run("apply", write(carve, "m.yaml", MIXED))
    assert p.returncode == 2
    assert "pass --yes" in p.stderr.lower()
    assert slices(carve) == []


def test_a_slice_in_use_is_refused_with_its_process_then_force_stops_it(carve):
    carve.new("h100-80gb", mig="on")
    carve.ok("apply", write(carve, "m.yaml", MIXED), "--yes")
    carve.ok("sim", "attach", carve.state, "-i", "0", "--gi", "9", "--pid", "4121",
             "--name", "vllm", "--memory", "9000")
    target = write(carve, "t.yaml", TARGET.split("  - index: 1")[0])
    p = carve.run("apply", target, "--yes")
    assert p.returncode == 3
    assert ("carve: cannot destroy 1g.10gb@2 on GPU 0 (the layout has no 1g.10gb): "
            "process 4121 (vllm, 8.8 GiB) is using it.") in p.stderr
    assert "rerun with --force" in p.stderr
    assert slices(carve) == [("2g.20gb", 0), ("1g.10gb", 2), ("1g.10gb", 3), ("3g.40gb", 4)]
    p = carve.ok("apply", target, "--yes", "--force")
    assert "Stopped process 4121 (vllm, 8.8 GiB)." in p.stdout
    assert slices(carve) == [("2g.20gb", 0), ("1g.20gb", 2), ("3g.40gb", 4)]


def test_one_apply_at_a_time(carve):
    carve.new("h100-80gb", mig="on")
    carve.ok("sim", "fault", carve.state, "--delay-ms", "1000")
    first = subprocess.Popen([BIN, "apply", write(carve, "m.yaml", MIXED), "--yes"], env=carve.env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # The holder writes its note into the lock file once it holds the lock.
    lock = carve.tmp / "machine.json.changes.lock"
    deadline = time.monotonic() + 30
    while not (lock.exists() and "carve apply" in lock.read_text()):
        assert time.monotonic() < deadline and first.poll() is None, "first apply never took the lock"
    p = carve.run("apply", str(carve.tmp / "m.yaml"), "--yes")
    assert first.wait(timeout=60) == 0
    assert p.returncode == 4, p.stderr
    assert "carve apply" in p.stderr


def test_layout_errors_name_file_and_line(carve):
    carve.new("h100-80gb", mig="on")
    bad = write(carve, "bad.yaml", "version: v1\ngpus:\n  - index: 0\n    slices: [3g.40gb@1]\n")
    p = carve.run("apply", bad, "--dry-run")
    assert p.returncode == 2
    assert f"carve: {bad}:4: GPU 0: 3g.40gb cannot start at unit 1" in p.stderr
    full = write(carve, "full.yaml", "version: v1\ngpus:\n  - index: 0\n    slices: [4g.40gb, 4g.40gb]\n")
    p = carve.run("apply", full, "--dry-run")
    assert p.returncode == 3
    assert f"GPU 0 (asked for in {full}:3)" in p.stderr


def test_a_layout_is_read_by_the_specs_own_reader(carve):
    """#14.2: carve.yaml is parsed once, in spec/; apply, plan and up refuse alike."""
    carve.new("h100-80gb", mig="on")
    text = ("version: v1\ngpus:\n  - index: 0\n    mig: on\n    mig: off\n"
            "models:\n  - {name: a, memory: 1GiB, replicas: 1, replica: 2}\n")
    twice = write(carve, "twice.yaml", text)
    p = carve.run("apply", twice, "--dry-run")
    assert p.returncode == 2, p.stderr
    assert f"{twice}:5: key 'mig' is given twice in one mapping" in p.stderr, p.stderr
    models = write(carve, "models.yaml", text.replace("    mig: off\n", ""))
    for verb in (["apply", models, "--dry-run"], ["plan", models]):
        p = carve.run(*verb)
        assert p.returncode == 2, (verb, p.stderr)
        assert f"{models}:6: model 'a' has unknown key 'replica'" in p.stderr, (verb, p.stderr)
        assert "Did you mean 'replicas'?" in p.stderr, (verb, p.stderr)


def test_an_endless_layout_file_is_refused_not_read_forever(carve):
    """issue #12: carve apply /dev/zero read until memory ran out."""
    carve.new("h100-80gb", mig="on")
    for args in (("apply", "/dev/zero", "--dry-run"), ("apply", "/dev/zero", "--yes"),
                 ("assert", "/dev/zero")):
        p = carve.run(*args)
        assert p.returncode == 2, (args, p.stderr)
        assert "carve: layout file /dev/zero is not a regular file" in p.stderr


def test_mig_parted_configs_apply_with_their_meaning_and_export_round_trips(carve):
    carve.new("h100-80gb:2", "a100-80gb", mig="on")
    config = str(EXAMPLES / "mig-parted" / "config.yaml")
    for name in ["all-disabled", "all-enabled", "all-1g.10gb", "all-balanced", "custom-config"]:
        carve.ok("apply", config, "-c", name, "--yes")
        carve.ok("assert", config, "-c", name)
    gpus = carve.json("gpus")["gpus"]
    assert sorted(s["profile"] for s in gpus[0]["slices"]) == ["1g.10gb+me", "1g.20gb", "3g.40gb"]
    assert [len(s["compute_instances"]) for s in gpus[1]["slices"]] in ([3, 1], [1, 3])
    assert gpus[2]["mig"]["current"] is False
    exported = write(carve, "parted.yaml", carve.ok("export", "--format", "mig-parted").stdout)
    assert "nothing to do" in carve.ok("apply", exported, "-c", "current").stdout
    p = carve.run("assert", config, "-c", "all-balanced")
    assert p.returncode == 1 and "differs" in p.stdout
