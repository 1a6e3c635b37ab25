"""Tests for lendsim.agents.rules.choice against slow per-borrower loops and hand examples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lendsim.agents.rules.choice import (approval_belief, credit_years, hassle_utility,
                                         next_application, next_choice, outside_utility,
                                         platform_utility, reservation_value)

UTIL_KW = dict(price_sensitivity=8.0, trust_weight=1.0, brand_weight=0.5, loyalty=3.0)


# ----------------------------------------------------------------- slow reference versions


def slow_platform_utility(apr, reputation, share, convenience, trust, has_account, *,
                          price_sensitivity, trust_weight, brand_weight, loyalty):
    n, m = len(trust), len(apr)
    out = np.empty((n, m))
    for i in range(n):
        for j in range(m):
            out[i, j] = (-price_sensitivity * apr[j]
                         + brand_weight * math.log(max(share[j], 1e-4))
                         + convenience[j]
                         + trust_weight * trust[i] * reputation[j]
                         + loyalty * has_account[i, j])
    return out


def slow_application_order(utility, gumbel, is_open, noise_scale, n_choices):
    """Per borrower: open platforms by noisy utility, best first (ties: lower index first),
    padded with -1 up to n_choices."""
    n, m = utility.shape
    out = np.full((n, n_choices), -1, dtype=np.int64)
    for i in range(n):
        cands = [(-(utility[i, j] + noise_scale * gumbel[i, j]), j) for j in range(m)
                 if is_open[j]]
        cands.sort()
        for c, (_, j) in enumerate(cands[:n_choices]):
            out[i, c] = j
    return out


def check_order(got, want, n_platforms):
    """Compare with the padded reference. The docstring promises shape (n, n_choices), but
    the code returns min(n_choices, n_platforms) columns when there are fewer platforms than
    choices (the model loops over ``order.shape[1]``, so both are fine); either way the
    columns it drops must all be -1 in the reference."""
    n_choices = want.shape[1]
    k = got.shape[1]
    assert got.shape[0] == want.shape[0]
    assert min(n_choices, n_platforms) <= k <= n_choices
    np.testing.assert_array_equal(got, want[:, :k])
    assert np.all(want[:, k:] == -1)


def random_market(rng, n, m):
    return dict(apr=rng.uniform(0.05, 0.36, m), reputation=rng.uniform(0, 1, m),
                market_share=rng.dirichlet(np.ones(m)) if m else np.zeros(0),
                convenience=rng.normal(0, 1, m), trust=rng.beta(5, 2, n),
                has_account=rng.random((n, m)) < 0.2)


# ----------------------------------------------------------------- platform_utility


@pytest.mark.parametrize("n,m", [(0, 3), (1, 1), (1, 5), (7, 4), (300, 12), (5, 0)])
def test_platform_utility_matches_loop(n, m):
    rng = np.random.default_rng(300 + 13 * n + m)
    mk = random_market(rng, n, m)
    if m > 1:
        mk["market_share"][0] = 0.0  # a platform with no share: log floored at 1e-4
    got = platform_utility(*mk.values(), **UTIL_KW)
    assert got.shape == (n, m)
    np.testing.assert_allclose(got, slow_platform_utility(*mk.values(), **UTIL_KW),
                               rtol=1e-12, atol=1e-12)


def test_platform_utility_hand_case():
    got = platform_utility(np.array([0.24, 0.12]), np.array([0.5, 1.0]), np.array([1.0, 0.0]),
                           np.array([1.5, 0.0]), np.array([0.8]), np.array([[False, True]]),
                           price_sensitivity=10.0, trust_weight=2.0, brand_weight=0.5,
                           loyalty=3.0)
    # platform 0: -2.4 + 0.5 log 1 + 1.5 + 2 x 0.8 x 0.5 = -0.1
    # platform 1: -1.2 + 0.5 log 1e-4 + 0 + 2 x 0.8 x 1 + 3 = 3.4 - 2 log 10
    np.testing.assert_allclose(got, [[-0.1, 3.4 - 2 * math.log(10)]], rtol=1e-12)


# ----------------------------------------------------------------- next_choice


def application_order(utility, gumbel, is_open, noise_scale, n_choices):
    """Each borrower's platforms, best first, (n, n_choices), -1 = none: ``next_choice``
    called n_choices times, as underwriting calls it round after round."""
    u = utility + noise_scale * gumbel
    u[:, ~is_open] = -np.inf
    k = min(n_choices, u.shape[1])
    return np.stack([next_choice(u) for _ in range(k)], axis=1).reshape(u.shape[0], k)


@pytest.mark.parametrize("n", [0, 1, 2, 50, 500])
@pytest.mark.parametrize("m", [1, 3, 10])
def test_application_order_matches_loop(n, m):
    rng = np.random.default_rng(400 + n * 11 + m)
    for n_choices in (1, 3, 5):
        utility = rng.normal(0, 1, (n, m))
        gumbel = rng.gumbel(size=(n, m))
        is_open = rng.random(m) < 0.7
        got = application_order(utility.copy(), gumbel, is_open, 0.5, n_choices)
        check_order(got, slow_application_order(utility, gumbel, is_open, 0.5, n_choices), m)


@given(data=st.data(), n=st.integers(0, 6), m=st.integers(1, 6),
       n_choices=st.integers(1, 8), noise=st.sampled_from([0.0, 0.5, 1.0]))
def test_application_order_matches_loop_hypothesis(data, n, m, n_choices, noise):
    # small integer utilities and gumbel draws: plenty of exact ties
    utility = data.draw(hnp.arrays(float, (n, m), elements=st.integers(-3, 3).map(float)))
    gumbel = data.draw(hnp.arrays(float, (n, m), elements=st.integers(-2, 2).map(float)))
    is_open = data.draw(hnp.arrays(bool, m))
    before = utility.copy()
    got = application_order(utility, gumbel, is_open, noise, n_choices)
    np.testing.assert_array_equal(utility, before)  # input not modified
    want = slow_application_order(utility, gumbel, is_open, noise, n_choices)
    check_order(got, want, m)
    # never a closed platform, never the same platform twice
    for row in got:
        chosen = row[row >= 0]
        assert np.all(is_open[chosen])
        assert len(set(chosen.tolist())) == len(chosen)


def test_application_order_closed_platform_never_chosen_even_when_best():
    utility = np.array([[100.0, 0.0, -1.0, 5.0]])
    is_open = np.array([False, True, True, False])
    got = application_order(utility, np.zeros((1, 4)), is_open, 1.0, 2)
    np.testing.assert_array_equal(got, [[1, 2]])


def test_application_order_fewer_open_than_choices_pads_with_minus_one():
    utility = np.array([[1.0, 2.0, 3.0, 4.0, 5.0],
                        [5.0, 4.0, 3.0, 2.0, 1.0]])
    is_open = np.array([True, False, False, True, False])
    got = application_order(utility, np.zeros((2, 5)), is_open, 0.5, 3)
    np.testing.assert_array_equal(got, [[3, 0, -1], [0, 3, -1]])
    # nothing open: all -1
    got = application_order(utility, np.zeros((2, 5)), np.zeros(5, dtype=bool), 0.5, 3)
    np.testing.assert_array_equal(got, np.full((2, 3), -1))


def test_application_order_ties_go_to_the_lower_index():
    utility = np.array([[2.0, 3.0, 3.0, 2.0]])
    got = application_order(utility, np.zeros((1, 4)), np.ones(4, dtype=bool), 1.0, 4)
    np.testing.assert_array_equal(got, [[1, 2, 0, 3]])


def test_application_order_noise_gives_logit_shares():
    """Gumbel noise of scale s on utilities gives first choices with logit shares
    exp(v / s) / sum exp(v / s) (McFadden 1974)."""
    rng = np.random.default_rng(8)
    n = 200_000
    v = np.array([0.0, 0.5, 1.0])
    s = 0.7
    got = application_order(np.tile(v, (n, 1)), rng.gumbel(size=(n, 3)), np.ones(3, bool),
                            s, 1)
    shares = np.bincount(got[:, 0], minlength=3) / n
    want = np.exp(v / s) / np.exp(v / s).sum()
    np.testing.assert_allclose(shares, want, atol=5 * math.sqrt(0.25 / n))


# ------------------------------------------------- price sensitivity that falls with risk
def test_price_sensitivity_by_risk_hand_computed():
    from lendsim.agents.rules.choice import price_sensitivity
    b = price_sensitivity(24.0, np.array([-1.0, 0.0, 2.0]), 0.35)
    assert b == pytest.approx([24.0 * math.exp(0.35), 24.0, 24.0 * math.exp(-0.7)])
    assert price_sensitivity(24.0, np.array([3.0]), 0.0) == 24.0  # no slope: one number


def test_platform_utility_per_borrower_sensitivity_matches_loop():
    rng = np.random.default_rng(7)
    n, m = 40, 5
    apr, rep, share, conv = rng.uniform(0.05, 0.3, m), rng.uniform(0, 1, m), \
        rng.dirichlet(np.ones(m)), rng.normal(0, 1, m)
    trust, acc = rng.uniform(0, 1, n), rng.uniform(size=(n, m)) < 0.3
    b = rng.uniform(5, 30, n)
    kw = {k: v for k, v in UTIL_KW.items() if k != "price_sensitivity"}
    u = platform_utility(apr, rep, share, conv, trust, acc, price_sensitivity=b, **kw)
    for i in range(n):  # each row: the one-number utility at that borrower's sensitivity
        row = platform_utility(apr, rep, share, conv, trust[i:i + 1], acc[i:i + 1],
                               price_sensitivity=float(b[i]), **kw)[0]
        np.testing.assert_allclose(u[i], row, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------- search with a cost


def search(u, hassle, belief, outside, approved, n_choices):
    """Rounds of :func:`next_application` as underwriting runs them: every row searches
    until approved (``approved[i, j]``: platform j would approve borrower i), out of
    platforms or choices, or better off doing without. Returns each row's applications in
    order and whether it stopped because doing without was better."""
    n = u.shape[0]
    u = u.copy()
    apps = [[] for _ in range(n)]
    walked = np.zeros(n, dtype=bool)
    looking = np.arange(n)
    for _ in range(n_choices):
        if not len(looking):
            break
        rows = np.take(u, looking, axis=0)
        key = reservation_value(rows, hassle[looking], belief[looking])
        c, w = next_application(rows, key, None if outside is None else outside[looking])
        u[looking] = rows
        walked[looking[w]] = True
        for i, j in zip(looking.tolist(), c.tolist()):
            if j >= 0:
                apps[i].append(j)
        done = (c < 0) | approved[looking, np.maximum(c, 0)]
        looking = looking[~done]
    return apps, walked


def slow_search(u, hassle, belief, outside, approved, n_choices):
    """One borrower at a time, Weitzman's rule written out: apply where ``u - h / q`` is
    highest (ties: the lower index), while it beats doing without; stop when approved."""
    n, m = u.shape
    apps, walked = [], np.zeros(n, dtype=bool)
    for i in range(n):
        tried, mine = set(), []
        for _ in range(n_choices):
            best, z_best = -1, -math.inf
            for j in range(m):
                if j in tried or u[i, j] == -math.inf:
                    continue
                z = u[i, j] - hassle[i, j] / belief[i, j]
                if z > z_best:
                    best, z_best = j, z
            if best < 0:
                break
            if outside is not None and not z_best > outside[i]:
                walked[i] = True
                break
            tried.add(best)
            mine.append(best)
            if approved[i, best]:
                break
        apps.append(mine)
    return apps, walked


def test_stopping_rule_by_hand():
    """Utilities -1, -2, -3; beliefs 1/2, 1/2, 1/4; hassle 0.4; doing without is worth -3.
    Reservation values: -1 - 0.4 / 0.5 = -1.8, -2 - 0.8 = -2.8, -3 - 0.4 / 0.25 = -4.6.
    Refused everywhere, the borrower applies to platforms 0 and 1 and then stops: a third
    application (-4.6) is worth less than doing without (-3). Exactly two applications."""
    u = np.array([[-1.0, -2.0, -3.0]])
    h = np.full((1, 3), 0.4)
    q = np.array([[0.5, 0.5, 0.25]])
    np.testing.assert_allclose(reservation_value(u, h, q), [[-1.8, -2.8, -4.6]])
    apps, walked = search(u, h, q, np.array([-3.0]), np.zeros((1, 3), bool), 5)
    assert apps == [[0, 1]] and walked.tolist() == [True]
    # free applications: all three, and then none is left (not a walk-away)
    apps, walked = search(u, 0 * h, q, np.array([-3.5]), np.zeros((1, 3), bool), 5)
    assert apps == [[0, 1, 2]] and walked.tolist() == [False]
    # approved at the first: one application
    apps, _ = search(u, h, q, np.array([-3.0]), np.ones((1, 3), bool), 5)
    assert apps == [[0]]


def test_a_likely_approval_is_tried_before_a_better_but_unlikely_one():
    """Utilities -1 and -1.2, beliefs 0.2 and 0.9, hassle 0.5: reservation values -3.5 and
    -1.2 - 0.5 / 0.9 = -1.756, so the borrower applies first to the platform it likes less
    (Weitzman 1979); without hassle it would take the order of utility."""
    u = np.array([[-1.0, -1.2]])
    q = np.array([[0.2, 0.9]])
    apps, _ = search(u, np.full((1, 2), 0.5), q, np.array([-10.0]), np.zeros((1, 2), bool),
                     2)
    assert apps == [[1, 0]]
    apps, _ = search(u, np.zeros((1, 2)), q, np.array([-10.0]), np.zeros((1, 2), bool), 2)
    assert apps == [[0, 1]]


def test_doing_without_beats_every_offer():
    u = np.array([[-2.0, -3.0], [-2.0, -3.0]])
    apps, walked = search(u, np.zeros((2, 2)), np.ones((2, 2)), np.array([-1.0, -2.5]),
                          np.zeros((2, 2), bool), 3)
    assert apps == [[], [0]] and walked.tolist() == [True, True]


@given(data=st.data(), n=st.integers(0, 6), m=st.integers(1, 5),
       n_choices=st.integers(1, 6), with_outside=st.booleans())
def test_search_matches_a_per_borrower_loop(data, n, m, n_choices, with_outside):
    small = st.integers(-4, 4).map(float)
    u = data.draw(hnp.arrays(float, (n, m), elements=st.one_of(small, st.just(-math.inf))))
    h = data.draw(hnp.arrays(float, (n, m), elements=st.sampled_from([0.0, 0.5, 1.0])))
    q = data.draw(hnp.arrays(float, (n, m), elements=st.sampled_from([0.25, 0.5, 1.0])))
    outside = (data.draw(hnp.arrays(float, n, elements=st.one_of(small, st.just(-math.inf))))
               if with_outside else None)
    approved = data.draw(hnp.arrays(bool, (n, m)))
    before = u.copy()
    got = search(u, h, q, outside, approved, n_choices)
    np.testing.assert_array_equal(u, before)
    want = slow_search(u, h, q, outside, approved, n_choices)
    assert got[0] == want[0]
    np.testing.assert_array_equal(got[1], want[1])


@given(data=st.data(), n=st.integers(0, 6), m=st.integers(1, 6))
def test_no_hassle_and_no_outside_option_is_next_choice(data, n, m):
    u = data.draw(hnp.arrays(float, (n, m), elements=st.one_of(
        st.integers(-3, 3).map(float), st.just(-math.inf))))
    a, b = u.copy(), u.copy()
    for _ in range(m + 1):
        want = next_choice(a)
        got, walked = next_application(b, reservation_value(b, np.zeros((n, m)),
                                                            np.ones((n, m))),
                                       np.full(n, -math.inf))
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(a, b)
        assert not walked.any()


def test_hassle_in_utils_by_hand():
    """20 RMB on a 1,400 RMB loan over 6 months: the loan is outstanding (6 + 1) / 24 years
    on average, so the hassle is 20 / (1,400 x 7 / 24) = 4.9 % of APR, x 12 utils per unit
    of APR = 0.588 utils; on a 700 RMB remainder twice as much."""
    years = np.broadcast_to(credit_years(np.array([6])), (2, 1))
    got = hassle_utility(np.array([1400.0, 700.0]), years, hassle=20.0, price_sensitivity=12.0)
    want = 12 * 20 / (1400 * 7 / 24)
    np.testing.assert_allclose(got, [[want], [2 * want]], rtol=1e-12)
    assert want == pytest.approx(0.588, abs=1e-3)
    # one price sensitivity per borrower: each row scales by its own
    got = hassle_utility(np.array([1400.0, 1400.0]), years, hassle=20.0,
                         price_sensitivity=np.array([12.0, 6.0]))
    np.testing.assert_allclose(got, [[want], [want / 2]], rtol=1e-12)
    got = outside_utility(1.0, np.ones(2), price_sensitivity=np.array([12.0, 6.0]),
                          choice_noise=0.5)
    np.testing.assert_allclose(got, [-12.0, -6.0])


def test_approval_belief_and_outside_utility_by_hand():
    np.testing.assert_allclose(approval_belief(np.array([0.0, 8.0, 10.0]),
                                               np.array([0.0, 2.0, 10.0])),
                               [0.5, 0.3, 11 / 12])
    # reservation APR 100 % at 12 utils per unit of APR; draw E = 1 is Gumbel 0, E = e^-1 is 1
    got = outside_utility(1.0, np.array([1.0, math.exp(-1)]), price_sensitivity=12.0,
                          choice_noise=0.5)
    np.testing.assert_allclose(got, [-12.0, -11.5])
    assert (outside_utility(math.inf, np.ones(3), price_sensitivity=12.0,
                            choice_noise=0.5) == -math.inf).all()


def test_outside_option_gives_logit_shares_with_an_outside_good():
    """With Gumbel noise on the outside good too, the share who do without is
    exp(v0 / s) / (exp(v0 / s) + sum exp(v / s)) (McFadden 1974; Berry 1994)."""
    rng = np.random.default_rng(9)
    n, s = 200_000, 0.5
    v = np.array([-1.0, -1.5])
    u = np.tile(v, (n, 1)) + s * rng.gumbel(size=(n, 2))
    outside = outside_utility(0.1, rng.standard_exponential(n), price_sensitivity=12.0,
                              choice_noise=s)
    _, walked = next_application(u, u.copy(), outside)
    e = np.exp(np.append(v, -1.2) / s)
    assert walked.mean() == pytest.approx(e[2] / e.sum(), abs=5 * math.sqrt(0.25 / n))
