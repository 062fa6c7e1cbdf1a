"""The dashboard carve up serves at /ui (docs/observe.md): only to admin keys
when keys are on (401 with a Basic challenge, 403 for other keys), its state
and its event stream agree with `carve status --json`, the stream ends when
carve up stops, a gateway alone has none, and a real browser (Debian's
Chromium, driven by puppeteer-core from tests/ui) finds every slice and model
in the page, sees a traffic chart move after requests, and saves a
screenshot (kept as BUILD/artifacts/dashboard.png)."""
import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from conftest import BACKEND, BIN
from gateway_harness import Engine, Gateway, curl, get
from test_gateway import one_model
from test_observe import post
from up_harness import Up, poll, up  # noqa: F401

pytestmark = pytest.mark.skipif(
    BACKEND != "sim", reason="carve up attaches engines to simulated slices; run once, on the simulator")

ROOT = Path(__file__).resolve().parents[2]
MODELS = """\
  - {name: chat, engine: echo, memory: 9GiB, replicas: 2}
  - {name: embed, engine: echo, memory: 4GiB, replicas: 1}
"""


def digest(key):
    return hashlib.sha256(key.encode()).hexdigest()


def start(carve, up, keys=True):
    carve.new("h100-80gb", "a100-80gb", mig="on")
    gateway = ("  keys:\n"
               f"    - {{name: app, sha256: {digest('sk-app')}, models: ['*']}}\n"
               f"    - {{name: ops, sha256: {digest('sk-ops')}, models: ['*'], admin: true}}\n"
               ) if keys else ""
    up.serve(MODELS, 3, gateway)
    return poll(lambda: (lambda s: s if s.get("models") else None)(up.status()), 10,
                "models in status")


def events(port, n, headers=(), timeout=15):
    """The first n status events of /ui/events, parsed, read with curl -N."""
    cmd = ["curl", "-sSN", "--max-time", str(timeout), f"http://127.0.0.1:{port}/ui/events"]
    for h in headers:
        cmd += ["-H", h]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    got = []
    try:
        for line in proc.stdout:
            if line.startswith("data: "):
                got.append(json.loads(line[6:]))
                if len(got) == n:
                    break
    finally:
        proc.kill()
        proc.wait()
    return got


def test_only_admin_keys_see_the_dashboard(carve, up):
    start(carve, up)
    for path in ("/ui", "/ui/state", "/ui/events", "/ui/app.js"):
        status, hdrs, body = curl(up.port, path)
        assert status == 401, (path, body)
        assert hdrs["www-authenticate"].startswith('Basic realm="carve dashboard"')
        assert json.loads(body)["error"]["code"] == "invalid_api_key"
        status, _, body = curl(up.port, path, headers=["Authorization: Bearer sk-app"])
        assert status == 403, (path, body)
        assert json.loads(body)["error"]["code"] == "admin_key_required"
        assert "admin: true" in json.loads(body)["error"]["message"]
    # A browser sends the key as Basic's password; a script as a bearer key.
    status, hdrs, body = curl(up.port, "/ui", "-u", "anyone:sk-ops")
    assert status == 200 and hdrs["content-type"].startswith("text/html")
    assert b"/ui/app.js" in body
    assert "default-src 'self'" in hdrs["content-security-policy"]
    for name, kind in (("app.js", "text/javascript"), ("style.css", "text/css")):
        status, hdrs, _ = curl(up.port, f"/ui/{name}", headers=["Authorization: Bearer sk-ops"])
        assert status == 200 and hdrs["content-type"].startswith(kind), name
    assert curl(up.port, "/ui/nothing.js", "-u", "x:sk-ops")[0] == 404
    # The admin key is an ordinary key for the models: the app key still serves.
    assert post(up.port, "chat", key="sk-app") == 200


def test_state_and_events_are_the_status_and_the_stream_ends_with_carve_up(carve, up):
    start(carve, up, keys=False)
    for _ in range(12):
        assert post(up.port, "chat", key="") == 200
    status = up.status()
    status_code, hdrs, body = curl(up.port, "/ui/state")
    assert status_code == 200 and hdrs["content-type"] == "application/json"
    state = json.loads(body)
    assert {s["mig_uuid"] for s in state["slices"]} == {s["mig_uuid"] for s in status["slices"]}
    assert [m["model"] for m in state["models"]] == ["chat", "embed"]
    # The traffic reaches the status within its window (the counters are read every 2 s).
    def chat_counted():
        got = json.loads(curl(up.port, "/ui/state")[2])
        chat = next(m for m in got["models"] if m["model"] == "chat")
        return chat if chat["requests"] >= 12 and chat["latency_ms"] else None
    chat = poll(chat_counted, 10, "chat's requests in /ui/state")
    assert chat["ready"] == 2 and chat["replicas"] == 2
    assert chat["tokens_per_s"] > 0 and chat["latency_ms"]["p99"] >= chat["latency_ms"]["p50"]
    # Three events, one a second, each the whole status.
    got = events(up.port, 3)
    assert len(got) == 3
    for e in got:
        assert {r["id"] for r in e["replicas"]} == {r["id"] for r in status["replicas"]}
        assert e["gpus"] and e["slices"] and e["models"]
    # A client that stays connected sees the stream end when carve up stops.
    proc = subprocess.Popen(["curl", "-sSN", "--max-time", "60",
                             f"http://127.0.0.1:{up.port}/ui/events"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().startswith("retry:")
        p = up.run("down")
        assert p.returncode == 0, p.stdout + p.stderr
        rest = proc.stdout.read()  # returns at the end of the stream, not at curl's 60 s
        assert proc.wait(timeout=30) == 0, rest
    finally:
        proc.kill()
        proc.wait()


def test_a_gateway_alone_has_no_dashboard(tmp_path, procs):
    engine = Engine(str(tmp_path), "e1", models=["m1"])
    procs.append(engine)
    gw = Gateway(str(tmp_path), {"models": [one_model(engine)]})
    procs.append(gw)
    status, _, body = get(gw.port, "/ui")
    assert status == 404
    assert "carve up" in json.loads(body)["error"]["message"]


def test_a_browser_shows_every_slice_and_model_and_the_traffic_moves(carve, up):
    status = start(carve, up)
    artifacts = Path(BIN).parent / "artifacts"
    artifacts.mkdir(exist_ok=True)
    shot = artifacts / "dashboard.png"
    if shot.exists():
        shot.unlink()
    expect = carve.tmp / "expect.json"
    expect.write_text(json.dumps({
        "slices": [s["mig_uuid"] or s["gpu_uuid"] for s in status["slices"]],
        "models": [m["model"] for m in status["models"]],
        "traffic": ["chat"]}))
    driver = subprocess.Popen(
        [str(ROOT / "tests/ui/run.sh"), str(Path(BIN).parent / "ui-test"), "--",
         "--url", f"http://127.0.0.1:{up.port}", "--expect", str(expect),
         "--screenshot", str(shot), "--key", "sk-ops", "--timeout-s", "30"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        loaded = json.loads(driver.stdout.readline() or "{}")
        assert loaded.get("phase") == "loaded", loaded
        for _ in range(40):  # traffic while the page watches
            assert post(up.port, "chat", key="sk-app") == 200
        driver.stdin.write("go\n")
        driver.stdin.flush()
        done = json.loads(driver.stdout.readline() or "{}")
        assert driver.wait(timeout=60) == 0, done
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    assert done.get("ok"), done
    assert done["requests_after"]["chat"] > done["requests_before"].get("chat", 0), done
    assert done["console_errors"] == [], done["console_errors"]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # kept for people to look at
