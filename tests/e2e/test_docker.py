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


DOCKER_MODEL = ("  - {name: chat, engine: vllm, source: Qwen/Qwen3-4B, memory: 9GiB, replicas: 2, "
                "launcher: docker}\n")


def models_card(port):
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=5) as r:
        return json.loads(r.read())["data"][0]


def test_carve_up_supervises_engines_as_containers(carve, up):
    carve.new("h100-80gb", mig="on")
    (with_docker(carve) / "images").write_text("vllm/vllm-openai:v0.10.2\n")
    # No vLLM on this host at all: the image has it.
    p = up.up(up.spec("docker.yaml", DOCKER_MODEL), "--detach")
    assert p.returncode == 0, p.stdout + p.stderr
    st = poll(lambda: up.all_ready(2), 20, "two containers ready")
    calls = docker_calls(carve.tmp)
    for r in st["replicas"]:
        assert r["launcher"] == "docker" and r["engine"] == "vllm"
        assert models_card(r["port"])["carve_device"] == r["uuid"]  # the container's device
        name = "carve-" + r["id"].replace("/", "-")
        run = next(c for c in calls if c[0] == "run" and name in c)
        assert run[:5] == ["run", "--rm", "--name", name, "--gpus"], run
        assert f"device={r['uuid']}" in run and f"127.0.0.1:{r['port']}:8000" in run
        image = run.index("vllm/vllm-openai:v0.10.2")
        assert run[image + 1:image + 4] == ["Qwen/Qwen3-4B", "--host", "0.0.0.0"], run
        assert calls.index(["rm", "-f", name]) < calls.index(run)  # a leftover goes first
    assert chat(up.port, "chat")[0] == 200

    # The engine in a container dies: carve removes the container and runs it again.
    victim = st["replicas"][0]
    os.kill(victim["pid"], 9)
    back = poll(lambda: next((r for r in up.status()["replicas"] if r["id"] == victim["id"] and
                              r["state"] == "ready" and r["pid"] != victim["pid"]), None),
                20, "the container to come back")
    assert back["restarts"] == 1 and back["uuid"] == victim["uuid"]
    name = "carve-" + victim["id"].replace("/", "-")
    assert sum(1 for c in docker_calls(carve.tmp) if c[0] == "run" and name in c) == 2

    # carve down stops each container with docker stop.
    pids = [r["pid"] for r in up.status()["replicas"]]
    p = up.run("down")
    assert p.returncode == 0, p.stdout + p.stderr
    stops = [c for c in docker_calls(carve.tmp) if c[0] == "stop"]
    assert sorted(c[-1] for c in stops) == ["carve-chat-0", "carve-chat-1"]
    assert all(c[1:3] == ["-t", "10"] for c in stops)
    for pid in pids:
        assert poll(lambda: not Path(f"/proc/{pid}").exists() or
                    Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] == "Z", 10, "gone")


def test_an_image_not_on_the_host_is_refused_before_any_slice_changes(carve, up):
    carve.new("h100-80gb", mig="on")
    with_docker(carve)
    before = carve.json("gpus")
    p = up.up(up.spec("noimage.yaml", DOCKER_MODEL), "--detach")
    assert p.returncode == 6, p.stdout + p.stderr
    assert "its image vllm/vllm-openai:v0.10.2 is not on this host" in p.stderr, p.stderr
    assert "docker pull vllm/vllm-openai:v0.10.2" in p.stderr
    assert carve.json("gpus") == before
    assert not [c for c in docker_calls(carve.tmp) if c[0] == "run"]
