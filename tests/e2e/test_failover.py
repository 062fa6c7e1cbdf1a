"""Failover (docs/live.md, "Failover"): a slice whose engine keeps crashing,
or that the device reports failed, is quarantined; its replicas move to a
spare or to free capacity while the gateway holds their model's requests, so
clients see slower answers, not failures. Untouched replicas keep their PIDs
and carve status names the quarantined slice and why."""
import json
import os
import signal

import pytest

from conftest import BACKEND, BIN
from test_live import Load, log
from up_harness import Up, alive, poll, up  # noqa: F401

pytestmark = pytest.mark.skipif(
    BACKEND != "sim", reason="carve up attaches engines to simulated slices; run once, on the simulator")

HOLD = "  timeouts: {hold_ms: 30000}\n"  # a crash loop takes ~8 s to call


def sim_gpus(carve):
    return json.loads(carve.ok("--json", "gpus").stdout)


def slices_of(carve):
    """{"0:1g.10gb@0": (slice, [pids on it])} for every slice of the machine."""
    out = {}
    for g in sim_gpus(carve)["gpus"]:
        for s in g["slices"]:
            pids = [p["pid"] for p in g["processes"] if p["gi"] == s["gi"]]
            out[f"{g['index']}:{s['profile']}@{s['start']}"] = (s, pids)
    return out


def test_a_crash_looping_slice_is_quarantined_and_its_model_moves_under_load(carve, up):
    carve.new("h100-80gb", "h100-80gb", mig="on")
    bad = up.dir / "bad-uuid"  # the engine refuses to start on the slice this names
    chat = ("  - {name: chat, engine: command, memory: 9GiB, replicas: 1, command: [sh, -c, "
            f"'if [ \"$(cat {bad} 2>/dev/null)\" = \"{{uuid}}\" ]; then echo bad slice >&2; exit 3; fi; "
            f"exec {BIN} engine echo --host 127.0.0.1 --port {{port}} --model {{model}}']}}\n"
            "  - {name: embed, engine: echo, memory: 9GiB, replicas: 1}\n"
            "spare: {profile: 1g.10gb, count: 1}\n")
    before = up.serve(chat, 2, HOLD)
    [spare] = before["spares"]
    old = next(r for r in before["replicas"] if r["model"] == "chat")
    embed = next(r for r in before["replicas"] if r["model"] == "embed")
    bad.write_text(old["uuid"])
    bad.chmod(0o644)
    load = Load(up.port, "chat")
    poll(lambda: len(load.results) >= 5, 10, "traffic before the fault")
    os.kill(old["pid"], signal.SIGKILL)  # it comes back on its slice five times, and fails

    def moved():
        st = up.status()
        r = st and next((r for r in st["replicas"] if r["model"] == "chat"), None)
        return st if r and r["state"] == "ready" and r["uuid"] != old["uuid"] else None
    after = poll(moved, 60, "chat ready on another slice", lambda: log(up))
    # The spare it used is made again once the move is done.
    after = poll(lambda: (lambda st: st if st and st["spares"] else None)(up.status()), 10,
                 "a new spare", lambda: log(up))
    results = load.end()
    assert results and all(s == 200 for s in results), [s for s in results if s != 200][:5]
    new = next(r for r in after["replicas"] if r["model"] == "chat")
    where = f"{old['gpu']}:{old['profile']}@{old['start']}"
    [q] = after["quarantined"]
    assert q["slice"] == where and "crash-loops" in q["why"], q
    assert next(r for r in after["replicas"] if r["model"] == "embed")["pid"] == embed["pid"]
    assert not alive(old["pid"])
    # The quarantined slice is kept, empty; the new one exists and holds chat.
    slices = slices_of(carve)
    assert where in slices and slices[where][1] == []
    # It went to the spare (no slice to make), and a new spare was reserved.
    assert f"{new['gpu']}:{new['profile']}@{new['start']}" == spare
    [again] = after["spares"]
    assert again not in (spare, where) and again in slices and slices[again][1] == []
    assert "quarantining " + where in log(up)
    # No slice is made before the moved engine starts: the spare is replaced after.
    tail = log(up)[log(up).index("quarantining"):]
    assert tail.index("starting chat/") < tail.index("create GPU instance"), tail
    text = carve.ok("status", "--state-dir", str(up.dir)).stdout
    assert f"quarantined {where}" in text, text


def test_a_failed_slice_under_load_moves_its_model_and_heals(carve, up):
    """carve sim fail on a busy slice: the engine dies of it (Xid 94), carve up
    quarantines the slice and moves the model, no request fails."""
    carve.new("h100-80gb", "h100-80gb", mig="on")
    before = up.serve("  - {name: chat, engine: echo, memory: 9GiB, replicas: 1}\n"
                      "  - {name: embed, engine: echo, memory: 9GiB, replicas: 1}\n", 2)
    old = next(r for r in before["replicas"] if r["model"] == "chat")
    embed = next(r for r in before["replicas"] if r["model"] == "embed")
    where = f"{old['gpu']}:{old['profile']}@{old['start']}"
    gi = next(s["gi"] for g in sim_gpus(carve)["gpus"] for s in g["slices"]
              if s["uuid"] == old["uuid"])
    load = Load(up.port, "chat")
    poll(lambda: len(load.results) >= 5, 10, "traffic before the fault")
    carve.ok("sim", "fail", carve.state, "-i", str(old["gpu"]), "--gi", str(gi))

    def moved():
        st = up.status()
        r = st and next((r for r in st["replicas"] if r["model"] == "chat"), None)
        return st if r and r["state"] == "ready" and r["uuid"] != old["uuid"] else None
    after = poll(moved, 30, "chat ready on another slice", lambda: log(up))
    served = len(load.results)
    poll(lambda: len(load.results) > served + 5, 10, "traffic after the move")
    results = load.end()
    assert results and all(s == 200 for s in results), [s for s in results if s != 200][:5]
    [q] = after["quarantined"]
    assert q["slice"] == where and q["why"] == "Xid 94: contained ECC error", q
    assert next(r for r in after["replicas"] if r["model"] == "embed")["pid"] == embed["pid"]
    assert not alive(old["pid"])
    slices = slices_of(carve)
    assert slices[where][0]["fault"] and slices[where][1] == []
    # Healed: the quarantine ends; the model stays where it moved.
    carve.ok("sim", "fail", carve.state, "--clear")
    poll(lambda: (up.status() or {}).get("quarantined") == [], 10, "the quarantine lifted",
         lambda: log(up))
    assert f"{where} healed" in log(up)
    assert next(r for r in up.status()["replicas"] if r["model"] == "chat")["pid"] == \
        next(r for r in after["replicas"] if r["model"] == "chat")["pid"]
