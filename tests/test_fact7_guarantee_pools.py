"""Stylized fact 7 (docs/calibration.md, section 3): pools that guarantee or insure loans can
fuel cascading defaults, and a screening rule does better for the same premium (Katsamakas &
Sanchez-Cartas 2024). Paired runs of the arms of guarantee_pools.toml on common seeds, each
effect read from its 95 % t-interval across seeds (docs/ODD.md, 7.17.10).

Slow: run with ``pytest -m slow tests/test_fact7_guarantee_pools.py``.

The model does not reproduce fact 7 yet: both tests are strict expected failures (each turns
into a failure, to be looked at, the day it passes). Each arm runs as the experiment does
(its ``run.steps`` = 36 months after a 24-month burn-in; the file says why). On 8 seeds
(101-108), 2026-12-01 (``pytest -m slow --runxfail tests/test_fact7_guarantee_pools.py``),
with insured lenders pricing their cover (docs/ODD.md, 7.17.10, *Insured pricing*): the pool
gave 1.38 more platform failures from month 13 on than no guarantor (95 % interval -4.35 to
7.10: no direction; 0.38, -4.52 to 5.27, with pricing blind to the cover as before); the
screening guarantor did no better than the pool (its unpaid claims in RMB million plus
platform failures, +0.98, -1.85 to 3.82; +1.11, -1.44 to 3.66 before).

Why, measured on the same arms and seeds (``lendsim.run`` per arm, model and events tables):

- Hardly any credit losses to insure before the shock: in months 1-12 the pool's guarantor
  paid no claims on seeds 101, 103 and 104 (on 102, 29 thousand RMB of claims failed it in
  month 2). After it, the guarantors' claims come from
  the closed platform's loans and those of the platforms that fail next, run off at the
  resolver's recovery (``losses_platform_failure``, 4-323 thousand RMB in the pool arms), and
  the runs cost more (``losses_reputation`` up to 1.03 million); the income shock alone
  brings few defaults (without the closure, ``shocks.platform_failure_step = 0``, 5 of the 8
  no-guarantor arms charged off less than 5 thousand RMB in 36 months). PD screening cannot select against a lender's
  failure: the screening guarantor failed on 7 of 8 seeds, as did the pool's.
- The run the closure sets off saturates the sector: without a guarantor 1-10 of the 11 P2P
  platforms failed after month 13 (5, 10, 1, 3, 7, 9, 8, 10 with the closed one), with the
  pool 11, 0, 11, 10, 9, 11, 9, 3. On seed 102 the pool's guarantor failed in month 2 (its
  starting capital is 3,000 RMB), the run came early and nothing was left to fail after the
  shock; on seed 108 it survived and its claims kept failures at 3 against 10.
- With the 120-month burn-in of the baseline (the file before that day) the guarantor never
  failed (seeds 101-103, 120 months): the P2P scorecards put 99 % of applicants below a 1.1 %
  PD (seed 101, months 1-12), the 0.3 cut-off never bound, and premiums were 3 to 15 times
  the claims.
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
    """One arm, run as the experiment runs it (its ``run.steps``)."""
    exp = load_experiment(FILE)
    return exp.base.with_overrides({"output.charts": False, "guarantee.n": n,
                                    "guarantee.policy": policy,
                                    "simulation.steps": exp.steps})


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


@pytest.mark.xfail(strict=True, reason="the model does not reproduce it yet: 8 seeds, "
                   "2026-12-01: +1.38 platform failures with the pool, 95 % interval -4.35 to "
                   "7.10; the closure's run fails most P2P platforms in every arm (module "
                   "docstring)")
def test_fact7_a_guarantee_pool_fuels_platform_failures_under_a_p2p_shock():
    mean, lo, hi = paired(arm(0), arm(1, "pool"), failures_after_shock)
    assert lo > 0, (mean, lo, hi)


@pytest.mark.xfail(strict=True, reason="the model does not reproduce it yet: 8 seeds, "
                   "2026-12-01: screening minus pool +0.98, -1.85 to 3.82; the claims come from "
                   "failed platforms' run-off, which PD screening does not select against "
                   "(module docstring)")
def test_fact7_screening_does_better_than_the_pool_for_the_same_premium():
    mean, lo, hi = paired(arm(1, "pool"), arm(1, "screening"), unpaid_and_failures)
    assert hi < 0, (mean, lo, hi)
