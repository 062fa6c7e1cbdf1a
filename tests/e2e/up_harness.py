"""carve up as the end-to-end tests drive it: one service on the test's
simulated machine in its own state directory, polled with bounds, and all it
started stopped at the end (carve down, then process groups)."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def poll(pred, timeout, what, context=lambda: ""):
    """pred() once it is true, polled up to `timeout` s; else an error with `context()`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}\n{context()}")


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


class Up:
    """One `carve up` service on the test's simulated machine."""

    def __init__(self, carve):
        self.c = carve
        # Run as root, engines run as the unprivileged `carve` user, which must
        # reach their working directories: pytest's tmp_path is root-only.
        self.dir = Path(tempfile.mkdtemp(prefix="carve-up-"))
        self.dir.chmod(0o755)
        self.port = free_port()
        self.seen = set()  # every engine and service pid seen, for cleanup

    def spec(self, name, models, gateway=""):
        """Writes a spec of `models` (YAML list lines); `gateway`: more lines under gateway:."""
        path = self.c.tmp / name
        path.write_text("version: v1\nmodels:\n" + models +
                        f"gateway:\n  listen: 127.0.0.1:{self.port}\n" + gateway)
        return str(path)

    def serve(self, models, replicas, gateway=""):
        """carve up --detach on a spec of `models`; returns the status once all
        `replicas` are ready and it shows the machine's slices."""
        p = self.up(self.spec("carve.yaml", models, gateway), "--detach")
        assert p.returncode == 0, p.stdout + p.stderr
        assert poll(lambda: self.all_ready(replicas), 60, "replicas ready")
        return poll(lambda: (lambda s: s if s and s.get("slices") else None)(self.status()), 10,
                    "slices in status")

    def run(self, verb, *args):
        return self.c.run(verb, *args, "--state-dir", str(self.dir))

    def up(self, spec, *extra):
        p = self.run("up", spec, *extra)
        self.note()
        return p

    def status(self):
        p = self.c.run("--json", "status", "--state-dir", str(self.dir))
        if p.returncode != 0:
            return None
        st = json.loads(p.stdout)
        self.seen.add(st["pid"])
        for r in st["replicas"]:
            if r["pid"]:
                self.seen.add(r["pid"])
        return st

    def note(self):
        try:
            self.status()
        except (json.JSONDecodeError, KeyError):
            pass

    def by_id(self):
        return {r["id"]: r for r in self.status()["replicas"]}

    def all_ready(self, n):
        st = self.status()
        if st and len(st["replicas"]) == n and all(r["state"] == "ready" for r in st["replicas"]):
            return st
        return None

    def cleanup(self):
        self.note()
        self.run("down")
        for pid in self.seen:
            if group_alive(pid):
                os.killpg(pid, signal.SIGKILL)
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def up(carve):
    u = Up(carve)
    yield u
    u.cleanup()


def chat(port, model):
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "hello there"}]})
    p = subprocess.run(["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "10",
                        f"http://127.0.0.1:{port}/v1/chat/completions",
                        "-H", "Content-Type: application/json", "-d", body],
                       capture_output=True, text=True, timeout=20)
    text, _, code = p.stdout.rpartition("\n")
    return int(code or 0), text


def models_card(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=5) as r:
        return json.loads(r.read())
