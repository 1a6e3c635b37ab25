"""Tests of interbank_cascade, threshold_cascade and the analytic cascade predictions against
hand-worked cases, slow sequential reference loops, direct sums and identities."""

import math
import time

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from lendsim.errors import LendsimError
from lendsim.simulation.contagion import (
    epidemic_threshold,
    gai_kapadia_window,
    interbank_cascade,
    threshold_cascade,
    watts_cascade_window,
)
from lendsim.simulation.networks import erdos_renyi, watts_strogatz


def slow_cascade(E, capital, seeds, recovery):
    """Sequential reference: visit banks one at a time in a shuffled order until none fails."""
    n = len(capital)
    failed = [False] * n
    for s in seeds:
        failed[s] = True
    order = list(np.random.default_rng(0).permutation(n))
    changed = True
    while changed:
        changed = False
        for i in order:
            if failed[i]:
                continue
            loss = sum((1 - recovery) * E[i][j] for j in range(n) if failed[j])
            if loss > capital[i]:
                failed[i] = True
                changed = True
    return np.array(failed)


def slow_threshold(A, phi, seeds):
    """Sequential reference loop of Watts's rule, in a shuffled order."""
    n = len(phi)
    active = [False] * n
    for s in seeds:
        active[s] = True
    order = list(np.random.default_rng(1).permutation(n))
    changed = True
    while changed:
        changed = False
        for i in order:
            if active[i]:
                continue
            nbrs = [j for j in range(n) if A[i][j] != 0]
            if nbrs and sum(active[j] for j in nbrs) / len(nbrs) >= phi[i]:
                active[i] = True
                changed = True
    return np.array(active)


def random_exposures(rng, n, density=0.3):
    E = np.where(rng.random((n, n)) < density, rng.exponential(1.0, (n, n)), 0.0)
    np.fill_diagonal(E, 0)
    return E


# -- interbank_cascade --------------------------------------------------------------------------


def test_chain_by_hand_and_strict_threshold():
    E = np.array([[0, 5.0, 0], [0, 0, 5.0], [0, 0, 0]])  # 0 is owed 5 by 1, 1 is owed 5 by 2
    res = interbank_cascade(E, [4, 4, 4], [2])
    assert res.failed.tolist() == [True, True, True]
    assert [r.tolist() for r in res.rounds] == [[1], [0]]
    # a loss equal to capital is survived (strictly greater fails)
    res = interbank_cascade(E, [5, 5, 5], [2])
    assert res.failed.tolist() == [False, False, True] and res.rounds == []
    # 30% recovery: loss 3.5 against capital 4
    assert interbank_cascade(E, 4.0, [2], recovery=0.3).failed.tolist() == [False, False, True]


def test_losses_add_up_across_failed_debtors():
    E = np.array([[0, 3.0, 3.0], [0, 0, 0], [0, 0, 0]])
    assert interbank_cascade(E, [5, 1, 1], [1]).failed.tolist() == [False, True, False]
    res = interbank_cascade(E, [5, 1, 1], [1, 2])
    assert res.failed.tolist() == [True, True, True] and [r.tolist() for r in res.rounds] == [[0]]


def test_matches_sequential_reference_and_sparse():
    rng = np.random.default_rng(0)
    for _ in range(40):
        n = int(rng.integers(2, 14))
        E = random_exposures(rng, n)
        capital = rng.uniform(0, 2, n)
        seeds = rng.choice(n, size=int(rng.integers(1, 3)), replace=False)
        recovery = float(rng.choice([0.0, 0.4]))
        dense = interbank_cascade(E, capital, seeds, recovery=recovery)
        sparse = interbank_cascade(sp.csr_matrix(E), capital, seeds, recovery=recovery)
        ref = slow_cascade(E.tolist(), capital.tolist(), seeds.tolist(), recovery)
        assert dense.failed.tolist() == ref.tolist() == sparse.failed.tolist()
        assert [r.tolist() for r in dense.rounds] == [r.tolist() for r in sparse.rounds]


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 12), st.integers(0, 2**32 - 1))
def test_cascade_order_independence_and_monotonicity(n, seed):
    rng = np.random.default_rng(seed)
    E = random_exposures(rng, n)
    capital = rng.uniform(0, 2, n)
    seeds = rng.random(n) < 0.2
    perm = rng.permutation(n)
    a = interbank_cascade(E, capital, seeds)
    b = interbank_cascade(sp.csr_matrix(E[np.ix_(perm, perm)]), capital[perm], seeds[perm])
    assert b.failed.tolist() == a.failed[perm].tolist()
    assert [sorted(perm[r].tolist()) for r in b.rounds] == [r.tolist() for r in a.rounds]
    # more capital, or more recovery, never more failures
    more = interbank_cascade(E, capital + rng.uniform(0, 1, n), seeds)
    assert np.all(more.failed <= a.failed)
    recovered = interbank_cascade(E, capital, seeds, recovery=0.5)
    assert np.all(recovered.failed <= a.failed)


def test_cascade_bad_input():
    E = np.zeros((3, 3))
    with pytest.raises(LendsimError, match="capital"):
        interbank_cascade(E, [1, 1], [0])
    with pytest.raises(LendsimError, match="initial_failures"):
        interbank_cascade(E, 1.0, [3])
    with pytest.raises(LendsimError, match="recovery"):
        interbank_cascade(E, 1.0, [0], recovery=1.5)


# -- threshold_cascade --------------------------------------------------------------------------


def test_threshold_by_hand():
    star = np.zeros((4, 4))
    star[0, 1:] = star[1:, 0] = 1  # hub 0 with leaves 1, 2, 3
    # a leaf seeds: the hub sees 1/3 active; threshold 1/3 activates it, then every leaf
    assert threshold_cascade(star, 1 / 3, [1]).tolist() == [True] * 4
    assert threshold_cascade(star, 0.34, [1]).tolist() == [False, True, False, False]
    # an isolated node never activates, even with threshold 0, unless seeded
    iso = np.zeros((3, 3))
    iso[0, 1] = iso[1, 0] = 1
    assert threshold_cascade(iso, 0.0, [0]).tolist() == [True, True, False]
    assert threshold_cascade(iso, 0.0, [2]).tolist() == [True, True, True]  # phi 0: share 0 >= 0


def test_threshold_matches_reference_and_sparse():
    rng = np.random.default_rng(2)
    for _ in range(30):
        n = int(rng.integers(2, 20))
        A = (rng.random((n, n)) < 0.25).astype(float)
        A = np.triu(A, 1)
        A = A + A.T
        phi = rng.choice([0.1, 0.2, 1 / 3, 0.5, 0.7], size=n)
        seeds = rng.choice(n, size=1)
        ref = slow_threshold(A.tolist(), phi.tolist(), seeds.tolist())
        assert threshold_cascade(A, phi, seeds).tolist() == ref.tolist()
        assert threshold_cascade(sp.csr_matrix(A), phi, seeds).tolist() == ref.tolist()


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 30), st.integers(0, 2**32 - 1))
def test_threshold_order_independence(n, seed):
    rng = np.random.default_rng(seed)
    A = np.triu((rng.random((n, n)) < 0.2).astype(float), 1)
    A = A + A.T
    phi = rng.uniform(0, 0.6, n)
    seeds = rng.random(n) < 0.1
    perm = rng.permutation(n)
    a = threshold_cascade(A, phi, seeds)
    b = threshold_cascade(sp.csr_matrix(A[np.ix_(perm, perm)]), phi[perm], seeds[perm])
    assert b.tolist() == a[perm].tolist()
    # lower thresholds never give a smaller cascade
    assert np.all(threshold_cascade(A, phi * 0.5, seeds) >= a)


@pytest.mark.slow
def test_threshold_cascade_on_a_million_nodes_in_seconds():
    adj = watts_strogatz(10**6, 10, 0.1, np.random.default_rng(0))
    start = time.perf_counter()
    active = threshold_cascade(adj, 0.1, np.arange(10))
    elapsed = time.perf_counter() - start
    # phi = 0.1 on a ring lattice of degree 10: one active neighbour suffices, so everything
    # connected to a seed activates; the graph is connected
    assert active.all()
    assert elapsed < 30


def test_threshold_cascade_large_sparse_is_fast():
    adj = erdos_renyi(10**5, 3.0, np.random.default_rng(0))
    start = time.perf_counter()
    active = threshold_cascade(adj, 0.18, [0, 1, 2])
    assert time.perf_counter() - start < 10
    assert active.dtype == bool and active.shape == (10**5,)


# -- analytic predictions -----------------------------------------------------------------------


def test_epidemic_threshold_regular_and_poisson():
    assert epidemic_threshold([3] * 50) == pytest.approx(0.5)  # 1 / (k - 1)
    k = erdos_renyi(20_000, 5.0, np.random.default_rng(3)).sum(axis=1).A1
    assert epidemic_threshold(k) == pytest.approx(1 / 5, rel=0.03)  # Poisson: <k^2> - <k> = z^2
    assert epidemic_threshold([1, 1]) == math.inf
    with pytest.raises(LendsimError):
        epidemic_threshold([])


def direct_watts_condition(z, phi):
    """sum_k k (k-1) rho_k p_k / z with an explicit Poisson sum (Watts 2002)."""
    total = 0.0
    for k in range(1, 200):
        if 1 / k >= phi:
            total += k * (k - 1) * math.exp(-z) * z**k / math.factorial(k)
    return total / z


@pytest.mark.parametrize("phi", [0.18, 0.25, 0.1])
def test_watts_window_condition_and_edges(phi):
    zs = np.array([0.5, 1.5, 3.0, 6.0, 9.0])
    w = watts_cascade_window(zs, phi)
    np.testing.assert_allclose(w.condition, [direct_watts_condition(z, phi) for z in zs], rtol=1e-10)
    assert w.inside.tolist() == (w.condition > 1).tolist()
    assert direct_watts_condition(w.lower, phi) == pytest.approx(1, abs=1e-9)
    assert direct_watts_condition(w.upper, phi) == pytest.approx(1, abs=1e-9)
    assert 1 < w.lower < w.upper
    assert np.all(w.frequency[~w.inside] == 0) and np.all(w.frequency[w.inside] > 0)


def test_watts_frequency_is_giant_component_when_all_vulnerable():
    # phi so small that every node is vulnerable: a cascade is global iff the seed is in the
    # giant component, of share S = 1 - exp(-z S) (Erdos-Renyi).
    z = 2.0
    S = 0.5
    for _ in range(200):
        S = 1 - math.exp(-z * S)
    w = watts_cascade_window([z], 1e-3)
    assert w.frequency[0] == pytest.approx(S, abs=1e-10)


def test_gai_kapadia_condition_by_hand_and_identity_with_watts():
    # vulnerable debtor counts j < 0.2 / 0.04 = 5: j = 1..4; condition sum_j j p_j
    z = 3.0
    expected = sum(j * math.exp(-z) * z**j / math.factorial(j) for j in range(1, 5))
    w = gai_kapadia_window([z], 0.04, 0.2)
    assert w.condition[0] == pytest.approx(expected, rel=1e-12)
    # Poisson identity: sum_{k=2..K} k(k-1) p_k / z = sum_{j=1..K-1} j p_j, so Watts with
    # K = floor(1/phi) = 5 and Gai-Kapadia with vulnerable j <= 4 share one window
    zs = np.linspace(0.3, 10, 25)
    gk = gai_kapadia_window(zs, 0.04, 0.2)
    wt = watts_cascade_window(zs, 0.18)
    np.testing.assert_allclose(gk.condition, wt.condition, rtol=1e-10)
    assert gk.lower == pytest.approx(wt.lower) and gk.upper == pytest.approx(wt.upper)


def test_gai_kapadia_more_capital_narrows_window():
    wide = gai_kapadia_window([1.0], 0.03, 0.2)
    narrow = gai_kapadia_window([1.0], 0.06, 0.2)
    assert narrow.upper < wide.upper
    none = gai_kapadia_window([1.0, 2.0], 0.25, 0.2)  # no bank is vulnerable
    assert math.isnan(none.lower) and not none.inside.any()


def test_window_bad_input():
    with pytest.raises(LendsimError, match="threshold"):
        watts_cascade_window([1.0], 0.0)
    with pytest.raises(LendsimError, match="capital_ratio"):
        gai_kapadia_window([1.0], 1.5, 0.2)
    with pytest.raises(LendsimError, match="mean_degrees"):
        watts_cascade_window([-1.0], 0.2)
