"""The default scenario looks like the market of docs/calibration.md (issue: core model).

A top embedded platform with low delinquency; riskier lenders with higher APR and delinquency;
many borrowers with more than one lender; platforms funding a small share of their own loans.
Means over the last two years of the default run (months 97-120), on three seeds.

Slow: run with ``pytest -m slow tests/test_default_market.py`` (CI runs it).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import lendsim
from lendsim.results.analysis import income_statement
from lendsim.results.calibration import (PRICE_TIERS, calibration_figures, calibration_table,
                                         lender_figures)

# one worker runs the whole file under pytest-xdist: its tests share the module's runs
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("default_market")]
SEEDS = [1, 2, 3]


@pytest.fixture(scope="module")
def runs():
    out = []
    for s in SEEDS:
        r = lendsim.run(seed=s, overrides={"output.borrower_snapshot_every": 12})
        m, p = r.model, r.platforms
        last_m, last_p = m[m["step"] > 96], p[(p["step"] > 96) & p["is_active"]]
        by_type = last_p.groupby("platform_type")[["delinquency_30", "avg_apr"]].mean()
        out.append((last_m, by_type, calibration_figures(m, p, r.extra["borrowers"], window=24),
                    lender_figures(m, p, window=60), m, p))
    return out


def test_top_embedded_platform_has_the_lowest_delinquency_and_price(runs):
    for _, by_type, *_ in runs:
        d30, apr = by_type["delinquency_30"], by_type["avg_apr"]
        # its level (docs/calibration.md, 1: 1.08-1.56 %) is reported by lendsim calibrate,
        # below the band for now (README, "How close to the data")
        assert d30["embedded"] < d30["consumer_finance"], d30
        # mainstream APR 5.5-24 % (docs/calibration.md, 2.2). The top platform's lower costs
        # and expected loss outweigh its larger markup (its share), or about cancel: it is
        # never dearer than the consumer-finance companies by more than half a point.
        assert 0.055 < apr["embedded"] < 0.24 and 0.055 < apr["consumer_finance"] < 0.24, apr
        assert apr["embedded"] < apr["consumer_finance"] + 0.005, apr
        # the micro-lenders, where they lend, are the riskiest and dearest
        if "micro_lender" in d30:
            assert d30["micro_lender"] > d30["consumer_finance"], d30
            assert apr["micro_lender"] > max(apr["embedded"], apr["consumer_finance"]), apr


def test_the_market_settles(runs):
    """Issue "Economics I", 1: over months 61-120 of the default run (which burns in 120
    months first) the share of borrowers with several lenders, lenders per borrower and debt
    over income move by less than a tenth of their level (first year against last year)."""
    for *_, m, _ in runs:
        early, late = m[m["step"].between(61, 72)], m[m["step"] > 108]
        for col in ("multi_lender_share", "lenders_per_borrower", "debt_income"):
            a, b = early[col].mean(), late[col].mean()
            assert abs(b / a - 1) < 0.1, (col, a, b)


def test_priced_loss_matches_realised_loss(runs):
    """Issue "Economics I", 2: each lender back-tests its priced loss. Over months 61-120,
    pooled over seeds, each lender type's annual priced loss is within 25 % of its realised
    net charge-off rate, counting lenders that have lent for two years at least
    (``SEASONED_MONTHS``): a micro-lender that entered lately has no charge-offs of its first
    loans in its trailing year yet (on seed 1 no micro-lender is that old in months 61-120)."""
    for kind in ("embedded", "consumer_finance", "micro_lender"):
        priced = np.nansum([f[f"el_priced_{kind}"] for *_, f, _, _ in runs])
        real = np.nansum([f[f"loss_realised_{kind}"] for *_, f, _, _ in runs])
        assert abs(priced / real - 1) < 0.25, (kind, priced, real)


def test_prices_fall_in_each_lenders_documented_range_and_capital_is_thin(runs):
    """Issue "Economics I", 3 and 4: the embedded platform prices within its products'
    0.02-0.05 % a day and consumer-finance companies within 10-24 % (docs/calibration.md,
    2.2); the embedded platform's equity is a few per cent of the book it manages (about 2 %:
    some RMB 35 bn behind 1.7 tn, docs/calibration.md, 2.1)."""
    for *_, f, _, _ in runs:
        for kind in ("embedded", "consumer_finance"):
            lo, hi = PRICE_TIERS[kind]
            assert lo <= f[f"apr_{kind}"] <= hi, (kind, f[f"apr_{kind}"])
        assert 0.01 < f["equity_book_embedded"] < 0.05, f["equity_book_embedded"]


def test_stacking_is_common_and_platforms_fund_a_small_share(runs):
    for last_m, *_ in runs:
        assert last_m["multi_lender_share"].mean() > 0.3  # docs/calibration.md, 1: 44 %
        assert last_m["platform_own_share"].mean() < 0.1  # docs/calibration.md, 1: ~2 %


def test_figures_the_readme_reports_in_band_stay_in_band(runs):
    """README "How close to the data" (``lendsim calibrate`` on seeds 1-3): these four figures
    are in their docs/calibration.md bands; the others are reported as not yet matched. The
    share of multi-lenders at five or more apps is near its band's lower edge (6.2 % against
    5.8 %, 2026-12-06): a change that moves it out shows here."""
    table = calibration_table([f for _, _, f, *_ in runs]).set_index("figure")
    for key in ("top_avg_apr", "avg_apr", "top_own_share", "multi_lenders_5plus"):
        assert table.loc[key, "verdict"] == "in band", table.loc[key]


def test_borrowing_to_repay_keeps_the_top_platforms_delinquency_low(runs):
    """README and docs/calibration.md 1.1: the top platform's 30+ delinquency is below its
    band (1.08-1.56 %) because borrowers short of cash borrow from the cash lenders to pay it
    (the debt spiral, docs/ODD.md 7.9). With no borrowing to repay
    (``borrowers.outside_apr_repay = 0``) it is more than twice as high on every seed of 1-3
    (measured 2026-12-06: 0.95 % against 0.38 %, means of seeds 1-3)."""
    off = [calibration_figures(r.model, r.platforms, None, window=24)
           for r in (lendsim.run(seed=s, overrides={"borrowers.outside_apr_repay": 0.0})
                     for s in SEEDS)]
    for f, (_, _, b, *_) in zip(off, runs):
        assert f["top_delinquency_30"] > 2 * b["top_delinquency_30"], (f, b)


def test_slow_chargeoff_variant_lifts_the_90_to_30_ratio(runs):
    """README and docs/ODD.md: the baseline_slow_chargeoff example (charge-off after 12
    missed instalments, not 6) keeps defaulted loans on the book longer, so the top
    platform's 90+ rises against its 30+ (the source's ratio is 0.63-0.71,
    docs/calibration.md, 1), and 90+ rises (seeds 1-3). (30+ need not: the example also
    has more borrowers pay the platform first, which lowers it; measured 2026-12-02 it fell,
    0.87 % against 0.96 %; with lenders' early warning it rose, 1.14 % against 1.02 %.)"""
    path = "baseline_slow_chargeoff"  # shipped with lendsim
    slow = [calibration_figures(r.model, r.platforms, None, window=24)
            for r in (lendsim.run(path, seed=s) for s in SEEDS)]
    base = [f for _, _, f, *_ in runs]
    for f, b in zip(slow, base):  # each seed: 90+ higher against 30+
        assert (f["top_delinquency_90"] / f["top_delinquency_30"]
                > b["top_delinquency_90"] / b["top_delinquency_30"] + 0.05), (f, b)
    # on average 90+ rises
    assert (sum(f["top_delinquency_90"] for f in slow)
            > sum(b["top_delinquency_90"] for b in base))


def micro_lender_years(p) -> tuple:
    """The micro-lenders' share of the managed book, and how many of them are live on
    average, in each year of months 61-120 of a platforms table."""
    live = p[p["is_active"].astype(bool) & p["step"].between(61, 120)]
    year = (live["step"] - 61) // 12
    book = live.groupby(year)["loans_managed"].sum()
    micro = live["platform_type"] == "micro_lender"
    share = live["loans_managed"].where(micro, 0.0).groupby(year).sum() / book
    return share, micro.groupby(year).sum() / 12


#: seeds beyond the fixture's 1-3 for the micro-lenders' niche: whether a thin segment keeps
#: its lenders turns on each path's failures and entries, so it is a share of paths
MORE_SEEDS = list(range(4, 13))


def test_micro_lenders_keep_a_stable_share(runs):
    """Issue "Economics II", 4 (niches): with brand from the marketing each lender decides
    (docs/ODD.md 7.5, 7.12) the micro-lenders hold their niche in the settled market. Over
    seeds 1-12: on at least three in four, more than 1 % of the managed book in each year of
    months 61-120 with three or more of them live on average; and the segment's mean share
    over those years, averaged over the seeds, above 1 % with its 95 % interval.

    Measured 2026-12-06 (the model of 6f9b809): 10 of 12 seeds; on seeds 6 and 10 failures
    without entries thin the segment to two lenders in some years, with 0.4 % and 1.0 % of
    the book at its lowest; mean share 1.91 % (1.49-2.33 %, 95 % interval; seeds 1-3 alone:
    1.3-2.3 % by seed and year, 3-5 live). Lenders that stop taking applications when out of
    capacity (the branch wip/capacity-rule) hold it on 7 of 12 (mean 1.68 %), and this test
    fails there.
    With brand as log market share (brand_share.toml) the segment concentrates: 1-3 of them
    live, one or two in most years (seeds 1-3)."""
    tables = [p for *_, p in runs] + [lendsim.run(seed=s).platforms for s in MORE_SEEDS]
    held, means = [], []
    for p in tables:
        share, n_live = micro_lender_years(p)
        held.append(bool((share > 0.01).all() and (n_live >= 3).all()))
        means.append(float(share.mean()))
    m = np.mean(means)
    lo = m - stats.t.ppf(0.975, len(means) - 1) * np.std(means, ddof=1) / np.sqrt(len(means))
    assert sum(held) >= 0.75 * len(held), (held, means)
    assert lo > 0.01, (m, lo, means)
    # and the niche pays: the segment earns about its cost of capital (its target_roe, 15 %)
    # on every seed, neither far below it (it would thin) nor far above (entry would follow)
    roe = [income_statement(p, 61, 120).loc["micro_lender", "roe"] for p in tables]
    assert all(0.10 < r < 0.25 for r in roe), roe
