"""Tests for lendsim.agents.rules.demand against slow per-borrower loops and hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendsim.agents.rules.demand import credit_demand, spending_need

SIZES = [0, 1, 2, 9, 1000]

NEED_KW = dict(essential_share=0.45, discretionary_share=0.35, volatility=0.6,
               risk_spending=0.25, demand_level=1.1, shock_prob=0.03, shock_size=1.5,
               buffer_months=3.0, spend_down=0.1)


# ----------------------------------------------------------------- slow reference versions


def slow_spending_need(base, risk, cash, z, shock_u, shock_z, *, essential_share,
                       discretionary_share, volatility, risk_spending, demand_level,
                       shock_prob, shock_size, buffer_months, spend_down):
    n = len(base)
    need, disc = np.empty(n), np.empty(n)
    for i in range(n):
        lognormal = math.exp(volatility * z[i] - volatility**2 / 2)  # mean-one shock
        d = base[i] * discretionary_share * demand_level * math.exp(risk_spending * risk[i]) \
            * lognormal
        excess_cash = cash[i] - buffer_months * base[i]
        if excess_cash > 0:
            d += spend_down * excess_cash
        total = essential_share * base[i] + d
        if shock_u[i] < shock_prob:
            # a large expense: log-normal with sigma 0.5, mean one
            total += shock_size * base[i] * math.exp(0.5 * shock_z[i] - 0.5**2 / 2)
        need[i], disc[i] = total, d
    return need, disc


def slow_credit_demand(need, disc, cash, due, room, *, convenience_credit, min_loan):
    """(amount asked, is it only convenience credit, i.e. cash would have covered more)."""
    out = np.empty(len(need))
    is_convenience = np.empty(len(need), dtype=bool)
    for i in range(len(need)):
        spendable = max(cash[i] - due[i], 0.0)
        shortfall = need[i] - spendable
        convenience = convenience_credit * disc[i]
        ask = max(shortfall, convenience)
        ask = min(ask, max(room[i], 0.0))
        out[i] = ask if ask >= min_loan else 0.0
        is_convenience[i] = shortfall < convenience
    return out, is_convenience


def fast_need(base, risk, cash, z, shock_u, shock_z, **kw):
    """spending_need takes one shock_z draw per borrower hit (in order); the slow reference
    above reads a per-borrower array: give the fast one the draws of those hit."""
    hit = np.asarray(shock_u) < kw["shock_prob"]
    return spending_need(base, risk, cash, z, shock_u, np.asarray(shock_z)[hit], **kw)


def check_demand(got, want):
    assert isinstance(got, tuple) and len(got) == 2
    np.testing.assert_array_equal(got[0], want[0])
    assert got[1].dtype == bool
    np.testing.assert_array_equal(got[1], want[1])


def need_inputs(rng, n):
    base = rng.lognormal(np.log(6000), 0.6, n)
    return dict(base_income=base, risk=rng.normal(size=n),
                cash=rng.uniform(0, 8, n) * base, z=rng.standard_normal(n),
                shock_u=rng.random(n), shock_z=rng.standard_normal(n))


# ----------------------------------------------------------------- spending_need


@pytest.mark.parametrize("n", SIZES)
def test_spending_need_matches_loop(n):
    rng = np.random.default_rng(100 + n)
    args = need_inputs(rng, n)
    for kw in [NEED_KW, dict(NEED_KW, shock_prob=0.5, spend_down=1.0, buffer_months=0.0),
               dict(NEED_KW, volatility=0.0, risk_spending=-1.0, shock_prob=1.0)]:
        need, disc = fast_need(*args.values(), **kw)
        want_need, want_disc = slow_spending_need(*args.values(), **kw)
        assert need.shape == disc.shape == (n,)
        np.testing.assert_allclose(need, want_need, rtol=1e-12, atol=0)
        np.testing.assert_allclose(disc, want_disc, rtol=1e-12, atol=0)


@given(base=st.floats(1.0, 1e6), risk=st.floats(-4, 4), cash_months=st.floats(0, 50),
       z=st.floats(-6, 6), shock_u=st.floats(0, 1, exclude_max=True), shock_z=st.floats(-6, 6),
       shock_prob=st.floats(0, 1), spend_down=st.floats(0, 1), buffer=st.floats(0, 24))
def test_spending_need_matches_loop_hypothesis(base, risk, cash_months, z, shock_u, shock_z,
                                               shock_prob, spend_down, buffer):
    args = [np.array([x]) for x in (base, risk, cash_months * base, z, shock_u, shock_z)]
    kw = dict(NEED_KW, shock_prob=shock_prob, spend_down=spend_down, buffer_months=buffer)
    need, disc = fast_need(*args, **kw)
    want_need, want_disc = slow_spending_need(*args, **kw)
    np.testing.assert_allclose(need, want_need, rtol=1e-12)
    np.testing.assert_allclose(disc, want_disc, rtol=1e-12)
    assert 0 <= disc[0] <= need[0]


def test_spending_need_hand_case():
    # base 1000, risk 0, cash 5000 (2000 above a 3-month buffer), z = 0, no expense shock
    need, disc = fast_need(np.array([1000.0]), np.array([0.0]), np.array([5000.0]),
                               np.array([0.0]), np.array([0.9]), np.array([0.0]),
                               essential_share=0.5, discretionary_share=0.3, volatility=0.0,
                               risk_spending=0.25, demand_level=1.0, shock_prob=0.1,
                               shock_size=2.0, buffer_months=3.0, spend_down=0.1)
    # discretionary = 0.3 x 1000 + 0.1 x 2000 = 500; essential = 500
    assert disc[0] == pytest.approx(500.0, rel=1e-14)
    assert need[0] == pytest.approx(1000.0, rel=1e-14)
    # same borrower hit by the expense shock (draw 0.05 < 0.1) with shock_z = 0.25, where the
    # shock multiplier exp(0.5 z - 0.125) is exactly 1: + 2 x 1000
    need2, _ = fast_need(np.array([1000.0]), np.array([0.0]), np.array([5000.0]),
                             np.array([0.0]), np.array([0.05]), np.array([0.25]),
                             essential_share=0.5, discretionary_share=0.3, volatility=0.0,
                             risk_spending=0.25, demand_level=1.0, shock_prob=0.1,
                             shock_size=2.0, buffer_months=3.0, spend_down=0.1)
    assert need2[0] == pytest.approx(3000.0, rel=1e-14)


def test_spending_need_shocks_are_mean_one():
    """Mean need of identical borrowers (below the buffer) is essential + discretionary +
    shock_prob x shock_size, in units of base income."""
    rng = np.random.default_rng(7)
    n = 400_000
    kw = dict(NEED_KW, risk_spending=0.0, demand_level=1.0, shock_prob=0.2)
    need, disc = fast_need(np.ones(n), np.zeros(n), np.zeros(n), rng.standard_normal(n),
                               rng.random(n), rng.standard_normal(n), **kw)
    assert disc.mean() == pytest.approx(0.35, rel=0.01)
    assert need.mean() == pytest.approx(0.45 + 0.35 + 0.2 * 1.5, rel=0.01)


# ----------------------------------------------------------------- credit_demand


def demand_inputs(rng, n):
    need = rng.uniform(0, 20_000, n)
    return dict(need=need, discretionary=rng.uniform(0, 1, n) * need,
                cash=rng.uniform(0, 15_000, n), due=rng.uniform(0, 5_000, n),
                debt_room=rng.uniform(-10_000, 30_000, n))


@pytest.mark.parametrize("n", SIZES)
def test_credit_demand_matches_loop(n):
    rng = np.random.default_rng(200 + n)
    args = demand_inputs(rng, n)
    for conv, min_loan in [(0.3, 100.0), (0.0, 0.0), (1.0, 5_000.0)]:
        got = credit_demand(*args.values(), convenience_credit=conv, min_loan=min_loan)
        want = slow_credit_demand(*args.values(), convenience_credit=conv, min_loan=min_loan)
        check_demand(got, want)


@given(need=st.floats(0, 1e6), disc_share=st.floats(0, 1), cash=st.floats(0, 1e6),
       due=st.floats(0, 1e6), room=st.floats(-1e6, 1e6), conv=st.floats(0, 1),
       min_loan=st.floats(0, 1e4))
def test_credit_demand_matches_loop_hypothesis(need, disc_share, cash, due, room, conv,
                                               min_loan):
    args = [np.array([x]) for x in (need, disc_share * need, cash, due, room)]
    got = credit_demand(*args, convenience_credit=conv, min_loan=min_loan)
    want = slow_credit_demand(*args, convenience_credit=conv, min_loan=min_loan)
    check_demand(got, want)
    ask = got[0][0]
    # never negative, never above the room, zero or at least min_loan
    assert ask >= 0
    assert ask <= max(room, 0.0)
    assert ask == 0 or ask >= min_loan


def test_credit_demand_hand_cases():
    need = np.array([1000.0, 1000.0, 1000.0, 1000.0, 1000.0])
    disc = np.array([400.0, 400.0, 400.0, 400.0, 400.0])
    cash = np.array([700.0, 5000.0, 700.0, 700.0, 100.0])
    due = np.array([200.0, 0.0, 200.0, 200.0, 500.0])
    room = np.array([10_000.0, 10_000.0, 300.0, -50.0, 10_000.0])
    ask, is_convenience = credit_demand(need, disc, cash, due, room, convenience_credit=0.25,
                                        min_loan=100.0)
    # 0: spendable 500, shortfall 500 > 0.25 x 400 = 100 -> 500
    # 1: cash suffices: convenience credit 0.25 x 400 = 100 (= min_loan, asked)
    # 2: shortfall 500, room 300 -> 300
    # 3: no room -> 0
    # 4: cash below due: spendable 0, shortfall the whole 1000
    np.testing.assert_array_equal(ask, [500.0, 100.0, 300.0, 0.0, 1000.0])
    np.testing.assert_array_equal(is_convenience, [False, True, False, False, False])
    # convenience credit just under the minimum loan is not asked for
    ask, is_convenience = credit_demand(need[1:2], disc[1:2], cash[1:2], due[1:2], room[1:2],
                                        convenience_credit=0.2, min_loan=100.0)
    np.testing.assert_array_equal(ask, [0.0])
