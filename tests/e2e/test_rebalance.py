"""carve rebalance (docs/live.md, "Rebalance"): re-planning what carve up
serves when that frees a GPU, under load. A reload to a smaller spec moves its
replicas onto the GPUs the new plan uses but leaves the slices of a GPU it no
longer uses alone; `carve rebalance` frees that GPU (its slices destroyed)
while requests and streams keep flowing: zero failed requests, every stream
complete, every engine keeps its PID, and carve status and the simulator agree
afterwards."""
import json
import subprocess
import threading

import pytest

from conftest import BACKEND
from test_live import Load, request
from up_harness import poll, up  # noqa: F401

pytestmark = pytest.mark.skipif(
    BACKEND != "sim", reason="carve up attaches engines to simulated slices; run once, on the simulator")


def models(names):
    return "".join(f"  - {{name: {n}, engine: echo, memory: 30GiB, replicas: 1, "
                   f"args: [--token-delay-ms, '20']}}\n" for n in names)


def sim_gpus(carve):
    p = carve.run("--json", "gpus")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def slices_on(carve, index):
    """The simulator's slices on GPU `index` (carve gpus --json)."""
    return next(g for g in sim_gpus(carve)["gpus"] if g["index"] == index)["slices"]


def fragment(carve, up):
    """Three 30 GiB models need both H100s; a reload to two of them fits one
    GPU and frees the other's slices (the old ones go last); an idle slice
    made there by hand since (a leftover of someone's test) strands it."""
    carve.new("h100-80gb", "h100-80gb", mig="on")
    up.serve(models(["a", "b", "c"]), 3)
    p = up.up(up.spec("two.yaml", models(["a", "c"])))
    assert p.returncode == 0, p.stdout + p.stderr
    st = poll(lambda: up.all_ready(2), 30, "two replicas ready after the reload")
    used = {r["gpu"] for r in st["replicas"]}
    assert len(used) == 1, st["replicas"]
    idle = ({0, 1} - used).pop()
    assert not slices_on(carve, idle), "the reload destroys the slices its replicas left"
    carve.ok("mig", "create", "-i", str(idle), "4g.40gb")
    assert slices_on(carve, idle)
    return st, idle


def test_dry_run_says_which_gpu_a_rebalance_frees_and_changes_nothing(carve, up):
    st, idle = fragment(carve, up)
    p = up.run("--json", "rebalance", "--dry-run")
    assert p.returncode == 0, p.stdout + p.stderr
    d = json.loads(p.stdout)
    assert d["change"] is True and d["gpus_freed"] == [idle], d
    assert d["moves"] == [] and d["executed"] is False
    assert d["after"][idle]["slices"] == [] and d["before"][idle]["slices"]
    assert slices_on(carve, idle), "a dry run changes nothing"
    # Without a terminal and without --yes it refuses, and says how.
    p = up.run("rebalance")
    assert p.returncode == 2 and "--yes" in p.stderr, p.stdout + p.stderr
    assert slices_on(carve, idle)


def test_a_rebalance_under_load_frees_a_gpu_and_fails_no_request(carve, up):
    st, idle = fragment(carve, up)
    before = {r["id"]: r["pid"] for r in st["replicas"]}
    loads = [Load(up.port, m) for m in ("a", "c")]
    streams = []
    threads = [threading.Thread(target=lambda m=m: streams.append(request(up.port, m, True)))
               for m in ("a", "c", "a")]
    for t in threads:
        t.start()
    poll(lambda: all(len(l.results) >= 5 for l in loads), 10, "traffic before the rebalance")
    p = up.run("rebalance", "--yes")
    for t in threads:
        t.join(timeout=60)
    results = [s for l in loads for s in l.end()]
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"frees GPU {idle}" in p.stdout and "Rebalanced." in p.stdout, p.stdout
    # Zero failed requests; every stream ends with [DONE].
    assert results and all(s == 200 for s in results), [s for s in results if s != 200][:5]
    assert len(streams) == 3
    for status, body in streams:
        assert status == 200 and body.endswith(b"data: [DONE]\n\n"), body[-200:]
    # Untouched replicas keep their engines; status and simulator say the GPU is free.
    after = poll(lambda: up.all_ready(2), 30, "replicas ready after the rebalance")
    assert {r["id"]: r["pid"] for r in after["replicas"]} == before
    assert not slices_on(carve, idle)
    assert not any(s["gpu"] == idle for s in after["slices"]), after["slices"]
    # Once compact, there is nothing more to do.
    p = up.run("--json", "rebalance", "--dry-run")
    assert p.returncode == 0 and json.loads(p.stdout)["change"] is False, p.stdout
