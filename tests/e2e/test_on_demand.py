"""On-demand models in pools (docs/pools.md), end to end on the simulator with
echo engines whose --startup-delay-ms stands for a model's load: a request for
a cold model is held while carve up loads it on a pool slice, evicting the
least recently used idle model when the pool is full, never one serving a
request; several small models share a slice when their memory fits; a load
that fails answers the waiting requests 503 with Retry-After and the reason."""
import http.client
import json
import random
import threading

import pytest

from conftest import BACKEND
from up_harness import Up, poll, up  # noqa: F401

pytestmark = pytest.mark.skipif(
    BACKEND != "sim", reason="carve up attaches engines to simulated slices; run once, on the simulator")


def on_demand(names, memory="4GiB", keep_warm="0s", extra=""):
    return "".join(
        f"  - {{name: {n}, engine: echo, memory: {memory}, on_demand: true, pool: small, "
        f"keep_warm: {keep_warm}, args: [--startup-delay-ms, '150'{extra}]}}\n" for n in names)


def pool(count):
    return f"pools:\n  - {{name: small, profile: 1g.10gb, count: {count}}}\n"


def request(port, model, stream=False, tokens=2, timeout=60):
    """(status, headers, body) of one chat completion; a stream is read to its end."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        body = {"model": model, "max_tokens": tokens, "stream": stream,
                "messages": [{"role": "user", "content": "wake up"}]}
        conn.request("POST", "/v1/chat/completions", json.dumps(body),
                     {"Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


def start(carve, up, models, count):
    carve.new("h100-80gb", mig="on")
    path = up.spec("pools.yaml", models)
    with open(path, "a") as f:
        f.write(pool(count))
    p = up.up(path, "--detach")
    assert p.returncode == 0, p.stdout + p.stderr
    return poll(lambda: (lambda s: s if s and s.get("pools") else None)(up.status()), 30,
                "pools in the status")


def pool_of(status):
    return status["pools"][0]


def models_state(status):
    return {m["model"]: m["state"] for m in pool_of(status)["models"]}


def log(up):
    path = up.dir / "up.log"
    return path.read_text() if path.exists() else ""


def slice_memory(carve, wanted):
    """{slice: (used MiB, total MiB)} of the simulated slices named in `wanted`."""
    gpus = json.loads(carve.ok("--json", "gpus").stdout)["gpus"]
    out = {}
    for g in gpus:
        for s in g["slices"]:
            where = f"{g['index']}:{s['profile']}@{s['start']}"
            if where in wanted:
                out[where] = (s["memory_used_mib"], s["memory_mib"])
    return out


def test_ten_on_demand_models_on_two_slices_serve_random_traffic_without_a_failure(carve, up):
    names = [f"m{i}" for i in range(10)]
    status = start(carve, up, on_demand(names), 2)
    slices = [s["slice"] for s in pool_of(status)["slices"]]
    assert len(slices) == 2 and all("1g.10gb" in s for s in slices), slices
    assert set(models_state(status).values()) == {"cold"}
    # /v1/models lists every model, resident or not, with carve's state.
    conn = http.client.HTTPConnection("127.0.0.1", up.port, timeout=10)
    conn.request("GET", "/v1/models")
    listed = {m["id"]: m["carve"]["state"] for m in json.loads(conn.getresponse().read())["data"]}
    assert listed == {n: "cold" for n in names}, listed

    # Watch the pool while traffic runs: never more resident than fits (two 4 GiB
    # models per 1g.10gb slice), never a slice's memory exceeded in the simulator.
    stop = threading.Event()
    seen = {"max_resident": 0, "over": [], "samples": 0}

    def watch():
        while not stop.is_set():
            st = up.status()
            if st and st.get("pools"):
                resident = sum(len(s["residents"]) for s in pool_of(st)["slices"])
                seen["max_resident"] = max(seen["max_resident"], resident)
            memory = slice_memory(carve, slices)
            for where, (used, total) in memory.items():
                if used > total:
                    seen["over"].append((where, used, total))
            seen["samples"] += len(memory) == 2
            stop.wait(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    results = []
    rng = random.Random(16)
    plans = [[rng.choice(names) for _ in range(12)] for _ in range(4)]

    def client(plan):
        for model in plan:
            results.append((model, request(up.port, model)[0]))

    clients = [threading.Thread(target=client, args=(p,)) for p in plans]
    for c in clients:
        c.start()
    for c in clients:
        c.join(timeout=240)
    stop.set()
    watcher.join(timeout=10)
    assert len(results) == 48
    assert all(code == 200 for _, code in results), [r for r in results if r[1] != 200][:5]
    assert seen["samples"] >= 5, seen  # the watcher did watch
    assert seen["over"] == [], seen["over"][:3]
    assert 1 <= seen["max_resident"] <= 4, seen
    used = {m for m, _ in results}

    def counted():  # status.json is written a moment after the last load
        stats = {m["model"]: m for m in pool_of(up.status())["models"]}
        return stats if all(stats[m]["cold_starts"] >= 1 for m in used) else None

    stats = poll(counted, 10, "every load counted")
    assert sum(m["evictions"] for m in stats.values()) >= len(used) - 4, stats


def test_the_least_recently_used_idle_model_goes_and_one_serving_a_request_never(carve, up):
    start(carve, up, on_demand(["a", "b", "c"], extra=", --token-delay-ms, '40'"), 1)
    assert request(up.port, "a")[0] == 200
    assert request(up.port, "b")[0] == 200  # a and b share the slice (4 + 4 GiB of 9.6)
    st = up.status()
    assert models_state(st) == {"a": "resident", "b": "resident", "c": "cold"}
    # c needs room: a, used least recently, is evicted (keep_warm 0s: idle is enough).
    assert request(up.port, "c")[0] == 200
    assert models_state(up.status()) == {"a": "cold", "b": "resident", "c": "resident"}
    assert "evicting a/" in log(up), log(up)
    # A long stream on b; a's load must then evict c, the idle one, not b.
    streamed = []
    t = threading.Thread(target=lambda: streamed.append(request(up.port, "b", True, tokens=60)))
    t.start()
    poll(lambda: any(m["model"] == "b" and m.get("in_flight", 0) > 0
                     for s in pool_of(up.status())["slices"] for m in s["residents"]),
         10, "b serving the stream")
    assert request(up.port, "a")[0] == 200
    t.join(timeout=60)
    assert streamed and streamed[0][0] == 200 and streamed[0][2].endswith(b"data: [DONE]\n\n")
    assert models_state(up.status()) == {"a": "resident", "b": "resident", "c": "cold"}
    assert "evicting c/" in log(up) and "evicting b/" not in log(up), log(up)


def test_two_small_models_share_a_slice_each_with_its_memory_fraction(carve, up):
    status = start(carve, up, on_demand(["a", "b"], keep_warm="forever"), 1)
    where = pool_of(status)["slices"][0]["slice"]
    for model in ("a", "b"):
        p = up.run("pool", "load", model)
        assert p.returncode == 0 and f"{model} is resident" in p.stdout, p.stdout + p.stderr
    st = up.status()
    residents = pool_of(st)["slices"][0]["residents"]
    assert sorted(r["model"] for r in residents) == ["a", "b"]
    total = pool_of(st)["slices"][0]["memory_mib"]
    for r in residents:
        assert r["memory_fraction"] == pytest.approx(-(-100 * 4096 // total) / 100), r
    used, sim_total = slice_memory(carve, [where])[where]
    assert used == 2 * 4096 and used <= sim_total, (used, sim_total)
    # unload: drained and stopped, its memory back.
    p = up.run("pool", "unload", "a")
    assert p.returncode == 0 and "a is cold" in p.stdout, p.stdout + p.stderr
    assert slice_memory(carve, [where])[where][0] == 4096
    p = up.run("pool", "load", "nope")
    assert p.returncode != 0 and "not an on-demand model" in p.stderr, p.stderr


def test_a_load_that_fails_answers_503_with_retry_after_and_the_reason(carve, up):
    models = ("  - {name: broken, engine: command, command: ['false'], memory: 4GiB, "
              "on_demand: true, pool: small}\n")
    start(carve, up, models, 1)
    code, headers, body = request(up.port, "broken")
    assert code == 503, body
    assert "Retry-After" in headers, headers
    assert b"broken could not be loaded" in body, body
    assert models_state(up.status()) == {"broken": "cold"}


def test_a_full_queue_for_a_loading_model_is_503_with_retry_after_and_the_held_ones_are_served(carve, up):
    models = ("  - {name: slow, engine: echo, memory: 4GiB, on_demand: true, pool: small, "
              "max_queue: 2, args: [--startup-delay-ms, '3000']}\n")
    start(carve, up, models, 1)
    results = []
    clients = [threading.Thread(target=lambda: results.append(request(up.port, "slow")))
               for _ in range(6)]
    for c in clients:
        c.start()
    # While it loads, carve status counts the two held requests.
    poll(lambda: [m for m in pool_of(up.status())["models"] if m["queued"] == 2], 10,
         "two requests queued for slow in carve status")
    for c in clients:
        c.join(timeout=60)
    codes = sorted(r[0] for r in results)
    assert codes == [200, 200, 503, 503, 503, 503], codes
    for code, headers, body in results:
        if code == 503:
            assert "Retry-After" in headers and b"load_queue_full" in body, (headers, body)
    assert models_state(up.status()) == {"slow": "resident"}


def test_a_reload_keeps_a_resident_whose_model_and_slice_stay(carve, up):
    start(carve, up, on_demand(["a", "b"]), 1)
    assert request(up.port, "a")[0] == 200
    pid = next(r["pid"] for r in up.status()["replicas"] if r["model"] == "a")
    # The same pool and one pinned model more: the planner must not move the
    # pool slice a's engine runs on (carve up keeps it, as it keeps any engine).
    path = up.spec("pools2.yaml", on_demand(["a", "b"]) +
                   "  - {name: pinned, engine: echo, memory: 9GiB, replicas: 1}\n")
    with open(path, "a") as f:
        f.write(pool(1))
    p = up.up(path)
    assert p.returncode == 0, p.stdout + p.stderr
    st = poll(lambda: up.all_ready(2), 30, "the pinned model ready beside the resident",
              lambda: json.dumps(up.status(), indent=1)[:3000] + log(up)[-3000:])
    assert next(r["pid"] for r in st["replicas"] if r["model"] == "a") == pid
    assert models_state(st) == {"a": "resident", "b": "cold"}
    assert request(up.port, "a")[0] == 200 and request(up.port, "pinned")[0] == 200
