"""Docker, the recipe's own launcher (#13.7): `carve render docker`'s script,
run with a recording stand-in for the docker CLI (tests/e2e/docker_standin),
and carve up supervising engines as containers (`launcher: docker`)."""
import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, BACKEND
from up_harness import EXAMPLES, chat, poll, up  # noqa: F401

pytestmark = pytest.mark.skipif(
    BACKEND != "sim", reason="carve up attaches engines to simulated slices; run once, on the simulator")

STANDIN = Path(__file__).resolve().parent / "docker_standin"

TWO = "  - {name: chat, engine: vllm, source: Qwen/Qwen3-4B, memory: 9GiB, replicas: 2}\n"


def docker_calls(tmp):
    path = tmp / "docker" / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def with_docker(carve):
    """carve's environment with the docker stand-in first on PATH."""
    state = carve.tmp / "docker"
    state.mkdir(exist_ok=True)
    carve.env.update(PATH=f"{STANDIN}:{os.environ['PATH']}", DOCKER_STANDIN_DIR=str(state),
                     CARVE_BIN=BIN, CARVE=BIN)
    return state


def run_script(carve, script):
    return subprocess.run(["/bin/sh", str(script)], capture_output=True, text=True, env=carve.env,
                          timeout=60)


def test_render_docker_for_a_fleet_is_a_runnable_script_with_the_gateway(carve):
    p = carve.run("render", "docker", str(EXAMPLES / "up/vllm-h100.yaml"), "--fleet", "h100-80gb")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("#!/bin/sh\n"), p.stdout[:200]
    assert '--gpus "device=${uuid_0}"' in p.stdout and "gpus --uuid 0:" in p.stdout
    assert "--name carve-gateway" in p.stdout and "--network host" in p.stdout
    assert subprocess.run(["sh", "-n"], input=p.stdout, text=True).returncode == 0


def test_the_script_looks_each_slices_uuid_up_when_it_runs(carve, up):
    carve.new("h100-80gb", mig="on")
    spec = up.spec("docker.yaml", TWO)
    layout = carve.tmp / "layout.yaml"
    carve.ok("plan", spec, "--write", str(layout))
    carve.ok("apply", "--yes", str(layout))
    script = carve.tmp / "carve-docker.sh"
    p = carve.run("render", "docker", spec, "--engine-ports", "21000-21009")
    assert p.returncode == 0, p.stderr
    script.write_text(p.stdout)
    with_docker(carve)

    def started():
        runs = [c for c in docker_calls(carve.tmp) if c[0] == "run"]
        return {c[c.index("--name") + 1]: c for c in runs}

    def devices(runs):
        return sorted(c[c.index("--gpus") + 1] for n, c in runs.items() if n != "carve-gateway")

    first = run_script(carve, script)
    assert first.returncode == 0, first.stderr
    uuids = sorted(f"device={s['uuid']}" for s in carve.json("gpus")["gpus"][0]["slices"])
    runs = started()
    assert devices(runs) == uuids
    assert {c[c.index("-p") + 1] for n, c in runs.items() if n != "carve-gateway"} == {
        "127.0.0.1:21000:8000", "127.0.0.1:21001:8000"}
    gateway = runs["carve-gateway"]
    config = next(w for w in gateway if w.startswith("CARVE_GATEWAY_CONFIG="))
    assert f"listen: 127.0.0.1:{up.port}" in config and "http://127.0.0.1:21001" in config

    # A reboot: the slices are gone; re-created, they have new MIG UUIDs.
    carve.ok("sim", "reboot", carve.state)
    gone = run_script(carve, script)
    assert gone.returncode != 0 and "has no 1g.10gb@" in gone.stderr, gone.stderr
    assert "carve apply" in gone.stderr
    carve.ok("mig", "enable", "-i", "0")
    carve.ok("apply", "--yes", str(layout))
    (carve.tmp / "docker" / "calls.jsonl").unlink()
    again = run_script(carve, script)
    assert again.returncode == 0, again.stderr
    now = sorted(f"device={s['uuid']}" for s in carve.json("gpus")["gpus"][0]["slices"])
    assert now != uuids and devices(started()) == now
    removed = [c for c in docker_calls(carve.tmp) if c[:2] == ["rm", "-f"]]
    assert len(removed) == 3  # the two engines and the gateway, replaced
