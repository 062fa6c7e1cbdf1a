"""carve top end to end (docs/observe.md, "carve top"): driven in tmux against a
running carve up, its screens hold every slice and model and it exits on q
(and on Ctrl-C) with the terminal given back; read-only on a machine without
carve up it shows the machine's slices and says so."""
import shlex
import subprocess

import pytest

from conftest import BACKEND, BIN
from up_harness import poll, up  # noqa: F401

MODELS = """\
  - {name: chat, engine: echo, memory: 9GiB, replicas: 2}
  - {name: coder, engine: echo, memory: 9GiB, replicas: 1}
  - {name: embed, engine: echo, memory: 4GiB, replicas: 1}
"""


class Tmux:
    """One tmux server of the test's own (private socket) running one command
    in a session named top, its pane kept after the command exits."""

    def __init__(self, tmp_path):
        self.socket = f"carve-top-{tmp_path.name}"
        self.conf = tmp_path / "tmux.conf"
        self.conf.write_text("set -g remain-on-exit on\n")
        self.rc = tmp_path / "top.rc"

    def __call__(self, *args):
        p = subprocess.run(["tmux", "-L", self.socket, "-f", str(self.conf), *args],
                           capture_output=True, text=True, timeout=10)
        return p.stdout

    def start(self, carve, *args, env=()):
        """Runs `carve ARGS` in a 200x60 terminal."""
        envs = {"CARVE_SIM": carve.state, "NO_COLOR": "1", **dict(env)}
        if BACKEND == "nvml":
            envs["LD_LIBRARY_PATH"] = carve.env["LD_LIBRARY_PATH"]
            args = ("--backend", "nvml", *args)
        cmd = " ".join(["env", *(f"{k}={shlex.quote(v)}" for k, v in envs.items()),
                        shlex.quote(BIN), *map(shlex.quote, args)])
        # The exit status goes to a file too: tmux 3.3 can mark a pane dead
        # (EOF) and then leave its process unreaped, #{pane_dead_status} empty.
        self("new-session", "-d", "-s", "top", "-x", "200", "-y", "60",
             f"{cmd}; echo $? > {shlex.quote(str(self.rc))}")

    def screen(self):
        return self("capture-pane", "-p", "-t", "top")

    def shows(self, *texts):
        s = self.screen()
        return s if all(t in s for t in texts) else None

    def pane(self, fmt):
        return self("display-message", "-p", "-t", "top", fmt).strip()

    def exited(self):
        """carve's exit status once it has exited, else None."""
        text = self.rc.read_text() if self.rc.exists() else ""
        return text.strip() if text.endswith("\n") else None

    def kill(self):
        self("kill-server")


@pytest.fixture
def tmux(tmp_path):
    t = Tmux(tmp_path)
    yield t
    t.kill()


def start_up(carve, up):
    carve.new("h100-80gb", mig="on")
    return up.serve(MODELS, 4)


def quits_cleanly(tmux, key):
    tmux("send-keys", "-t", "top", key)
    assert poll(tmux.exited, 10, f"carve top to exit on {key}") == "0", tmux.screen()
    # It left the alternate screen: the pane shows the shell's screen again.
    assert tmux.pane("#{alternate_on}") == "0"
    assert "placement units" not in tmux.screen()


@pytest.mark.skipif(BACKEND != "sim", reason="carve up runs on the simulator")
def test_top_shows_every_slice_and_model_and_exits_on_q(carve, up, tmux):
    st = start_up(carve, up)
    slices = [s for s in st["slices"] if s["gi"] is not None]
    models = sorted({r["model"] for r in st["replicas"]})
    assert len(slices) == 4 and models == ["chat", "coder", "embed"]
    tmux.start(carve, "top", "--state-dir", str(up.dir))
    poll(lambda: tmux.shows(f"carve up pid {st['pid']}", "[g GPUs]", "placement units",
                            *(s["placement"] for s in slices)), 15, "the GPUs pane")
    tmux("send-keys", "-t", "top", "s")
    poll(lambda: tmux.shows("[s slices]", *(s["mig_uuid"] for s in slices)), 10,
         "every slice's MIG UUID on the slices pane")
    tmux("send-keys", "-t", "top", "m")
    screen = poll(lambda: tmux.shows("[m models]", "ready"), 10, "the models pane")
    rows = [line.split()[0] for line in screen.splitlines()[4:] if line.strip()]
    assert all(m in rows for m in models), screen
    tmux("send-keys", "-t", "top", "g")
    poll(lambda: tmux.shows("[g GPUs]"), 10, "back on the GPUs pane")
    quits_cleanly(tmux, "q")


def make_slices(carve):
    carve.new("h100-80gb", mig="on")
    carve.ok("mig", "create", "-i", "0", "3g.40gb,1g.10gb,1g.10gb")


def test_top_once_without_carve_up_reads_the_machine_only(carve, tmp_path):
    make_slices(carve)
    carve.env.update(COLUMNS="200", LINES="60")
    p = carve.run("top", "--once", "--state-dir", str(tmp_path / "none"))
    assert p.returncode == 0, p.stderr
    assert f"no carve up in {tmp_path / 'none'}: the machine only" in p.stdout, p.stdout
    st = carve.json("top", "--state-dir", str(tmp_path / "none"))
    assert "pid" not in st and "replicas" not in st
    assert sorted(s["profile"] for s in st["slices"]) == ["1g.10gb", "1g.10gb", "3g.40gb"]
    rows = [line.split() for line in p.stdout.splitlines()]
    for s in st["slices"]:
        assert [s["placement"], s["profile"]] in [r[:2] for r in rows], p.stdout
        assert s["mig_uuid"][:8] in p.stdout


def test_top_without_carve_up_or_machine_says_what_to_do(carve, tmp_path):
    carve.env.pop("CARVE_SIM")
    p = subprocess.run([BIN, "--backend", "sim", "top", "--once", "--state-dir",
                        str(tmp_path / "none")], capture_output=True, text=True, env=carve.env,
                       timeout=30)
    assert p.returncode != 0
    assert f"no carve up in {tmp_path / 'none'}" in p.stderr, p.stderr
    assert "carve up SPEC --detach" in p.stderr


def test_top_on_the_machine_only_exits_on_ctrl_c(carve, tmux, tmp_path):
    make_slices(carve)
    tmux.start(carve, "top", "slices", "--state-dir", str(tmp_path / "none"))
    poll(lambda: tmux.shows("the machine only", "[s slices]", "3g.40gb"), 15, "the slices pane")
    quits_cleanly(tmux, "C-c")
