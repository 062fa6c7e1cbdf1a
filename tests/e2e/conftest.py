"""End-to-end harness: drives the real carve binary on a simulated machine.

CARVE_E2E_BACKEND=sim (default) talks to the simulator directly; =nvml runs
every machine verb through the NVML backend with the drop-in
libnvidia-ml.so.1 (CARVE_NVML_SHIM_DIR) on LD_LIBRARY_PATH. Both runs must
produce identical transcripts, so golden files are shared.
"""
import json
import os
import subprocess
from pathlib import Path

import pytest

BIN = os.environ["CARVE_BIN"]
BACKEND = os.environ.get("CARVE_E2E_BACKEND", "sim")
GOLDEN = Path(__file__).parent / "golden"


class Carve:
    def __init__(self, tmp_path):
        self.state = str(tmp_path / "machine.json")
        self.tmp = tmp_path
        self.env = dict(os.environ, NO_COLOR="1", CARVE_SIM=self.state)
        self.env.pop("CARVE_BACKEND", None)
        if BACKEND == "nvml":
            self.env["LD_LIBRARY_PATH"] = os.environ["CARVE_NVML_SHIM_DIR"]
        self.transcript = []

    def run(self, *args, check=None):
        """Runs `carve ARGS`; machine verbs go through the backend under test."""
        argv = [BIN]
        if args and args[0] not in ("sim", "catalog") and BACKEND == "nvml":
            argv += ["--backend", "nvml"]
        argv += list(args)
        p = subprocess.run(argv, capture_output=True, text=True, env=self.env, timeout=60)
        self.transcript.append(
            f"$ carve {' '.join(args)}\n{p.stdout}{p.stderr}[exit {p.returncode}]\n")
        if check is True:
            assert p.returncode == 0, p.stdout + p.stderr
        return p

    def ok(self, *args):
        return self.run(*args, check=True)

    def json(self, *args):
        return json.loads(self.ok("--json", *args).stdout)

    def new(self, *gpus, mig="off"):
        self.ok("sim", "new", self.state, *gpus, "--mig", mig, "--seed", "7")

    def golden(self, name):
        """Compares the transcript so far with tests/e2e/golden/NAME.txt."""
        text = "".join(self.transcript).replace(self.state, "$STATE")
        path = GOLDEN / f"{name}.txt"
        if os.environ.get("CARVE_UPDATE_GOLDEN") == "1":
            path.parent.mkdir(exist_ok=True)
            path.write_text(text)
        assert path.exists(), f"no golden file {path}; run with CARVE_UPDATE_GOLDEN=1"
        assert text == path.read_text()


@pytest.fixture
def carve(tmp_path):
    return Carve(tmp_path)


@pytest.fixture
def procs():
    """Collects the processes a test starts and stops them all at its end."""
    started = []
    yield started
    for p in reversed(started):
        p.stop()
