"""Tests of Eisenberg-Noe, Rogers-Veraart and DebtRank against hand-worked examples, slow
reference implementations (Picard iteration, brute force over default sets, per-bank loops)
and identities."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import lendsim.simulation.clearing as clearing
from lendsim.errors import LendsimError
from lendsim.simulation.clearing import debtrank, eisenberg_noe, rogers_veraart

L3 = np.array([[0, 20, 10], [5, 0, 24], [10, 0, 0]], dtype=float)
E3 = np.array([10, 10, 10], dtype=float)


def random_system(rng, n, density=0.3, with_ext=True):
    L = np.where(rng.random((n, n)) < density, rng.exponential(1.0, (n, n)), 0.0)
    np.fill_diagonal(L, 0.0)
    e = rng.exponential(0.6, n) * (rng.random(n) < 0.8)
    ext = rng.exponential(0.6, n) * (rng.random(n) < 0.5) if with_ext else np.zeros(n)
    return L, e, ext


# -- references ---------------------------------------------------------------------------------


def picard_en(L, e, ext, seniority):
    """Greatest clearing vector by monotone iteration down from full payment (EN 2001, Thm 1)."""
    lbar = L.sum(axis=1)
    pbar = lbar + ext
    Pi = np.divide(L, lbar[:, None], out=np.zeros_like(L), where=lbar[:, None] > 0)
    q = lbar.copy()
    for _ in range(200_000):
        a = e + Pi.T @ q
        if seniority == "pari_passu":
            p = np.minimum(pbar, a)
            q_new = np.divide(p * lbar, pbar, out=np.zeros_like(p), where=pbar > 0)
        else:
            q_new = np.minimum(lbar, np.maximum(0.0, a - ext))
        if np.max(np.abs(q_new - q)) < 1e-14:
            break
        q = q_new
    a = e + Pi.T @ q_new
    return np.minimum(pbar, a), a < pbar - 1e-9


def brute_force_rv(L, e, alpha, beta):
    """Greatest RV clearing vector by trying every default set (RV 2013, Definition 2.3)."""
    n = len(e)
    pbar = L.sum(axis=1)
    Pi = np.divide(L, pbar[:, None], out=np.zeros_like(L), where=pbar[:, None] > 0)
    best = None
    for bits in itertools.product([False, True], repeat=n):
        D = np.array(bits)
        # p_D = alpha e_D + beta Pi^T p restricted; p_S = pbar_S
        M = np.eye(n)
        b = pbar.copy()
        M[D] -= beta * Pi.T[D]
        b[D] = alpha * e[D]
        try:
            p = np.linalg.solve(M, b)
        except np.linalg.LinAlgError:
            continue
        a = e + Pi.T @ p
        if np.all(a[~D] >= pbar[~D] - 1e-9) and np.all(a[D] < pbar[D] + 1e-12):
            if best is None or np.all(p >= best - 1e-9):
                best = p
    return best


def slow_debtrank_original(Lam, h1):
    """Battiston et al. (2012) with an explicit per-bank loop over U/D/I states."""
    n = len(h1)
    h = list(h1)
    state = ["D" if x > 0 else "U" for x in h1]
    while "D" in state:
        new_h = h[:]
        for i in range(n):
            total = h[i]
            for j in range(n):
                if state[j] == "D":
                    total += min(1.0, Lam[i][j]) * h[j]
            new_h[i] = min(1.0, total)
        new_state = state[:]
        for i in range(n):
            if state[i] == "D":
                new_state[i] = "I"
            elif state[i] == "U" and new_h[i] > 0:
                new_state[i] = "D"
        h, state = new_h, new_state
    return np.array(h)


# -- Eisenberg-Noe ------------------------------------------------------------------------------


@pytest.fixture(params=["dense", "iterative"])
def solver(request, monkeypatch):
    """Each validation case twice: with the dense solve small systems get, and with the
    sparse fixed-point iteration large systems get (forced at every size)."""
    if request.param == "iterative":
        monkeypatch.setattr(clearing, "_DENSE_MAX", 0)
    return request.param


def test_three_bank_example_by_hand(solver):
    # Round 1: all pay in full; bank 0 has 10 + 5 + 10 = 25 < 30 and defaults. Round 2: it pays
    # 25, so bank 1 has 10 + 2/3 * 25 = 26.67 < 29 and defaults. Round 3 solves
    # p0 = 10 + 5/29 p1 + 10, p1 = 10 + 2/3 p0: p0 = 1890/77, p1 = 2030/77; bank 2 keeps
    # 10 + 630/77 + 1680/77 = 40 against 10 owed, equity 30.
    res = eisenberg_noe(L3, E3)
    np.testing.assert_allclose(res.payments, [1890 / 77, 2030 / 77, 10.0], rtol=1e-12)
    np.testing.assert_allclose(res.payments, [24.5455, 26.3636, 10.0], atol=5e-5)
    assert [r.tolist() for r in res.rounds] == [[0], [1]]
    assert res.defaulted.tolist() == [True, True, False]
    np.testing.assert_allclose(res.equity, [0, 0, 30], atol=1e-12)


def test_no_default_when_everyone_can_pay():
    res = eisenberg_noe(L3, [100, 100, 100])
    np.testing.assert_allclose(res.payments, L3.sum(axis=1))
    assert res.rounds == [] and not res.defaulted.any()
    np.testing.assert_allclose(res.equity, 100 + L3.sum(axis=0) - L3.sum(axis=1))


def test_exact_tie_is_not_a_default():
    # bank 0 owes 10 and has exactly 10: pays in full
    res = eisenberg_noe([[0, 10], [0, 0]], [10, 0])
    assert not res.defaulted.any()


@pytest.mark.parametrize("seniority", ["pari_passu", "external_senior"])
def test_matches_picard_reference_on_random_systems(seniority, solver):
    rng = np.random.default_rng(1)
    for _ in range(40):
        L, e, ext = random_system(rng, int(rng.integers(2, 12)))
        res = eisenberg_noe(L, e, external_liabilities=ext, seniority=seniority)
        p_ref, d_ref = picard_en(L, e, ext, seniority)
        np.testing.assert_allclose(res.payments, p_ref, atol=1e-9)
        assert res.defaulted.tolist() == d_ref.tolist()


def sparse_picard(L, e, ext, alpha=1.0, beta=1.0):
    """Greatest clearing vector (pari passu, Rogers-Veraart costs) by Picard iteration with
    sparse products, down from full payment: the definition, not the algorithm under test."""
    lbar = np.asarray(L.sum(axis=1)).ravel()
    pbar = lbar + ext
    PiT = (sp.diags(np.divide(1.0, pbar, out=np.zeros_like(pbar), where=pbar > 0)) @ L).T.tocsr()
    p = pbar.copy()
    for _ in range(1_000_000):
        inflow = PiT @ p
        p_new = np.where(e + inflow >= pbar, pbar, alpha * e + beta * inflow)
        if np.max(np.abs(p_new - p)) < 1e-13:
            return p_new
        p = p_new
    raise AssertionError("Picard did not converge")


def sparse_network(n, seed, assets=2.5):
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(n), 5)
    cols = (rows + rng.integers(1, n, rows.size)) % n
    L = sp.csr_matrix((rng.exponential(1.0, rows.size), (rows, cols)), shape=(n, n))
    return L, rng.exponential(assets, n), rng.exponential(1.0, n)


@pytest.mark.parametrize("alpha, beta", [(1.0, 1.0), (0.8, 0.9)])
def test_a_sparse_network_of_3000_banks_clears_to_the_picard_vector(alpha, beta):
    """The size where the iteration, not the dense solve, runs (about half the banks
    default, over several rounds)."""
    L, e, ext = sparse_network(3000, seed=11)
    res = rogers_veraart(L, e, alpha=alpha, beta=beta, external_liabilities=ext)
    assert 0.2 < res.defaulted.mean() < 0.8 and len(res.rounds) >= 3
    np.testing.assert_allclose(res.payments, sparse_picard(L, e, ext, alpha, beta), atol=1e-9,
                               rtol=0)


def test_a_nearly_closed_ring_of_defaulted_banks_is_solved_exactly(monkeypatch):
    """Banks that owe almost everything to each other (spectral radius 0.999): the Jacobi
    sweeps alone would take tens of thousands of steps; the Krylov hand-over must still give
    the dense solution."""
    n = 400
    idx = np.arange(n)
    L = sp.csr_matrix((np.ones(n), (idx, (idx + 1) % n)), shape=(n, n))
    ext = np.full(n, 1e-3)
    e = np.random.default_rng(12).uniform(0.0, 1e-3, n)  # every bank short: all default
    monkeypatch.setattr(clearing, "_DENSE_MAX", 10_000)
    dense = eisenberg_noe(L, e, external_liabilities=ext)
    monkeypatch.setattr(clearing, "_DENSE_MAX", 0)
    iterative = eisenberg_noe(L, e, external_liabilities=ext)
    assert dense.defaulted.all()
    np.testing.assert_allclose(iterative.payments, dense.payments, atol=1e-9, rtol=0)


def test_clearing_identity_pari_passu():
    rng = np.random.default_rng(2)
    for _ in range(30):
        L, e, ext = random_system(rng, 25, density=0.15)
        res = eisenberg_noe(L, e, external_liabilities=ext)
        pbar = L.sum(axis=1) + ext
        Pi = np.divide(L, pbar[:, None], out=np.zeros_like(L), where=pbar[:, None] > 0)
        np.testing.assert_allclose(res.payments, np.minimum(pbar, Pi.T @ res.payments + e), atol=1e-10)
        # equity = assets - payments >= 0, zero for defaulters
        np.testing.assert_allclose(res.equity, e + Pi.T @ res.payments - res.payments, atol=1e-10)


def test_external_senior_identity_and_order():
    rng = np.random.default_rng(3)
    for _ in range(30):
        L, e, ext = random_system(rng, 20, density=0.2)
        res = eisenberg_noe(L, e, external_liabilities=ext, seniority="external_senior")
        lbar = L.sum(axis=1)
        Pi = np.divide(L, lbar[:, None], out=np.zeros_like(L), where=lbar[:, None] > 0)
        q = res.interbank_payments
        np.testing.assert_allclose(q, np.minimum(lbar, np.maximum(0, e + Pi.T @ q - ext)), atol=1e-10)
        # external creditors are paid first: a bank paying any interbank debt pays ext in full
        paid_ext = res.payments - q
        assert np.all(paid_ext <= ext + 1e-12)
        assert np.all((q <= 1e-12) | (paid_ext >= ext - 1e-10))
        assert np.all(res.payments <= lbar + ext + 1e-12)


def test_external_senior_bank_below_external_debt_pays_banks_nothing():
    # bank 0 owes 5 outside and 10 to bank 1, has 4: external gets 4, bank 1 gets 0
    res = eisenberg_noe([[0, 10], [0, 0]], [4, 0], external_liabilities=[5, 0],
                        seniority="external_senior")
    assert res.interbank_payments.tolist() == [0.0, 0.0] and res.payments.tolist() == [4.0, 0.0]
    pp = eisenberg_noe([[0, 10], [0, 0]], [4, 0], external_liabilities=[5, 0])
    np.testing.assert_allclose(pp.interbank_payments, [4 * 10 / 15, 0])


def test_sparse_equals_dense():
    rng = np.random.default_rng(4)
    L, e, ext = random_system(rng, 300, density=0.02)
    for seniority in ("pari_passu", "external_senior"):
        a = eisenberg_noe(L, e, external_liabilities=ext, seniority=seniority)
        b = eisenberg_noe(sp.csr_matrix(L), e, external_liabilities=ext, seniority=seniority)
        np.testing.assert_allclose(a.payments, b.payments, atol=1e-10)
        assert [r.tolist() for r in a.rounds] == [r.tolist() for r in b.rounds]


def test_more_external_assets_never_more_defaults():
    rng = np.random.default_rng(5)
    for _ in range(30):
        L, e, ext = random_system(rng, 15)
        base = eisenberg_noe(L, e, external_liabilities=ext)
        richer = eisenberg_noe(L, e + rng.exponential(0.5, 15), external_liabilities=ext)
        assert np.all(richer.defaulted <= base.defaulted)
        assert np.all(richer.payments >= base.payments - 1e-10)


@st.composite
def systems_and_permutations(draw):
    n = draw(st.integers(2, 8))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    L, e, ext = random_system(rng, n)
    perm = rng.permutation(n)
    return L, e, ext, perm


@settings(max_examples=40, deadline=None)
@given(systems_and_permutations(), st.sampled_from(["pari_passu", "external_senior"]),
       st.sampled_from([(1.0, 1.0), (0.5, 0.9)]))
def test_clearing_does_not_depend_on_bank_order(case, seniority, ab):
    L, e, ext, perm = case
    alpha, beta = ab
    a = rogers_veraart(L, e, alpha=alpha, beta=beta, external_liabilities=ext, seniority=seniority)
    b = rogers_veraart(L[np.ix_(perm, perm)], e[perm], alpha=alpha, beta=beta,
                       external_liabilities=ext[perm], seniority=seniority)
    np.testing.assert_allclose(b.payments, a.payments[perm], atol=1e-9)
    np.testing.assert_allclose(b.equity, a.equity[perm], atol=1e-9)
    assert b.defaulted.tolist() == a.defaulted[perm].tolist()
    # bank k of the permuted system is bank perm[k] of the original
    assert [sorted(perm[r].tolist()) for r in b.rounds] == [r.tolist() for r in a.rounds]


# -- Rogers-Veraart -----------------------------------------------------------------------------


def test_rogers_veraart_with_no_costs_equals_eisenberg_noe(solver):
    rng = np.random.default_rng(6)
    for _ in range(20):
        L, e, ext = random_system(rng, 12)
        for seniority in ("pari_passu", "external_senior"):
            rv = rogers_veraart(L, e, alpha=1, beta=1, external_liabilities=ext, seniority=seniority)
            en = eisenberg_noe(L, e, external_liabilities=ext, seniority=seniority)
            p_ref, _ = picard_en(L, e, ext, seniority)
            np.testing.assert_allclose(rv.payments, en.payments, atol=1e-12)
            np.testing.assert_allclose(rv.payments, p_ref, atol=1e-9)


@pytest.mark.parametrize("alpha,beta", [(0.5, 0.5), (0.9, 0.3), (0.0, 1.0), (1.0, 0.0)])
def test_rogers_veraart_matches_brute_force(alpha, beta, solver):
    rng = np.random.default_rng(7)
    for _ in range(25):
        L, e, _ = random_system(rng, int(rng.integers(2, 7)), with_ext=False)
        res = rogers_veraart(L, e, alpha=alpha, beta=beta)
        np.testing.assert_allclose(res.payments, brute_force_rv(L, e, alpha, beta), atol=1e-9)


def test_rogers_veraart_hand_example(solver):
    # 3-bank example with alpha = beta = 0.5: round 1 bank 0 defaults (25 < 30) and pays
    # 0.5 * 10 + 0.5 * (5 + 10) = 12.5; bank 1 then has 10 + 2/3 * 12.5 = 18.33 < 29: defaults.
    # Then p0 = 5 + 0.5 (5/29 p1 + 10), p1 = 5 + 0.5 * 2/3 p0.
    res = rogers_veraart(L3, E3, alpha=0.5, beta=0.5)
    A = np.array([[1, -0.5 * 5 / 29], [-0.5 * 2 / 3, 1]])
    p01 = np.linalg.solve(A, [10, 5])
    np.testing.assert_allclose(res.payments, [*p01, 10], rtol=1e-12)
    assert [r.tolist() for r in res.rounds] == [[0], [1]]


def test_default_costs_never_raise_payments():
    rng = np.random.default_rng(8)
    for _ in range(20):
        L, e, ext = random_system(rng, 10)
        hi = rogers_veraart(L, e, alpha=0.9, beta=0.9, external_liabilities=ext)
        lo = rogers_veraart(L, e, alpha=0.5, beta=0.6, external_liabilities=ext)
        assert np.all(lo.payments <= hi.payments + 1e-10)
        assert np.all(lo.defaulted >= hi.defaulted)


def test_bad_input_names_the_field():
    with pytest.raises(LendsimError, match="seniority"):
        eisenberg_noe(L3, E3, seniority="junior")
    with pytest.raises(LendsimError, match="external_assets"):
        eisenberg_noe(L3, [1, 2])
    with pytest.raises(LendsimError, match="liabilities.*negative"):
        eisenberg_noe(-L3, E3)
    with pytest.raises(LendsimError, match="alpha"):
        rogers_veraart(L3, E3, alpha=1.5)
    with pytest.raises(ValueError):  # also a ValueError for library users
        eisenberg_noe(np.ones((2, 3)), [1, 1])


# -- DebtRank -----------------------------------------------------------------------------------


CHAIN = np.array([[0, 0, 0], [0.5, 0, 0], [0, 0.4, 0]])


@pytest.mark.parametrize("variant", ["original", "linear"])
def test_debtrank_chain_by_hand(variant):
    # h(1) = [1, 0, 0]; bank 1 loses 0.5 * 1, bank 2 then 0.4 * 0.5 = 0.2.
    # DebtRank = sum v h(T) - sum v h(1) = (1 + 0.5 + 0.2)/3 - 1/3 = (0 + 0.5 + 0.2)/3.
    res = debtrank(CHAIN, [1, 1, 1], [1, 0, 0], variant=variant)
    np.testing.assert_allclose(res.h, [1, 0.5, 0.2], atol=1e-15)
    assert res.debtrank == pytest.approx(0.7 / 3, abs=1e-15)
    assert round(res.debtrank, 4) == 0.2333


def test_debtrank_weights_and_equity_scale():
    # exposures in money: bank 1 has equity 10 and 5 at stake on bank 0 -> impact 0.5
    res = debtrank([[0, 0, 0], [5, 0, 0], [0, 8, 0]], [4, 10, 20], [1, 0, 0], weights=[1, 2, 1])
    np.testing.assert_allclose(res.h, [1, 0.5, 0.2])
    assert res.debtrank == pytest.approx((2 * 0.5 + 1 * 0.2) / 4)


def test_two_bank_cycle_original_vs_linear_by_hand():
    lam = [[0, 0.5], [0.5, 0]]
    # original: 0 hits 1 once (0.1), 1 hits 0 once (0.05), then both are inactive
    orig = debtrank(lam, [1, 1], [0.2, 0], variant="original")
    np.testing.assert_allclose(orig.h, [0.25, 0.1])
    # linear: every increment goes around the cycle: h = (I - Lambda)^-1 h(1)
    lin = debtrank(lam, [1, 1], [0.2, 0], variant="linear")
    np.testing.assert_allclose(lin.h, [0.2 / 0.75, 0.1 / 0.75], atol=1e-12)


def test_linear_debtrank_is_the_resolvent_when_no_bank_saturates():
    rng = np.random.default_rng(9)
    n = 40
    lam = np.where(rng.random((n, n)) < 0.1, rng.random((n, n)), 0.0)
    np.fill_diagonal(lam, 0)
    lam *= 0.6 / np.max(np.abs(np.linalg.eigvals(lam)))  # spectral radius 0.6
    h1 = rng.random(n) * 0.01
    res = debtrank(lam, np.ones(n), h1, variant="linear")
    expected = np.linalg.solve(np.eye(n) - lam, h1)
    assert expected.max() < 1
    np.testing.assert_allclose(res.h, expected, atol=1e-10)


def test_original_debtrank_matches_slow_loop():
    rng = np.random.default_rng(10)
    for _ in range(20):
        n = int(rng.integers(2, 15))
        W = np.where(rng.random((n, n)) < 0.3, rng.exponential(1.0, (n, n)), 0.0)
        np.fill_diagonal(W, 0)
        equity = rng.uniform(0.5, 3, n)
        h1 = np.where(rng.random(n) < 0.3, rng.random(n), 0.0)
        res = debtrank(W, equity, h1)
        np.testing.assert_allclose(res.h, slow_debtrank_original((W / equity[:, None]).tolist(), h1.tolist()),
                                   atol=1e-12)
        sparse = debtrank(sp.csr_matrix(W), equity, h1)
        np.testing.assert_allclose(sparse.h, res.h, atol=1e-15)


@settings(max_examples=50, deadline=None)
@given(st.integers(2, 12), st.integers(0, 2**32 - 1), st.sampled_from(["original", "linear"]))
def test_debtrank_does_not_depend_on_bank_order(n, seed, variant):
    rng = np.random.default_rng(seed)
    W = np.where(rng.random((n, n)) < 0.4, rng.exponential(1.0, (n, n)), 0.0)
    np.fill_diagonal(W, 0)
    equity = rng.uniform(0.5, 3, n)
    h1 = np.where(rng.random(n) < 0.4, rng.random(n), 0.0)
    v = rng.uniform(0.1, 1, n)
    perm = rng.permutation(n)
    a = debtrank(W, equity, h1, variant=variant, weights=v)
    b = debtrank(sp.csr_matrix(W[np.ix_(perm, perm)]), equity[perm], h1[perm], variant=variant,
                 weights=v[perm])
    np.testing.assert_allclose(b.h, a.h[perm], atol=1e-12)
    assert b.debtrank == pytest.approx(a.debtrank, abs=1e-12)


def test_debtrank_bad_input():
    with pytest.raises(LendsimError, match="variant"):
        debtrank(CHAIN, [1, 1, 1], [1, 0, 0], variant="nonlinear")
    with pytest.raises(LendsimError, match="initial_shock"):
        debtrank(CHAIN, [1, 1, 1], [2, 0, 0])
    with pytest.raises(LendsimError, match="equity"):
        debtrank(CHAIN, [1, 0, 1], [1, 0, 0])
