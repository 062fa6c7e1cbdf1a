"""carve up refuses before any GPU change when an engine could not start
(#13.5, #13.6): the simulator's slices are the same after the refusal."""
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from conftest import BIN, BACKEND
from up_harness import Up, chat, up  # noqa: F401

pytestmark = pytest.mark.skipif(
    BACKEND != "sim", reason="carve up attaches engines to simulated slices; run once, on the simulator")

# A stand-in for vLLM: `--version` prints VERSION; `serve` runs carve's echo
# engine on the port and name carve gave it.
VLLM = """#!/usr/bin/python3
import os, sys
if "--version" in sys.argv:
    print("INFO 01-01 platform.py] Automatically detected platform cuda.")
    print("%s")
    sys.exit(0)
a = sys.argv
os.execv(%r, [%r, "engine", "echo", "--port", a[a.index("--port") + 1],
              "--model", a[a.index("--served-model-name") + 1]])
"""

VLLM_MODEL = "  - {name: chat, engine: vllm, source: Qwen/Qwen3-4B, memory: 9GiB, replicas: 1}\n"


def stand_in_vllm(up, version):
    """Puts a `vllm` printing `version` first on carve's PATH (engines get it)."""
    bin_dir = up.dir / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "vllm").write_text(VLLM % (version, BIN, BIN))
    (bin_dir / "vllm").chmod(0o755)
    up.c.env["PATH"] = f"{bin_dir}:{os.environ['PATH']}"


def layout(carve):
    return [[(s["profile"], s["start"], s["uuid"]) for s in g["slices"]]
            for g in carve.json("gpus")["gpus"]]


def test_an_old_vllm_on_a_mig_slice_is_refused_before_any_slice_changes(carve, up):
    carve.new("h100-80gb", mig="on")
    carve.ok("mig", "create", "-i", "0", "7g.80gb")  # the plan would replace it
    before = layout(carve)
    stand_in_vllm(up, "0.20.1")
    p = up.up(up.spec("old.yaml", VLLM_MODEL), "--detach")
    assert p.returncode == 3, p.stdout + p.stderr
    assert "vLLM 0.20.1" in p.stderr and "vllm-project/vllm#41848" in p.stderr, p.stderr
    assert "pip install -U 'vllm>=0.24'" in p.stderr and "launcher: docker" in p.stderr
    assert "Nothing was changed" in p.stderr
    assert layout(carve) == before
    assert up.run("status").returncode != 0


def test_a_new_vllm_passes_and_serves(carve, up):
    carve.new("h100-80gb", mig="on")
    stand_in_vllm(up, "0.24.1")
    p = up.up(up.spec("new.yaml", VLLM_MODEL), "--detach")
    assert p.returncode == 0, p.stdout + p.stderr
    assert up.all_ready(1)["replicas"][0]["engine"] == "vllm"
    assert chat(up.port, "chat")[0] == 200


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs engines as another user")
def test_a_state_dir_the_engine_user_cannot_reach_is_refused_before_any_slice_changes(carve):
    carve.new("h100-80gb", mig="on")
    carve.ok("mig", "create", "-i", "0", "7g.80gb")
    before = layout(carve)
    private = Path(tempfile.mkdtemp(prefix="carve-private-"))  # 0700, as mktemp -d makes it
    u = Up(carve)
    shutil.rmtree(u.dir)
    u.dir = private / "state"
    try:
        p = u.up(u.spec("private.yaml", "  - {name: chat, engine: echo, memory: 9GiB, replicas: 2}\n"),
                 "--detach")
        assert p.returncode == 3, p.stdout + p.stderr
        assert f"the engine user carve cannot reach {private}/state" in p.stderr, p.stderr
        assert f"{private} (0700 root:root) is not searchable" in p.stderr
        assert f"chmod o+x {private}" in p.stderr and "--state-dir" in p.stderr
        assert layout(carve) == before
        # carve made the state directory itself: passable, whatever the umask.
        assert (private / "state").stat().st_mode & 0o777 == 0o755
        private.chmod(0o755)
        p = u.up(u.spec("private.yaml", "  - {name: chat, engine: echo, memory: 9GiB, replicas: 2}\n"),
                 "--detach")
        assert p.returncode == 0, p.stdout + p.stderr
    finally:
        u.cleanup()
        shutil.rmtree(private, ignore_errors=True)


def test_a_missing_engine_program_is_refused_before_any_slice_changes(carve, up):
    carve.new("h100-80gb", mig="on")
    carve.ok("mig", "create", "-i", "0", "7g.80gb")
    before = layout(carve)
    p = up.up(up.spec("missing.yaml", """\
  - name: custom
    engine: command
    command: [/nonexistent/serve, --port, "{port}"]
    memory: 9GiB
    replicas: 1
"""), "--detach")
    assert p.returncode == 6, p.stdout + p.stderr
    assert "model custom: /nonexistent/serve is not on the PATH" in p.stderr, p.stderr
    assert layout(carve) == before
    assert json.dumps(before).count("7g.80gb") == 1
