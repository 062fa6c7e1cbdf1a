"""A carve up killed (SIGKILL) at any step of a live change (docs/live.md,
"A carve up killed mid-change"): its engines die with it, and the next carve
up finishes the change from STATE_DIR/live.journal: it serves the new spec,
and no engine process and no slice the change made or was freeing is left."""
import json

import pytest

from conftest import BACKEND
from test_live import spec
from up_harness import Up, alive, poll, up  # noqa: F401

pytestmark = pytest.mark.skipif(
    BACKEND != "sim", reason="carve up attaches engines to simulated slices; run once, on the simulator")

STEPS = 6  # service.cpp: interim layout, start, wait, drain and stop, final layout, done
TEMPORARY_HOME = 7  # before those, where a stop-first model gets a temporary home


def machine_slices(carve):
    """{MIG UUID: "GPU:profile@start"} of every slice on the machine."""
    gpus = json.loads(carve.ok("--json", "gpus").stdout)["gpus"]
    return {s["uuid"]: f"{g['index']}:{s['profile']}@{s['start']}" for g in gpus for s in g["slices"]}


@pytest.mark.parametrize("step", range(1, STEPS + 1))
def test_a_kill_at_every_step_of_a_move_is_finished_by_the_next_carve_up(carve, up, step):
    carve.new("h100-80gb", "h100-80gb", mig="on")
    carve.env["CARVE_TEST_CRASH_AT_STEP"] = str(step)  # the detached service inherits it
    # chat fills GPU 1's 7g.80gb, embed has a 1g.10gb on GPU 0; the change moves
    # chat next to embed and leaves GPU 1, which the new plan does not use.
    p = up.up(spec(up, "70GiB"), "--detach")
    del carve.env["CARVE_TEST_CRASH_AT_STEP"]
    assert p.returncode == 0, p.stdout + p.stderr
    before = poll(lambda: up.all_ready(2), 60, "replicas ready")
    service = before["pid"]
    engines = [r["pid"] for r in before["replicas"]]
    moved = spec(up, "9GiB")  # chat: 7g.80gb -> a 1g.10gb, made before broken
    p = up.up(moved)
    assert p.returncode != 0, "the reload should have died at step %d" % step
    poll(lambda: not alive(service), 10, "the killed carve up gone")
    up.note()
    poll(lambda: not any(alive(pid) for pid in up.seen), 10, "every engine gone with it")
    assert (up.dir / "live.journal").exists()

    p = up.up(moved, "--detach")
    assert p.returncode == 0, p.stdout + p.stderr
    after = poll(lambda: up.all_ready(2), 60, "the next carve up serving")
    chat = next(r for r in after["replicas"] if r["model"] == "chat")
    assert chat["profile"] == "1g.10gb" and chat["gpu"] == next(
        r["gpu"] for r in after["replicas"] if r["model"] == "embed"), chat
    assert not (up.dir / "live.journal").exists()
    log = (up.dir / "up.log").read_text()
    assert "finishing the change an earlier carve up began" in log, log
    # No leaked slice: every slice on the machine is one a replica runs on.
    slices = machine_slices(carve)
    assert set(slices) == {r["uuid"] for r in after["replicas"]}, (slices, after["replicas"])
    assert all(not alive(pid) for pid in engines)


@pytest.mark.parametrize("step", [TEMPORARY_HOME] + list(range(1, STEPS + 1)))
def test_a_kill_at_every_step_of_a_move_through_a_temporary_home_leaves_nothing(carve, up, step):
    carve.new("h100-80gb", "h100-80gb", mig="on")
    carve.env["CARVE_TEST_CRASH_AT_STEP"] = str(step)
    # New settings for chat on its own slice: it stops first, and serves
    # meanwhile from a temporary home the change makes (and must not leak).
    p = up.up(spec(up, "9GiB"), "--detach")
    del carve.env["CARVE_TEST_CRASH_AT_STEP"]
    assert p.returncode == 0, p.stdout + p.stderr
    before = poll(lambda: up.all_ready(2), 60, "replicas ready")
    service = before["pid"]
    changed = spec(up, "9GiB", tokens=50)
    p = up.up(changed)
    assert p.returncode != 0, "the reload should have died at step %d" % step
    poll(lambda: not alive(service), 10, "the killed carve up gone")
    up.note()
    poll(lambda: not any(alive(pid) for pid in up.seen), 10, "every engine gone with it")

    p = up.up(changed, "--detach")
    assert p.returncode == 0, p.stdout + p.stderr
    after = poll(lambda: up.all_ready(2), 60, "the next carve up serving")
    assert not (up.dir / "live.journal").exists()
    slices = machine_slices(carve)
    assert set(slices) == {r["uuid"] for r in after["replicas"]}, (slices, after["replicas"])
