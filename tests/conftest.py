"""Shared fixtures: tiny scenarios that run in a fraction of a second."""

import pytest
from hypothesis import settings

from lendsim import load_scenario

# Property tests compare against slow reference loops and some first call a compiled kernel;
# on a loaded machine one example can take longer than hypothesis's default 200 ms deadline
# (a compaction case did under CI-like load), which says nothing about correctness.
settings.register_profile("lendsim", deadline=None)
settings.load_profile("lendsim")


def tiny(**overrides):
    """The default scenario at test size, with invariant checks on and no burn-in."""
    base = {"borrowers.n": 400, "platforms.n": 5, "banks.n": 5, "simulation.steps": 12,
            "simulation.check_invariants": True, "output.charts": False,
            "simulation.burn_in": 0}  # tests start from an empty market unless they ask
    base.update(overrides)
    return load_scenario(None, base)


@pytest.fixture
def tiny_scenario():
    return tiny()


def pytest_collection_modifyitems(config, items):
    """The slow tests first (a stable sort keeps each file's order): under pytest-xdist a
    seven-minute stylized fact collected last would keep one worker busy after the others
    have finished, and the whole run waits for it."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
