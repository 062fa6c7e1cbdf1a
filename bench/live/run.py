#!/usr/bin/env python3
"""bench/live: what a live re-layout costs the clients of `carve up`.

On a simulated machine (two H100s, MIG on) with echo engines, CLIENTS clients
send chat requests back to back to the model that moves, for a steady window
(the baseline) and then across each change:

  grow      `carve up` again with the model's memory doubled: 1g.10gb -> 2g.20gb,
            made before broken (the old engine serves until the new one is ready);
  settings  `carve up` again with new engine args on the same slice: the old
            engine must stop first; a temporary replica on free room serves
            meanwhile (ready before the old one stops, gone after);
  restart   SIGKILL of the model's only engine: the supervisor restarts it and
            the requests wait in the gateway meanwhile;
  rebalance a third model that took GPU 1 is dropped by a reload, which leaves
            GPU 1's slice idle; `carve rebalance --yes` frees the GPU (its slice
            destroyed) while chat and embed serve;
  failover  `carve sim fail` (Xid 94) on chat's busy slice: its engine dies on
            its next request, carve up quarantines the slice and starts chat
            elsewhere while the gateway holds the requests. Once onto free room
            (a slice is made), once onto a spare the spec reserves (`spare:`,
            no slice to make). `carve sim fail --clear` after each, and the
            quarantine is waited out, so the next row starts clean.

For each: failed requests (goal 0), p50/p99/max latency over the change
window against the baseline's p99 (a held request shows in the max: a few
requests wait while thousands pass), and the time from the command (or the
kill) to the new engine serving: until `carve status` shows it ready (for the
rebalance: to the new layout serving, the command's return). For a failover
that time is from the fault to traffic restored: from `carve sim fail`'s
return to the end of the first request answered 200 among those sent after
it. Every request sent after the fault that reaches the old engine kills it
unanswered (the engine reads the fault before each request), so that answer
is the new engine's. And, where an engine starts, how much of that time the
engine itself took: from its process's start (/proc/PID/stat, 10 ms ticks)
to serving as above; the rest is carve's (seeing the fault, slices, start).
Prints a Markdown table (docs/live.md keeps the last).

Usage: bench/live/run.sh  (after scripts/build)   Env: CLIENTS (8), STEADY_S (5)
"""
import http.client
import json
import os
import shutil
import signal
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
STEADY_S = float(os.environ.get("STEADY_S", "5"))



class Bench:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="carve-bench-live-")
        os.chmod(self.dir, 0o755)
        self.env = dict(os.environ, CARVE_SIM=f"{self.dir}/machine.json", NO_COLOR="1")
        self.port = free_port()
        self.state = f"{self.dir}/st"

    def carve(self, *args, check=True):
        p = subprocess.run([CARVE, *args], env=self.env, capture_output=True, text=True,
                           timeout=300)
        if check and p.returncode != 0:
            sys.exit(f"carve {' '.join(args)} failed: {p.stdout}{p.stderr}")
        return p

    def spec(self, name, memory, tokens, extra=""):
        path = f"{self.dir}/{name}.yaml"
        with open(path, "w") as f:
            f.write("version: v1\nmodels:\n"
                    f"  - {{name: chat, engine: echo, memory: {memory}, replicas: 1, "
                    f"args: [--tokens, '{tokens}']}}\n"
                    "  - {name: embed, engine: echo, memory: 9GiB, replicas: 1}\n" + extra +
                    f"gateway:\n  listen: 127.0.0.1:{self.port}\n")
        return path

    def status(self):
        return json.loads(self.carve("status", "--json", "--state-dir", self.state).stdout)

    def chat_replica(self):
        return next(r for r in self.status()["replicas"] if r["model"] == "chat")

    def wait_ready(self, n, deadline_s=60):
        """Until n replicas are ready."""
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            reps = self.status()["replicas"]
            if len(reps) == n and all(r["state"] == "ready" for r in reps):
                return reps
            time.sleep(0.02)
        sys.exit(f"{n} replicas never became ready")

    def slices_on(self, gpu):
        gpus = json.loads(self.carve("--json", "gpus").stdout)["gpus"]
        return next(g for g in gpus if g["index"] == gpu)["slices"]

    def gi_of(self, replica):
        """The GPU instance id of the slice a replica runs on (for carve sim fail)."""
        return next(s["gi"] for s in self.slices_on(replica["gpu"])
                    if s["uuid"] == replica["uuid"])

    def wait_serving(self, old_pid, deadline_s=60):
        """Until chat's only replica is a new engine, ready (a temporary one gone)."""
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            reps = [r for r in self.status()["replicas"] if r["model"] == "chat"]
            if len(reps) == 1 and reps[0]["state"] == "ready" and reps[0]["pid"] not in (0, old_pid):
                return reps[0]
            time.sleep(0.02)
        sys.exit("the new engine never served")


class Load:
    """CLIENTS threads, each sending requests one after another."""

    def __init__(self, port):
        self.port = port
        self.stop = threading.Event()
        self.records = []  # (start monotonic, seconds, status)
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.client, daemon=True) for _ in range(CLIENTS)]
        for t in self.threads:
            t.start()

    def client(self):
        body = json.dumps({"model": "chat", "max_tokens": 8,
                           "messages": [{"role": "user", "content": "hello"}]})
        conn = None
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                conn.request("POST", "/v1/chat/completions", body,
                             {"Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                status = r.status
                if r.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                status = type(e).__name__
                conn = None
            with self.lock:
                self.records.append((t0, time.monotonic() - t0, status))

    def window(self, start, end):
        with self.lock:
            return [r for r in self.records if start <= r[0] < end]

    def end(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)


def engine_started(pid):
    """When process `pid` started, on time.monotonic()'s clock (10 ms ticks)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    since_boot = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime
    return since_boot - (time.clock_gettime(time.CLOCK_BOOTTIME) - time.monotonic())



def cell(seconds):
    return "–" if seconds is None else f"{seconds:.2f}"


def row(name, records, baseline_p99, took, engine=None):
    lat = [r[1] * 1000 for r in records]
    failed = sum(1 for r in records if r[2] != 200)
    p99 = pct(lat, 0.99)
    return (f"| {name} | {len(records)} | {failed} | {pct(lat, 0.5):.1f} | {p99:.1f} | "
            f"{max(lat):.0f} | {p99 / baseline_p99:.1f}× | {cell(took)} | {cell(engine)} |")


def engine_took(began, start, serving):
    """From the engine's process start (`began`, engine_started) to `serving`;
    None when that start is not within the change (then the two clocks do not
    compare, e.g. in a time namespace)."""
    return serving - began if start - 0.02 <= began <= serving else None


def rebalance(b, load, base_p99):
    """Fragments the machine (a model that took GPU 1 is reloaded away, which
    frees its slice; an idle slice is then made there by hand, as a
    leftover), then times `carve rebalance --yes` freeing GPU 1."""
    big = "  - {name: big, engine: echo, memory: 60GiB, replicas: 1}\n"
    b.carve("up", b.spec("d", "18GiB", 12, big), "--state-dir", b.state)
    b.wait_ready(3)
    b.carve("up", b.spec("c", "18GiB", 12), "--state-dir", b.state)
    b.wait_ready(2)
    if b.slices_on(1):
        sys.exit("the reload left a slice on GPU 1; its replicas' old slices should go")
    b.carve("mig", "create", "-i", "1", "4g.40gb")
    pids = {r["id"]: r["pid"] for r in b.status()["replicas"]}
    start = time.monotonic()
    out = b.carve("rebalance", "--yes", "--state-dir", b.state).stdout
    took = time.monotonic() - start
    if "frees GPU 1" not in out or b.slices_on(1):
        sys.exit(f"the rebalance did not free GPU 1:\n{out}")
    if {r["id"]: r["pid"] for r in b.status()["replicas"]} != pids:
        sys.exit("the rebalance restarted an engine it did not move")
    time.sleep(0.5)
    return row("rebalance: frees GPU 1 (its idle slice; no engine moves)",
               load.window(start, time.monotonic()), base_p99, took)


def failover(b, load, base_p99, name):
    """Fails chat's GPU instance (Xid 94) under load; times fault → traffic
    restored (the module docstring says how), then heals it."""
    before = b.status()
    old = b.chat_replica()
    where = f"{old['gpu']}:{old['profile']}@{old['start']}"
    gi = b.gi_of(old)
    start = time.monotonic()
    b.carve("sim", "fail", b.env["CARVE_SIM"], "-i", str(old["gpu"]), "--gi", str(gi))
    fault = time.monotonic()
    end = fault + 60
    while True:
        new = b.chat_replica()
        if new["state"] == "ready" and new["uuid"] != old["uuid"]:
            break
        if time.monotonic() > end:
            sys.exit(f"chat never served after the fault on {where}")
        time.sleep(0.02)
    began = engine_started(new["pid"])
    time.sleep(0.5)  # the tail: the held requests answered
    records = load.window(start, time.monotonic())
    restored = min((t0 + d for t0, d, s in records if t0 >= fault and s == 200), default=None)
    if restored is None:
        sys.exit("no request sent after the fault was answered")
    after = b.status()
    if [q["slice"] for q in after["quarantined"]] != [where]:
        sys.exit(f"{where} is not the quarantined slice: {after['quarantined']}")
    to = f"{new['gpu']}:{new['profile']}@{new['start']}"
    if (to in before["spares"]) != bool(before["spares"]):
        sys.exit(f"chat went to {to}; the spares were {before['spares']}")
    b.carve("sim", "fail", b.env["CARVE_SIM"], "--clear")
    end = time.monotonic() + 30
    while b.status()["quarantined"]:
        if time.monotonic() > end:
            sys.exit(f"the quarantine of {where} never lifted after --clear")
        time.sleep(0.05)
    return row(name, records, base_p99, restored - fault, engine_took(began, start, restored))


def main():
    b = Bench()
    try:
        b.carve("sim", "new", b.env["CARVE_SIM"], "h100-80gb", "h100-80gb", "--mig", "on",
                "--seed", "7")
        b.carve("up", b.spec("a", "9GiB", 16), "--detach", "--state-dir", b.state)
        b.wait_serving(0)
        load = Load(b.port)
        time.sleep(1)  # warm-up: connections open, engines warm
        t0 = time.monotonic()
        time.sleep(STEADY_S)
        steady = load.window(t0, time.monotonic())
        base_p99 = pct([r[1] * 1000 for r in steady], 0.99)
        rows = [row("steady (no change)", steady, base_p99, None)]

        def change(name, act):
            old = b.chat_replica()
            start = time.monotonic()
            act(old)
            new = b.wait_serving(old["pid"])
            serving = time.monotonic()
            engine = engine_took(engine_started(new["pid"]), start, serving)
            time.sleep(0.5)  # the tail of the change: the old engine's drain
            rows.append(row(name, load.window(start, time.monotonic()), base_p99,
                            serving - start, engine))
            return new

        change("grow 1g.10gb → 2g.20gb (make before break)",
               lambda old: b.carve("up", b.spec("b", "18GiB", 16), "--state-dir", b.state))
        change("new args, same slice (stop first, through a temporary home)",
               lambda old: b.carve("up", b.spec("c", "18GiB", 12), "--state-dir", b.state))
        change("engine SIGKILLed (restart, requests held)",
               lambda old: os.kill(old["pid"], signal.SIGKILL))
        rows.append(rebalance(b, load, base_p99))
        rows.append(failover(b, load, base_p99,
                             "failover: Xid 94 on the busy slice, model moves to free room"))
        b.carve("up", b.spec("e", "18GiB", 12, "spare: {profile: 2g.20gb, count: 1}\n"),
                "--state-dir", b.state)
        b.wait_ready(2)
        if not b.status()["spares"]:
            sys.exit("carve up reserved no spare for the spare row")
        rows.append(failover(b, load, base_p99, "failover to a spare (spec spare:)"))
        load.end()
        print(f"Machine: {os.cpu_count()} CPUs; simulated 2× H100 (MIG on); echo engines; "
              f"{CLIENTS} clients back to back; load average at the end "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}.\n")
        print("| change | requests | failed | p50 ms | p99 ms | max ms | p99 / steady p99 | "
              "command (or fault) → new engine or layout serving (s) | "
              "of which the engine: start → serving (s) |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        print("\n".join(rows))
    finally:
        b.carve("down", "--state-dir", b.state, check=False)
        shutil.rmtree(b.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
