"""carve advise and autoscale (docs/live.md): from carve up's measured
traffic, a model under load gets "more replicas", an idle one "fewer";
`carve advise --apply` carries it out live and autoscale does the same by
itself within its bounds, with no failed request while it happens."""
import json
import threading
import time

import pytest

from conftest import BACKEND
from test_live import request
from up_harness import poll, up  # noqa: F401

pytestmark = pytest.mark.skipif(
    BACKEND != "sim", reason="carve up attaches engines to simulated slices; run once, on the simulator")

# One replica of `hot` serves 10 requests/s (its measured profiles: row); the
# load sends about 20 per second: 200% of one, so 3 keep it at 70% (and a
# slow machine that sends only 12 is still over 80%).
HOT = ("  - {{name: hot, engine: echo, memory: 9GiB, replicas: 1{extra}, "
       "profiles: [{{profile: 1g.10gb, throughput: 10}}]}}\n")
IDLE = "  - {{name: idle, engine: echo, memory: 9GiB, replicas: 2{extra}}}\n"


class PacedLoad:
    """About `rate` requests/s to `model`, each answered before the next."""

    def __init__(self, port, model, rate):
        self.port, self.model, self.gap = port, model, 1.0 / rate
        self.stop = threading.Event()
        self.results = []
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        due = time.monotonic()
        while not self.stop.is_set():
            try:
                self.results.append(request(self.port, self.model)[0])
            except OSError as e:
                self.results.append(repr(e))
            due += self.gap
            self.stop.wait(max(0.0, due - time.monotonic()))  # pacing, not synchronisation

    def end(self):
        self.stop.set()
        self.thread.join(timeout=60)
        return self.results


def advise(up, *args):
    p = up.run("advise", "--json", "--window", "10s", *args)
    assert p.returncode == 0, p.stdout + p.stderr
    return json.loads(p.stdout)


def by_model(advice):
    return {m["model"]: m for m in advice["models"]}


def counts(st):
    out = {}
    for r in st["replicas"]:
        if r["state"] == "ready":
            out[r["model"]] = out.get(r["model"], 0) + 1
    return out


def test_advise_grows_a_hot_model_and_apply_does_it_live(carve, up):
    carve.new("h100-80gb", mig="on")
    up.serve(HOT.format(extra="") + IDLE.format(extra=""), 3)
    load = PacedLoad(up.port, "hot", 20)
    try:
        advice = poll(lambda: (lambda a: a if by_model(a)["hot"]["advice"] == "grow" else None)(
            advise(up)), 60, "advice to grow hot")
        hot, idle = by_model(advice)["hot"], by_model(advice)["idle"]
        assert hot["replicas"]["from"] == 1 and hot["replicas"]["to"] >= 2, hot
        assert hot["utilisation"] > 0.8 and hot["capacity_per_replica"] == 10, hot
        assert "req/s" in hot["reason"], hot
        assert idle["advice"] == "shrink" and idle["replicas"] == {"from": 2, "to": 1}, idle
        assert "idle" in idle["reason"]
        assert advice["fits"] and advice["make_before_break"], advice
        actions = [c["action"] for c in advice["changes"]]
        assert "start" in actions and "stop" in actions, advice["changes"]
        assert not advice["applied"]

        p = up.run("advise", "--apply", "--yes", "--window", "10s")
        assert p.returncode == 0, p.stdout + p.stderr
        assert "Applied" in p.stdout, p.stdout
        st = poll(lambda: (lambda s: s if s and counts(s).get("hot", 0) >= 2
                           and counts(s).get("idle") == 1 and len(s["replicas"]) ==
                           sum(counts(s).values()) else None)(up.status()), 60,
                  "hot grown and idle shrunk")
        poll(lambda: len(load.results) >= 20, 10, "traffic after the change")
    finally:
        results = load.end()
    assert results and all(s == 200 for s in results), [s for s in results if s != 200][:5]
    # The spec file is as written; carve status says an override is in force.
    assert "replicas: 1" in (up.c.tmp / "carve.yaml").read_text()
    assert st["overrides"]["hot"]["by"] == "carve advise --apply", st["overrides"]
    text = up.run("status").stdout
    assert "overrides in force" in text and "hot: replicas" in text, text


def test_advise_says_what_it_cannot_know(carve, up):
    """No measured capacity and no traffic: it keeps, and says why."""
    carve.new("h100-80gb", mig="on")
    up.serve("  - {name: chat, engine: echo, memory: 9GiB, replicas: 1}\n", 1)
    p = up.run("advise", "--window", "2h")
    assert p.returncode == 2 and "--window '2h'" in p.stderr, p.stderr
    advice = poll(lambda: (lambda a: a if a["measured_s"] >= 10 else None)(advise(up)), 60,
                  "10 s measured")
    chat = by_model(advice)["chat"]
    assert chat["advice"] == "keep" and not advice["change"], advice
    text = up.run("advise", "--window", "10s").stdout
    assert "Nothing to change." in text, text


def test_autoscale_grows_a_hot_model_within_max_and_shrinks_an_idle_one(carve, up):
    carve.new("h100-80gb", mig="on")
    bounds = ", autoscale: {{min: 1, max: {}, interval_s: 10}}"
    up.serve(HOT.format(extra=bounds.format(2)) + IDLE.format(extra=bounds.format(3)), 3)
    load = PacedLoad(up.port, "hot", 20)
    try:
        # hot wants 3 (20 req/s at 70% of 10 each); max 2. idle goes to min 1.
        st = poll(lambda: (lambda s: s if s and counts(s) == {"hot": 2, "idle": 1} and
                           len(s["replicas"]) == 3 else None)(up.status()), 90,
                  "autoscale: hot 2, idle 1")
        poll(lambda: "autoscale: done" in (up.dir / "up.log").read_text(), 10,
             "autoscale logged")
        log = (up.dir / "up.log").read_text()
        assert "autoscale: hot grow 1 → 2" in log and "; max 2)" in log, log
        assert "autoscale: idle shrink 2 → 1" in log, log
    finally:
        results = load.end()
    assert results and all(s == 200 for s in results), [s for s in results if s != 200][:5]
    assert st["overrides"]["hot"]["replicas"] == 2 and st["overrides"]["hot"]["by"] == "autoscale"
