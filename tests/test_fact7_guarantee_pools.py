"""Stylized fact 7 (docs/calibration.md, section 3): pools that guarantee or insure loans can
fuel cascading defaults, and a screening rule does better for the same premium (Katsamakas &
Sanchez-Cartas 2024). Paired runs of the arms of guarantee_pools.toml on common seeds, each
effect read from its 95 % t-interval across seeds (docs/ODD.md, 7.17.10).

Slow: run with ``pytest -m slow tests/test_fact7_guarantee_pools.py``.

The model does not reproduce fact 7 yet: both tests are strict expected failures (each turns
into a failure, to be looked at, the day it passes). Each arm runs as the experiment does (its
``run.steps`` = 36 months after a 24-month burn-in; the file says why), and the outcome is
the P2P platforms lost by the end, the burn-in included (:func:`p2p_lost`). On 8 seeds
(101-108), 2026-12-02 (``pytest -m slow --runxfail tests/test_fact7_guarantee_pools.py``),
with insured lenders pricing their cover and insured platforms' retail investors reading bad
news net of the cover they believe in while their guarantor is live (docs/ODD.md, 7.17.10,
*Insured pricing* and *Investors*):

- the pool lost 6.75 fewer P2P platforms than no guarantor (95 % interval -10.06 to -3.44);
  per seed, of 11: none 2, 11, 1, 11, 9, 9, 9, 10; pool 1 on every seed (the closed one);
- the screening guarantor did no better than the pool (unpaid claims in RMB million plus
  platforms lost: +0.25, -0.14 to 0.64; screening lost 1, 1, 1, 2, 1, 2, 1, 1).

On 24 seeds (101-124; a look after the fact, not the test): -7.62 (-8.96 to -6.29) and
+0.17 (-0.04 to 0.37); no guarantor failed in any pool or screening arm.

Before investors saw the cover (the same day, the same seeds): +2.00 (-2.92 to 6.92), the
pool losing 11 on every seed but 108 (1), and +1.25 (-1.81 to 4.30), screening losing 11 on
all 8; where the pool's guarantor failed after the closure (seeds 103 and 105-107: months
18-20) it did so from the failed platforms' run-off, after the last of them had failed
(months 14-17): the cascade came first.

Why, measured on the same arms (a script stepping ``MarketModel`` month by month):

- Cover that holds stops the run: no guarantor failed in the pool or screening arms on these
  seeds (pool: claims paid 28-130 thousand RMB in the 36 months against premiums of 248-409
  thousand), so insured investors stayed calm through the closure, while without a guarantor
  the closure's news (half of every P2P platform's reputation, ``contagion.reputation_hit``
  = 0.5, with ``retail_run_sensitivity`` = 1) set off the all-or-nothing runs of the
  experiment's fragile sector on 6 of the 8 seeds.
- When a guarantor does fail, the pool fuels the cascade as fact 7 says: at a 1 % premium (a
  look, not the test) the pool's guarantor failed on seed 108 (month 18) and all 11 platforms
  it insured went; the screening guarantor failed on 5 seeds (months 16-23) and 9-11 went on
  each. But that is too rare for the pool to lose more than no guarantor: pool minus none
  -5.50 (-9.40 to -1.60), screening minus pool +4.76 (-1.44 to 10.97). The same held where
  the closure alone leaves most of the sector standing (reputation hit 0.3, sensitivity 1:
  no guarantor lost 3.00 on average; at a 1 % premium the pool's guarantor failed on seed 108
  and took all 11, the screening one on 3 seeds, taking 10-11): -0.75 (-4.18 to 2.68) and
  +2.50 (-1.13 to 6.14).
- The claims that break a guarantor are the closed platform's run-off (borrowers walking
  away from a failed lender, ``losses_platform_failure``), not credit risk: screening by PD
  cannot select against them, and for the same premium rate a screening guarantor earns on a
  smaller book (its platforms lend only up to ``screening_pd``; premiums 156-287 thousand
  RMB against the pool's 248-409 thousand), so it is the weaker of the two.
- There is little credit risk to insure before the shock: of the P2P loans made in the
  burn-in (months 1-24) on seed 101 (pool arm), 1 of 4,516 defaulted, none of the 656 with an
  estimated PD of 0.1-0.3. The cause is the young market, not maturity timing: borrowers
  start debt-free with cash (no-guarantor arm, seed 103: over months 6-24 debtors' median
  debt is 0.14-0.23 of a month's income, median cash 1.4-1.5 months of it), while the prior
  scorecard (``features.PRIOR_COEF``, a 4 % mean PD) is a mature market's; they fall behind
  only once debt has built up and the shock draws cash down (simulated month 42, the
  shock's sixth: debt 0.83 of a month's income, cash 0.1 months, 522 loans behind, 97 in
  default).
- A deeper shock (unemployment +10 points, income -30 %, 12 months) with the model's default
  contagion settings did not fail the pool's guarantor either (claims 35-171 thousand RMB);
  with those defaults (reputation hit 0.3, sensitivity 0.5) every arm lost only the closed
  platform on almost every seed, with or without a guarantor.
- With the 120-month burn-in of the baseline (the file before 2026-12-01) the guarantor never
  failed (seeds 101-103, 120 months): the P2P scorecards put 99 % of applicants below a 1.1 %
  PD (seed 101, months 1-12), the 0.3 cut-off never bound, and premiums were 3 to 15 times
  the claims.

Fact 7 needs a wave of claims larger than a guarantor's capital and premiums; in this model
that wave comes from platform failures, which a live guarantor prevents by calming investors.
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
                   "2026-12-02: -6.75 P2P platforms lost with the pool, 95 % interval -10.06 "
                   "to -3.44; a live guarantor calms its platforms' investors, and it fails "
                   "too rarely to fuel the cascade (module docstring)")
def test_fact7_a_guarantee_pool_fuels_platform_failures_under_a_p2p_shock():
    mean, lo, hi = paired(arm(0), arm(1, "pool"), p2p_lost)
    assert lo > 0, (mean, lo, hi)


@pytest.mark.xfail(strict=True, reason="the model does not reproduce it yet: 8 seeds, "
                   "2026-12-02: screening minus pool +0.25, -0.14 to 0.64; the claims come "
                   "from failed platforms' run-off, which PD screening does not select "
                   "against (module docstring)")
def test_fact7_screening_does_better_than_the_pool_for_the_same_premium():
    mean, lo, hi = paired(arm(1, "pool"), arm(1, "screening"), unpaid_and_lost)
    assert hi < 0, (mean, lo, hi)
