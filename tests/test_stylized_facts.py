"""Stylized facts of docs/calibration.md (section 3), each from a paired experiment at small size.

Each test runs the two arms of a paired comparison on the same seeds (common random numbers),
takes the per-replication difference of an outcome, and checks the direction of the effect
with its 95 % t-interval across replications. Fact 7 (guarantee or insurance pools) has its
own file, tests/test_fact7_guarantee_pools.py.

Slow: run with ``pytest -m slow tests/test_stylized_facts.py`` (CI runs them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lendsim
from lendsim.experiments.spec import load_experiment
from lendsim.results.analysis import mean_ci
from lendsim.simulation.phases.underwriting import BUREAU_DEFAULT_MEMORY_MONTHS

pytestmark = pytest.mark.slow
EXPERIMENTS = Path(__file__).parents[1] / "src" / "lendsim" / "examples"
REPS = 5
SEEDS = [101 + r for r in range(REPS)]


def scenario(file: str, **overrides):
    """The base scenario of an experiment file (factors at their file values), small."""
    base = load_experiment(EXPERIMENTS / file).base
    return base.with_overrides({"output.charts": False, **overrides})


def scenario_file(file: str, **overrides):
    """A shipped scenario file (not an experiment), small, without charts."""
    return lendsim.load_scenario(EXPERIMENTS / file, {"output.charts": False, **overrides})


def paired(scen_a, scen_b, outcome, steps, seeds=SEEDS):
    """Per-seed ``outcome(tables_b) - outcome(tables_a)``: mean and 95 % interval."""
    diffs = []
    for s in seeds:
        a = lendsim.run(scen_a, steps=steps, seed=s).tables()
        b = lendsim.run(scen_b, steps=steps, seed=s).tables()
        diffs.append(outcome(b) - outcome(a))
    return mean_ci(diffs)


def after(month, column, how="mean"):
    def f(t):
        m = t["model"]
        return getattr(m.loc[m["step"] >= month, column], how)()
    return f


def test_fact1_joint_lending_share_raises_capital_needs_at_a_cost_in_prices():
    """Fact 1: with capital-light platforms, raising their share of each joint loan from ~2 %
    to 30 % raises the capital they need and slows growth. From the settled market, with the
    default capital rules (7.12, *Capital*): platforms hold more equity (retaining what they
    would have paid out), charge more (the equity a loan ties up is priced, 7.7), and credit
    grows less, and they pay out less. Credit's path is noisy, hence 32 seeds: measured
    2026-12-02 (brand from marketing; payouts only from retained profit, 7.12; scorecards that
    see the amount asked, 7.6), payouts -4,340 RMB a month [-4,688, -3,992], credit -0.72
    million RMB [-1.10, -0.34], equity +299,000 RMB [250,000, 347,000], APR +0.26 points
    [0.11, 0.41] (2,000 borrowers); 2026-12-05, with lasting walk-aways from failed lenders
    (docs/ODD.md 7.17.3): payouts -4,626 [-5,470, -3,781], credit -0.57 million RMB [-0.88,
    -0.27], equity +310,000 RMB [277,000, 344,000], APR +0.42 points [0.27, 0.58] (16 seeds);
    2026-12-05, once lenders learned from fair training windows weighted by amount
    (docs/ODD.md 7.10), 32 seeds: payouts -4,194 [-4,847, -3,540], credit -0.40 million RMB
    [-0.72, -0.09], equity +253,000 RMB [226,000, 280,000], APR +0.38 points [0.28, 0.48]; on
    seeds 101-116 alone credit was -0.46 [-0.92, +0.01], too few for an effect this size
    against the noise of credit's path. Before entrants
    were barred from paying back their entry capital, those returns of capital made payouts
    jump in the months entrants arrived: -1,637 [-6,042, +2,768] with brand from marketing."""
    base = scenario("episode_joint_lending_30.toml", **{"borrowers.n": 2000})
    off, on = (base.with_overrides({"regulator.apply_schedule": v}) for v in (False, True))
    eff = paired_outcomes(off, on, {c: after(19, c) for c in (
        "platform_own_share", "platform_equity", "platform_dividends", "avg_apr",
        "credit_outstanding")}, 30, [101 + r for r in range(32)])
    assert eff["platform_own_share"][1] > 0.1, eff
    assert eff["platform_equity"][1] > 0, eff
    assert eff["avg_apr"][1] > 0, eff
    assert eff["credit_outstanding"][2] < 0, eff
    assert eff["platform_dividends"][2] < 0, eff


def log_after(month, column):
    """The log of a column's mean from ``month`` on: a paired difference of it is the log of
    the ratio of the two arms."""
    f = after(month, column)
    return lambda t: float(np.log(max(f(t), 1e-12)))


def paired_outcomes(scen_a, scen_b, outcomes, steps, seeds):
    """``paired`` for several outcomes of the same runs: name -> (mean, low, high)."""
    diffs = {k: [] for k in outcomes}
    for s in seeds:
        a = lendsim.run(scen_a, steps=steps, seed=s).tables()
        b = lendsim.run(scen_b, steps=steps, seed=s).tables()
        for k, f in outcomes.items():
            diffs[k].append(f(b) - f(a))
    return {k: mean_ci(v) for k, v in diffs.items()}


def loan_size(month, segment):
    """Average new loan of a risk segment from ``month`` on, RMB."""
    def f(t):
        m = t["model"].query(f"step >= {month}")
        return m[f"originations_{segment}"].sum() / max(m[f"new_loans_{segment}"].sum(), 1)
    return f


def _cap_effects(cap, sets=None, seeds=None):
    """The paired effects of a cap falling from 36 % to ``cap`` in month 1, over months
    7-18 on ``seeds`` (default 101-108), with the settings ``sets`` changed in both arms
    (scripts/fact2_prime.py passes them)."""
    from lendsim.simulation.policy import with_policy

    base = scenario("episode_rate_cap_lpr.toml", **{"borrowers.n": 2000,
                                                    "regulator.apply_schedule": False,
                                                    **(sets or {})})
    loose = base.with_overrides({"regulator.apr_cap": 0.36})
    tight = with_policy(loose.with_overrides({"regulator.apply_schedule": True}),
                        [{"key": "regulator.apr_cap", "value": cap, "step": 1}])
    outcomes = {"subprime": after(7, "approval_rate_subprime"),
                "prime": after(7, "approval_rate_prime"),
                "apr_subprime": after(7, "avg_apr_subprime"),
                "size_subprime": loan_size(7, "subprime"),
            "apr_prime": after(7, "avg_apr_prime"),
            "excluded_prime": after(7, "excluded_prime"),
            "excluded_subprime": after(7, "excluded_subprime"),
            "log_originations_prime": log_after(7, "originations_prime"),
            "log_new_loans_prime": log_after(7, "new_loans_prime"),
            "log_new_loans_subprime": log_after(7, "new_loans_subprime"),
            "size_prime": loan_size(7, "prime")}
    return paired_outcomes(loose, tight, outcomes, 18,
                           seeds or [101 + r for r in range(8)])


_CAP_EFFECTS: dict = {}


def cap_effects(cap):
    """The paired effects of a cap falling from 36 % (computed once per cap)."""
    if cap not in _CAP_EFFECTS:
        _CAP_EFFECTS[cap] = _cap_effects(cap)
    return _CAP_EFFECTS[cap]


@pytest.mark.parametrize("cap", [0.154, 0.12])
def test_fact2_rate_cap_shuts_out_the_riskiest_not_the_safest(cap):
    """Fact 2: a lower cap (36 % -> 4 x LPR = 15.4 %, the 2020 cap, and -> 12 %) cuts
    subprime approvals, cuts prime approvals by less than half as much, and subprime
    borrowers who stay pay less and borrow more per loan (Bolen, Elliehausen & Miller 2023: a
    36 % cap cut subprime loan counts by about 38 % and raised their average size by about
    35 %). Lenders approve on their break-even price, so a cap squeezes margins before it
    turns anyone away (7.7); a lender with a cost per loan makes no loan too small to pay it
    under the cap, and offers the smallest that does (7.7). The cap falls in month 1, after a
    market settled under 36 % (the baseline's burn-in), as a policy does; compared over
    months 7-18 on 8 paired seeds. A 24 % cap hardly binds in the settled default market, so
    it is not tested. Nor is 10 %: below what a consumer-finance company's loan costs to fund,
    service and make, it cuts prime approvals deeply too, which is what a cap under lenders'
    costs does, not fact 2. Measured with the December 2017 rule against lending to borrowers
    without income in force as in the episode file: at 15.4 %, 2026-12-03 (commit 2218473),
    subprime -6.5 points [-8.7, -4.3], prime -2.3 [-4.0, -0.7]; at 10 %, 2026-12-02 (commit
    d1322aa), subprime -26.7, prime -18.0."""
    eff = cap_effects(cap)
    mean, lo, hi = eff["subprime"]
    assert hi < 0, eff
    mean_p, lo_p, hi_p = eff["prime"]
    assert abs(mean_p) < abs(mean) / 2, eff
    assert eff["apr_subprime"][2] < 0, eff
    assert eff["size_subprime"][1] > 0, eff


def test_fact2_prime_borrowers_stay_served_under_the_2020_cap():
    """Fact 2's prime side: under the 2020 cap (15.4 %) prime borrowers stay served and pay
    no more, while subprime borrowers lose access.

    "Served" is counted by borrower, as Bolen et al. count loans and borrowers: the share of
    a segment's applicants who got no credit in a month (``excluded_<segment>``) and the
    credit the segment gets (``originations_<segment>``). The application-level approval rate
    falls a little for prime borrowers too (-2.3 points [-4.0, -0.7], 2026-12-03): it counts
    every refused application, and under the cap two kinds are refused, neither leaving a
    prime borrower without credit for long: a small top-up asked of a lender the borrower
    already owes, too small to pay the lender's cost per loan under 15.4 % (7.7; the same
    fixed costs make the loans that are made larger), and, without the December 2017 rule
    that the episode file has in force (``regulator.require_income``), cash for jobless
    borrowers from the micro-lenders, whose costs are above 15.4 %.
    """
    eff = cap_effects(0.154)
    assert eff["excluded_subprime"][1] > 0, eff  # subprime applicants go without
    # holds by about 1 % (+0.00337 against +0.01702 / 5 = 0.00340, 8 seeds, 2026-12-03,
    # commit 2218473): a change to the model may flip it; the bound below carries the fact
    assert eff["excluded_prime"][0] < eff["excluded_subprime"][0] / 5, eff
    # within a point, interval and all; at a 10 % cap, +1.2 points [+0.75, +1.70], it fails
    assert eff["excluded_prime"][2] < 0.01, eff
    assert eff["log_originations_prime"][1] > -0.03, eff  # prime credit within 3 %
    assert eff["apr_prime"][0] <= 0, eff


@pytest.mark.xfail(strict=True, reason="the number of prime loans falls about 3 % under the "
                   "15.4 % cap (small top-ups go), where Bolen, Elliehausen & Miller (2023) "
                   "found prime loans rose about 16 % under a 36 % cap: lenders in the model "
                   "do not turn to prime borrowers when subprime lending stops paying, and "
                   "the prime loans the cap makes cheaper are small ones, which it also makes "
                   "larger or ends (docs/calibration.md, section 3, fact 2)")
def test_fact2_prime_loans_rise_under_the_2020_cap():
    """Fact 2's prime side as Bolen et al. measured it: the number of prime loans rises.

    Two mechanisms ruled out by counterfactual (``scripts/fact2_prime.py``, same seeds and
    months, 2026-12-03): without lenders' cost per loan the fall goes, but prime loans rise
    only 0.7 % [-0.1, +1.5]; with an outside good and search costs (search_costs.toml) they
    fall 2.7 % [-3.6, -1.8]. A third by measurement (``--capacity``, 2026-12-05): lenders'
    capital and funding do not ration lending (0.02 % of approved applications did not fit
    a lender's capacity under 36 %, none under 15.4 %), so the capital subprime lending
    frees has no prime borrower waiting for it (docs/calibration.md, section 3, fact 2)."""
    assert cap_effects(0.154)["log_new_loans_prime"][0] > 0


def test_fact3_data_sharing_reduces_loan_stacking():
    """Fact 3: stacking is common, and sharing data through a bureau reduces it."""
    base = scenario("episode_credit_bureau.toml", **{"borrowers.n": 2000,
                                                     "regulator.apply_schedule": False})
    dark = base.with_overrides({"regulator.data_sharing": 0.0})
    shared = base.with_overrides({"regulator.data_sharing": 1.0})
    # lenders learn from bureau data through their scorecards, refitted every 6 months
    assert np.mean([after(25, "multi_lender_share")(lendsim.run(dark, steps=36, seed=s)
                                                       .tables()) for s in SEEDS[:2]]) > 0.15
    # the effect is small against the spread across seeds: 5 seeds left the interval across 0
    # (-0.034, [-0.080, 0.011]); 12 give the power to tell its direction
    seeds = [101 + r for r in range(12)]
    mean, lo, hi = paired(dark, shared, after(25, "lenders_per_borrower"), steps=48,
                          seeds=seeds)
    assert hi < 0, (mean, lo, hi)


def recent_defaulters_debt_share(scen, seed: int, steps: int = 24, window: int = 12) -> float:
    """The share of all open debt owed by borrowers who defaulted in the last 24 months
    (``BUREAU_DEFAULT_MEMORY_MONTHS``), averaged over the run's last ``window`` months."""
    model = lendsim.MarketModel(scen, seed=seed)
    model.run(steps - window)
    shares = []
    for _ in range(window):
        model.run(1)
        L, pop = model.loans, model.population
        is_open = L.is_open()
        recent = (pop.months_since_default[L.borrower_idx[is_open]]
                  < BUREAU_DEFAULT_MEMORY_MONTHS)
        shares.append(L.balance[is_open][recent].sum() / L.balance[is_open].sum())
    model.close()
    return float(np.mean(shares))


def test_deleting_defaults_from_the_bureau_lends_more_to_past_defaulters():
    """Fact 3's bureau without its negative data (data_sharing_positive.toml against
    data_sharing.toml, every borrower covered): lenders can no longer tell who defaulted
    elsewhere, so borrowers who defaulted recently owe more of the market's debt. The
    direction of Liberman, Neilson, Opazo & Zimmerman (2018, Chile's 2012 deletion of
    default records): the defaulters whose records were deleted borrowed 11.8 % more, the
    others 6.4 % less. The magnitudes do not compare: in the model the bureau's defaulters
    are refused by every lender for 24 months, so deleting them moves much more. Measured
    2026-12-04 (seeds 101-104, 2,000 borrowers, months 13-24 after the burn-in): 0.7-1.5 %
    of the debt with the bureau's defaults, 4.1-7.5 % without."""
    full = scenario_file("data_sharing.toml", **{"borrowers.n": 2000})
    positive = scenario_file("data_sharing_positive.toml", **{"borrowers.n": 2000})
    diffs = [recent_defaulters_debt_share(positive, s) - recent_defaulters_debt_share(full, s)
             for s in SEEDS]
    mean, lo, hi = mean_ci(diffs)
    assert lo > 0, (mean, lo, hi)


def test_fact4_top_platform_delinquency_doubles_under_an_income_shock():
    """Fact 4: the top platform's 30+ delinquency is low but can double within months of an
    income shock (docs/calibration.md, 2.1: 1.76 % -> 3.01 %, January to May 2020)."""
    base = scenario("episode_income_shock_2020.toml", **{"borrowers.n": 4000,
                                                         "macro.shock_start": 0})
    shock = base.with_overrides({"macro.shock_start": 13})

    def top_delinquency_ratio(t):
        p = t["platforms"]
        top = p[p["platform_type"] == "embedded"]
        d = top.groupby("step")["delinquency_30"].mean()
        return d.loc[13:17].max() / max(d.loc[7:12].mean(), 1e-9)  # shock: months 13-16

    ratios = [top_delinquency_ratio(lendsim.run(shock, steps=24, seed=s).tables())
              for s in SEEDS]
    assert np.median(ratios) >= 1.8, ratios
    top_level = [lendsim.run(base, steps=24, seed=s).platforms.query(
        "platform_type == 'embedded' and step >= 7")["delinquency_30"].mean() for s in SEEDS[:2]]
    assert np.mean(top_level) < 0.03  # low to begin with
    def top_delinquency_after(t):
        p = t["platforms"]
        return p.query("platform_type == 'embedded' and 13 <= step <= 17")[
            "delinquency_30"].mean()

    # 20 pairs: with 10 the interval's lower end sat near 0 (0.0001) and any change to the
    # random path could flip it; the mean effect (~0.2 pp) is stable
    mean, lo, hi = paired(base, shock, top_delinquency_after, 18, [101 + r for r in range(20)])
    assert lo > 0, (mean, lo, hi)


def test_fact5_runs_spread_through_news_and_failures_cluster():
    """Fact 5: with the reputation channel, one P2P failure sets off more, in a short burst."""
    base = scenario("contagion_p2p_run.toml", **{"borrowers.n": 2000})
    quiet = base.with_overrides({"contagion.reputation": False})

    def failures(t):
        return t["model"]["platform_failures"].sum()

    # 12 pairs: the spread across seeds is wide (with 5 the interval reached below 0)
    mean, lo, hi = paired(quiet, base, failures, 24, [101 + r for r in range(12)])
    assert lo > 0 and mean > 1, (mean, lo, hi)  # more failures: over one more on average
    # clustered in time: a run's failures come in bursts. Split at gaps of more than three
    # months, each burst spans at most four months (a slow trickle of failures, one every two
    # or three months, would fail this). A run may hold two bursts: on seed 107, on the model
    # before lenders scored the amount asked (2026-12-02), thin P2P platforms failed in months
    # 1-3, eight institutions in one cascade, before the scheduled closure at month 13; on
    # today's model every failure falls in months 13-16, up to 11 in a run. In at least a third of the runs a cascade has three or
    # more failures (runs are fragile: on some paths one failure sets off none or one more).
    # The cascades themselves can run longer: banks that funded the failed platforms fail
    # later (a cascade counts every institution).
    big, spans = 0, []
    seeds = [101 + r for r in range(12)]
    for s in seeds:
        t = lendsim.run(base, steps=24, seed=s).tables()
        ev, casc = t["events"], t["cascades"]
        steps = np.sort(ev.loc[ev["kind"] == "platform_failure", "step"].to_numpy())
        for burst in np.split(steps, np.flatnonzero(np.diff(steps) > 3) + 1):
            if len(burst) >= 2:
                spans.append(int(burst[-1] - burst[0] + 1))
        big += bool((casc["size"] >= 3).any())
    assert spans and max(spans) <= 4, spans
    assert big >= len(seeds) / 3, big


def test_fact6_a_failing_platforms_borrowers_stop_repaying():
    """Fact 6: after a platform fails, delinquency on its book jumps, far above what the same
    borrowers showed before and above the other platforms'."""
    base = scenario("contagion_platform_failure.toml", **{"borrowers.n": 2000})

    def failed_book_delinquency(t):
        p = t["platforms"]
        # the scheduled closure (other platforms may fail on their own before it)
        closed = t["events"].query("kind == 'platform_failure'")
        failed = closed[closed["detail"].str.contains("closed")]["agent_id"].iloc[0]
        mine = p[p["platform_id"] == failed].set_index("step")["delinquency_30"]
        return mine.loc[15:20].mean() - mine.loc[7:12].mean()

    walk = base.with_overrides({"contagion.platform_failure": True})
    stay = base.with_overrides({"contagion.platform_failure": False})
    jumps = [failed_book_delinquency(lendsim.run(walk, steps=20, seed=s).tables())
             for s in SEEDS]
    assert min(jumps) > 0.1, jumps
    mean, lo, hi = paired(stay, walk, failed_book_delinquency, steps=20)
    assert lo > 0.05, (mean, lo, hi)


def test_fact8_concentration_limits_bite_on_small_banks_first():
    """Fact 8: limits on exposure to one platform (25 % of tier-1) and on joint loans (50 %)
    cut the joint lending of small banks by more than that of large ones."""
    base = scenario("episode_bank_concentration.toml", **{"borrowers.n": 2000})
    off, on = (base.with_overrides({"regulator.apply_schedule": v}) for v in (False, True))

    def small_minus_large_cut(t_off, t_on):
        """Relative cut in joint loans of the smallest quarter of banks minus that of the
        largest quarter (banks ranked by their other loans)."""
        def joint(t, ids):
            b = t["banks"]
            return b[(b["step"] >= 19) & b["bank_id"].isin(ids)]["joint_loans"].sum()
        size = t_off["banks"].groupby("bank_id")["other_loans"].first().sort_values()
        k = len(size) // 4
        small, large = size.index[:k], size.index[-k:]
        cut = [1 - joint(t_on, ids) / joint(t_off, ids) for ids in (small, large)]
        return cut[0] - cut[1]

    gaps = []
    for s in SEEDS:
        t_off = lendsim.run(off, steps=30, seed=s).tables()
        t_on = lendsim.run(on, steps=30, seed=s).tables()
        gaps.append(small_minus_large_cut(t_off, t_on))
    assert pd.notna(gaps).all()
    assert mean_ci(gaps)[1] > 0, gaps
