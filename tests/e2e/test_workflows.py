"""The recipes from today's MIG guides, step by step, on each GPU family."""
from test_mig import slices


def test_a100_80gb_enable_create_by_id_list_destroy_disable(carve):
    carve.new("a100-80gb")
    p = carve.ok("mig", "enable", "-i", "0")
    assert "MIG on (the GPU was reset)" in p.stdout  # Ampere toggles with a reset
    carve.ok("mig", "create", "-i", "0", "19,19,14")
    # carve packs them into units 0-3, which keeps a 3g.40gb possible at 4.
    assert sorted(slices(carve)) == [("1g.10gb", 0), ("1g.10gb", 1), ("2g.20gb", 2)]
    prof = {p["name"]: p for p in carve.json("profiles", "-i", "0")["gpus"][0]["profiles"]}
    assert prof["3g.40gb"]["free_starts"] == [4]
    lst = carve.json("mig", "list", "-i", "0")["gpus"][0]
    uuids = [s["uuid"] for s in lst["slices"]]
    assert len(set(uuids)) == 3 and all(u.startswith("MIG-") for u in uuids)
    carve.ok("mig", "destroy", "-i", "0", "--all")
    carve.ok("mig", "create", "-i", "0", "9,19,14,19")
    assert len(slices(carve)) == 4
    carve.run("mig", "list")
    carve.ok("mig", "destroy", "-i", "0", "--all")
    carve.ok("mig", "disable", "-i", "0")
    g = carve.json("gpus")["gpus"][0]
    assert g["mig"]["current"] is False
    carve.golden("a100_80gb_by_id")


def test_rtx_pro_6000_into_four_1g_24gb(carve):
    carve.new("rtx-pro-6000", mig="on")
    carve.ok("mig", "create", "-i", "0", "1g.24gb,1g.24gb,1g.24gb,1g.24gb")
    assert sorted(slices(carve)) == [("1g.24gb", s) for s in (0, 3, 6, 9)]
    p = carve.run("mig", "create", "-i", "0", "1g.24gb")
    assert p.returncode == 3
    carve.run("gpus")
    carve.golden("rtx_pro_6000_four_1g")


def test_rtx_pro_media_all_admits_only_no_media_profiles(carve):
    carve.new("rtx-pro-6000", mig="on")
    carve.ok("mig", "create", "-i", "0", "1g.24gb+me.all")
    p = carve.run("mig", "create", "-i", "0", "1g.24gb")
    assert p.returncode == 3 and "decoder" in p.stderr
    carve.ok("mig", "create", "-i", "0", "1g.24gb-me,1g.24gb-me,1g.24gb-me")


def test_a30_into_four_1g_6gb(carve):
    carve.new("a30", mig="on")
    carve.ok("mig", "create", "-i", "0", "14,14,14,14")
    assert sorted(slices(carve)) == [("1g.6gb", s) for s in range(4)]
    carve.run("gpus")
    carve.golden("a30_four_1g")


def test_a30_has_one_media_engine_set(carve):
    carve.new("a30", mig="on")
    carve.ok("mig", "create", "-i", "0", "1g.6gb+me")
    p = carve.run("mig", "create", "-i", "0", "2g.12gb+me")
    assert p.returncode == 3 and "one media-engine (+me) slice" in p.stderr


def test_ampere_pending_mode_and_reboot(carve):
    carve.new("a100-80gb")
    carve.ok("sim", "attach", carve.state, "-i", "0", "--pid", "77", "--name", "python")
    p = carve.run("mig", "enable", "-i", "0")
    assert p.returncode == 3
    assert "MIG on is pending" in p.stdout and "process 77 (python" in p.stdout
    g = carve.json("gpus")["gpus"][0]
    assert g["mig"] == {"capable": True, "current": False, "pending": True}
    carve.ok("sim", "reboot", carve.state)  # the reset at boot applies it; Ampere keeps it
    g = carve.json("gpus")["gpus"][0]
    assert g["mig"] == {"capable": True, "current": True, "pending": True}


def test_whole_gpus_have_no_mig(carve):
    carve.new("rtx-4090", "h100-80gb")
    p = carve.run("mig", "enable", "-i", "0")
    assert p.returncode == 3 and "does not support MIG" in p.stderr
    assert len(carve.json("profiles")["gpus"]) == 1
