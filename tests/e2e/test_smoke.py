import os, subprocess
def test_binary_runs():
    out = subprocess.run([os.environ["CARVE_BIN"]], capture_output=True, text=True)
    assert out.returncode == 0
    assert "GPU models" in out.stdout
