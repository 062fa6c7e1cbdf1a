"""carve apply under faults, crashes and reboots, through the real binary.

A fault at every driver call and a kill -9 right after every operation
(CARVE_TEST_CRASH_AFTER_OP, a test hook): afterwards each GPU holds its
pre-apply layout or its target, and a rerun converges. A reboot loses the
layout; the boot unit's command brings it back, placement-exactly.
"""
import json
import os
import shlex
import shutil
import signal
import subprocess

import pytest

BEFORE = """version: v1
gpus:
  - index: 0
    slices: [2g.20gb@0, 1g.10gb@2, 1g.10gb@3, 3g.40gb@4]
  - index: 1
    slices: [3g.40gb@4]
"""
TARGET = """version: v1
gpus:
  - index: 0
    slices: [2g.20gb@0, 1g.20gb@2, 3g.40gb@4]
  - index: 1
    mig: off
"""


def prepare(carve):
    carve.ok("sim", "new", carve.state, "h100-80gb", "a100-80gb", "--mig", "on", "--seed", "7", "--force")
    for name, text in (("before.yaml", BEFORE), ("target.yaml", TARGET)):
        (carve.tmp / name).write_text(text)
    carve.ok("apply", str(carve.tmp / "before.yaml"), "--yes")
    return str(carve.tmp / "before.yaml"), str(carve.tmp / "target.yaml")


def holds(carve, before, target):
    """'before' or 'target' for each GPU (asserting it is one of them)."""
    b = json.loads(carve.run("--json", "assert", before).stdout)["gpus"]
    t = json.loads(carve.run("--json", "assert", target).stdout)["gpus"]
    out = []
    for gpu in (0, 1):
        assert b[gpu]["match"] or t[gpu]["match"], f"GPU {gpu} holds neither layout"
        out.append("target" if t[gpu]["match"] else "before")
    return out


def test_a_fault_at_every_driver_call_restores_then_a_rerun_converges(carve):
    before, target = prepare(carve)
    ops = len(carve.json("apply", target, "--dry-run")["operations"])
    assert ops == 9
    for n in range(1, ops + 1):
        prepare(carve)
        carve.ok("sim", "fault", carve.state, "--after", str(n), "--error", "insufficient_resources")
        p = carve.run("apply", target, "--yes")
        assert p.returncode == 3, (n, p.stderr)
        assert f"operation {n} of {ops}" in p.stderr and "Rolled back." in p.stderr
        assert "GPU 0 holds its pre-apply layout: 2g.20gb@0, 1g.10gb@2, 1g.10gb@3, 3g.40gb@4" in p.stderr
        assert holds(carve, before, target) == ["before", "before"]
        carve.ok("apply", target, "--yes")
        assert holds(carve, before, target) == ["target", "target"]


def test_a_kill_after_every_operation_is_finished_by_the_next_run(carve):
    before, target = prepare(carve)
    for n in range(1, 10):
        prepare(carve)
        env = dict(carve.env, CARVE_TEST_CRASH_AFTER_OP=str(n))
        p = subprocess.run([os.environ["CARVE_BIN"], "apply", target, "--yes"], env=env,
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == -signal.SIGKILL, (n, p.stderr)
        assert os.path.exists(carve.state + ".d/apply-journal.json")
        assert "interrupted apply is pending" in carve.run("assert", target).stderr
        p = carve.ok("apply", target, "--yes")
        assert f"was interrupted during operation {n} of 9" in p.stderr, p.stderr
        assert holds(carve, before, target) == ["target", "target"]
        assert not os.path.exists(carve.state + ".d/apply-journal.json")


def test_a_kill_then_a_failing_recovery_rolls_back(carve):
    before, target = prepare(carve)
    env = dict(carve.env, CARVE_TEST_CRASH_AFTER_OP="3")
    subprocess.run([os.environ["CARVE_BIN"], "apply", target, "--yes"], env=env, capture_output=True)
    carve.ok("sim", "fault", carve.state, "--after", "2")
    p = carve.run("apply", before, "--yes")
    assert "rolling back" in p.stderr
    assert p.returncode == 0, p.stderr
    assert holds(carve, before, target) == ["before", "before"]


@pytest.mark.parametrize("models", [("a100-80gb", "a30"), ("h100-80gb", "h200")])
def test_the_boot_unit_restores_the_exact_layout_after_a_reboot(carve, models):
    carve.ok("sim", "new", carve.state, *models, "--seed", "7")  # MIG off
    layout = carve.tmp / "boot.yaml"
    layout.write_text("version: v1\ngpus:\n  - index: 0\n    slices: [1g.10gb@6, 3g.40gb@0]\n"
                      "  - index: 1\n    slices: [1g.%s@3]\n" % ("6gb" if models[1] == "a30" else "18gb"))
    carve.ok("apply", str(layout), "--yes")
    units = carve.tmp / "units"
    carve.ok("apply", str(layout), "--install", "--unit-dir", str(units))
    unit = (units / "carve-apply.service").read_text()
    assert os.path.islink(units / "multi-user.target.wants" / "carve-apply.service")
    assert "After=nvidia-persistenced.service" in unit and "TimeoutStartSec=" in unit
    analyze = shutil.which("systemd-analyze")
    if analyze:
        v = subprocess.run([analyze, "verify", str(units / "carve-apply.service")], capture_output=True, text=True)
        assert v.returncode == 0, v.stdout + v.stderr
    carve.ok("sim", "reboot", carve.state)
    assert carve.run("assert", str(layout)).returncode == 1
    exec_start = next(l for l in unit.splitlines() if l.startswith("ExecStart="))[len("ExecStart="):]
    p = subprocess.run(shlex.split(exec_start), env=carve.env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert carve.run("assert", str(layout)).returncode == 0
    carve.ok("apply", "--uninstall", "--unit-dir", str(units))
    assert not (units / "carve-apply.service").exists()
    if not analyze:
        pytest.skip("systemd-analyze is missing (scripts/install-deps installs the systemd package)")


def interrupted(carve):
    """A real journal, left by an apply killed after its 3rd operation; its path."""
    _, target = prepare(carve)
    env = dict(carve.env, CARVE_TEST_CRASH_AFTER_OP="3")
    subprocess.run([os.environ["CARVE_BIN"], "apply", target, "--yes"], env=env,
                   capture_output=True, timeout=60)
    path = carve.state + ".d/apply-journal.json"
    assert os.path.exists(path)
    return path, target


@pytest.mark.parametrize("edit", [
    lambda j: j.update(phase="sideways"),  # used to be taken for a rollback
    lambda j: j.update(done=1e12),         # used to print as a negative operation
    lambda j: j.update(done=10),           # of 9 operations
    None,                                  # not JSON at all
])
def test_a_corrupt_journal_is_named_by_dry_run_and_assert_and_refused_by_apply(carve, edit):
    """issue #12: carve said nothing useful about a corrupt journal, and guessed at one."""
    path, target = interrupted(carve)
    if edit:
        j = json.loads(open(path).read())
        edit(j)
        open(path, "w").write(json.dumps(j))
    else:
        open(path, "w").write("{garbage")
    before = carve.ok("export").stdout
    for args in (("apply", target, "--dry-run"), ("assert", target)):
        p = carve.run(*args)
        assert f"carve: {path} is corrupt: " in p.stderr, (args, p.stderr)
        assert "carve apply refuses to run until it is dealt with" in p.stderr
        assert f"mv {path} {path}.corrupt" in p.stderr
    p = carve.run("apply", target, "--yes")
    assert p.returncode == 2, p.stderr
    assert f"carve: {path} is corrupt: " in p.stderr and "rolling back" not in p.stderr
    assert carve.ok("export").stdout == before  # nothing was touched
    assert os.path.exists(path)
    os.rename(path, path + ".corrupt")  # what the message says to do
    carve.ok("apply", target, "--yes")
