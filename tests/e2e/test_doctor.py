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


def checks(carve, gpu=None):
    """carve doctor --json's check rows, by name, for one GPU (None: the machine)."""
    return {c["check"]: c for c in carve.json("doctor")["checks"] if c["gpu"] == gpu}


def test_doctor_checks_pass_on_a_healthy_machine(carve):
    carve.new("h100-80gb", mig="on")
    carve.ok("mig", "create", "-i", "0", "3g.40gb")
    c = checks(carve, 0)
    assert c["driver"]["status"] == "ok" and "525.85.12" in c["driver"]["detail"]
    assert c["compute instances"]["status"] == "ok"
    assert c["persistence"]["status"] == "ok"
    # Both backends read ECC (NVML: nvmlDeviceGetEccMode, answered by the drop-in).
    assert c["ecc"]["status"] == "ok"
    assert "mig time-slicing" not in c and "display mode" not in c
    assert all(row["fix"] is None for row in c.values() if row["status"] == "ok")


def test_doctor_warns_what_the_recipes_warn_about(carve):
    carve.new("h100-80gb", mig="on")
    carve.ok("sim", "set", carve.state, "--driver", "520.61.05")
    carve.ok("sim", "set", carve.state, "-i", "0", "--ecc", "off", "--persistence", "off",
             "--mig-timeslicing", "unsupported")
    carve.ok("mig", "create", "-i", "0", "3g.40gb@0,3g.40gb@4", "--gi-only")
    carve.ok("mig", "create-ci", "-i", "0", "--gi", "1")
    c = checks(carve, 0)
    assert c["driver"]["status"] == "fail"
    assert c["driver"]["fix"] == "Install NVIDIA driver 525.85.12 or later"
    assert c["compute instances"]["status"] == "warn"
    assert c["compute instances"]["detail"].startswith("GI 2 (3g.40gb@4) without a compute instance")
    assert c["compute instances"]["fix"] == "carve mig create-ci -i 0 --gi 2"
    assert c["persistence"]["status"] == "warn" and "-pm 1" in c["persistence"]["fix"]
    assert c["ecc"]["status"] == "warn" and c["ecc"]["detail"].startswith("on now, off after")
    if BACKEND == "sim":
        assert c["mig time-slicing"]["status"] == "info"
    else:  # no NVML call in carve's notes reports it
        assert "mig time-slicing" not in c
    text = carve.ok("doctor").stdout
    assert "  fail     driver             driver 520.61.05 is older than 525.85.12" in text
    assert "fix: carve mig create-ci -i 0 --gi 2" in text


def test_doctor_names_a_workstation_in_display_mode_and_the_switch(carve):
    carve.ok("sim", "new", carve.state, "NVIDIA RTX PRO 6000 Blackwell Workstation Edition",
             "--seed", "7")
    g = carve.json("gpus")["gpus"][0]
    assert g["name"] == "NVIDIA RTX PRO 6000 Blackwell Workstation Edition"
    assert g["mig"]["capable"] is False
    d = carve.json("doctor")
    assert d["gpus"][0]["notes"] == [] and d["gpus"][0]["next"] is None
    c = {x["check"]: x for x in d["checks"]}
    assert c["display mode"]["status"] == "fail"
    assert "displaymodeselector --gpumode compute" in c["display mode"]["fix"]
    assert carve.run("mig", "enable", "-i", "0").returncode == 3
    carve.ok("sim", "set", carve.state, "-i", "0", "--display-mode", "compute")
    assert checks(carve, 0)["display mode"]["status"] == "ok"
    carve.ok("mig", "enable", "-i", "0")


def test_doctor_after_a_hopper_reboot_hints_the_boot_unit(carve):
    carve.new("h100-80gb")
    layout = carve.tmp / "layout.yaml"
    layout.write_text("version: v1\ngpus:\n  - index: 0\n    mig: on\n"
                      "    slices: [3g.40gb@0, 3g.40gb@4]\n")
    assert carve.json("doctor")["checks"][-1]["check"] != "boot"  # nothing carved yet
    carve.ok("apply", str(layout), "--yes")
    boot = checks(carve)["boot"]
    assert boot["status"] == "info" and boot["fix"] == f"carve apply {layout} --install"
    carve.ok("sim", "reboot", carve.state)
    boot = checks(carve)["boot"]
    assert boot["status"] == "warn"
    assert boot["detail"].startswith(f"GPU 0 lost the layout of {layout} at the reboot")
    assert boot["fix"] == f"carve apply {layout} --install, then carve apply {layout}"
    carve.ok("apply", str(layout), "--install", "--unit-dir", str(carve.tmp / "units"))
    carve.ok("apply", str(layout), "--yes")
    assert checks(carve)["boot"]["status"] == "ok"
    carve.ok("apply", "--uninstall", "--unit-dir", str(carve.tmp / "units"))
    assert checks(carve)["boot"]["status"] == "info"
    (carve.tmp / "machine.json.d" / "applied.json").write_text("{")
    boot = checks(carve)["boot"]  # a broken record costs its row, not the doctor
    assert boot["status"] == "unknown" and "is not a carve apply record" in boot["detail"]
