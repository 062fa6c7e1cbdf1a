#!/usr/bin/env python3
"""bench/pools: what on-demand models in a pool cost (docs/pools.md).

On a simulated H100 (MIG on) with echo engines whose --startup-delay-ms
stands for a model's load:

  cold start  the engine's own start-up (spawned by hand, /health polled every
              millisecond: spawn to first 200) against a request for a cold
              model through carve up, less a warm request's latency: carve's
              overhead on a cold start (goal <= 50 ms). Median of ROUNDS.
  throughput  requests/s of CLIENTS clients back to back over 4 models all
              resident in a pool of two 1g.10gb slices, against the same 4
              models pinned on a slice each (goal >= 0.95).
  zipf        20 models on a pool of four 1g.10gb slices (8 fit at once),
              CLIENTS clients choosing models by a Zipf law (s = 1.1) for
              ZIPF_S seconds: hit rate (requests that found their model
              resident), p50/p99 latency, loads per minute, failed requests.

Prints Markdown tables (docs/pools.md keeps the last).
Usage: bench/pools/run.sh (after scripts/build)
Env: CLIENTS (8), ROUNDS (5), LOAD_MS (300), THROUGHPUT_S (5), ZIPF_S (30)
"""
import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from common import free_port, pct  # noqa: E402

CARVE = os.path.realpath(os.environ.get("CARVE_BIN", "build/carve"))
CLIENTS = int(os.environ.get("CLIENTS", "8"))
ROUNDS = int(os.environ.get("ROUNDS", "5"))
LOAD_MS = int(os.environ.get("LOAD_MS", "300"))
THROUGHPUT_S = float(os.environ.get("THROUGHPUT_S", "5"))
ZIPF_S = float(os.environ.get("ZIPF_S", "30"))


class Bench:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="carve-bench-pools-")
        os.chmod(self.dir, 0o755)
        self.env = dict(os.environ, CARVE_SIM=f"{self.dir}/machine.json", NO_COLOR="1")
        self.port = free_port()
        self.state = f"{self.dir}/st"
        self.carve("sim", "new", f"{self.dir}/machine.json", "h100-80gb", "--mig", "on")

    def carve(self, *args, check=True):
        p = subprocess.run([CARVE, *args], env=self.env, capture_output=True, text=True,
                           timeout=300)
        if check and p.returncode != 0:
            sys.exit(f"carve {' '.join(args)} failed: {p.stdout}{p.stderr}")
        return p

    def up(self, name, models, pools=""):
        path = f"{self.dir}/{name}.yaml"
        with open(path, "w") as f:
            f.write("version: v1\nmodels:\n" + models + pools +
                    f"gateway:\n  listen: 127.0.0.1:{self.port}\n  timeouts: {{hold_ms: 60000}}\n")
        self.carve("up", path, "--detach", "--state-dir", self.state)

    def down(self):
        self.carve("down", "--state-dir", self.state)
        # The next spec starts on a clean machine: no slice left from this one.
        self.carve("mig", "destroy", "-i", "0", "--all", check=False)

    def status(self):
        return json.loads(self.carve("status", "--json", "--state-dir", self.state).stdout)

    def request(self, model):
        """(status, seconds) of one short chat completion."""
        start = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            conn.request("POST", "/v1/chat/completions",
                         json.dumps({"model": model, "max_tokens": 2,
                                     "messages": [{"role": "user", "content": "hi"}]}),
                         {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            return r.status, time.monotonic() - start
        except OSError:
            return 0, time.monotonic() - start
        finally:
            conn.close()


def echo_model(name, memory="4GiB", on_demand=True, keep_warm="0s"):
    demand = f"on_demand: true, pool: p, keep_warm: {keep_warm}, " if on_demand else "replicas: 1, "
    return (f"  - {{name: {name}, engine: echo, memory: {memory}, {demand}"
            f"args: [--startup-delay-ms, '{LOAD_MS}']}}\n")


def pool(count):
    return f"pools:\n  - {{name: p, profile: 1g.10gb, count: {count}}}\n"


def engine_startup(b):
    """Spawn → first /health 200 of the echo engine alone, seconds."""
    port_file = f"{b.dir}/echo.port"
    if os.path.exists(port_file):
        os.remove(port_file)
    port = free_port()
    start = time.monotonic()
    p = subprocess.Popen([CARVE, "engine", "echo", "--port", str(port), "--model", "x",
                          "--startup-delay-ms", str(LOAD_MS)], env=b.env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    return time.monotonic() - start
            except OSError:
                time.sleep(0.001)  # polling a port that is not open yet
    finally:
        p.terminate()
        p.wait()


def cold_start(b):
    engine = statistics.median(engine_startup(b) for _ in range(ROUNDS))
    b.up("cold", echo_model("m"), pool(1))
    colds, warms = [], []
    for _ in range(ROUNDS):
        code, took = b.request("m")
        if code != 200:
            sys.exit(f"a cold request failed: {code}")
        colds.append(took)
        warms.append(statistics.median(b.request("m")[1] for _ in range(20)))
        b.carve("pool", "unload", "m", "--state-dir", b.state)
    b.down()
    cold, warm = statistics.median(colds), statistics.median(warms)
    return engine, cold, warm, cold - engine - warm


def throughput(b, on_demand):
    names = [f"t{i}" for i in range(4)]
    models = "".join(echo_model(n, on_demand=on_demand, keep_warm="forever") for n in names)
    b.up("tp-" + ("pool" if on_demand else "pinned"), models, pool(2) if on_demand else "")
    if on_demand:
        for n in names:
            b.carve("pool", "load", n, "--state-dir", b.state)
    else:
        deadline = time.monotonic() + 60
        while not all(r["state"] == "ready" for r in b.status()["replicas"]):
            if time.monotonic() > deadline:
                sys.exit("pinned replicas never became ready")
            time.sleep(0.05)
    counts, failed = [0] * CLIENTS, [0]
    end = time.monotonic() + THROUGHPUT_S

    def client(k):
        i = k
        while time.monotonic() < end:
            code, _ = b.request(names[i % len(names)])
            counts[k] += 1
            failed[0] += code != 200
            i += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    b.down()
    return sum(counts) / THROUGHPUT_S, failed[0]


def zipf(b):
    names = [f"z{i:02d}" for i in range(20)]
    weights = [1 / (k + 1) ** 1.1 for k in range(len(names))]
    b.up("zipf", "".join(echo_model(n, keep_warm="1s") for n in names), pool(4))
    records = []
    end = time.monotonic() + ZIPF_S

    def client(k):
        rng = random.Random(k)
        while time.monotonic() < end:
            model = rng.choices(names, weights)[0]
            code, took = b.request(model)
            records.append((code, took))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    minutes = (time.monotonic() - start) / 60
    loads = sum(m["cold_starts"] for p in b.status()["pools"] for m in p["models"])
    b.down()
    lat = [r[1] * 1000 for r in records]
    failed = sum(1 for r in records if r[0] != 200)
    return len(records), failed, 1 - loads / len(records), pct(lat, 0.5), pct(lat, 0.99), \
        loads / minutes


def main():
    b = Bench()
    try:
        engine, cold, warm, overhead = cold_start(b)
        pooled, pooled_failed = throughput(b, True)
        pinned, pinned_failed = throughput(b, False)
        n, failed, hit, p50, p99, per_min = zipf(b)
    finally:
        b.carve("down", "--state-dir", b.state, check=False)
        shutil.rmtree(b.dir, ignore_errors=True)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"Machine: {os.cpu_count()} CPUs; simulated H100 (MIG on); echo engines with "
          f"--startup-delay-ms {LOAD_MS}; {CLIENTS} clients; load average at the end {load}.\n")
    print("| cold start | seconds |\n|---|---:|")
    print(f"| engine alone: spawn → ready (median of {ROUNDS}) | {engine:.3f} |")
    print(f"| a cold model's first request through carve up | {cold:.3f} |")
    print(f"| a warm request | {warm:.4f} |")
    print(f"| **carve's overhead** (cold − engine − warm; goal ≤ 0.050) | **{overhead:.3f}** |\n")
    print("| throughput, 4 models | requests/s | failed |\n|---|---:|---:|")
    print(f"| pinned, a slice each | {pinned:.1f} | {pinned_failed} |")
    print(f"| on demand, all resident in a pool of 2 slices | {pooled:.1f} | {pooled_failed} |")
    print(f"| **pool / pinned** (goal ≥ 0.95) | **{pooled / pinned:.2f}** | |\n")
    print("| Zipf (s = 1.1), 20 models, pool of 4 × 1g.10gb | value |\n|---|---:|")
    print(f"| requests ({ZIPF_S:.0f} s) | {n} |\n| failed | {failed} |")
    print(f"| hit rate (model resident) | {hit:.2f} |")
    print(f"| p50 / p99 latency (ms) | {p50:.1f} / {p99:.0f} |")
    print(f"| loads per minute | {per_min:.0f} |")


if __name__ == "__main__":
    main()
