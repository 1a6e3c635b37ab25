"""Stylized fact 7 (docs/calibration.md, section 3): pools that guarantee or insure loans can
fuel cascading defaults, and a screening rule does better for the same premium (Katsamakas &
Sanchez-Cartas 2024). Paired runs of the arms of guarantee_pools.toml on common seeds, each
effect read from its 95 % t-interval across seeds (docs/ODD.md, 7.17.10).

Slow: run with ``pytest -m slow tests/test_fact7_guarantee_pools.py``.

The model does not reproduce fact 7 yet: both tests are strict expected failures (each turns
into a failure, to be looked at, the day it passes). Each arm runs as the experiment does (its
``run.steps`` = 36 months after a 24-month burn-in; the file says why), and the outcome is
the P2P platforms lost by the end, the burn-in included (:func:`p2p_lost`). On 8 seeds
(101-108), 2026-12-01 (``pytest -m slow --runxfail tests/test_fact7_guarantee_pools.py``),
with insured lenders pricing their cover (docs/ODD.md, 7.17.10, *Insured pricing*):

- the pool lost 1.50 more P2P platforms than no guarantor (95 % interval -2.05 to 5.05);
  per seed, of 11: none 5, 10, 11, 3, 7, 9, 8, 10; pool 11, 11, 11, 10, 9, 11, 9, 3;
- the screening guarantor did no better than the pool (unpaid claims in RMB million plus
  platforms lost: +0.98, -1.86 to 3.81; screening lost 11, 11, 7, 11, 11, 11, 10, 11).

The same statistics with pricing blind to the cover (``guarantors.pricing_terms`` returning
None, as before that day): +1.88 (0.30 to 3.45) and -0.27 (-2.78 to 2.25). With it, on
seed 108 the pool's guarantor survived and its claims paid kept the loss at 3 platforms
against 10: cover that holds absorbs losses. On 24 seeds (101-124; a look after the fact,
not the test) the same statistics gave +2.21 (0.48 to 3.94) and +0.68 (-0.47 to 1.84).

Why, measured on the same arms (``lendsim.run`` per arm; burn-in events read before the
tables are cleared):

- The cascades are all or nothing: each P2P failure costs every other P2P platform half its
  reputation and its retail investors run, so 18 of the 24 arm runs on seeds 101-108 lose 9-11
  of the 11 platforms, and the pool can add little where the market without it collapses
  anyway.
- Guarantors fail before the shock too: on seeds 109 and 111 the pool's guarantor failed in
  burn-in month 9 or 10 (it starts with 3,000 RMB of capital) and all 11 P2P platforms failed
  within three months, while the market without a guarantor lost none in its burn-in; the
  sector also collapsed in the burn-in in the pool arm on 102 and the screening arm on 102,
  114 and 122 (and without a guarantor on 103). Counting failures from the shock on, as this
  test did before, scored these cascades as fewer failures.
- Hardly any credit losses to insure in calm months: of the P2P loans that matured in months
  1-12, none defaulted on seed 101 in any arm (on 103: 0-0.05 % with guarantors, 3.9 %
  without), though the insured
  lenders now approve applicants with estimated PDs of 0.1-0.3 (61 % and 45 % of them, against
  5 % and 0 % without cover; seed 101, months 1-12). The guarantors' claims come after the
  closure, from loans of failed platforms run off at the resolver's recovery
  (``losses_platform_failure``, 4-322 thousand RMB in the pool arms of seeds 101-104); the
  income shock alone brings few defaults (without the closure, 5 of the 8 no-guarantor arms
  charged off less than 5 thousand RMB in 36 months). Screening borrowers by PD cannot select
  against a lender's failure: the screening guarantor failed on all 8 seeds (once in the
  burn-in), the pool's on 7.
- Investors here ignore the cover: an insured platform's retail money runs on bad news as
  an uninsured one's does. In a trial outside the model (each insured platform's run read
  from its reputation with the loss scaled by ``1 - cover_share`` while its guarantor is
  live, as deposit insurance calms depositors) the pool arm lost only the closed platform on
  all 8 seeds (pool minus none -6.88, -9.17 to -4.58): whether a pool fuels the run or stops
  it turns on that behaviour and on the guarantor's capital against the claims a wave of
  failures brings.
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


def p2p_lost(t):
    """P2P platforms not live in the run's last month: every failure and exit of the run,
    the burn-in's included (the platforms table keeps failed platforms; with
    ``platforms.max_n`` = ``platforms.n`` none enters). Failures counted from the shock on
    would miss the cascades a guarantor's failure sets off before it, in the burn-in."""
    p = t["platforms"]
    last = p[(p["step"] == p["step"].max()) & (p["platform_type"] == "p2p")]
    return float((~last["is_active"].astype(bool)).sum())


def unpaid_and_lost(t):
    """Unpaid guarantee claims over the recorded months, RMB million, plus :func:`p2p_lost`."""
    return float(t["model"]["losses_guarantee"].sum() / 1e6 + p2p_lost(t))


@pytest.mark.xfail(strict=True, reason="the model does not reproduce it yet: 8 seeds, "
                   "2026-12-01: +1.50 P2P platforms lost with the pool, 95 % interval -2.05 "
                   "to 5.05; all-or-nothing runs, and a pool that holds absorbs losses "
                   "(module docstring)")
def test_fact7_a_guarantee_pool_fuels_platform_failures_under_a_p2p_shock():
    mean, lo, hi = paired(arm(0), arm(1, "pool"), p2p_lost)
    assert lo > 0, (mean, lo, hi)


@pytest.mark.xfail(strict=True, reason="the model does not reproduce it yet: 8 seeds, "
                   "2026-12-01: screening minus pool +0.98, -1.86 to 3.81; the claims come "
                   "from failed platforms' run-off, which PD screening does not select "
                   "against (module docstring)")
def test_fact7_screening_does_better_than_the_pool_for_the_same_premium():
    mean, lo, hi = paired(arm(1, "pool"), arm(1, "screening"), unpaid_and_lost)
    assert hi < 0, (mean, lo, hi)
