"""Stylized fact 7 (docs/calibration.md, section 3): pools that guarantee or insure loans can
fuel cascading defaults, and a screening rule does better for the same premium (Katsamakas &
Sanchez-Cartas 2024). Paired runs of the arms of guarantee_pools.toml on common seeds, each
effect read from its 95 % t-interval across seeds (docs/ODD.md, 7.17.10).

Slow: run with ``pytest -m slow tests/test_fact7_guarantee_pools.py``.

The model does not reproduce fact 7 yet: both tests are strict expected failures (each turns
into a failure, to be looked at, the day it passes). On 8 seeds (101-108), 2026-12-01
(``pytest -m slow --runxfail tests/test_fact7_guarantee_pools.py``): with the pool, 0.25 more
platform failures from month 13 on than without a guarantor (95 % interval -1.52 to 2.02:
no direction); the screening guarantor did no better than the pool (its unpaid claims in RMB
million plus platform failures, +0.70, -1.97 to 3.36). Likely reasons, from runs of the same
arms on the code before that day's repayment and loss-severity changes (not re-measured): the
cover absorbs losses before the thin guarantor fails, and the run its failure sets off does
not outweigh that; the screening guarantor failed about as often as the pool (its capital
follows its smaller book); and insured platforms price their loans as if uninsured (docs/ODD.md, 7.17.10), so the moral
hazard of guarantee.moral_hazard acts only through the cut-off, which hardly binds here
(moral_hazard 0.5 and 1.0 gave the same runs).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import lendsim
from lendsim.experiments.spec import load_experiment
from lendsim.results.analysis import mean_ci

pytestmark = pytest.mark.slow
FILE = Path(__file__).parents[1] / "src" / "lendsim" / "examples" / "guarantee_pools.toml"
SEEDS = [101 + r for r in range(8)]
SHOCK = 13  # the month the shock strikes


def arm(n: int, policy: str = "pool"):
    base = load_experiment(FILE).base
    return base.with_overrides({"output.charts": False, "guarantee.n": n,
                                "guarantee.policy": policy})


def paired(a, b, outcome):
    """Per-seed ``outcome(b) - outcome(a)``: mean and 95 % interval."""
    diffs = []
    for s in SEEDS:
        ta = lendsim.run(a, seed=s).tables()
        tb = lendsim.run(b, seed=s).tables()
        diffs.append(outcome(tb) - outcome(ta))
    return mean_ci(diffs)


def failures_after_shock(t):
    m = t["model"]
    return float(m.loc[m["step"] >= SHOCK, "platform_failures"].sum())


def unpaid_and_failures(t):
    m = t["model"]
    after = m[m["step"] >= SHOCK]
    return float(after["losses_guarantee"].sum() / 1e6 + after["platform_failures"].sum())


@pytest.mark.xfail(strict=True, reason="the model does not reproduce it yet: no more platform "
                   "failures with the pool than without (module docstring)")
def test_fact7_a_guarantee_pool_fuels_platform_failures_under_a_p2p_shock():
    mean, lo, hi = paired(arm(0), arm(1, "pool"), failures_after_shock)
    assert lo > 0, (mean, lo, hi)


@pytest.mark.xfail(strict=True, reason="the model does not reproduce it yet: the screening "
                   "guarantor fails about as often (module docstring)")
def test_fact7_screening_does_better_than_the_pool_for_the_same_premium():
    mean, lo, hi = paired(arm(1, "pool"), arm(1, "screening"), unpaid_and_failures)
    assert hi < 0, (mean, lo, hi)
