"""Helpers for the experiment tests: tiny experiment files written into tmp_path."""

import textwrap

import pandas as pd

from lendsim.results import load

TINY_PARAMS = """
[params]
"borrowers.n" = 200
"platforms.n" = 3
"banks.n" = 3
"simulation.check_invariants" = true
"""

WALL_CLOCK = ["duration_s", "worker", "finished"]


def write_experiment(tmp_path, body: str, name: str = "exp", params: str = TINY_PARAMS):
    """Write an experiment file extending the shipped baseline; returns its path."""
    path = tmp_path / f"{name}.toml"
    text = f'# test experiment\n[meta]\nname = "{name}"\nextends = "baseline.toml"\n'
    path.write_text(text + params + textwrap.dedent(body))
    return path


GRID = """
[run]
steps = 3
replications = 2
root_seed = 7
[sweep]
"regulator.apr_cap" = [0.36, 0.24]
"regulator.data_sharing" = [0.0, 1.0]
[outputs]
tables = ["platforms", "banks", "events"]
"""


def assert_same_results(a, b):
    """Every table of two experiment folders is identical, wall-clock columns aside."""
    ra, rb = load(a), load(b)
    for name, df in ra.tables().items():
        other = rb.tables()[name]
        drop = [c for c in WALL_CLOCK if c in df.columns]
        pd.testing.assert_frame_equal(df.drop(columns=drop), other.drop(columns=drop),
                                      obj=name)
    return ra
