"""Every experiments/*.toml validates and runs a few steps at tiny size (STYLE.md item 9)."""

from pathlib import Path

import pytest

import lendsim
from lendsim.simulation.scenario import load_scenario

FILES = sorted((Path(__file__).parents[1] / "experiments").glob("*.toml"))


def test_there_are_experiment_files():
    assert len(FILES) >= 4


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_experiment_file_runs_at_tiny_size(path):
    text = path.read_text()
    assert text.lstrip().startswith("#"), "each file opens with a comment saying what it asks"
    scen = load_scenario(path, {"borrowers.n": 200, "platforms.n": 4, "banks.n": 4,
                                "simulation.check_invariants": True})
    res = lendsim.run(scen, steps=3)
    assert len(res.model) == 3
