import pytest


@pytest.fixture
def procs():
    """Collects the processes a test starts and stops them all at its end."""
    started = []
    yield started
    for p in reversed(started):
        p.stop()
