"""The loan book's array helpers against plain numpy indexing (the obvious, slower way)."""

import numpy as np
import pytest

from lendsim.simulation.ledger import N_FEATURES, LoanBook, LoanStatus, put_rows


def test_put_rows_writes_the_same_as_row_assignment():
    rng = np.random.default_rng(0)
    a = rng.random((50, N_FEATURES)).astype(np.float32)
    expected = a.copy()
    rows = rng.choice(50, 20, replace=False)
    values = rng.random((20, N_FEATURES))  # float64: cast like numpy's assignment
    put_rows(a, rows, values)
    expected[rows] = values
    np.testing.assert_array_equal(a, expected)


def test_put_rows_reaches_the_array_behind_a_view():
    big = np.zeros((10, 3), dtype=np.float32)
    put_rows(big[:4], np.array([3, 1]), np.array([[1, 2, 3], [4, 5, 6]]))
    assert big[3].tolist() == [1, 2, 3] and big[1].tolist() == [4, 5, 6]
    assert big[[0, 2, 4]].sum() == 0


def _book(rng, n):
    L = LoanBook(capacity=4)
    L.add(borrower_idx=rng.integers(0, 30, n), platform_idx=rng.integers(0, 5, n),
          pool_idx=rng.integers(0, 7, n), principal=rng.random(n) * 100, apr=rng.random(n),
          instalment=rng.random(n), term=rng.integers(1, 13, n), step=3, is_refinance=False,
          features=rng.random((n, N_FEATURES)))
    return L


STATUSES = [LoanStatus.CURRENT, LoanStatus.DEFAULTED, LoanStatus.REPAID, LoanStatus.CHARGED_OFF]


@pytest.mark.parametrize("pattern", ["random", "open_prefix", "first_closed", "all_open",
                                     "all_closed", "last_closed"])
def test_compact_keeps_the_open_loans_in_order_and_maps_old_rows(pattern):
    rng = np.random.default_rng(1)
    L = _book(rng, 40)
    status = rng.choice(STATUSES, 40)
    if pattern == "open_prefix":  # an open block, then a closed one
        status[:15] = LoanStatus.CURRENT
        status[15:25] = LoanStatus.REPAID
    elif pattern == "first_closed":
        status[0] = LoanStatus.REPAID
    elif pattern == "all_open":
        status[:] = LoanStatus.CURRENT
    elif pattern == "all_closed":
        status[:] = LoanStatus.REPAID
    elif pattern == "last_closed":
        status[:] = LoanStatus.CURRENT
        status[-1] = LoanStatus.CHARGED_OFF
    L.status[:] = status
    keep = L.status <= LoanStatus.DEFAULTED
    before = {name: getattr(L, name).copy() for name in ("borrower_idx", "balance", "status",
                                                         "term", "features")}
    new_row = L.compact()
    assert L.n == keep.sum()
    for name, old in before.items():
        np.testing.assert_array_equal(getattr(L, name), old[keep])
    np.testing.assert_array_equal(new_row[keep], np.arange(keep.sum()))
    assert (new_row[~keep] == -1).all()
