"""The accepted parameter space runs (issue 22, item 2).

Random scenarios from the whole declared space (every parameter with a range, choices or a
switch; several at once, each within its declared range; tests/param_space.py), at small size
and with the balance-sheet invariants checked every month. Each scenario the input check
accepts must run to its last month; each it refuses must be refused in one line naming a
parameter. Ranges that allowed values the model could not run were narrowed, with the reason
in the parameter's description (infinity where a finite number is meant, the training window,
the stochastic-block mean degree).
"""

from __future__ import annotations

import traceback

import numpy as np
import pytest

from lendsim.errors import LendsimError, ScenarioError
from lendsim.simulation.model import MarketModel
from lendsim.simulation.params import Scenario
from lendsim.simulation.scenario import load_scenario

from param_space import declared_space, draw_scenario

N_SCENARIOS = 800
SEED = 20261201


def _names_a_parameter(message: str, keys: set[str]) -> bool:
    head = message.split(" ", 1)[0].rstrip(":")
    return head in keys or any(k in message for k in keys)


@pytest.mark.slow
def test_every_accepted_scenario_runs_to_the_end():
    space = declared_space()
    keys = set(Scenario().flat())
    rng = np.random.default_rng(SEED)
    drawn: set[str] = set()
    counts = {"ran": 0, "refused": 0}
    problems = []
    for i in range(N_SCENARIOS):
        over = draw_scenario(rng, space, int(rng.integers(3, 31)))
        drawn |= set(over)
        over.update({"simulation.check_invariants": True, "output.charts": False,
                     "simulation.seed": int(rng.integers(0, 2**31 - 1))})
        try:
            scen = load_scenario(None, over)
        except ScenarioError as exc:
            msg = str(exc)
            counts["refused"] += 1
            if "\n" in msg or not _names_a_parameter(msg, keys):
                problems.append((i, over, f"refused without naming a parameter: {msg}"))
            continue
        model = None
        try:
            model = MarketModel(scen)
            model.run()
            steps = len(model.tables()["model"])
            if steps != scen.simulation.steps:
                problems.append((i, over, f"ran {steps} of {scen.simulation.steps} months"))
            else:
                counts["ran"] += 1
        except LendsimError as exc:  # allowed only as one line naming a parameter
            if "\n" in str(exc) or not _names_a_parameter(str(exc), keys):
                problems.append((i, over, f"{type(exc).__name__}: {exc}"))
        except Exception as exc:  # noqa: BLE001 - every crash is reported, not just the first
            where = traceback.extract_tb(exc.__traceback__)[-1]
            problems.append((i, over, f"{type(exc).__name__}: {exc} "
                                      f"({where.filename.rsplit('/', 1)[-1]}:{where.lineno})"))
        finally:
            if model is not None:
                model.close()
    assert not problems, "\n".join(f"scenario {i}: {why}\n  {over}" for i, over, why in problems)
    assert drawn >= set(space), f"never drawn: {sorted(set(space) - drawn)}"
    assert counts["ran"] >= N_SCENARIOS // 2, counts
