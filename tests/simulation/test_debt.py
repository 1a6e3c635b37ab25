"""Debt state and account index (simulation/debt.py) against plain numpy indexing and
per-loan loops (the obvious, slower way)."""

import numpy as np
import pytest

from lendsim.simulation.debt import DebtState, cell_key, cells
from lendsim.simulation.features import N_FEATURES
from lendsim.simulation.ledger import LoanBook, LoanStatus


def test_cells_read_and_write_like_pairs_of_index_arrays():
    rng = np.random.default_rng(2)
    m = rng.random((30, 7))
    expected = m.copy()
    b = rng.choice(30, 12, replace=False).astype(np.int32)
    p = rng.integers(0, 7, 12)
    flat, cell = cells(m, b, p)
    np.testing.assert_array_equal(flat[cell], m[b, p])
    flat[cell] += 1.5
    expected[b, p] += 1.5
    np.testing.assert_array_equal(m, expected)


def test_cells_refuse_an_array_whose_flat_view_would_be_a_copy():
    with pytest.raises(ValueError, match="C-contiguous"):
        cells(np.zeros((6, 4))[:, :2], np.array([0]), np.array([1]))


def test_cell_keys_are_intp_and_do_not_overflow():
    # intp: numpy casts narrower index arrays on every gather and scatter
    b, p = np.array([3, 400_000_000], dtype=np.int32), np.array([2, 5], dtype=np.int16)
    key = cell_key(b, p, 10)
    assert key.dtype == np.intp and key.tolist() == [32, 4_000_000_005]


def _book(rng, n, n_borrowers=30, P=4, term=None):
    L = LoanBook(capacity=8)
    L.add(borrower_idx=rng.integers(0, n_borrowers, n), platform_idx=rng.integers(0, P, n),
          pool_idx=np.zeros(n, dtype=int), principal=rng.uniform(10, 100, n),
          apr=np.full(n, 0.2), instalment=np.full(n, 5.0),
          term=rng.integers(1, 13, n) if term is None else np.full(n, term), step=1,
          is_refinance=False, features=np.zeros((n, N_FEATURES)))
    return L


def test_debt_state_from_book_against_a_loop_over_loans():
    rng = np.random.default_rng(4)
    n_b, P = 30, 4
    L = _book(rng, 120, n_b, P)
    L.status[:] = rng.choice([LoanStatus.CURRENT, LoanStatus.DELINQUENT, LoanStatus.DEFAULTED,
                              LoanStatus.REPAID, LoanStatus.CHARGED_OFF], L.n)
    L.balance[rng.random(L.n) < 0.1] = 0.0  # open loans with nothing left owed
    own = np.zeros((n_b, P))
    for i in range(L.n):
        if L.status[i] <= LoanStatus.DEFAULTED:
            own[L.borrower_idx[i], L.platform_idx[i]] += L.balance[i]
    d = DebtState.from_book(L, n_b, P)
    np.testing.assert_allclose(d.own, own)
    np.testing.assert_allclose(d.total, own.sum(axis=1))
    # a lender counts where something is owed to it
    assert d.n_lenders.tolist() == [int((own[b] > 0).sum()) for b in range(n_b)]
    assert d.own.dtype == np.float64 and d.total.dtype == np.float64


def test_debt_state_reuses_a_spent_matrix_only_when_its_shape_fits():
    rng = np.random.default_rng(5)
    L = _book(rng, 60, 20, 3)
    fresh = DebtState.from_book(L, 20, 3)
    spent = DebtState(np.full((20, 3), 9.0), np.zeros(20), np.zeros(20, dtype=np.int64))
    again = DebtState.from_book(L, 20, 3, reuse=spent)
    # overwritten in place, every cell
    assert again.own.__array_interface__["data"][0] == spent.own.__array_interface__["data"][0]
    for a, b in zip((fresh.own, fresh.total, fresh.n_lenders),
                    (again.own, again.total, again.n_lenders)):
        np.testing.assert_array_equal(a, b)
    narrow = DebtState(np.zeros((20, 2)), np.zeros(20), np.zeros(20, dtype=np.int64))
    wide = DebtState.from_book(L, 20, 3, reuse=narrow)  # a platform entered: no room
    assert not np.shares_memory(wide.own, narrow.own) and wide.own.shape == (20, 3)
    np.testing.assert_array_equal(wide.own, fresh.own)


def test_a_platform_entry_writes_the_matrix_into_the_same_memory():
    rng = np.random.default_rng(6)
    L = _book(rng, 80, 20, 4)
    d = DebtState.from_book(L, 20, 3)  # platform 3 has loans but is not counted yet
    start = d.own.__array_interface__["data"][0]
    for P in range(4, 4 + DebtState.SPARE_PLATFORMS - 2):  # entrants, within the room left
        d = DebtState.from_book(L, 20, P, reuse=d)
        assert d.own.shape == (20, P) and d.own.flags.c_contiguous
        assert d.own.__array_interface__["data"][0] == start
        fresh = DebtState.from_book(L, 20, P)
        for a, b in zip((fresh.own, fresh.total, fresh.n_lenders),
                        (d.own, d.total, d.n_lenders)):
            np.testing.assert_array_equal(a, b)
    # past the room: a new store, with the same numbers
    P = 3 + DebtState.SPARE_PLATFORMS + 1
    d = DebtState.from_book(L, 20, P, reuse=d)
    assert d.own.shape == (20, P) and d.own.__array_interface__["data"][0] != start
    np.testing.assert_array_equal(d.own, DebtState.from_book(L, 20, P).own)


def test_debt_state_of_an_empty_book_is_zeros_of_the_right_shape():
    d = DebtState.from_book(LoanBook(), 5, 3)
    assert d.own.shape == (5, 3) and d.own.dtype == np.float64
    assert d.total.tolist() == [0.0] * 5 and d.n_lenders.tolist() == [0] * 5


def test_add_counts_a_lender_only_for_a_first_loan_at_that_platform():
    d = DebtState(np.zeros((3, 2)), np.zeros(3), np.zeros(3, dtype=np.int64))
    d.own[1, 0] = 50.0
    d.total[1] = 50.0
    d.n_lenders[1] = 1
    # a borrower wins at most once per round: each borrower once per call
    b, p, amt = np.array([1, 2]), np.array([0, 1]), np.array([10.0, 5.0])
    d.add(b, p, amt, d.own_at(b, p))
    assert d.own.tolist() == [[0, 0], [60, 0], [0, 5]]
    assert d.total.tolist() == [0, 60, 5]
    assert d.n_lenders.tolist() == [0, 1, 1]  # platform 0 already lent to borrower 1
    b, p, amt = np.array([1]), np.array([1]), np.array([20.0])
    d.add(b, p, amt, d.own_at(b, p))  # a second lender for borrower 1
    assert d.own[1].tolist() == [60, 20] and d.total[1] == 80 and d.n_lenders[1] == 2


def test_copy_shares_the_matrix_but_not_the_totals():
    d = DebtState(np.zeros((2, 2)), np.zeros(2), np.zeros(2, dtype=np.int64))
    c = d.copy()
    c.add(np.array([0]), np.array([1]), np.array([7.0]), np.array([0.0]))
    assert d.own[0, 1] == 7.0  # this month's lending writes into the shared matrix
    assert d.total[0] == 0.0 and d.n_lenders[0] == 0
    assert c.total[0] == 7.0 and c.n_lenders[0] == 1


def test_widen_gives_entrants_a_column_of_zeros():
    d = DebtState(np.arange(6, dtype=float).reshape(3, 2), np.zeros(3), np.zeros(3, int))
    d.widen(4)
    assert d.own.shape == (3, 4)
    assert d.own[:, :2].tolist() == [[0, 1], [2, 3], [4, 5]] and (d.own[:, 2:] == 0).all()
    d.widen(2)  # never narrows
    assert d.own.shape == (3, 4)
    assert d.own.flags.c_contiguous  # cells() needs it
    # a widened state's memory serves the next month's state
    L = LoanBook()
    again = DebtState.from_book(L, 3, 4, reuse=d)
    assert np.shares_memory(again.own, d.own) and (again.own == 0).all()


def test_seen_by_lender_by_hand():
    d = DebtState(np.zeros((3, 2)), np.array([100.0, 80.0, 30.0]), np.array([2, 3, 1]))
    covered = np.array([True, False, True])
    b, own = np.array([0, 1, 2]), np.array([40.0, 80.0, 0.0])
    debt, lenders = d.seen_by_lender(b, own, covered)
    # covered: the bureau's total, and other lenders (itself not counted when owed)
    assert debt.tolist() == [100.0, 80.0, 30.0]
    assert lenders.tolist() == [1, 0, 1]
    debt, _ = d.seen_by_lender(np.array([1]), np.array([20.0]), covered)
    assert debt.tolist() == [20.0]  # not covered: only its own exposure
