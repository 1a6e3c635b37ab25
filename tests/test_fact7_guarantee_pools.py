"""Stylized fact 7 (docs/calibration.md, section 3): pools that guarantee or insure loans can
fuel cascading defaults, and a screening rule does better for the same premium (Katsamakas &
Sanchez-Cartas 2024). Paired runs of the arms of guarantee_pools.toml on common seeds, each
effect read from its 95 % t-interval across seeds (docs/ODD.md, 7.17.10).

Slow: run with ``pytest -m slow tests/test_fact7_guarantee_pools.py``.

The model does not reproduce fact 7 yet: both tests are strict expected failures (each turns
into a failure, to be looked at, the day it passes). Each arm runs as the experiment does (its
``run.steps`` = 36 months after a 24-month burn-in; the file says why), and the outcome is
the P2P platforms lost by the end, the burn-in included (:func:`p2p_lost`). On 8 seeds
(101-108), 2026-12-02, commit d1322aa (``pytest -m slow --runxfail
tests/test_fact7_guarantee_pools.py``):

- the pool lost 3.12 fewer P2P platforms than no guarantor (95 % interval -7.40 to 1.15);
  per seed, of 11: none 4, 5, 2, 11, 8, 2, 2, 9; pool 1 on every seed (the closed one) but
  102, where its guarantor failed in the burn-in's eighth month (simulated month -16), from
  its starting capital of 3,000 RMB, and all 11 went in months -14 and -13;
- the screening guarantor did no better than the pool (unpaid claims in RMB million plus
  platforms lost: -1.25, -4.21 to 1.71); screening lost 1 on every seed, the pool's seed
  102 is the whole difference.

(Recorded earlier the same day, at commit c54abf6: -6.75, -10.06 to -3.44, and +0.25,
-0.14 to 0.64. Where the numbers moved is not known: on this machine every golden pin fails
as well, at d1322aa and at ec5dbbc, the commit that wrote them, so it may be the machine and
not the model. The conclusion has not moved.)

Why, measured on the same arms and seeds with ``PYTHONPATH=src python
scripts/fact7_diagnostics.py --seeds 101-108 --bands 103,108`` (2026-12-02; the script says
what each number is), by the candidate mechanisms of issue 19, item 5:

- (a) Moral hazard and adverse selection under a flat premium are there but weak, and the
  extra risk is not real. With insured pricing alone (``guarantee.moral_hazard`` = 0, the
  file) the pool's P2P originations in months 1-12 were -14 % to +14 % of the no-guarantor
  arm's (7 seeds, 102 left out), their subprime share -1.4 to +2.6 points; the cut-off stays
  at the type's 0.3. With ``moral_hazard`` = 1 (an insured lender that screens on the 20 %
  of the loss it keeps approves everyone the cap lets it price) originations were +2 % to
  +23 %, the subprime share -0.1 to +5.2 points, yet claims from the shock on were 36-152
  thousand RMB against premiums of 159-395 thousand, no guarantor failed and 1 platform was
  lost on all 8 seeds. Riskier by score is not riskier in fact: of the pool arm's P2P loans
  made in months 1-12 (all open at the shock; failed platforms' loans left out), the share
  that defaulted from month 13 on was, by estimated lifetime PD at origination, seed 103 /
  108: PD up to 2 %: 0.20 / 0.13 %; 2-5 %: 0.37 / 0.45 %; 5-10 %: 0.61 / 0.47 %; 10-20 %:
  1.65 / 0.59 %; above 20 % (loans only the cover makes worth making): 0 of 193 / 1 of 185.
  Realised credit risk rises with the PD a screen selects on (seed 103) or barely (108), but
  it is an order of magnitude below the estimates (the scorecards start from a mature
  market's, ``features.PRIOR_COEF``, and learn from few defaults), so neither the riskier
  book nor the screen moves the claims much.
- (b) Leverage: ``target_leverage`` / ``max_leverage`` = 40 / 60 is capital of 1.7-2.5 % of
  the covered balance, as thin as P2P risk reserve funds (one P2P platform's fund
  was 2-5 % of the credit extended: SEC filing, CIK 1628468, note 11, June 2017); China's
  2017 Regulations on Financing Guarantee Companies cap a licensed guarantor's outstanding
  guarantees at 10 times its net assets. At the shock the pool's guarantor is thinner still:
  equity of 50-99 thousand RMB in month 12 against a P2P book of 3.7-8.4 million (leverage
  40-170, and new pools go uncovered above 60), since it starts from 3,000 RMB and the
  book outgrows its premiums. At the legal 10 (a look: ``--arms pool,screening --set
  guarantee.max_leverage=10 --set guarantee.target_leverage=10``) a guarantor covers only
  10 times its equity (8-16 thousand RMB in month 12), the pool's never failed (its lowest
  equity 1-11 thousand), the screening one failed on 4 of 8 seeds (months 16-20) and took
  the other 10 platforms with it, since investors see whether it stands, not how little it
  covers: screening did worse.
- (c) Correlated exposure is built and works: one guarantor insures every P2P platform, and
  where it fails all go (seed 102 above; the deep-shock look below). What is missing is the
  wave. From the shock on, the pool's guarantor paid claims of 28-126 thousand RMB against
  premiums of 185-292 thousand, and its equity never fell below 34 thousand (42 % of its
  month-12 level at the lowest, seed 103). To fail it, the covered book must lose about 2-3
  % within a year (its equity of 1-2.5 % of the book plus half a year's premiums, over
  ``cover_share`` x (1 - ``recovery_rate``) = 0.72); of the insured book, 0.1-1.7 % (by PD
  band, above) defaulted in the 24 months from the shock. Most claims are the closed
  platform's run-off (borrowers walking away from a failed lender, whatever their PD:
  ``losses_platform_failure``), and for the same premium rate a screening guarantor earns
  on a smaller book (originations 22-61 % below the no-guarantor arm's; premiums 130-226
  thousand RMB against claims of 32-139 thousand), so it comes nearer to failing than the
  pool (lowest equity 28-75 thousand; seed 108: claims above premiums).
- A deeper shock (a look: ``--arms none,pool,screening --set macro.shock_unemployment=0.1
  --set macro.shock_income_loss=0.3 --set macro.shock_months=12``) fails guarantors more
  often and each failure takes all 11, but the screening one more often than the pool's:
  pool on seeds 102 (burn-in) and 103 (month 21), screening on 102, 104 and 108 (months
  18-20); pool minus none -2.38 platforms lost on average, screening minus pool +1.25.
- Borrowers without starting cash (a look: ``--arms none,pool,screening --set
  borrowers.initial_cash_months=0``) make a book twice as large (P2P originations of 15-17
  million RMB in months 1-12) with more losses, but the premiums grow with it: claims from
  the shock on were 128-199 thousand RMB against premiums of 399-482 thousand, no guarantor
  failed, and every insured arm lost only the closed platform (pool minus none -4.0 on
  average).
- (d) Katsamakas & Sanchez-Cartas (2024, Eurasian Economic Review 14, 597-618): only the
  abstract could be read here (docta.ucm.es, RePEc): borrower default disrupts the P2P
  network, and it "provide[s] a rationale for using curation rules ... in contrast to P2P
  insurance, which fosters cascading defaults". How their insurance is funded and why it
  cascades was not checked against the paper's body.
- Where the real wave came from: in China, P2P reserve funds paid investors on overdue
  loans (Yirendai: an instalment 15 days overdue, the whole remaining principal at 90
  days), and "a small number of borrower default cases could quickly deplete the reserve
  funds" in downturns or when new investors dried up (HKUST IEMS brief No. 61). That needs
  a book with credit risk, and this market has little: its debt is 1.6-9.3 % of a year's
  income over months 1-36 (none and pool arms; 11 % in the baseline's settled market), and
  borrowers start debt-free with cash. In a seasoned market (a look: ``--seeds 101,102
  --arms none,pool,screening --set simulation.burn_in=120 --set
  platforms.micro_lender.weight=5.0 --set platforms.consumer_finance.weight=4.0 --set
  platforms.n=20 --set platforms.max_n=20``, the baseline's mix of lenders and its
  10-year burn-in) the P2P platforms lose the competition: P2P originations of 0-1.6
  million RMB in months 1-12, 83-92 % of it subprime, and 6-10 of the 10 gone by month 36
  in every arm; the pool's guarantor failed on both seeds (month 30; month -51, in the
  burn-in), with little left to take with it.

Fact 7 needs a wave of claims larger than a thin guarantor's capital and premiums, from
credit risk on a seasoned, indebted book that a PD screen can select against; in this
model's young P2P market the claims are mostly a closed platform's run-off and the credit
losses are an order of magnitude too small, so a live guarantor calms investors (Diamond &
Dybvig) and the pool loses fewer platforms than no guarantor.
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
                   "2026-12-02: -3.12 P2P platforms lost with the pool, 95 % interval -7.40 "
                   "to 1.15; a live guarantor calms its platforms' investors, and the young "
                   "market's credit losses are too small to fail it (module docstring)")
def test_fact7_a_guarantee_pool_fuels_platform_failures_under_a_p2p_shock():
    mean, lo, hi = paired(arm(0), arm(1, "pool"), p2p_lost)
    assert lo > 0, (mean, lo, hi)


@pytest.mark.xfail(strict=True, reason="the model does not reproduce it yet: 8 seeds, "
                   "2026-12-02: screening minus pool -1.25, -4.21 to 1.71; the claims come "
                   "mostly from a closed platform's run-off, which PD screening does not "
                   "select against, and a screening guarantor earns on a smaller book "
                   "(module docstring)")
def test_fact7_screening_does_better_than_the_pool_for_the_same_premium():
    mean, lo, hi = paired(arm(1, "pool"), arm(1, "screening"), unpaid_and_lost)
    assert hi < 0, (mean, lo, hi)
