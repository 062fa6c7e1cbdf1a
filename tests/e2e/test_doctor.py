"""carve doctor: where each GPU stands and the exact next command, on both backends."""
from conftest import BACKEND


def test_doctor_names_what_blocks_mig_and_the_next_command(carve):
    carve.new("h100-80gb:2", "l40s")
    carve.ok("sim", "attach", carve.state, "-i", "1", "--pid", "4300", "--name", "jupyter",
             "--memory", "2048")
    carve.ok("mig", "enable", "-i", "0")
    d = carve.json("doctor")
    assert d["backend"] == BACKEND
    assert d["driver_version"] and d["cuda_version"] == "13.0"
    g0, g1, g2 = d["gpus"]
    assert g0["next"] == "carve profiles -i 0   then: carve mig create -i 0 PROFILE,…"
    assert g1["processes"] == [{"pid": 4300, "name": "jupyter", "memory_mib": 2048}]
    assert g1["next"] == "stop processes 4300, then: carve mig enable -i 1"
    assert g2["mig"]["capable"] is False and g2["next"] is None
    assert all(g["notes"] == [] for g in d["gpus"])  # the catalogue agrees with the driver


def test_doctor_explains_a_pending_mode(carve):
    carve.new("h100-80gb")
    carve.ok("sim", "attach", carve.state, "-i", "0", "--pid", "4301", "--name", "train")
    p = carve.run("mig", "enable", "-i", "0")
    assert p.returncode == 3 and "pending" in p.stdout
    p = carve.ok("doctor")
    assert "current off, pending on" in p.stdout
    assert "next       stop processes 4301, then: carve mig enable -i 0" in p.stdout
