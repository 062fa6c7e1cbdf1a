import os, subprocess


def test_catalog_lists_models():
    out = subprocess.run([os.environ["CARVE_BIN"], "catalog"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "h100-80gb" in out.stdout


def test_no_verb_is_a_usage_error():
    out = subprocess.run([os.environ["CARVE_BIN"]], capture_output=True, text=True)
    assert out.returncode == 2
