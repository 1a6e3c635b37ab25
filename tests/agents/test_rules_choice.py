"""Tests for lendsim.agents.rules.choice against slow per-borrower loops and hand examples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lendsim.agents.rules.choice import next_choice, platform_utility

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
