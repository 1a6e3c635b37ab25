"""Tests for lendsim.agents.rules.underwriting against slow per-loan loops, hand computations
and accounting identities."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lendsim.agents.rules.underwriting import (
    allocate_capacity,
    annuity_payment,
    credit_limit,
    expected_loss_rate,
    required_apr,
    underwrite,
)

SIZES = [0, 1, 2, 17, 1000]


# ----------------------------------------------------------------- slow reference versions


def slow_annuity(principal, annual_rate, term):
    out = np.empty(len(principal))
    for i in range(len(principal)):
        r, t = annual_rate[i] / 12.0, float(term[i])
        if r > 0:
            out[i] = principal[i] * r / (1.0 - (1.0 + r) ** (-t))
        else:
            out[i] = principal[i] / t
    return out


def slow_expected_loss_rate(pd, lgd, term):
    out = np.empty(len(pd))
    for i in range(len(pd)):
        average_months_outstanding = (term[i] + 1) / 2
        out[i] = pd[i] * lgd * 12 / average_months_outstanding
    return out


def slow_required_apr(pd, funding, operating, margin, lgd, term):
    el = slow_expected_loss_rate(pd, lgd, term)
    return np.array([funding[i] + el[i] + operating[i] + margin[i] for i in range(len(pd))])


def slow_underwrite(pd, apr, cutoff, cap):
    return np.array([not (pd[i] > cutoff[i] or apr[i] > cap) for i in range(len(pd))],
                    dtype=bool)


def slow_credit_limit(request, income, own, visible, mult, max_loan, max_debt_income,
                      lender_dti=math.inf):
    out = np.empty(len(request))
    for i in range(len(request)):
        own_room = mult[i] * income[i] - own[i]
        if not math.isinf(lender_dti):  # the lender's own limit on the debt it sees
            own_room = min(own_room, lender_dti * 12.0 * income[i] - visible[i])
        # max_debt_income = inf means no debt-to-income limit at all
        debt_cap = max_loan if math.isinf(max_debt_income) else min(
            max_loan, max_debt_income * 12.0 * income[i])
        out[i] = max(0.0, min(request[i], own_room, debt_cap - visible[i]))
    return out


def slow_allocate(platform_idx, priority, amount, capacity, rtol=0.0):
    """Per platform: safest (lowest priority) first, ties in input order; granted while the
    cumulative amount, counting every application served before it, stays within capacity."""
    out = np.zeros(len(amount), dtype=bool)
    for p in set(platform_idx.tolist()):
        apps = sorted((priority[i], i) for i in range(len(amount)) if platform_idx[i] == p)
        total = 0.0
        for _, i in apps:
            total += amount[i]
            out[i] = total <= capacity[p] * (1 + rtol)
    return out


# ----------------------------------------------------------------- annuity_payment


def test_annuity_hand_computed():
    # 1000 at 12 %/year = 1 %/month over 12 months: 1000 x 0.01 / (1 - 1.01^-12) = 88.8488
    got = annuity_payment(np.array([1000.0]), np.array([0.12]), np.array([12]))
    assert got[0] == pytest.approx(88.8488, abs=5e-5)
    assert got[0] == pytest.approx(10.0 / (1 - 1.01 ** -12), rel=1e-13)


def test_annuity_zero_rate_is_straight_line():
    got = annuity_payment(np.array([1200.0, 1000.0]), np.array([0.0, 0.0]), np.array([12, 3]))
    np.testing.assert_allclose(got, [100.0, 1000.0 / 3], rtol=1e-15)


def test_annuity_one_month_term_repays_principal_plus_one_month_interest():
    got = annuity_payment(np.array([1000.0]), np.array([0.24]), np.array([1]))
    assert got[0] == pytest.approx(1020.0, rel=1e-13)


@pytest.mark.parametrize("n", SIZES)
def test_annuity_matches_loop(n):
    rng = np.random.default_rng(500 + n)
    principal = rng.uniform(100, 300_000, n)
    rate = np.where(rng.random(n) < 0.2, 0.0, rng.uniform(1e-4, 2.0, n))
    term = rng.integers(1, 61, n)
    np.testing.assert_allclose(annuity_payment(principal, rate, term),
                               slow_annuity(principal, rate, term), rtol=1e-12, atol=0)


@given(principal=st.floats(1, 1e7), rate=st.one_of(st.just(0.0), st.floats(1e-4, 3.0)),
       term=st.integers(1, 60))
def test_annuity_amortises_to_zero(principal, rate, term):
    """Adding a month's interest then paying the instalment, term times, leaves ~0."""
    pay = annuity_payment(np.array([principal]), np.array([rate]), np.array([term]))[0]
    assert pay >= principal / term * (1 - 1e-12)  # interest is never negative
    balance = principal
    for _ in range(term):
        balance += balance * rate / 12
        balance -= pay
    assert abs(balance) <= 1e-9 * principal


@pytest.mark.parametrize("principal,rate,term", [(1000.0, 0.12, 12), (5000.0, 0.36, 6),
                                                 (30_000.0, 0.0, 24), (100.0, 0.24, 1)])
def test_annuity_amortisation_hand_cases(principal, rate, term):
    pay = annuity_payment(np.array([principal]), np.array([rate]), np.array([term]))[0]
    balance, interest_paid = principal, 0.0
    for _ in range(term):
        interest = balance * rate / 12
        interest_paid += interest
        balance += interest - pay
    assert balance == pytest.approx(0.0, abs=1e-9 * principal)
    # accounting identity: instalments = principal + interest
    assert term * pay == pytest.approx(principal + interest_paid, rel=1e-12)


# ----------------------------------------------------------------- expected loss and price


def test_expected_loss_rate_hand_computed():
    # pd 10 %, lgd 90 %, 12 months: 0.09 lifetime loss over an average 6.5 months outstanding
    got = expected_loss_rate(np.array([0.1]), 0.9, np.array([12]))
    assert got[0] == pytest.approx(0.09 * 12 / 6.5, rel=1e-14)
    # a one-month loan is outstanding one month: annualised loss is 12 x pd x lgd
    got = expected_loss_rate(np.array([0.01]), 1.0, np.array([1]))
    assert got[0] == pytest.approx(0.12, rel=1e-14)


def test_expected_loss_equals_lifetime_loss_over_average_balance():
    """Straight-line amortisation: the balance-months of a t-month loan are P (t + 1) / 2, so
    the annual loss rate times balance-years equals the lifetime loss pd x lgd x P."""
    for t in (1, 3, 6, 12, 36):
        balance_months = sum(1 - k / t for k in range(t))  # P = 1, paid down evenly
        rate = expected_loss_rate(np.array([0.2]), 0.8, np.array([t]))[0]
        assert rate * balance_months / 12 == pytest.approx(0.2 * 0.8, rel=1e-12)


@pytest.mark.parametrize("n", SIZES)
def test_expected_loss_and_required_apr_match_loop(n):
    rng = np.random.default_rng(600 + n)
    pd = rng.uniform(0, 1, n)
    term = rng.integers(1, 61, n)
    funding, operating = rng.uniform(0, 0.1, n), rng.uniform(0, 0.1, n)
    margin = rng.uniform(-0.05, 0.3, n)
    np.testing.assert_allclose(expected_loss_rate(pd, 0.9, term),
                               slow_expected_loss_rate(pd, 0.9, term), rtol=1e-12, atol=0)
    got = required_apr(pd, funding_cost=funding, operating_cost=operating, margin=margin,
                       lgd=0.9, term_months=term)
    np.testing.assert_allclose(got, slow_required_apr(pd, funding, operating, margin, 0.9, term),
                               rtol=1e-12, atol=1e-15)


def test_required_apr_hand_computed():
    # 3 % funding + 0.05 x 0.9 x 24 / 7 expected loss + 4 % operating + 5 % margin, 6 months
    got = required_apr(np.array([0.05]), funding_cost=np.array([0.03]),
                       operating_cost=np.array([0.04]), margin=np.array([0.05]), lgd=0.9,
                       term_months=np.array([6]))
    assert got[0] == pytest.approx(0.12 + 0.045 * 24 / 7, rel=1e-13)


# ----------------------------------------------------------------- underwrite


@pytest.mark.parametrize("n", SIZES)
def test_underwrite_matches_loop(n):
    rng = np.random.default_rng(700 + n)
    pd = rng.uniform(0, 0.4, n)
    apr = rng.uniform(0.05, 0.6, n)
    cutoff = rng.choice([0.05, 0.12, 0.25], n)
    if n > 3:  # exactly on the boundaries: approved
        pd[0], apr[1] = cutoff[0], 0.36
        apr[0], pd[1] = 0.1, 0.0
    got = underwrite(pd, apr, cutoff, 0.36)
    want = slow_underwrite(pd, apr, cutoff, 0.36)
    np.testing.assert_array_equal(got, want)
    if n > 3:
        assert got[0] and got[1]


@given(pd=st.floats(0, 1), apr=st.floats(0, 5), cutoff=st.floats(0, 1), cap=st.floats(0, 5))
def test_underwrite_declines_exactly_when_pd_above_cutoff_or_apr_above_cap(pd, apr, cutoff,
                                                                            cap):
    got = bool(underwrite(np.array([pd]), np.array([apr]), np.array([cutoff]), cap)[0])
    assert got == (not (pd > cutoff or apr > cap))


# ----------------------------------------------------------------- credit_limit


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("max_debt_income", [math.inf, 1 / 3, 2.0])
def test_credit_limit_matches_loop(n, max_debt_income):
    rng = np.random.default_rng(800 + n)
    income = rng.lognormal(np.log(6000), 0.8, n)  # positive; zero income: test below
    request = rng.uniform(-100, 60_000, n)
    own = np.where(rng.random(n) < 0.5, 0.0, rng.uniform(0, 20_000, n))
    visible = own + np.where(rng.random(n) < 0.5, 0.0, rng.uniform(0, 200_000, n))
    mult = rng.choice([1.0, 1.5, 2.0], n)
    got = credit_limit(request, income, own, visible, limit_income_multiple=mult,
                       max_loan=300_000.0, max_debt_income=max_debt_income)
    want = slow_credit_limit(request, income, own, visible, mult, 300_000.0, max_debt_income)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)


def test_credit_limit_hand_cases():
    request = np.array([5000.0, 5000.0, 5000.0, 5000.0, 5000.0])
    income = np.array([4000.0, 4000.0, 4000.0, 1000.0, 4000.0])
    own = np.array([0.0, 3000.0, 0.0, 0.0, 7000.0])
    visible = np.array([0.0, 3000.0, 298_000.0, 0.0, 7000.0])
    got = credit_limit(request, income, own, visible, limit_income_multiple=np.full(5, 1.5),
                       max_loan=300_000.0, max_debt_income=10.0)
    # 0: own room 6000, debt-income room 480000 -> the request 5000
    # 1: own room 6000 - 3000 = 3000
    # 2: max_loan room 300000 - 298000 = 2000
    # 3: own room 1500 -> 1500
    # 4: already above its own limit (7000 > 6000) -> 0, not negative
    np.testing.assert_allclose(got, [5000.0, 3000.0, 2000.0, 1500.0, 0.0], rtol=1e-14)
    # debt-to-income limit 1/3 of annual income: income 3000 -> 12000 of debt in all; 10000
    # visible elsewhere leaves 2000 (own room 5 x 3000 = 15000 does not bind)
    got = credit_limit(np.array([20_000.0]), np.array([3000.0]), np.array([0.0]),
                       np.array([10_000.0]), limit_income_multiple=np.array([5.0]),
                       max_loan=300_000.0, max_debt_income=1 / 3)
    assert got[0] == pytest.approx(2000.0, rel=1e-12)
    # same borrower without data sharing: the platform sees only its own (zero) debt
    got = credit_limit(np.array([20_000.0]), np.array([3000.0]), np.array([0.0]),
                       np.array([0.0]), limit_income_multiple=np.array([5.0]),
                       max_loan=300_000.0, max_debt_income=1 / 3)
    assert got[0] == pytest.approx(12_000.0, rel=1e-12)


def test_credit_limit_zero_income_gets_zero_not_nan():
    """An unemployed borrower with ``borrowers.benefit_share = 0`` (or anyone under
    ``macro.shock_income_loss = 1``) has monthly income 0; with the default
    ``regulator.max_debt_income = inf`` (no limit) the grant must be 0, not NaN."""
    got = credit_limit(np.array([500.0]), np.array([0.0]), np.array([0.0]), np.array([0.0]),
                       limit_income_multiple=np.array([1.5]), max_loan=300_000.0,
                       max_debt_income=math.inf)
    assert got[0] == 0.0


@given(request=st.floats(-1e3, 1e6), income=st.floats(0, 1e5), own=st.floats(0, 1e6),
       other=st.floats(0, 1e6), mult=st.floats(0, 10), max_loan=st.floats(1, 1e6),
       max_debt_income=st.one_of(st.just(math.inf), st.floats(0.01, 5)),
       lender_dti=st.one_of(st.just(math.inf), st.floats(0.01, 5)))
def test_credit_limit_respects_every_limit(request, income, own, other, mult, max_loan,
                                           max_debt_income, lender_dti):
    visible = own + other
    granted = credit_limit(np.array([request]), np.array([income]), np.array([own]),
                           np.array([visible]), limit_income_multiple=np.array([mult]),
                           max_loan=max_loan, max_debt_income=max_debt_income,
                           lender_debt_income=np.array([lender_dti]))[0]
    assert not math.isnan(granted)
    assert granted >= 0.0
    assert granted <= max(request, 0.0)
    tol = 1e-9 * (1 + own + visible + mult * income + max_loan)
    if granted > 0:
        assert own + granted <= mult * income + tol
        assert visible + granted <= max_loan + tol
        if not math.isinf(max_debt_income):
            assert visible + granted <= max_debt_income * 12 * income + tol
        if not math.isinf(lender_dti):  # what the lender sees stays within its own limit
            assert visible + granted <= lender_dti * 12 * income + tol
    want = slow_credit_limit([request], [income], [own], [visible], [mult], max_loan,
                             max_debt_income, lender_dti)[0]
    assert granted == pytest.approx(want, rel=1e-12, abs=tol)


# ----------------------------------------------------------------- allocate_capacity


def test_allocate_capacity_hand_example():
    platform_idx = np.array([1, 0, 1, 0, 2, 1, 0])
    priority = np.array([0.2, 0.1, 0.05, 0.1, 0.3, 0.2, 0.3])
    amount = np.array([300.0, 500.0, 200.0, 400.0, 1000.0, 100.0, 50.0])
    capacity = np.array([900.0, 500.0, 0.0])
    # platform 0: #1 (pd .1, 500) then its tie #3 (pd .1, 400): 500, 900 = capacity -> both;
    #             #6 (pd .3, 50): 950 > 900 -> no
    # platform 1: #2 (pd .05, 200), #0 (pd .2, 300): 500 = capacity -> both; its tie #5 -> no
    # platform 2: no capacity -> no
    np.testing.assert_array_equal(allocate_capacity(platform_idx, priority, amount, capacity),
                                  [True, True, True, True, False, False, False])


def test_allocate_capacity_does_not_skip_ahead():
    """The rule is "cumulative amount up to and including it": once an application does not
    fit, safer-ranked amounts before it still count, so a later small one is not squeezed in."""
    got = allocate_capacity(np.array([0, 0, 0]), np.array([0.1, 0.2, 0.3]),
                            np.array([500.0, 200.0, 50.0]), np.array([600.0]))
    np.testing.assert_array_equal(got, [True, False, False])


def test_allocate_capacity_used_up_lender():
    """A lender whose capacity is below every amount asked of it grants none (the kernel skips
    its sort); one whose capacity is just the smallest amount still serves in PD order, so a
    larger, safer application ahead of the smallest uses it up."""
    platform_idx = np.array([0, 0, 0, 1, 1, 2, 2])
    priority = np.array([0.1, 0.2, 0.3, 0.3, 0.1, 0.1, 0.3])
    amount = np.array([100.0, 300.0, 150.0, 100.0, 120.0, 100.0, 120.0])
    capacity = np.array([99.5, 100.0, 100.0])
    got = allocate_capacity(platform_idx, priority, amount, capacity)
    np.testing.assert_array_equal(got, [False, False, False, False, False, True, False])
    np.testing.assert_array_equal(got, slow_allocate(platform_idx, priority, amount, capacity))


def test_allocate_capacity_exact_fit_survives_rounding():
    # 0.1 + 0.2 = 0.30000000000000004 in floating point: still fits a capacity of 0.3
    got = allocate_capacity(np.array([0, 0, 1]), np.array([0.0, 1.0, 0.0]),
                            np.array([0.1, 0.2, 0.3]), np.array([0.3, 0.3]))
    np.testing.assert_array_equal(got, [True, True, True])


def test_allocate_capacity_empty():
    got = allocate_capacity(np.zeros(0, int), np.zeros(0), np.zeros(0), np.array([1.0]))
    assert got.shape == (0,) and got.dtype == bool


def integer_market(rng, n, n_platforms):
    """Integer-valued amounts and capacities (exact in floating point, so the loop can use
    plain <=), about a third of capacities set exactly to a cumulative sum."""
    platform_idx = rng.integers(0, n_platforms, n)
    priority = rng.integers(0, 5, n) / 10  # many ties
    amount = rng.integers(1, 500, n).astype(float) * 100
    capacity = rng.integers(0, 20_000, n_platforms).astype(float)
    for p in range(n_platforms):
        if rng.random() < 0.4:
            members = np.flatnonzero(platform_idx == p)
            order = members[np.lexsort((members, priority[members]))]
            if len(order):
                capacity[p] = amount[order][: rng.integers(1, len(order) + 1)].sum()
    return platform_idx, priority, amount, capacity


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("n_platforms", [1, 3, 30])
def test_allocate_capacity_matches_loop(n, n_platforms):
    rng = np.random.default_rng(900 + n + 7 * n_platforms)
    for _ in range(5):
        args = integer_market(rng, n, n_platforms)
        np.testing.assert_array_equal(allocate_capacity(*args), slow_allocate(*args))


@pytest.mark.parametrize("n", [1, 50, 2000])
def test_allocate_capacity_matches_loop_float_amounts(n):
    """Realistic RMB amounts (not integers): the loop with the same 1e-12 relative slack, to
    the last bit (each platform's running total from 0, in the same order)."""
    rng = np.random.default_rng(950 + n)
    platform_idx = rng.integers(0, 30, n)
    priority = rng.beta(1, 10, n)
    amount = rng.uniform(100, 50_000, n)
    capacity = rng.uniform(0, 2 * n * 50_000 / 30, 30)
    np.testing.assert_array_equal(
        allocate_capacity(platform_idx, priority, amount, capacity),
        slow_allocate(platform_idx, priority, amount, capacity, rtol=1e-12))


@given(data=st.data(), n=st.integers(0, 25), n_platforms=st.integers(1, 4))
def test_allocate_capacity_matches_loop_hypothesis(data, n, n_platforms):
    platform_idx = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, n_platforms - 1)))
    priority = data.draw(hnp.arrays(float, n, elements=st.integers(0, 3).map(float)))
    amount = data.draw(hnp.arrays(float, n, elements=st.integers(0, 1000).map(float)))
    capacity = data.draw(hnp.arrays(float, n_platforms,
                                    elements=st.integers(0, 3000).map(float)))
    got = allocate_capacity(platform_idx, priority, amount, capacity)
    np.testing.assert_array_equal(got, slow_allocate(platform_idx, priority, amount, capacity))
    # what each platform grants is within its capacity
    granted = np.bincount(platform_idx[got], weights=amount[got], minlength=n_platforms)
    assert np.all(granted <= capacity)


# ------------------------------------------------------ markups by expected price sensitivity
def test_risk_markup_hand_computed():
    from lendsim.agents.rules.underwriting import risk_markup
    # a lender that sees risk exactly: 1 / b(z) over 1 / b(0) = exp(k z)
    k = risk_markup(np.array([0.0, 1.0, -2.0]), np.zeros(3), 0.35)
    assert k == pytest.approx(np.exp([0.0, 0.35, -0.7]))
    # noise sd 1: posterior of z is N(s / 2, 1 / 2); 1 / E[exp(-k z)] = exp(k s / 2 - k^2 / 4)
    assert risk_markup(np.array([1.0]), np.array([1.0]), 0.35)[0] == pytest.approx(
        math.exp(0.35 / 2 - 0.35 ** 2 / 4))
    assert np.all(risk_markup(np.array([2.0, -1.0]), np.array([0.5, 3.0]), 0.0) == 1.0)


def test_risk_markup_is_the_inverse_mean_sensitivity_given_the_signal_by_simulation():
    """Monte Carlo of the model's own story: z ~ N(0,1), signal = z + s e; among applicants
    with about the same signal, 1 / mean(b) over the median's 1 / b is the markup."""
    from lendsim.agents.rules.underwriting import risk_markup
    rng = np.random.default_rng(3)
    k, s = 0.35, 0.8
    z = rng.standard_normal(2_000_000)
    sig = z + s * rng.standard_normal(len(z))
    b = np.exp(-k * z)
    for lo in (-1.6, -0.1, 1.4):
        band = (sig > lo) & (sig < lo + 0.2)
        simulated = 1.0 / b[band].mean()
        formula = float(np.average(risk_markup(sig[band], np.full(band.sum(), s), k),
                                   weights=np.ones(band.sum())))
        # the formula is for one signal value; over a 0.2-wide band the exponential bends
        # a little, so compare within 1 %
        assert simulated == pytest.approx(formula, rel=0.01)


def test_risk_limit_factor_reads_every_term_as_an_annual_pd():
    """The same monthly hazard h over 1, 6 or 12 months is the same annual PD, so the same
    factor; 1 at elasticity 0; at the reference PD 1; smaller for riskier applicants."""
    from lendsim.agents.rules.underwriting import risk_limit_factor

    h = np.array([0.0005, 0.002, 0.01])
    year = 1 - (1 - h) ** 12
    for term in (1, 6, 12):
        pd_life = 1 - (1 - h) ** term
        got = risk_limit_factor(pd_life, np.full(3, term), reference_pd=0.02, elasticity=0.8)
        np.testing.assert_allclose(got, (0.02 / year) ** 0.8, rtol=1e-9)
    assert np.all(np.diff(got) < 0)
    assert risk_limit_factor(np.array([0.3]), np.array([6]), reference_pd=0.02,
                             elasticity=0.0)[0] == 1.0
    at_ref = 1 - (1 - 0.02) ** 0.5  # 2 % a year, over 6 months
    assert risk_limit_factor(np.array([at_ref]), np.array([6]), reference_pd=0.02,
                             elasticity=1.3)[0] == pytest.approx(1.0)
