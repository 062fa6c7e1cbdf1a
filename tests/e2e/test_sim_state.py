"""Broken simulator state files (issue #12.3): each is refused with carve's
bad-input exit code and a message naming the file, never an abort (134) or a
crash (139). Run on both backends: through the NVML drop-in a bad file makes
the NVML calls fail, and the host program (carve) still exits cleanly."""
import json

import pytest


def broken_layout(carve, edit):
    carve.new("h100-80gb", mig="on")
    carve.ok("mig", "create", "-i", "0", "3g.40gb@4,1g.10gb@0")
    state = json.load(open(carve.state))
    edit(state["gpus"][0])
    with open(carve.state, "w") as f:
        json.dump(state, f)


def negative_start(g):
    g["gpu_instances"][-1]["start"] = -3


def overlap(g):
    g["gpu_instances"][-1]["start"] = 5


def mig_off_with_slices(g):
    g["mig"]["current"] = False


SHAPES = ["[]", '"x"', '{"schema":1}', "{}", '{"schema":"carve-sim/v1","gpus":[1]}']


@pytest.mark.parametrize("text", SHAPES)
def test_state_of_the_wrong_shape_is_bad_input(carve, text):
    with open(carve.state, "w") as f:
        f.write(text)
    for verb in (["gpus"], ["profiles"], ["mig", "list"]):
        p = carve.run(*verb)
        assert p.returncode in (2, 5), (verb, p.returncode, p.stderr)
        assert carve.state in p.stderr or "simulator" in p.stderr or "NVML" in p.stderr
        assert "terminate" not in p.stderr and "Traceback" not in p.stderr


@pytest.mark.parametrize("edit", [negative_start, overlap, mig_off_with_slices])
def test_broken_invariants_are_refused_before_any_verb_reads_them(carve, edit):
    broken_layout(carve, edit)
    layout = carve.tmp / "layout.yaml"
    layout.write_text("version: v1\ngpus:\n  - index: 0\n    mig: on\n"
                      "    slices: [3g.40gb@4]\n")
    for verb in (["gpus"], ["apply", str(layout), "--dry-run"], ["mig", "list"]):
        p = carve.run(*verb)
        assert p.returncode in (2, 5), (verb, p.returncode, p.stderr)
        assert "not a carve simulator state" in p.stderr or "NVML" in p.stderr, p.stderr
