"""The loan book's array helpers against plain numpy indexing (the obvious, slower way)."""

import numpy as np
import pytest

from lendsim.simulation.features import FEATURES
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


def features(rng, n, n_features=N_FEATURES):
    """Random loan features of the kinds lenders see: 0/1 flags, a count of lenders, and
    float32 values elsewhere."""
    X = rng.normal(size=(n, n_features)).astype(np.float32)
    for f in ("intercept", "is_employed", "is_bureau_covered", "arrears_seen"):
        X[:, FEATURES.index(f)] = rng.integers(0, 2, n)
    X[:, FEATURES.index("bureau_lenders")] = rng.integers(0, 40, n)
    return X


def _book(rng, n, n_features=N_FEATURES):
    L = LoanBook(capacity=4, n_features=n_features)
    L.add(borrower_idx=rng.integers(0, 30, n), platform_idx=rng.integers(0, 5, n),
          pool_idx=rng.integers(0, 7, n), principal=rng.random(n) * 100, apr=rng.random(n),
          instalment=rng.random(n), term=rng.integers(1, 13, n), step=3, is_refinance=False,
          features=features(rng, n, n_features))
    return L


@pytest.mark.parametrize("n_features", [N_FEATURES, N_FEATURES + 2])  # + alternative data
def test_features_come_back_exactly_as_booked(n_features):
    rng = np.random.default_rng(5)
    L = LoanBook(capacity=4, n_features=n_features)
    X = features(rng, 50, n_features)
    L.add(borrower_idx=np.zeros(50, int), platform_idx=np.zeros(50, int),
          pool_idx=np.zeros(50, int), principal=np.ones(50), apr=np.ones(50),
          instalment=np.ones(50), term=np.ones(50, int), step=0, is_refinance=False,
          features=X)  # grows the book from 4 rows: kept across the copy
    np.testing.assert_array_equal(L.features, X)
    rows = rng.choice(50, 20)
    np.testing.assert_array_equal(L.feature_rows(rows), X[rows])
    assert L.feature_rows(rows).dtype == np.float32


@pytest.mark.parametrize("feature, value", [("is_employed", 0.5), ("intercept", 2.0),
                                            ("bureau_lenders", 1.5), ("bureau_lenders", 4e4)])
def test_features_the_book_cannot_keep_exactly_are_refused(feature, value):
    X = features(np.random.default_rng(6), 3)
    X[1, FEATURES.index(feature)] = value
    L = LoanBook()
    with pytest.raises(ValueError, match="loan features"):
        L.add(borrower_idx=np.zeros(3, int), platform_idx=np.zeros(3, int),
              pool_idx=np.zeros(3, int), principal=np.ones(3), apr=np.ones(3),
              instalment=np.ones(3), term=np.ones(3, int), step=0, is_refinance=False,
              features=X)
    assert L.n == 0


@pytest.mark.parametrize("term, step, message", [
    (128, 0, r"loan term: 1\.\.128 does not fit the book's int8 column \(-128\.\.127\)"),
    (0, 32768, r"loan step: 32768\.\.32768 does not fit the book's int16 column"),
    (0, -32769, r"loan step: -32769\.\.-32769")])
def test_loans_beyond_the_books_narrow_columns_are_refused(term, step, message):
    # the parameters' checks keep every loan of a model inside (terms <= 60 months, months
    # -600..10,000); a term or month that wrapped around would be silently wrong
    L = LoanBook()
    _add(L, np.random.default_rng(13), 2, np.ones(2))
    before = {k: getattr(L, k).copy() for k in ("term", "origination_step", "balance")}
    with pytest.raises(ValueError, match=message):
        L.add(borrower_idx=np.zeros(3, int), platform_idx=np.zeros(3, int),
              pool_idx=np.zeros(3, int), principal=np.ones(3), apr=np.ones(3),
              instalment=np.ones(3), term=np.array([1, term, 1]), step=step,
              is_refinance=False, features=features(np.random.default_rng(14), 3))
    assert (L.n, L.ns, L.n_booked) == (2, 2, 2)
    for k, v in before.items():
        np.testing.assert_array_equal(getattr(L, k), v)
    # the widest values that fit are kept as they are
    L.add(borrower_idx=np.zeros(2, int), platform_idx=np.zeros(2, int),
          pool_idx=np.zeros(2, int), principal=np.ones(2), apr=np.ones(2),
          instalment=np.ones(2), term=np.array([127, 1]), step=-32768, is_refinance=False,
          features=features(np.random.default_rng(15), 2))
    assert L.term[2:].tolist() == [127, 1] and L.origination_step[2:].tolist() == [-32768] * 2


STATUSES = [LoanStatus.CURRENT, LoanStatus.DEFAULTED, LoanStatus.REPAID, LoanStatus.CHARGED_OFF]


@pytest.mark.parametrize("pattern", ["random", "open_prefix", "first_closed", "all_open",
                                     "all_closed", "last_closed"])
def test_compact_keeps_the_open_loans_in_order(pattern):
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
    assert L.compact() == (~keep).sum()
    assert L.n == keep.sum()
    for name, old in before.items():
        np.testing.assert_array_equal(getattr(L, name), old[keep])


def _add(L, rng, k, principal):
    L.add(borrower_idx=rng.integers(0, 30, k), platform_idx=rng.integers(0, 5, k),
          pool_idx=np.zeros(k, int), principal=principal, apr=np.ones(k),
          instalment=np.ones(k), term=np.ones(k, int), step=0, is_refinance=False,
          features=features(rng, k))


def test_the_book_keeps_the_features_of_every_kth_loan_across_calls_and_compactions():
    """Against a record kept loan by loan: number the loans 0, 1, ... in the order booked
    (the count runs on across calls of ``add``); with ``keep_every`` = k while loan j is
    booked, its features are kept when j is a multiple of k, and it stands for k loans.
    Compaction drops closed loans and keeps every open sampled loan's features with it.
    Each loan is told apart by its principal."""
    rng = np.random.default_rng(11)
    L = LoanBook(capacity=4)
    kept = {}  # principal -> (features, weight), for every sampled loan
    serial = 0
    for every, sizes in ((1, (3, 4)), (3, (5, 0, 7, 2)), (2, (9,)), (5, (4, 11))):
        L.keep_every = every
        for k in sizes:
            principal = np.arange(serial, serial + k) + 0.5
            X = features(rng, k)
            L.add(borrower_idx=np.zeros(k, int), platform_idx=np.zeros(k, int),
                  pool_idx=np.zeros(k, int), principal=principal, apr=np.ones(k),
                  instalment=np.ones(k), term=np.ones(k, int), step=0, is_refinance=False,
                  features=X)
            for i in range(k):
                if (serial + i) % every == 0:
                    kept[principal[i]] = (X[i], every)
            serial += k
        # close a random third, then compact: the record drops them too
        closed = rng.random(L.n) < 0.3
        L.status[closed] = LoanStatus.REPAID
        for p in L.principal[closed]:
            kept.pop(p, None)
        L.compact()
        rows = np.flatnonzero(L.is_sampled(np.arange(L.n)))
        assert sorted(L.principal[rows]) == sorted(kept)
        np.testing.assert_array_equal(L.feature_rows(rows),
                                      np.array([kept[p][0] for p in L.principal[rows]]))
        assert L.sample_weight(rows).tolist() == [kept[p][1] for p in L.principal[rows]]
        X, w = L.training_rows(rows[::-1])  # any order: one search gives both
        np.testing.assert_array_equal(X, np.array([kept[p][0] for p in L.principal[rows[::-1]]]))
        assert w.tolist() == [kept[p][1] for p in L.principal[rows[::-1]]]
    assert L.ns < L.n  # some loans were not sampled
    with pytest.raises(KeyError, match="not kept"):
        L.feature_rows(np.arange(L.n))


def test_a_refused_feature_row_leaves_a_sampling_book_as_it_was():
    rng = np.random.default_rng(12)
    L = LoanBook()
    L.keep_every = 2
    _add(L, rng, 5, np.ones(5))
    n, ns = L.n, L.ns
    X = features(rng, 3)
    X[1, FEATURES.index("is_employed")] = 0.5  # loan 6 of the book: sampled (0, 2, 4, 6)
    with pytest.raises(ValueError, match="loan features"):
        L.add(borrower_idx=np.zeros(3, int), platform_idx=np.zeros(3, int),
              pool_idx=np.zeros(3, int), principal=np.ones(3), apr=np.ones(3),
              instalment=np.ones(3), term=np.ones(3, int), step=0, is_refinance=False,
              features=X)
    assert (L.n, L.ns, L.n_booked) == (n, ns, 5)


def test_the_parameters_ranges_keep_every_loan_inside_the_books_columns():
    """The book's counts are int8 and its months int16 because the parameters' checks
    bound them; widening one of these ranges must widen the column too."""
    import dataclasses

    from lendsim.simulation.ledger import _FIELDS
    from lendsim.simulation.params import PlatformParams, SimulationParams
    from lendsim.simulation.platform_types import PlatformTypeParams

    def hi(cls, name):
        return next(f for f in dataclasses.fields(cls) if f.name == name).metadata["hi"]

    fits = {k: np.iinfo(v) for k, v in _FIELDS.items()
            if k in ("term", "months_left", "n_missed", "origination_step")}
    term = hi(PlatformTypeParams, "term_months")
    assert term <= fits["term"].max and term <= fits["months_left"].max
    # payments behind: a defaulted loan falls one more behind a month until charged off,
    # the month it reaches its lender's threshold; a delinquent one defaults at its own
    behind = max(hi(PlatformTypeParams, "chargeoff_after_missed"),
                 hi(PlatformParams, "chargeoff_after_missed"),
                 hi(PlatformParams, "default_after_missed")) + 1
    assert behind <= fits["n_missed"].max
    sim = SimulationParams
    assert -hi(sim, "burn_in") >= fits["origination_step"].min
    assert hi(sim, "steps") <= fits["origination_step"].max
