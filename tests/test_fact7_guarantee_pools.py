"""Stylized fact 7 (docs/calibration.md, section 3): pools that guarantee or insure loans can
fuel cascading defaults, and a screening rule does better for the same premium (Katsamakas &
Sanchez-Cartas 2024). Paired runs of the arms of guarantee_pools.toml on common seeds, each
effect read from its 95 % t-interval across seeds (docs/ODD.md, 7.17.10).

Slow: run with ``pytest -m slow tests/test_fact7_guarantee_pools.py``.

Each arm runs as the experiment does (its ``run.steps`` = 36 months after a 24-month
burn-in; the file says why), and the outcome is the P2P platforms lost by the end, the burn-in
included (:func:`p2p_lost`). On 8 seeds (101-108), 2026-12-05, after walk-aways from a failed
lender became lasting (docs/ODD.md 7.17.3; ``pytest -m slow --runxfail
tests/test_fact7_guarantee_pools.py``, and ``scripts/fact7_diagnostics.py --seeds 101-108``):

- the pool lost 1.25 more P2P platforms than no guarantor (95 % interval -1.38 to +3.88): the
  borrowers of the platform closed in month 13 stop paying it for good, its run-off falls on
  the guarantor, which failed in month 15 or 16 on every seed (claims paid 80-128 thousand
  RMB, 1.1-2.8 million left unpaid), and all 11 went on every seed; without a guarantor 10-11
  went on seven seeds (2 on seed 105), since this file's news channel is strong enough for
  one closure to take nearly the whole sector. Fact 7's first half goes the right way but
  is not significant: a strict expected failure;
- the screening guarantor failed as well (months 15-16) and every platform went, but it
  covered a smaller book (its platforms lend only below its cut-off) and left less unpaid:
  unpaid claims plus platforms lost 0.61 below the pool's (-1.10 to -0.11). The second half
  holds, on the claims alone (docs/calibration.md, fact 7).

The rest of this docstring was measured before walk-aways lasted (each billed loan of a failed
lender then went unpaid with a fresh draw every month, so a closed platform's run-off lost
little), with both tests strict expected failures. On the same 8 seeds, 2026-12-03, commit
2218473:

- the pool lost 8.38 fewer P2P platforms than no guarantor (95 % interval -11.13 to -5.62);
  per seed, of 11: none 11, 11, 7, 11, 2, 11, 11, 11; pool 1 on every seed, the one closed
  in month 13. No guarantor failed on any seed, in any arm, the burn-in included;
- the screening guarantor did exactly as well as the pool (unpaid claims in RMB million plus
  platforms lost: 0.00 on every seed): both lost only the closed platform, and neither left
  a claim unpaid.

(Recorded on 2026-12-02 at commit d1322aa, before brand came from marketing: -3.12, -7.40
to 1.15, and -1.25, -4.21 to 1.71, the pool's guarantor failing on seed 102 in the burn-in;
the conclusion has not moved.)

Why, measured on the same arms and seeds with ``PYTHONPATH=src python
scripts/fact7_diagnostics.py --seeds 101-108 --bands 103,108`` (2026-12-03, commit 2218473;
the script says what each number is), by the candidate mechanisms of issue 19, item 5:

- (a) Moral hazard and adverse selection under a flat premium are there, but the extra risk
  is small in fact. With insured pricing alone (``guarantee.moral_hazard`` = 0, the file) the
  pool's P2P originations in months 1-12 differed from the no-guarantor arm's by -45 % to
  +53 %, their subprime share by -3.0 to +7.0 points. With ``moral_hazard`` = 1 (an insured
  lender that screens on the 20 % of the loss it keeps approves everyone the cap lets it
  price) originations differed from the pool's by -1 % to +79 %, the subprime share by
  +0.2 to +9.5 points, yet claims from the shock on were 18-95 thousand RMB against
  premiums of 162-316 thousand,
  no guarantor failed and 1 platform was lost on all 8 seeds. Riskier by score is not much
  riskier in fact: of the pool arm's P2P loans made in months 1-12 (all open at the shock;
  failed platforms' loans left out), the share that defaulted from month 13 on was, by
  estimated lifetime PD at origination, seed 103 / 108: PD up to 2 %: 0.19 / 0.18 %; 2-5 %:
  0.30 / 0.19 %; 5-10 %: 0.59 / 0.75 %; 10-20 %: 0.92 / 0.81 %; above 20 % (loans only the
  cover makes worth making): 2 of 202 / 3 of 216. Realised credit risk rises with the PD a
  screen selects on, but it is an order of magnitude below the estimates (the scorecards
  start from a mature market's, ``features.PRIOR_COEF``, and learn from few defaults), so
  neither the riskier book nor the screen moves the claims much.
- (b) Leverage: ``target_leverage`` / ``max_leverage`` = 40 / 60 is capital of 1.7-2.5 % of
  the covered balance, as thin as P2P risk reserve funds (one P2P platform's fund
  was 2-5 % of the credit extended: SEC filing, CIK 1628468, note 11, June 2017); China's
  2017 Regulations on Financing Guarantee Companies cap a licensed guarantor's outstanding
  guarantees at 10 times its net assets. The pool's guarantor starts from 3,000 RMB and
  builds from premiums: equity of 63-99 thousand RMB in month 12, against P2P originations
  of 4.1-9.6 million RMB in months 1-12. At the legal 10 (a look: ``--arms pool,screening --set
  guarantee.max_leverage=10 --set guarantee.target_leverage=10``) a guarantor covers only
  10 times its equity (6-15 thousand RMB in month 12): the pool's never failed (its lowest
  equity 2-14 thousand), the screening one failed on 1 of 8 seeds (seed 104, month 30) and
  took the other 10 platforms with it, since investors see whether it stands, not how
  little it covers.
- (c) Correlated exposure is built and works: one guarantor insures every P2P platform, and
  where it fails all go (the looks in (b) and below). What is missing is the wave. From
  the shock on, the pool's guarantor paid claims of 15-120 thousand RMB against premiums of
  139-304 thousand, and its equity never fell below 56 thousand. To fail it, the covered
  book must lose about 2-3 % within a year (its equity of 1-2.5 % of the book plus half a
  year's premiums, over ``cover_share`` x (1 - ``recovery_rate``) = 0.72); of the insured
  book, 0.2-1.4 % (by PD band, above) defaulted in the 24 months from the shock. Most claims
  are the closed platform's run-off (borrowers walking away from a failed lender, whatever
  their PD: ``losses_platform_failure``), and for the same premium rate a screening
  guarantor earns on a smaller book (originations 3-65 % below the no-guarantor arm's;
  premiums 86-208 thousand RMB against claims of 10-127 thousand), so it comes nearer to
  failing than the pool (lowest equity 34-72 thousand, against 56-80).
- A deeper shock (a look: ``--arms none,pool,screening --set macro.shock_unemployment=0.1
  --set macro.shock_income_loss=0.3 --set macro.shock_months=12``) brings more claims (pool
  15-145 thousand RMB, lowest equity 44-83 thousand), but only the screening guarantor
  failed (seed 104, month 22, taking all 11): pool minus none -8.63 platforms lost on
  average, screening minus pool +1.25.
- Borrowers without starting cash (a look: ``--arms none,pool,screening --set
  borrowers.initial_cash_months=0``) make a larger book (P2P originations of 13.6-15.0
  million RMB in months 1-12 in the pool arm, seed 102 aside) with more losses, but the
  premiums
  grow with it: claims from the shock on were 78-147 thousand RMB against premiums of
  351-448 thousand. The pool's guarantor failed on seed 102, in the burn-in (month -19),
  from its starting capital, and all 11 went; on the other seeds every insured arm lost
  only the closed platform, against 6-11 without a guarantor.
- Curation without insurance, the paper's alternative to insurance (a look: ``--arms
  screening --set guarantee.cover_share=0 --set guarantee.premium_rate=0``, the screening
  policy's 10 % cut-off held by a guarantor that covers and charges nothing): 3-11 P2P
  platforms lost (mean 8.5), against 2-11 (9.4) with neither and 1 with the pool; curation
  minus none -0.88 (-5.53 to 3.78). Here it is the cover that stops the runs, not the screen.
- (d) Katsamakas & Sanchez-Cartas (2024, Eurasian Economic Review 14, 597-618): only the
  abstract could be read here (docta.ucm.es, RePEc): borrower default disrupts the P2P
  network, and it "provide[s] a rationale for using curation rules ... in contrast to P2P
  insurance, which fosters cascading defaults". How their insurance is funded and why it
  cascades was not checked against the paper's body.
- Where the real wave came from: in China, P2P reserve funds paid investors on overdue
  loans (Yirendai: an instalment 15 days overdue, the whole remaining principal at 90
  days), and "a small number of borrower default cases could quickly deplete the reserve
  funds" in downturns or when new investors dried up (HKUST IEMS brief No. 61). That needs
  a book with credit risk, and this market has little: borrowers start debt-free with
  cash, and a lender lends only what the debt it sees allows. In a seasoned market (a look:
  ``--arms none,pool,screening --set simulation.burn_in=120 --set
  platforms.micro_lender.weight=5.0 --set platforms.consumer_finance.weight=4.0 --set
  platforms.n=20 --set platforms.max_n=20``, the baseline's mix of lenders and its
  10-year burn-in; 8 seeds) the P2P platforms serve the riskiest: P2P originations of
  1.5-8.5 million RMB in months 1-12, 75-87 % of it subprime. There the pool's claims
  exceeded its premiums on 3 of 8 seeds (seed 101: 69 against 52 thousand RMB, lowest
  equity 11 thousand) and its guarantor failed on one (seed 104, in the burn-in, 6
  platforms lost), while the screening guarantor failed on 5 of 8 (in months -33 to 16,
  6-9 platforms lost each time). P2P platforms lost: pool minus none -0.75 (-3.50 to
  2.00), screening minus pool +3.00 (+0.21 to +5.79): in the seasoned market the risk is
  there to fail guarantors, but the pool does not lose more platforms than no guarantor, and the
  screening guarantor, earning its premium on a smaller book, does worse than the pool.

So, before walk-aways lasted, fact 7 needed a wave of claims larger than a thin guarantor's
capital and premiums; the young P2P market's credit losses were an order of magnitude too
small, so a live guarantor calmed investors (Diamond & Dybvig) and the pool lost fewer
platforms than no guarantor. Lasting walk-aways make the closed platform's run-off that wave
(the first part of this docstring); credit risk that a PD screen selects against is still
small here.
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


@pytest.mark.xfail(strict=True, reason="not significant: 8 seeds, 2026-12-05: +1.25 P2P "
                   "platforms lost with the pool, 95 % interval -1.38 to +3.88; the pool's "
                   "guarantor fails on every seed and all 11 go, but without a guarantor the "
                   "file's news channel takes 10-11 on seven seeds (module docstring)")
def test_fact7_a_guarantee_pool_fuels_platform_failures_under_a_p2p_shock():
    mean, lo, hi = paired(arm(0), arm(1, "pool"), p2p_lost)
    assert lo > 0, (mean, lo, hi)


def test_fact7_screening_does_better_than_the_pool_for_the_same_premium():
    """For the same premium rate, the screening guarantor leaves less unpaid than the pool,
    platforms lost counted too: -0.61 (RMB million plus platforms; 95 % interval -1.10 to
    -0.11, 8 seeds, 2026-12-05). Both guarantors fail on every seed and every P2P platform
    goes in both arms, so the difference is in the claims: the screening guarantor's
    platforms lend only below its PD cut-off and it covers a smaller book. The claims are
    the closed platform's run-off, which a PD screen does not select against (module
    docstring; docs/calibration.md, fact 7)."""
    mean, lo, hi = paired(arm(1, "pool"), arm(1, "screening"), unpaid_and_lost)
    assert hi < 0, (mean, lo, hi)
