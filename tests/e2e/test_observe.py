"""Observing carve up end to end (docs/observe.md): the joined label set on
every /metrics family, promtool, "what still fits" and stranded units against
`carve profiles`, utilisation that rises on the slice under echo load and not
on its sibling, and an independent C program reading NVML's GPM calls through
the drop-in that agrees with `carve status`."""
import hashlib
import json
import os
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import BACKEND, BIN
from up_harness import Up, poll, up  # noqa: F401

pytestmark = pytest.mark.skipif(
    BACKEND != "sim", reason="carve up attaches engines to simulated slices; run once, on the simulator")

GPM_CLIENT = Path(BIN).parent / "nvml_gpm_c"
SLICE = ["gpu", "gpu_uuid", "profile", "placement", "mig_uuid", "model", "engine", "replica"]
# Every family /metrics has, with the labels of its series (histograms: of _count).
FAMILIES = {
    "carve_gateway_requests_total": SLICE + ["key", "status"],
    "carve_gateway_request_duration_seconds": SLICE,
    "carve_gateway_time_to_first_token_seconds": SLICE,
    "carve_gateway_in_flight_requests": SLICE,
    "carve_gateway_upstream_healthy": SLICE,
    "carve_gateway_upstream_connect_failures_total": SLICE,
    "carve_gateway_generated_tokens_total": SLICE,
    "carve_gateway_queue_depth": ["model"],
    "carve_model_wait_for_replica_seconds": ["model"],
    "carve_gateway_errors_total": ["model", "key", "code", "status"],
    "carve_gateway_open_connections": [],
    "carve_gateway_draining": [],
    "carve_slice_memory_used_bytes": SLICE,
    "carve_slice_memory_total_bytes": SLICE,
    "carve_slice_utilisation_available": SLICE,
    "carve_slice_sm_active_ratio": SLICE,
    "carve_slice_memory_bandwidth_ratio": SLICE,
    "carve_slice_tensor_active_ratio": SLICE,
    "carve_engine_restarts_total": SLICE,
    "carve_engine_state": SLICE + ["state"],
    "carve_gpu_slices_free": ["gpu", "gpu_uuid", "profile"],
    "carve_gpu_stranded_units": ["gpu", "gpu_uuid"],
    "carve_gpu_placement_units": ["gpu", "gpu_uuid"],
}
TWO = """\
  - {name: busy, engine: echo, memory: 9GiB, replicas: 1}
  - {name: idle, engine: echo, memory: 9GiB, replicas: 1}
"""


def start(carve, up, models=TWO, keys=True):
    digest = hashlib.sha256(b"sk-team-a").hexdigest()
    gateway = f"  keys:\n    - {{name: team-a, sha256: {digest}, models: ['*']}}\n" if keys else ""
    return up.serve(models, models.count("name:"), gateway)


def post(port, model, tokens=16, key="sk-team-a"):
    body = json.dumps({"model": model, "max_tokens": tokens,
                       "messages": [{"role": "user", "content": "how busy is my slice"}]})
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions", body.encode(),
                                 {"Content-Type": "application/json",
                                  "Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status


def metrics(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


SERIES = re.compile(r'^([a-z_]+)\{(.*)\} (\S+)$')


def series(text):
    """[(name, {label: value}, value)] of every sample with labels."""
    out = []
    for line in text.splitlines():
        m = SERIES.match(line)
        if m:
            labels = dict(re.findall(r'([a-z_]+)="((?:[^"\\]|\\.)*)"', m.group(2)))
            out.append((m.group(1), labels, float(m.group(3))))
    return out


def family_of(name):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name[: -len(suffix)] in FAMILIES:
            return name[: -len(suffix)]
    return name


class Load:
    """Requests to one model at a steady pace (`rate` a second) until stopped."""

    def __init__(self, port, model, rate, tokens):
        self.stop = threading.Event()
        self.errors = []

        def run():
            due = time.monotonic()
            while not self.stop.is_set():
                try:
                    post(port, model, tokens)
                except Exception as e:  # noqa: BLE001 (kept for the assertion)
                    self.errors.append(repr(e))
                due += 1.0 / rate
                self.stop.wait(max(0.0, due - time.monotonic()))

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def end(self):
        self.stop.set()
        self.thread.join(timeout=15)
        assert not self.errors, self.errors[:3]


def by_model(status, model):
    return next(s for s in status["slices"] if model in s["models"])


def test_every_family_has_the_label_set_and_passes_promtool(carve, up):
    carve.new("h100-80gb", mig="on")
    st = start(carve, up)
    assert post(up.port, "busy") == 200
    poll(lambda: "carve_slice_memory_used_bytes" in metrics(up.port), 10, "slice metrics")
    text = metrics(up.port)
    check = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                           capture_output=True)
    assert check.returncode == 0, check.stdout + check.stderr
    found = {}
    for name, labels, _ in series(text):
        fam = family_of(name)
        assert fam in FAMILIES, f"{fam} is not documented here (docs/observe.md)"
        want = FAMILIES[fam] + (["le"] if name.endswith("_bucket") else [])
        assert list(labels) == want, (name, labels)
        found[fam] = labels
    missing = set(FAMILIES) - set(found) - {"carve_gateway_open_connections",
                                            "carve_gateway_draining", "carve_gateway_errors_total"}
    assert not missing, missing
    # The labels name the slice carve status shows, and the key by its name.
    busy = by_model(st, "busy")
    mine = [l for n, l, v in series(text)
            if n == "carve_gateway_requests_total" and l["model"] == "busy"]
    assert mine and mine[0]["key"] == "team-a" and mine[0]["status"] == "200"
    assert mine[0]["mig_uuid"] == busy["mig_uuid"] and mine[0]["gpu_uuid"] == busy["gpu_uuid"]
    assert mine[0]["profile"] == busy["profile"] and mine[0]["placement"] == busy["placement"]
    assert mine[0]["engine"] == "echo" and mine[0]["gpu"] == str(busy["gpu"])
    assert "sk-team-a" not in text and hashlib.sha256(b"sk-team-a").hexdigest() not in text
    mem = [(l, v) for n, l, v in series(text)
           if n == "carve_slice_memory_total_bytes" and l["mig_uuid"] == busy["mig_uuid"]]
    assert mem and mem[0][1] == busy["memory"]["total_bytes"] and mem[0][0]["model"] == "busy"
    states = {l["state"]: v for n, l, v in series(text)
              if n == "carve_engine_state" and l["model"] == "busy"}
    assert states["ready"] == 1 and sum(states.values()) == 1


def test_utilisation_rises_on_the_busy_slice_and_not_on_its_sibling(carve, up):
    carve.new("h100-80gb", mig="on")
    start(carve, up, keys=False)
    load = Load(up.port, "busy", rate=40, tokens=40)
    try:
        def busy_and_quiet():
            st = up.status()
            b, i = by_model(st, "busy"), by_model(st, "idle")
            if b["utilisation"] and b["utilisation"]["sm"] > 0.2:
                return b, i
            return None
        busy, idle = poll(busy_and_quiet, 20, "utilisation on the busy slice")
        assert 0 < busy["utilisation"]["memory_bandwidth"] <= 1
        assert 0 < busy["utilisation"]["tensor"] <= 1
        assert idle["utilisation"] == {"sm": 0, "memory_bandwidth": 0, "tensor": 0}
        assert busy["mig_uuid"] != idle["mig_uuid"]
        text = metrics(up.port)
        sm = {l["model"]: v for n, l, v in series(text) if n == "carve_slice_sm_active_ratio"}
        assert sm["idle"] == 0 and sm["busy"] > 0
    finally:
        load.end()


def test_the_gpm_client_agrees_with_carve_status(carve, up):
    carve.new("h100-80gb", mig="on")
    start(carve, up, keys=False)
    # 25 requests a second of 40 tokens: 1,000 tokens a second, half of a 1g slice.
    load = Load(up.port, "busy", rate=25, tokens=40)
    try:
        poll(lambda: (by_model(up.status(), "busy")["utilisation"] or {}).get("sm", 0) > 0.3, 20,
             "steady utilisation")
        p = subprocess.run([str(GPM_CLIENT), "2000"], capture_output=True, text=True,
                           env=dict(os.environ, CARVE_SIM=carve.state), timeout=30)
        st = up.status()
    finally:
        load.end()
    assert p.returncode == 0, p.stderr
    devices = {d["uuid"]: d for d in map(json.loads, p.stdout.splitlines())}
    assert set(devices) == {s["mig_uuid"] for s in st["slices"]}
    for s in st["slices"]:
        d = devices[s["mig_uuid"]]
        assert (d["gpu"], d["gi"]) == (s["gpu"], s["gi"])
        assert d["memory_used"] == s["memory"]["used_bytes"]
        assert d["memory_total"] == s["memory"]["total_bytes"]
        assert sorted(d["pids"]) == sorted(p["pid"] for p in s["processes"])
        assert d["gpm"] is True
        for what in ("sm", "memory_bandwidth", "tensor"):
            assert abs(d[what] - s["utilisation"][what]) < 0.2, (what, d, s["utilisation"])
    busy = devices[by_model(st, "busy")["mig_uuid"]]
    assert 0.25 < busy["sm"] < 0.75, busy


def profiles_view(carve):
    """What still fits and the stranded units, from `carve profiles --json` and
    `carve mig list --json` alone."""
    held = {g["index"]: {u for s in g["slices"] for u in range(s["start"], s["start"] + s["size"])}
            for g in carve.json("mig", "list")["gpus"]}
    fits, stranded = {}, {}
    for g in carve.json("profiles")["gpus"]:
        if not g["mig_on"]:
            continue
        usable = set()
        for p in g["profiles"]:
            fits[p["name"]] = fits.get(p["name"], 0) + p["free_instances"]
            size = p["placements"][0]["size"]
            for start in p["free_starts"]:
                usable |= set(range(start, start + size))
        free = set(range(g["placement_units"])) - held[g["index"]]
        stranded[str(g["index"])] = len(free - usable)
        assert g["stranded_units"] == stranded[str(g["index"])]
    return fits, stranded


def test_what_still_fits_and_stranded_units_match_carve_profiles(carve, up):
    carve.new("h100-80gb", "h100-80gb", "a100-80gb", mig="on")
    st = start(carve, up, models="  - {name: one, engine: echo, memory: 9GiB, replicas: 1}\n",
               keys=False)
    a, b = [g for g in ("0", "1", "2") if g != str(st["replicas"][0]["gpu"])]
    layouts = [
        [],
        [a, "4g.40gb@0,1g.10gb@4,1g.10gb@5,1g.10gb@6"],  # unit 7 stranded
        [b, "3g.40gb@4,2g.20gb@0"],
        [a, "2g.20gb@0"],
    ]
    seen_stranded = 0
    for layout in layouts:
        if layout:
            carve.ok("mig", "destroy", "-i", layout[0], "--all")
            carve.ok("mig", "create", "-i", layout[0], layout[1])
        want = profiles_view(carve)

        def agrees():
            now = up.status()
            return now if (now["fits"], now["stranded_units"]) == want else None
        now = poll(agrees, 10, f"status to show {want} after {layout}")
        free, stranded = {}, {}
        for n, l, v in series(metrics(up.port)):
            if n == "carve_gpu_slices_free":
                free[l["profile"]] = free.get(l["profile"], 0) + v
            if n == "carve_gpu_stranded_units":
                stranded[l["gpu"]] = v
        assert (free, stranded) == want
        seen_stranded += sum(now["stranded_units"].values())
    assert seen_stranded > 0, "no layout stranded a unit: the test would not see a bug"


def test_render_grafana_is_json_whose_queries_name_only_exposed_series(carve, up):
    carve.new("h100-80gb", mig="on")
    start(carve, up)
    assert post(up.port, "busy") == 200
    try:
        post(up.port, "busy", key="sk-wrong")
    except urllib.error.HTTPError as e:
        assert e.code == 401
    poll(lambda: "carve_slice_sm_active_ratio{" in metrics(up.port), 10, "utilisation series")
    text = metrics(up.port)
    exposed = {line.split("{")[0].split(" ")[0] for line in text.splitlines()
               if line and not line.startswith("#")}
    dashboard = json.loads(carve.ok("render", "grafana").stdout)
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    exprs += [v["query"]["query"] for v in dashboard["templating"]["list"]]
    named = set()
    for e in exprs:
        for name in re.findall(r"carve_[a-z_]+", e):
            # A histogram is queried by its _bucket series, as /metrics exposes them.
            named.add(name)
    assert len(named) >= 15, named
    assert named <= exposed, named - exposed
