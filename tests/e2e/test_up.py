"""carve up / status / down end to end: a simulated H100, real echo engines,
the in-process gateway, curl. Every wait is a bounded poll; every test stops
what it started (carve down, then process groups as a last resort)."""
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BACKEND
from up_harness import EXAMPLES, Up, alive, chat, free_port, group_alive, models_card, poll, up  # noqa: F401

pytestmark = pytest.mark.skipif(
    BACKEND != "sim", reason="carve up attaches engines to simulated slices; run once, on the simulator")

THREE = """\
  - {name: chat, engine: echo, memory: 9GiB, replicas: 2}
  - {name: embed, engine: echo, memory: 9GiB, replicas: 1}
  - {name: summarize, engine: echo, memory: 19GiB, replicas: 1%s}
"""


def test_up_serves_restarts_reloads_and_goes_down(carve, up):
    carve.new("h100-80gb")  # MIG off: carve up turns it on and carves the slices
    spec = up.spec("carve.yaml", THREE % "")
    p = up.up(spec, "--detach")
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"http://127.0.0.1:{up.port}" in p.stdout and "curl -s" in p.stdout

    st = up.all_ready(4)
    assert st, up.status()
    assert st["gateway"]["listen"] == f"127.0.0.1:{up.port}"
    reps = st["replicas"]
    assert sorted(r["model"] for r in reps) == ["chat", "chat", "embed", "summarize"]
    uuids = {r["uuid"] for r in reps}
    assert len(uuids) == 4 and all(u.startswith("MIG-") for u in uuids)
    for r in reps:
        assert r["engine"] == "echo" and r["gpu"] == 0 and r["restarts"] == 0
        # 19 GiB: a 20 GB slice, and the idle compute makes it the 2g one
        assert r["profile"] == ("2g.20gb" if r["model"] == "summarize" else "1g.10gb")
        assert alive(r["pid"]) and r["port"] > 0
        # Each engine sees its own slice: CUDA_VISIBLE_DEVICES is its MIG UUID.
        card = models_card(r["port"])["data"][0]
        assert card["id"] == r["model"] and card["carve_device"] == r["uuid"]
    # The simulator shows each engine on its slice (and carve up the memory).
    poll(lambda: all(r["memory_used_mib"] > 0 for r in up.status()["replicas"]), 10, "slice memory")
    text = up.run("status").stdout
    for word in ("chat", "embed", "summarize", "1g.10gb@", "2g.20gb@", "ready", "MIG-"):
        assert word in text, text

    # One request per model through the gateway, with curl.
    for model in ("chat", "embed", "summarize"):
        code, body = chat(up.port, model)
        assert code == 200, body
        assert json.loads(body)["model"] == model
    poll(lambda: sum(r["requests"] for r in up.status()["replicas"]) >= 3, 10, "request counts in status")

    # SIGKILL an engine: it comes back, ready, on the same slice.
    victim = next(r for r in reps if r["model"] == "chat")
    os.kill(victim["pid"], signal.SIGKILL)
    back = poll(lambda: (lambda r: r if r["state"] == "ready" and r["pid"] != victim["pid"] else None)(
        up.by_id()[victim["id"]]), 15, "the killed engine to come back")
    assert back["restarts"] == 1 and back["uuid"] == victim["uuid"] and alive(back["pid"])
    assert chat(up.port, "chat")[0] == 200

    # Change one model and run carve up again: only its engine restarts.
    before = {r["id"]: r["pid"] for r in up.status()["replicas"]}
    spec2 = up.spec("carve2.yaml", THREE % ", args: [--tokens, '4']")
    p = up.up(spec2)
    assert p.returncode == 0, p.stdout + p.stderr
    after = up.all_ready(4)
    assert after, up.status()
    for r in after["replicas"]:
        if r["model"] == "summarize":
            assert r["pid"] not in before.values()
        else:
            assert before[r["id"]] == r["pid"], (r, before)
    assert chat(up.port, "summarize")[0] == 200

    # A spec the machine cannot serve: the reload is refused, nothing stops.
    bad = up.spec("too-big.yaml", "  - {name: chat, engine: echo, memory: 9GiB, replicas: 20}\n")
    p = up.up(bad)
    assert p.returncode != 0 and "could not reload" in p.stderr, p.stdout + p.stderr
    assert {r["id"]: r["pid"] for r in up.all_ready(4)["replicas"]} == {
        r["id"]: r["pid"] for r in after["replicas"]}
    assert "last reload failed" in up.run("status").stdout

    # carve down: the service and every engine (and its process group) gone.
    pids = [after["pid"]] + [r["pid"] for r in after["replicas"]]
    p = up.run("down")
    assert p.returncode == 0 and "Stopped" in p.stdout, p.stdout + p.stderr
    for pid in pids:
        assert not alive(pid), pid
    for r in after["replicas"]:
        assert not group_alive(r["pid"]), r
    assert up.run("status").returncode != 0
    # The layout stays.
    gpus = carve.json("gpus")
    assert "MIG-" in json.dumps(gpus)


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().split(") ")[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_crash_looping_engine_is_reported_and_idle(carve, up):
    carve.new("h100-80gb", mig="on")
    spec = up.spec("crash.yaml", """\
  - {name: ok, engine: echo, memory: 9GiB, replicas: 1}
  - name: broken
    engine: command
    command: [sh, -c, "echo 'fatal: no weights at {source}'; exit 3"]
    source: /nowhere
    memory: 9GiB
    replicas: 1
""")
    p = up.up(spec, "--detach", "--keep-going")
    assert p.returncode == 0, p.stdout + p.stderr
    broken = poll(lambda: (lambda r: r if r["state"] == "crash-looping" else None)(
        next(r for r in up.status()["replicas"] if r["model"] == "broken")), 20, "crash-looping")
    assert "fatal: no weights at /nowhere" in broken["last_error"]
    assert broken["restarts"] <= 5
    assert "crash-looping" in up.run("status").stdout
    # Over a window it neither restarts again nor burns CPU; the good model serves.
    svc = up.status()["pid"]
    cpu0, t0 = cpu_seconds(svc), time.monotonic()
    assert chat(up.port, "ok")[0] == 200
    deadline = t0 + 2.0
    while time.monotonic() < deadline:
        r = next(r for r in up.status()["replicas"] if r["model"] == "broken")
        assert r["restarts"] == broken["restarts"] and r["state"] == "crash-looping"
        time.sleep(0.2)
    assert cpu_seconds(svc) - cpu0 < 0.5


def test_engine_never_ready_fails_with_log_tail(carve, up):
    carve.new("h100-80gb", mig="on")
    spec = up.spec("slow.yaml", """\
  - name: slow
    engine: command
    command: [sh, -c, "echo 'loading weights 1%'; exec sleep 613"]
    memory: 9GiB
    replicas: 1
""")
    p = up.up(spec, "--detach", "--ready-timeout", "1")
    assert p.returncode != 0
    assert "did not become ready" in p.stderr and "loading weights 1%" in p.stderr, p.stderr
    assert up.run("status").returncode != 0
    assert subprocess.run(["pgrep", "-f", "sleep 613"], capture_output=True).returncode == 1


def test_gateway_port_taken(carve, up):
    carve.new("h100-80gb", mig="on")
    with socket.socket() as s:
        s.bind(("127.0.0.1", up.port))
        s.listen()
        spec = up.spec("taken.yaml", "  - {name: chat, engine: echo, memory: 9GiB, replicas: 1}\n")
        p = up.up(spec, "--detach")
    assert p.returncode != 0
    assert f"127.0.0.1:{up.port}" in p.stderr, p.stderr
    assert up.run("status").returncode != 0
    # Nothing was carved: the gateway is checked before the layout.
    assert "MIG-" not in json.dumps(carve.json("gpus"))


def test_engine_port_taken_is_skipped(carve, up):
    carve.new("h100-80gb", mig="on")
    first = 21000 + (os.getpid() % 1000) * 6
    held = []
    try:
        for port in (first, first + 1):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                s.close()
                continue  # someone else holds it: as good for this test
            s.listen()
            held.append(s)
        spec = up.spec("ports.yaml", "  - {name: chat, engine: echo, memory: 9GiB, replicas: 2}\n")
        p = up.up(spec, "--detach", "--engine-ports", f"{first}-{first + 5}")
        assert p.returncode == 0, p.stdout + p.stderr
        st = up.all_ready(2)
        assert st
        ports = {r["port"] for r in st["replicas"]}
        assert not ports & {first, first + 1} and all(first <= q <= first + 5 for q in ports)
        assert chat(up.port, "chat")[0] == 200
    finally:
        for s in held:
            s.close()


def test_slice_cannot_be_created(carve, up):
    carve.new("h100-80gb", mig="on")
    carve.ok("sim", "fault", carve.state, "--after", "1", "--error", "insufficient_resources")
    spec = up.spec("fault.yaml", "  - {name: chat, engine: echo, memory: 9GiB, replicas: 1}\n")
    p = up.up(spec, "--detach")
    assert p.returncode != 0
    assert "applying the layout failed" in p.stderr, p.stderr
    assert up.run("status").returncode != 0


@pytest.mark.parametrize("name,fleet", [
    ("up/vllm-h100.yaml", "h100-80gb"),
    ("up/vllm-a100-80gb.yaml", "a100-80gb"),
    ("up/vllm-rtx-pro-6000.yaml", "rtx-pro-6000"),
    ("up/vllm-mixed-fleet.yaml", "h100-80gb:2,a100-80gb"),
    ("up/echo.yaml", "h100-80gb"),
])
def test_examples_parse_and_plan(carve, name, fleet):
    p = carve.run("plan", str(EXAMPLES / name), "--fleet", fleet)
    assert p.returncode == 0, p.stdout + p.stderr


def test_refuses_to_destroy_a_slice_another_process_uses(carve, up):
    carve.new("h100-80gb", mig="on")
    carve.ok("mig", "create", "-i", "0", "7g.80gb")
    gi = carve.json("gpus")["gpus"][0]["slices"][0]["gi"]
    carve.ok("sim", "attach", carve.state, "-i", "0", "--gi", str(gi), "--pid", "4242",
             "--name", "someone-elses-job", "--memory", "1000")
    spec = up.spec("foreign.yaml", "  - {name: chat, engine: echo, memory: 9GiB, replicas: 2}\n")
    p = up.up(spec, "--detach")
    assert p.returncode != 0
    assert "other than carve's engines" in p.stderr and "4242" in p.stderr, p.stderr
    assert up.run("status").returncode != 0
    slices = carve.json("gpus")["gpus"][0]["slices"]
    assert [s["profile"] for s in slices] == ["7g.80gb"]  # nothing was changed


def test_foreground_sigint_stops_engines(carve, up):
    carve.new("h100-80gb", mig="on")
    spec = up.spec("fg.yaml", "  - {name: chat, engine: echo, memory: 9GiB, replicas: 1}\n")
    proc = subprocess.Popen([os.environ["CARVE_BIN"], "up", spec, "--state-dir", str(up.dir)],
                            env=carve.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    up.seen.add(proc.pid)
    try:
        st = poll(lambda: up.all_ready(1), 20, "the foreground service")
        engine = st["replicas"][0]["pid"]
        assert chat(up.port, "chat")[0] == 200
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert f"http://127.0.0.1:{up.port}" in out
        assert not alive(engine) and not group_alive(engine)
        assert up.run("status").returncode != 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


NEVER_READY = """\
  - name: slow
    engine: command
    command: [sh, -c, "echo 'loading weights 1%'; exec sleep 617"]
    memory: 9GiB
    replicas: 1
"""


def test_down_while_engines_start_stops_it_and_it_never_says_serving(carve, up):
    """#12.6: SIGTERM was ignored until the ready wait ended (minutes), and a
    detached carve up stopped then printed "Serving on" and exited 0."""
    carve.new("h100-80gb", mig="on")
    spec = up.spec("never.yaml", NEVER_READY)
    starting = subprocess.Popen(
        [os.environ["CARVE_BIN"], "up", spec, "--detach", "--ready-timeout", "600",
         "--state-dir", str(up.dir)], env=carve.env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    poll(lambda: subprocess.run(["pgrep", "-f", "sleep 617"], capture_output=True).returncode == 0,
         20, "the engine to start")
    up.note()
    down = up.run("down")
    assert down.returncode == 0, down.stdout + down.stderr
    out, err = starting.communicate(timeout=60)
    assert starting.returncode != 0
    assert "Serving on" not in out
    assert "stopped" in err and "never served" in err or "before it served" in err, err
    assert subprocess.run(["pgrep", "-f", "sleep 617"], capture_output=True).returncode == 1


def test_concurrent_reloads_each_get_their_own_answer(carve, up):
    """#12.5: SIGHUPs coalesced and only the last requester was answered."""
    carve.new("h100-80gb", mig="on")
    spec = up.spec("one.yaml", "  - {name: chat, engine: echo, memory: 9GiB, replicas: 1}\n")
    p = up.up(spec, "--detach")
    assert p.returncode == 0, p.stderr
    two = up.spec("two.yaml", "  - {name: chat, engine: echo, memory: 9GiB, replicas: 2}\n")
    reloads = [subprocess.Popen([os.environ["CARVE_BIN"], "up", s, "--state-dir", str(up.dir)],
                                env=carve.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for s in (spec, two, spec, two)]
    for r in reloads:
        out, err = r.communicate(timeout=120)
        assert r.returncode == 0, err
        assert "Reloaded" in out
    # Whichever came last holds; it serves either way.
    assert len(up.status()["replicas"]) in (1, 2)
    assert chat(up.port, "chat")[0] == 200


def test_a_held_service_lock_is_busy_exit_4(carve, up):
    """#12.17: "another carve up runs" exited 1; the documented code is 4."""
    import fcntl
    carve.new("h100-80gb", mig="on")
    spec = up.spec("busy.yaml", "  - {name: chat, engine: echo, memory: 9GiB, replicas: 1}\n")
    with open(up.dir / "up.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        p = up.up(spec)
    assert p.returncode == 4, p.stderr
    assert "another carve up runs" in p.stderr


def test_up_log_records_restarts_and_crash_loops(carve, up):
    """#12.20: a detached service's up.log had no restart or crash-loop events."""
    carve.new("h100-80gb", mig="on")
    spec = up.spec("crashlog.yaml", """\
  - {name: ok, engine: echo, memory: 9GiB, replicas: 1}
  - name: broken
    engine: command
    command: [sh, -c, "exit 3"]
    memory: 9GiB
    replicas: 1
""")
    p = up.up(spec, "--detach", "--keep-going")
    assert p.returncode == 0, p.stdout + p.stderr
    log = up.dir / "up.log"
    poll(lambda: "is crash-looping" in log.read_text(), 30, "the crash loop in up.log")
    text = log.read_text()
    import re
    assert re.search(r"Z carve up: broken/0 exited \(exit 3\); restart #\d+ follows", text), text
    assert text.count("Its log:") <= text.count("\n")


def test_a_bad_gateway_section_names_the_specs_own_line(carve, up):
    """#12.17: the line was relative to the gateway: section, the exit code 1."""
    carve.new("h100-80gb", mig="on")
    spec = up.spec("gw.yaml", "  - {name: chat, engine: echo, memory: 9GiB, replicas: 1}\n")
    text = Path(spec).read_text() + "  bogus: 1\n"
    Path(spec).write_text(text)
    p = up.up(spec)
    line = text.splitlines().index("  bogus: 1") + 1
    assert p.returncode == 2, p.stderr
    assert f"gw.yaml:{line}: gateway has unknown key 'bogus'" in p.stderr, p.stderr
    assert "docs/gateway.md" in p.stderr, p.stderr  # #14.2: the one reader's hint


def test_requests_wait_through_the_restart_of_a_models_only_engine(carve, up):
    """#15: a model with no ready replica holds its requests (gateway.timeouts.hold_ms)
    instead of failing them; an engine's restart costs the client latency, not an error."""
    carve.new("h100-80gb", mig="on")
    spec = up.spec("carve.yaml", "  - {name: solo, engine: echo, memory: 9GiB, replicas: 1}\n")
    p = up.up(spec, "--detach")
    assert p.returncode == 0, p.stdout + p.stderr
    assert poll(lambda: up.all_ready(1), 60, "solo ready")
    victim = up.status()["replicas"][0]
    assert chat(up.port, "solo")[0] == 200
    for round_ in range(2):  # killed twice: each time the request waits for the new engine
        os.kill(victim["pid"], signal.SIGKILL)
        code, body = chat(up.port, "solo")  # sent at once, while the engine is gone
        assert code == 200, (round_, body)
        victim = poll(lambda: (lambda r: r if r["state"] == "ready" and r["pid"] != victim["pid"]
                                and alive(r["pid"]) else None)(up.status()["replicas"][0]),
                      15, "the engine back")
    assert victim["restarts"] == 2
