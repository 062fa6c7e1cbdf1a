"""carve sim fail end to end (issue #15.3): a GPU instance the driver reported
an Xid on, as carve gpus shows it through both backends (the simulator, and
NVML's Xid events through the drop-in); --clear heals it; and the echo engine
on a failed instance fails its requests, then exits."""
import http.client
import json
import os
import subprocess
import urllib.error
import urllib.request

import pytest

from conftest import BACKEND, BIN
from up_harness import alive, chat, poll, up  # noqa: F401

XID94 = "Xid 94: contained ECC error"


def two_slices(carve):
    """One H100, MIG on, 3g.40gb@4 and 1g.10gb@0; returns {profile: gi}."""
    carve.new("h100-80gb", mig="on")
    carve.ok("mig", "create", "-i", "0", "3g.40gb@4,1g.10gb@0")
    return {s["profile"]: s["gi"] for s in carve.json("gpus")["gpus"][0]["slices"]}


def faults(carve):
    return {s["gi"]: s["fault"] for s in carve.json("gpus")["gpus"][0]["slices"]}


def test_a_failed_instance_shows_in_gpus_and_clear_heals_it(carve):
    gis = two_slices(carve)
    small, big = gis["1g.10gb"], gis["3g.40gb"]
    assert faults(carve) == {small: None, big: None}
    p = carve.ok("sim", "fail", carve.state, "-i", "0", "--gi", str(small))
    assert f"GPU 0: GPU instance {small} failed: {XID94}" in p.stdout
    assert faults(carve) == {small: XID94, big: None}
    text = carve.ok("gpus").stdout
    assert f"FAULT  GI {small} (1g.10gb@0): {XID94}" in text, text
    assert f"FAULT  GI {small} (1g.10gb@0): {XID94}" in carve.ok("mig", "list").stdout
    doctor = carve.run("doctor").stdout
    assert "gpu instances" in doctor and XID94 in doctor, doctor

    carve.ok("sim", "fail", carve.state, "-i", "0", "--gi", str(big), "--xid", "79")
    assert faults(carve) == {small: XID94, big: "Xid 79: GPU has fallen off the bus"}
    p = carve.ok("sim", "fail", carve.state, "--clear", "-i", "0", "--gi", str(big))
    assert f"GPU instance {big} healed" in p.stdout
    assert faults(carve) == {small: XID94, big: None}
    carve.ok("sim", "fail", carve.state, "--clear")
    assert faults(carve) == {small: None, big: None}
    assert "FAULT" not in carve.ok("gpus").stdout
    assert "No failed GPU instance to heal." in carve.ok("sim", "fail", carve.state, "--clear").stdout


def test_destroying_a_failed_instance_heals_it(carve):
    gis = two_slices(carve)
    carve.ok("sim", "fail", carve.state, "-i", "0", "--gi", str(gis["1g.10gb"]))
    carve.ok("mig", "destroy", "-i", "0", "--gi", str(gis["1g.10gb"]))
    carve.ok("mig", "create", "-i", "0", "1g.10gb@0")
    assert set(faults(carve).values()) == {None}


def test_refusals_say_what_and_what_to_do(carve):
    gis = two_slices(carve)
    gi = str(gis["1g.10gb"])
    p = carve.run("sim", "fail", carve.state, "-i", "0", "--gi", gi, "--xid", "13")
    assert p.returncode == 2 and "Xid 13 is not one carve simulates" in p.stderr, p.stderr
    assert "94 (contained ECC error)" in p.stderr and "79 (GPU has fallen off the bus)" in p.stderr
    p = carve.run("sim", "fail", carve.state, "-i", "0", "--gi", "99")
    assert p.returncode == 6 and "no GPU instance 99" in p.stderr, p.stderr
    p = carve.run("sim", "fail", carve.state, "-i", "4", "--gi", gi)
    assert p.returncode == 6, p.stderr
    p = carve.run("sim", "fail", carve.state, "-i", "0")
    assert p.returncode == 2 and "-i GPU --gi ID" in p.stderr, p.stderr
    p = carve.run("sim", "fail", carve.state, "--clear", "--xid", "94")
    assert p.returncode == 2 and "do not go together" in p.stderr, p.stderr
    p = carve.run("sim", "fail", carve.state, "--clear", "--gi", gi)
    assert p.returncode == 2 and "--gi needs -i" in p.stderr, p.stderr
    assert set(faults(carve).values()) == {None}  # nothing refused changed anything
    carve.ok("sim", "new", carve.state, "a100-80gb", "--mig", "off", "--force")
    p = carve.run("sim", "fail", carve.state, "-i", "0", "--gi", "0")
    assert p.returncode == 3 and "MIG is off" in p.stderr, p.stderr


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def start_echo(workdir):
    port_file = workdir / "port"
    port_file.unlink(missing_ok=True)  # a stale one from an earlier run names a dead port
    p = subprocess.Popen([BIN, "engine", "echo", "--port", "0", "--port-file", str(port_file)],
                         cwd=workdir, env=dict(os.environ, CARVE_ACTIVITY_FILE="activity"),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return p, port_file


def served_then_failed(workdir, ask):
    """An echo engine in `workdir` that served once, then its device failed;
    returns `ask(port)`, the engine's exit status and its stderr."""
    p, port_file = start_echo(workdir)
    try:
        port = int(poll(lambda: port_file.exists() and port_file.read_text().strip(), 10, "port"))
        assert chat(port, "echo")[0] == 200
        (workdir / "fault").write_text(XID94 + "\n")  # what carve sim fail writes there
        answer = ask(port)
        _, err = p.communicate(timeout=10)
        return answer, p.returncode, err
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def dropped(ask):
    """ask() if the engine answered; None when it dropped the connection."""
    try:
        return ask()
    except (ConnectionError, http.client.HTTPException, urllib.error.URLError):
        return None


@pytest.mark.skipif(BACKEND != "sim", reason="the engine alone: no machine, run once")
def test_echo_engine_dies_of_its_fault_file_and_will_not_start_while_it_is_there(tmp_path):
    # As a CUDA program whose context is lost: no answer, exit 1, CUDA's words.
    for ask in (lambda port: chat(port, "echo"), lambda port: get(f"http://127.0.0.1:{port}/health")):
        answer, status, err = served_then_failed(tmp_path, lambda port: dropped(lambda: ask(port)))
        assert answer in (None, (0, "")), answer
        assert status == 1
        assert f"engine died: CUDA error: uncorrectable ECC error encountered ({XID94})" in err, err
        (tmp_path / "fault").unlink()
    (tmp_path / "fault").write_text(XID94 + "\n")
    again, _ = start_echo(tmp_path)
    out, err = again.communicate(timeout=10)
    assert again.returncode == 1
    assert "cannot start: CUDA error: uncorrectable ECC error encountered" in err, err


@pytest.mark.skipif(BACKEND != "sim", reason="carve up attaches engines to simulated slices")
def test_an_engine_on_a_failed_instance_fails_its_requests(carve, up):
    carve.new("h100-80gb")
    st = up.serve("  - {name: chat, engine: echo, memory: 9GiB, replicas: 1}\n", 1)
    r = st["replicas"][0]
    assert chat(r["port"], "chat")[0] == 200
    # carve up has noted the engine on its slice once the slice shows its memory.
    slice_ = poll(lambda: next((s for s in carve.json("gpus")["gpus"][0]["slices"]
                                if s["uuid"] == r["uuid"] and s["memory_used_mib"] > 0), None),
                  15, "the engine noted on its slice")
    p = carve.ok("sim", "fail", carve.state, "-i", "0", "--gi", str(slice_["gi"]))
    assert "1 engine on it told" in p.stdout, p.stdout
    fault_file = next((up.dir / "engines").glob("*/activity")).parent / "fault"
    assert fault_file.read_text() == f"{XID94}\n{r['uuid']}\n"  # the fault, the devices it hits
    assert chat(r["port"], "chat")[0] == 0, "the engine on the failed instance answered"
    poll(lambda: not alive(r["pid"]), 15, "the engine on the failed instance to exit")
    carve.ok("sim", "fail", carve.state, "--clear")
    assert not fault_file.exists()
