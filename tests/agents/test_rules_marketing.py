"""Marketing and goodwill (lendsim.agents.rules.marketing; docs/ODD.md 7.5 and 7.12): the
rules against hand-computed values, the goodwill target against a direct numerical
optimisation of the lender's steady-state profit, and a platform's books when it spends."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import tiny
from scipy.optimize import minimize_scalar

import lendsim
from lendsim import MarketModel
from lendsim.agents.rules import marketing

#: brand from marketing (the default), spelled out so that these tests hold if it changes
MARKETING = {"platforms.brand_source": "marketing", "borrowers.brand_weight": 0.12}
#: brand as log market share, as in brand_share.toml
SHARE = {"platforms.brand_source": "share", "borrowers.brand_weight": 0.5}


def test_goodwill_target_by_hand():
    # e = (w / noise)(1 - voice) = (0.12 / 0.5)(1 - 0.25) = 0.18; 0.18 x 1,000 / (0.01 + 0.2)
    got = marketing.goodwill_target(np.array([1000.0, -50.0, 1000.0]),
                                    np.array([0.25, 0.1, 1.0]), 0.12, 0.5,
                                    np.array([0.01, 0.01, 0.01]), 0.2)
    assert got == pytest.approx([0.18 * 1000 / 0.21, 0.0, 0.0])
    # certain choice: no finite optimum, nothing spent
    assert marketing.goodwill_target(np.array([1000.0]), np.array([0.2]), 0.12, 0.0,
                                     np.array([0.01]), 0.2).tolist() == [0.0]


def test_marketing_spend_tops_up_after_fading_and_is_never_negative():
    # 500 - 0.8 x 400 = 180; 100 - 0.8 x 400 < 0 -> 0
    got = marketing.marketing_spend(np.array([500.0, 100.0]), np.array([400.0, 400.0]), 0.2)
    assert got.tolist() == pytest.approx([180.0, 0.0])


def test_voice_share_counts_live_lenders_only():
    got = marketing.voice_share(np.array([1.0, 3.0, 6.0]), np.array([True, True, False]))
    assert got.tolist() == pytest.approx([0.25, 0.75, 0.0])
    assert marketing.voice_share(np.zeros(2), np.ones(2, bool)).tolist() == [0.0, 0.0]


@pytest.mark.parametrize("rivals_goodwill", [300.0, 3000.0])
def test_goodwill_target_is_the_optimum_of_steady_state_profit(rivals_goodwill):
    """A lender among many (its choice share stays small, so the logit's ``1 - share`` is
    about 1) earns ``M`` a month per unit of choice probability; goodwill ``G`` costs
    ``(r + decay) G`` a month to hold. Maximise ``M s(G) - (r + decay) G`` directly, with
    ``s`` the logit share of a brand term ``w ln(G / (G + rivals))``; the rule's target,
    given the income and voice share at that optimum, is the same ``G``."""
    w, noise, r, decay, M = 0.12, 0.5, 0.0125, 0.2, 1e6
    other = 400.0  # the rest of the market's exp(utility / noise): the lender stays small

    def share(g):
        v = g / (g + rivals_goodwill)
        e = np.exp(w / noise * np.log(v))
        return e / (e + other)

    best = minimize_scalar(lambda g: -(M * share(g) - (r + decay) * g),
                           bounds=(1e-6, 1e6), method="bounded",
                           options={"xatol": 1e-6}).x
    s = share(best)
    target = marketing.goodwill_target(np.array([M * s]),
                                       np.array([best / (best + rivals_goodwill)]),
                                       w, noise, np.array([r]), decay)[0]
    assert s < 0.01
    assert target == pytest.approx(best, rel=0.02)  # the 1 - s the rule leaves out


def test_spending_on_marketing_is_an_expense_and_builds_goodwill():
    m = MarketModel(tiny())
    pl = m.platforms[0]
    cash, equity, pl.goodwill = pl.cash, pl.equity, 1000.0
    pl.spend_on_marketing(250.0, 0.2)
    assert (pl.cash, pl.equity) == pytest.approx((cash - 250.0, equity - 250.0))
    assert pl.goodwill == pytest.approx(0.8 * 1000.0 + 250.0)
    assert pl.balance_gap() == pytest.approx(0.0, abs=1e-6)
    # more than its cash: it borrows the rest, as for its other costs
    debt, short = pl.debt, pl.cash + 100.0
    pl.spend_on_marketing(short, 0.2)
    assert pl.cash == 0.0 and pl.debt == pytest.approx(debt + 100.0)
    assert pl.balance_gap() == pytest.approx(0.0, abs=1e-6)


def test_goodwill_is_the_faded_sum_of_past_marketing_in_a_run():
    """The platforms table's goodwill is each platform's marketing, month by month, with
    ``platforms.goodwill_decay`` faded each month: recomputed from the marketing column."""
    decay = 0.3
    p = lendsim.run(tiny(**{"platforms.goodwill_decay": decay, **MARKETING}),
                    steps=12).platforms
    assert p["marketing"].sum() > 0
    for _, d in p.sort_values("step").groupby("platform_id"):
        g = 0.0
        for spend, recorded in zip(d["marketing"], d["goodwill"]):
            g = (1 - decay) * g + spend
            assert recorded == pytest.approx(g)


def test_brand_by_market_share_spends_nothing_on_marketing():
    """Brand as market share (brand_share.toml): no platform markets."""
    p = lendsim.run(tiny(**SHARE), steps=6).platforms
    assert (p["marketing"] == 0).all() and (p["goodwill"] == 0).all()


def test_brand_share_is_the_voice_share_of_live_platforms():
    m = MarketModel(tiny(**MARKETING))
    m.run(3)
    g = np.array([pl.goodwill for pl in m.platforms])
    live = np.array([pl.is_active for pl in m.platforms])
    assert g[live].sum() > 0
    assert m.brand_share() == pytest.approx(np.where(live, g, 0) / g[live].sum())


def test_under_brand_by_share_the_brand_term_is_market_share():
    m = MarketModel(tiny(**SHARE))
    m.run(3)
    assert m.brand_share() == pytest.approx(m.market_share_or_prior())
