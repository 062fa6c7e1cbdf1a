"""Live re-layout under traffic (docs/live.md): a reload that moves a model to
another slice serves every request while it happens. The new engine starts
and is ready before the old one is drained (its streams finish) and stopped;
where the old slice is in the way of the new one, the old engine stops first
and the model's requests wait in the gateway for the new engine
(gateway.timeouts.hold_ms). Replicas the reload does not touch keep their
PIDs, and carve status tells the truth afterwards."""
import http.client
import json
import threading

import pytest

from conftest import BACKEND
from up_harness import Up, alive, poll, up  # noqa: F401

pytestmark = pytest.mark.skipif(
    BACKEND != "sim", reason="carve up attaches engines to simulated slices; run once, on the simulator")

def spec(up, chat_memory, tokens=60):
    return up.spec(f"chat-{chat_memory}-{tokens}.yaml",
                   f"  - {{name: chat, engine: echo, memory: {chat_memory}, replicas: 1, "
                   f"args: [--token-delay-ms, '20', --tokens, '{tokens}']}}\n"
                   "  - {name: embed, engine: echo, memory: 9GiB, replicas: 1}\n")


def request(port, model, stream=False, timeout=60):
    """(status, body) of one chat completion; a stream is read to its end."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        body = {"model": model, "max_tokens": 60 if stream else 2, "stream": stream,
                "messages": [{"role": "user", "content": "move me"}]}
        conn.request("POST", "/v1/chat/completions", json.dumps(body),
                     {"Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


class Load:
    """Non-streaming requests to `model`, one after another, until stopped."""

    def __init__(self, port, model):
        self.port, self.model = port, model
        self.stop = threading.Event()
        self.results = []
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            try:
                self.results.append(request(self.port, self.model)[0])
            except OSError as e:
                self.results.append(repr(e))

    def end(self):
        self.stop.set()
        self.thread.join(timeout=60)
        return self.results


def log(up):
    path = up.dir / "up.log"
    return path.read_text() if path.exists() else ""


def move(carve, up, first, second, tokens=60):
    carve.new("h100-80gb", "h100-80gb", mig="on")
    p = up.up(spec(up, first), "--detach")
    assert p.returncode == 0, p.stdout + p.stderr
    before = poll(lambda: up.all_ready(2), 60, "replicas ready")
    old = next(r for r in before["replicas"] if r["model"] == "chat")
    embed = next(r for r in before["replicas"] if r["model"] == "embed")
    load = Load(up.port, "chat")
    streams = []  # started on the old engine before the reload; each ~1.2 s long
    threads = [threading.Thread(target=lambda: streams.append(request(up.port, "chat", True)))
               for _ in range(3)]
    for t in threads:
        t.start()
    poll(lambda: len(load.results) >= 5, 10, "traffic before the reload")
    p = up.up(spec(up, second, tokens))
    for t in threads:
        t.join(timeout=60)
    results = load.end()
    assert p.returncode == 0, p.stdout + p.stderr
    after = poll(lambda: up.all_ready(2), 30, "replicas ready after the reload")
    new = next(r for r in after["replicas"] if r["model"] == "chat")
    # Zero failed requests, streams complete, the untouched replica untouched.
    assert results and all(s == 200 for s in results), [s for s in results if s != 200][:5]
    assert len(streams) == 3
    for status, body in streams:
        assert status == 200 and body.endswith(b"data: [DONE]\n\n"), body[-200:]
    assert next(r for r in after["replicas"] if r["model"] == "embed")["pid"] == embed["pid"]
    assert new["pid"] != old["pid"] and not alive(old["pid"])
    # carve status tells the truth: the slice it names exists and holds the engine.
    slice_ = next(s for s in after["slices"] if s["mig_uuid"] == new["uuid"])
    assert slice_["profile"] == new["profile"] and new["id"] in slice_["replicas"]
    assert not any(s["mig_uuid"] == old["uuid"] for s in after["slices"]) or \
        old["uuid"] == new["uuid"]
    return old, new, p


def test_a_reload_that_grows_a_model_serves_every_request(carve, up):
    old, new, _ = move(carve, up, "9GiB", "18GiB")
    assert old["profile"] == "1g.10gb" and new["profile"] == "2g.20gb"
    assert "stops before its successor" not in log(up)  # made before broken


def test_a_reload_that_moves_a_model_to_another_profile_serves_every_request(carve, up):
    old, new, _ = move(carve, up, "9GiB", "35GiB")
    assert old["profile"] == "1g.10gb" and new["profile"] in ("3g.40gb", "4g.40gb")
    assert "stops before its successor" not in log(up)


def test_new_settings_on_the_same_slice_serve_from_a_temporary_home_meanwhile(carve, up):
    # The successor wants the very slice the old engine holds, so the old one
    # stops first; with free room on the machine the model serves meanwhile
    # from a temporary replica on a new slice, ready before the old engine
    # stops and gone (engine and slice) once the successor serves.
    old, new, _ = move(carve, up, "9GiB", "9GiB", tokens=50)
    assert new["uuid"] == old["uuid"]
    text = log(up)
    assert "stops before its successor starts (its successor is wanted on its slice" in text
    assert "chat serves from a temporary home on " in text, text
    home = text.split("chat serves from a temporary home on ")[1].split()[0]
    lines = text.splitlines()
    at = lambda needle: next(i for i, line in enumerate(lines) if needle in line)
    ready = next(i for i, line in enumerate(lines)
                 if " is ready on port " in line and i > at("temporary home"))
    assert ready < at(f"stopping {old['id']}"), text
    after = up.status()
    assert [r["id"] for r in after["replicas"] if r["model"] == "chat"] == [new["id"]]
    gpu, rest = home.split(":")
    assert not any(str(s["gpu"]) == gpu and f"{s['profile']}@{s['start']}" == rest
                   for s in after["slices"]), after["slices"]


def test_with_no_room_for_a_temporary_home_the_model_waits_and_says_how_long(carve, up):
    carve.new("h100-80gb", mig="on")
    full = ("  - {name: chat, engine: echo, memory: 9GiB, replicas: 1, args: [--tokens, '%s']}\n"
            "  - {name: embed, engine: echo, memory: 9GiB, replicas: 6}\n")
    p = up.up(up.spec("full-a.yaml", full % 40), "--detach")
    assert p.returncode == 0, p.stdout + p.stderr
    poll(lambda: up.all_ready(7), 60, "replicas ready")
    load = Load(up.port, "chat")
    poll(lambda: len(load.results) >= 5, 10, "traffic before the reload")
    p = up.up(up.spec("full-b.yaml", full % 30))
    results = load.end()
    assert p.returncode == 0, p.stdout + p.stderr
    assert results and all(s == 200 for s in results), [s for s in results if s != 200][:5]
    text = log(up)
    assert "chat has no ready replica for about " in text, text
    assert "(its engine's last start took that long): no free slice for a temporary home" in text
