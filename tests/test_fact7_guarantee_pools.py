"""Stylized fact 7 (docs/calibration.md, section 3): pools that guarantee or insure loans can
fuel cascading defaults, and a screening rule does better for the same premium (Katsamakas &
Sanchez-Cartas 2024). Paired runs of the arms of guarantee_pools.toml on 16 common seeds
(101-116), each effect read from its 95 % t-interval across seeds (docs/ODD.md, 7.17.10).

Slow: run with ``pytest -m slow tests/test_fact7_guarantee_pools.py``;
``PYTHONPATH=src python scripts/fact7_diagnostics.py --effects`` prints every effect below.

Each arm runs as the experiment does (its ``run.steps`` = 36 months after a 24-month
burn-in; the file says why), and the outcome is the P2P platforms lost by the end, the burn-in
included (:func:`p2p_lost`). Two news channels: the file's, strong (``contagion.reputation_hit``
0.5, retail investors twice as quick to run as by default), and the model's default
(:data:`DEFAULT_NEWS`). Whether a guarantor's failure spreads is a switch of its own
(``contagion.guarantee``; off, a backstop pays what it cannot and its platforms' investors keep
their belief in the cover), so what the failure did is measured by switching it off on the
same seeds, as every contagion channel is (docs/ODD.md 7.17.11).

Measured 2026-12-06 (``scripts/fact7_diagnostics.py --effects``), after platforms came to pay
nothing out before a year of results (docs/ODD.md 7.12), with the file's P2P platforms at RMB 2
of equity and 150 of retail money per borrower (10 and 150 before; their thin capital had come
from paying out all but a tenth of their equity in month 1). Effects, mean (95 % interval) over
seeds 101-116:

- *The guarantor's failure fuels platform failures*, switched on against off: the file's news
  +0.75 platforms lost (+0.01 to +1.49), the default news +1.44 (+0.74 to +2.14); the
  screening guarantor's failure with the default news +2.06 (+1.30 to +2.83).
- *Pool against no guarantor*: the default news +1.38 (+0.62 to +2.13); the file's news +1.12
  (-0.32 to +2.57), a weak test, as below.
- *Screening against the pool, same premium*: with the file's news as many platforms lost
  (+0.00) and less unpaid, claims plus platforms lost -0.25 (-0.46 to -0.03); with the default
  news +0.63 (-0.71 to +1.96), not better (a strict expected failure below).
- *Curation against the pool*: the default news -1.38 (-2.10 to -0.65), and the same as no
  guarantor (+0.00, -0.19 to +0.19); the file's news -0.81 (-1.67 to +0.04), not clearly
  better (a strict expected failure below).

What follows is the record of 2026-12-05, on the file's earlier capital, after
walk-aways from a failed lender became lasting (docs/ODD.md 7.17.3) and lenders learned from
fair training windows weighted by amount (docs/ODD.md 7.10):

- *The guarantor's failure fuels platform failures* in both markets. The borrowers of the
  platform closed in month 13 stop paying it for good, its run-off falls on the guarantor,
  and the guarantor (pool or screening) fails in month 15 or 16 on every seed, in both
  markets (the pool's claims paid from the shock on: 31-127 thousand RMB with the file's
  news). With the failure spreading, against switched off: the file's news, +1.50 platforms
  lost (95 % interval +0.47 to +2.53); the default news, +1.31 (+0.85 to +1.78). With the
  default news and no guarantor only the closed platform goes, on every seed, exactly as
  with the pool whose failure does not spread: there, all the pool adds is through its
  failure, and the pool loses more platforms than no guarantor, +1.31 (+0.85 to +1.78; 1-4
  platforms lost by seed), the platforms insured by the failed guarantor exiting after three
  months without funding (their investors ran, and the run's cost left them over their
  leverage limit).
- *Pool against no guarantor in the file's market is a weak test*: its news alone takes 10
  or 11 of the 11 P2P platforms on 12 of 16 seeds (1, 2, 4 and 6 on seeds 103, 115, 107 and
  112), so no arm can lose many more; the pool, where every one went on every seed, +2.00
  (+0.09 to +3.91).
- *For the same premium rate the screening guarantor leaves less unpaid in the file's
  market*: its platforms lend only below its PD cut-off, so it covers a smaller book (P2P
  originations of 2.6-6.4 million RMB in months 1-12, the pool's 4.0-9.5); it fails too and
  every platform goes, but unpaid claims plus platforms lost are 0.48 below the pool's
  (-0.73 to -0.24, RMB million plus platforms).
- *With the default news the screening guarantor does worse than the pool*: +1.81 platforms
  lost (+1.08 to +2.55), unpaid claims plus platforms lost +1.78 (+0.98 to +2.58; a strict
  expected failure below). Its failure takes 3.12 platforms (+2.48 to +3.77) against the
  pool's 1.31: a screen at the same premium rate lets its platforms lend only to the safer
  applicants, so they are smaller and hold less equity when it fails, and more of them end
  over their leverage limit after the run and exit (earlier the same day, before fair
  training windows: the 11 together 340-622 thousand RMB of equity in month 12, against
  400-941 thousand in the pool's; 34 exits over the 16 seeds, against 15). The claims that
  fail both guarantors are a closed platform's run-off, which a PD screen does not select
  against, so the screen saves claims but not the platforms.
- *Curation does better than the pool with the default news, not with the file's.* The paper
  sets curation rules (which borrowers may borrow) against insurance, not a screening insurer
  against a pool: the same 10 % cut-off held by a guarantor that covers and charges nothing
  (:data:`CURATION`) lost fewer P2P platforms than the pool with the default news, -1.25
  (-1.71 to -0.79), and as many as no guarantor, +0.06 (-0.07 to +0.20). Nothing insures its
  platforms, so no guarantor fails and there is no failure to spread. With the file's news the
  news alone takes the curated platforms: 10-11 of 11 on 15 of 16 seeds (2 on seed 115), 10 on
  seeds 103, 107 and 112, where no guarantor lost 1, 4 and 6; curation minus pool -0.81 (-2.00
  to +0.37), minus no guarantor +1.19 (-0.27 to +2.65), a strict expected failure. Earlier the
  same day, before fair training windows, the curated platforms did better there (-2.81, -4.66
  to -0.96; 1-11 lost, 4 or fewer on 4 seeds). The curated platforms did not become more
  fragile: under the file's news whether one closure takes the sector turns on the path,
  seed by seed. Before fair training windows curation lost 1-8 on seeds 101, 106, 108, 110,
  114, 115 and 116, where no guarantor lost 9-11, and 10-11 on seeds 103, 107 and 112, as no
  guarantor did; now no guarantor loses 1-6 on seeds 103, 107, 112 and 115 and curation
  10-11 on every seed but 115. Such a comparison needs many more seeds than 16, or a market
  where the news does not decide it (the default news).

Measured on 8 seeds (101-108) earlier the same day, with the file's news: the pool against
no guarantor +1.25 (-1.38 to +3.88), then the test of fact 7's first half and a strict
expected failure; screening against the pool -0.61 (-1.10 to -0.11).

The rest of this docstring was measured before walk-aways lasted (each billed loan of a failed
lender then went unpaid with a fresh draw every month, so a closed platform's run-off lost
little), with both tests strict expected failures. On seeds 101-108, with the file's news,
2026-12-03, commit 2218473:

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
from lendsim.simulation.params import ContagionParams

# one worker runs the whole file under pytest-xdist: its tests share the runs in _TABLES
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("fact7_guarantee_pools")]
FILE = Path(__file__).parents[1] / "src" / "lendsim" / "examples" / "guarantee_pools.toml"
SEEDS = [101 + r for r in range(16)]
#: the model's default news channel, in place of the file's stronger one
DEFAULT_NEWS = {f"contagion.{k}": getattr(ContagionParams(), k)
                for k in ("reputation_hit", "reputation_recovery", "retail_run_sensitivity",
                          "run_penalty")}
#: a guarantor's failure that spreads nothing: a backstop pays its claims, and its platforms'
#: investors keep their belief in the cover (docs/ODD.md 7.17.10)
NO_SPREAD = {"contagion.guarantee": False}


def arm(n: int, policy: str = "pool", **sets):
    """One arm, run as the experiment runs it (its ``run.steps``), with ``sets`` changed."""
    exp = load_experiment(FILE)
    return exp.base.with_overrides({"output.charts": False, "guarantee.n": n,
                                    "guarantee.policy": policy,
                                    "simulation.steps": exp.steps, **sets})


_TABLES: dict = {}


def tables(n: int, policy: str, seed: int, sets: dict):
    """The tables of one arm and seed (each run once per session)."""
    key = (n, policy, seed, tuple(sorted(sets.items())))
    if key not in _TABLES:
        _TABLES[key] = lendsim.run(arm(n, policy, **sets), seed=seed).tables()
    return _TABLES[key]


def paired(a: tuple, b: tuple, outcome, seeds=SEEDS):
    """Per-seed ``outcome(b) - outcome(a)``, each arm given as ``(n, policy, sets)``: mean and
    95 % interval."""
    return mean_ci([outcome(tables(*b[:2], s, b[2])) - outcome(tables(*a[:2], s, a[2]))
                    for s in seeds])


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


#: the arms, as ``(guarantee.n, guarantee.policy, settings)``
NONE, POOL, SCREENING = (0, "pool", {}), (1, "pool", {}), (1, "screening", {})
POOL_NO_SPREAD = (1, "pool", NO_SPREAD)
#: curation, the paper's alternative to insurance: the screening policy's PD cut-off held by a
#: guarantor that covers and charges nothing, so the platforms lend only below it, uninsured
CURATION = (1, "screening", {"guarantee.cover_share": 0.0, "guarantee.premium_rate": 0.0})


def news(arm_: tuple, sets: dict) -> tuple:
    """``arm_`` with ``sets`` added to its settings."""
    return arm_[:2] + ({**arm_[2], **sets},)


@pytest.mark.parametrize("channel", [{}, DEFAULT_NEWS], ids=["file_news", "default_news"])
def test_fact7_a_guarantors_failure_fuels_platform_failures(channel):
    """The pool loses more P2P platforms with its guarantor's failure spreading than with it
    switched off, on common seeds: the file's news +0.75 (+0.01 to +1.49), the default news
    +1.44 (+0.74 to +2.14), 16 seeds, 2026-12-06 (module docstring)."""
    mean, lo, hi = paired(news(POOL_NO_SPREAD, channel), news(POOL, channel), p2p_lost)
    assert lo > 0, (mean, lo, hi)


def test_fact7_a_pool_loses_more_platforms_than_no_guarantor():
    """With the model's default news channel (where news alone does not take the sector, as
    the file's does), the pool loses more P2P platforms than no guarantor: +1.38 (+0.62 to
    +2.13), 16 seeds, 2026-12-06 (module docstring)."""
    mean, lo, hi = paired(news(NONE, DEFAULT_NEWS), news(POOL, DEFAULT_NEWS), p2p_lost)
    assert lo > 0, (mean, lo, hi)


def test_fact7_screening_does_better_than_the_pool_for_the_same_premium():
    """In the file's market, for the same premium rate, the screening guarantor leaves less
    unpaid than the pool, platforms lost counted too: -0.25 (RMB million plus platforms; 95 %
    interval -0.46 to -0.03, 16 seeds, 2026-12-06). Both guarantors fail on every seed and
    every P2P platform goes in both arms, so the difference is in the claims: the screening
    guarantor's platforms lend only below its PD cut-off and it covers a smaller book. The
    claims are the closed platform's run-off, which a PD screen does not select against
    (module docstring; docs/calibration.md, fact 7)."""
    mean, lo, hi = paired(POOL, SCREENING, unpaid_and_lost)
    assert hi < 0, (mean, lo, hi)


#: with the file's news, curation loses as many P2P platforms as the pool (module docstring)
CURATION_FILE_NEWS = pytest.mark.xfail(strict=True, reason=(
    "with the file's news the curated platforms go as the pool's do: curation minus pool -0.81 "
    "(-1.67 to +0.04) P2P platforms lost, 16 seeds, 2026-12-06 (module docstring)"))


@pytest.mark.parametrize("channel", [pytest.param({}, marks=CURATION_FILE_NEWS), DEFAULT_NEWS],
                         ids=["file_news", "default_news"])
def test_fact7_curation_does_better_than_the_pool(channel):
    """A screening rule without insurance (:data:`CURATION`, Katsamakas & Sanchez-Cartas's
    curation) loses fewer P2P platforms than the pool, in both news channels. With the
    default news it does: -1.38 (95 % interval -2.10 to -0.65), 16 seeds, 2026-12-06. No
    guarantor fails, so no failure spreads; it lends only below the cut-off, uninsured. With
    the file's news it does not (a strict expected failure): the news alone takes nearly the
    whole sector, curated or not, and the pool loses all of it (module docstring)."""
    mean, lo, hi = paired(news(POOL, channel), news(CURATION, channel), p2p_lost)
    assert hi < 0, (mean, lo, hi)


@pytest.mark.xfail(strict=True, reason="with the default news channel the screening "
                   "guarantor does no better than the pool: +0.63 (-0.71 to +1.96) unpaid claims "
                   "(RMB million) plus P2P platforms lost, 16 seeds, 2026-12-06: its platforms, "
                   "smaller and thinner for the screen, exit after it fails (module docstring)")
def test_fact7_screening_does_better_with_the_default_news_channel():
    mean, lo, hi = paired(news(POOL, DEFAULT_NEWS), news(SCREENING, DEFAULT_NEWS),
                          unpaid_and_lost)
    assert hi < 0, (mean, lo, hi)
