"""The compiled loan-book kernels (lendsim.kernels) against slow per-loan Python loops written
from their docstrings, on random books and on hypothesis-drawn ones."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lendsim import kernels
from lendsim.simulation.ledger import _FIELDS, LoanStatus


def test_status_codes_are_the_ledgers():
    from lendsim.simulation.ledger import MissCause

    assert {s.name: int(s) for s in LoanStatus} == {
        "CURRENT": kernels.CURRENT, "DELINQUENT": kernels.DELINQUENT,
        "DEFAULTED": kernels.DEFAULTED, "CHARGED_OFF": kernels.CHARGED_OFF,
        "REPAID": kernels.REPAID}
    assert {c.name: int(c) for c in MissCause} == {
        "FUNDAMENTAL": kernels.MISS_FUNDAMENTAL, "SOCIAL": kernels.MISS_SOCIAL,
        "PLATFORM_FAILURE": kernels.MISS_PLATFORM_FAILURE}


# ----------------------------------------------------------------- a random book


def book(rng, n, n_pools=5):
    """Loan arrays of the ledger's dtypes, every status, some balances tiny or exactly the
    amount due."""
    instalment = rng.uniform(10, 500, n)
    b = dict(
        status=rng.choice([0, 1, 2, 3, 4], n).astype(np.int8),
        origination_step=rng.integers(0, 8, n).astype(_FIELDS["origination_step"]),
        n_missed=rng.integers(0, 5, n).astype(_FIELDS["n_missed"]),
        balance=instalment * rng.uniform(0.0, 12, n),
        apr=rng.uniform(0, 0.4, n),
        instalment=instalment,
        arrears=instalment * rng.choice([0.0, 0.0, 0.5, 1.0, 2.0], n),
        months_left=rng.integers(0, 13, n).astype(_FIELDS["months_left"]),
        pool_idx=rng.integers(0, n_pools, n).astype(np.intp),
        borrower_idx=rng.integers(0, max(1, n // 3), n).astype(np.intp),
        miss_bits=rng.integers(0, 256, n).astype(np.uint8),
        cause=np.zeros(n, dtype=np.int8),
    )
    if n > 3:
        b["balance"][:2] = 0.0
        b["months_left"][2] = 1
    return b


def copy(b):
    return {k: v.copy() for k, v in b.items()}


# ----------------------------------------------------------------- bill_loans


def slow_bill(t, L, n_pools):
    """Per loan, from the docstring: defaulted -> one more payment behind; current or
    delinquent and booked before t -> a month's interest, billed."""
    rows, due, interest = [], [], np.zeros(n_pools)
    for i in range(len(L["status"])):
        if L["status"][i] == LoanStatus.DEFAULTED:
            L["n_missed"][i] += 1
        elif L["status"][i] <= LoanStatus.DELINQUENT and L["origination_step"][i] < t:
            x = L["balance"][i] * L["apr"][i] / 12.0
            L["balance"][i] += x
            interest[L["pool_idx"][i]] += x
            inst_and_arrears = L["instalment"][i] + L["arrears"][i]
            final = L["months_left"][i] <= 1 or L["balance"][i] <= inst_and_arrears
            rows.append(i)
            due.append(L["balance"][i] if final else inst_and_arrears)
    return np.array(rows, dtype=np.intp), np.array(due), interest


def bill(t, L, n_pools, strategic=None, walked=()):
    """Run the kernel: returns the state (one byte a row), the interest by pool and what each
    borrower owes (nobody strategic unless ``strategic`` says so; ``walked``: rows walked
    away from)."""
    n_b = int(L["borrower_idx"].max()) + 1 if len(L["borrower_idx"]) else 1
    strategic = np.zeros(n_b, dtype=bool) if strategic is None else strategic
    state = np.zeros(len(L["status"]), dtype=np.uint8)
    state[list(walked)] = kernels.WALKED
    interest, owed = np.zeros(n_pools), np.zeros(len(strategic))
    kernels.bill_loans(t, L["status"], L["origination_step"], L["n_missed"], L["balance"],
                       L["apr"], L["instalment"], L["arrears"], L["months_left"],
                       L["pool_idx"], interest, L["borrower_idx"], strategic, state, owed)
    return state, interest, owed


def run_bill(t, L, n_pools):
    """The kernel's billed rows (its state's BILLED bit), what they owe (``due_on``) and the
    interest by pool; with nobody strategic and no one walking away, every billed loan is
    payable and its borrower owes the sum of its loans' amounts due."""
    state, interest, owed = bill(t, L, n_pools)
    assert set(np.unique(state).tolist()) <= {0, kernels.BILLED | kernels.PAYABLE}
    rows = np.flatnonzero(state & kernels.BILLED)
    due = due_on(L, rows)
    np.testing.assert_array_equal(
        owed, kernels.grouped_sum(L["borrower_idx"][rows].astype(np.intp), due,
                                  np.ones(len(rows), dtype=bool), len(owed)))
    return rows, due, interest


def due_on(L, rows):
    return kernels.due_on(rows, L["balance"], L["instalment"], L["arrears"], L["months_left"])


@pytest.mark.parametrize("n", [0, 1, 7, 2000])
def test_bill_loans_matches_loop(n):
    L = book(np.random.default_rng(n), n)
    slow = copy(L)
    got, want = run_bill(5, L, 5), slow_bill(5, slow, 5)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)  # same order of sums: equal to the last bit
    for k in L:
        np.testing.assert_array_equal(L[k], slow[k], err_msg=k)


def test_bill_loans_by_hand():
    # a current loan of 1,200 at 12 %: 12 interest, instalment 100 due; a defaulted loan one
    # more behind; a loan booked this month not billed; a last instalment: the whole balance
    L = dict(status=np.array([0, 2, 0, 1], np.int8),
             origination_step=np.array([1, 1, 3, 1], _FIELDS["origination_step"]),
             n_missed=np.array([0, 3, 0, 1], _FIELDS["n_missed"]),
             balance=np.array([1200.0, 50, 80, 90]),
             apr=np.array([0.12, 0.2, 0.2, 0.0]), instalment=np.full(4, 100.0),
             arrears=np.array([0.0, 0, 0, 100]),
             months_left=np.array([6, 2, 3, 1], _FIELDS["months_left"]),
             pool_idx=np.array([0, 1, 1, 1], np.intp),
             borrower_idx=np.array([0, 1, 2, 0], np.int32))
    rows, due, interest = run_bill(3, L, 2)  # borrower 0 owes 100 + 90 (run_bill checks)
    assert rows.tolist() == [0, 3] and due.tolist() == [100.0, 90.0]
    assert interest.tolist() == [12.0, 0.0]
    assert L["balance"].tolist() == [1212.0, 50, 80, 90] and L["n_missed"].tolist() == [0, 4, 0, 1]


@given(balance=st.floats(0, 1e6), instalment=st.floats(0, 1e5), arrears=st.floats(0, 1e6),
       months_left=st.integers(-1, 60))
def test_amount_due_never_exceeds_the_balance(balance, instalment, arrears, months_left):
    due = kernels.amount_due(balance, instalment, arrears, months_left)
    assert due <= balance
    assert due == balance or due == instalment + arrears


# ----------------------------------------------------------------- settle_loans


def slow_settle(rows, amount, due, cause, payable, default_after, L, n_pools):
    """Per loan, from the docstring."""
    paid_by_pool = np.zeros(n_pools)
    paid_by_borrower = np.zeros(len(L["borrower_idx"]))  # at least one slot a borrower
    missed, repaid, defaulted = [], [], []
    tol = 1 - 1e-12
    for j, i in enumerate(rows):
        a, d = amount[j], due[j]
        if payable[j]:
            paid_by_borrower[L["borrower_idx"][i]] += a
        full = a >= d * tol
        if full:
            behind = 0
        elif a < min(L["instalment"][i], d) * tol:
            behind = L["n_missed"][i] + 1
        else:
            behind = L["n_missed"][i]
        L["balance"][i] -= a
        if a > 0:
            paid_by_pool[L["pool_idx"][i]] += a
        L["miss_bits"][i] = ((int(L["miss_bits"][i]) << 1) | (not full)) % 256
        L["n_missed"][i] = behind
        L["months_left"][i] = max(L["months_left"][i] - 1, 0)
        if full:
            L["arrears"][i] = 0.0
            if abs(L["balance"][i]) < 1e-9:
                L["balance"][i] = 0.0
            L["status"][i] = LoanStatus.REPAID if L["balance"][i] <= 0 else LoanStatus.CURRENT
            if L["status"][i] == LoanStatus.REPAID:
                repaid.append(i)
        else:
            missed.append(i)
            L["arrears"][i] = d - a
            L["cause"][i] = cause[j]
            if behind >= default_after:
                L["status"][i] = LoanStatus.DEFAULTED
                defaulted.append(i)
            else:
                L["status"][i] = LoanStatus.DELINQUENT if behind > 0 else LoanStatus.CURRENT
    return ([np.array(x, dtype=np.intp) for x in (missed, repaid, defaulted)], paid_by_pool,
            paid_by_borrower)


def run_settle(state, part_paid, social, default_after, L, n_pools):
    paid, by_borrower = np.zeros(n_pools), np.zeros(len(L["borrower_idx"]))
    out = kernels.settle_loans(state, part_paid, social, L["borrower_idx"], default_after,
                               L["n_missed"], L["instalment"], L["balance"], L["arrears"],
                               L["miss_bits"], L["status"], L["months_left"], L["cause"],
                               L["pool_idx"], paid, by_borrower)
    return list(out), paid, by_borrower


def settle_case(rng, n):
    """A billed book and a month's payments: each billed loan paid in full, not payable
    (nothing), or reached in part by the payment order (nothing, some, or all up to
    rounding); some unpaid loans lost to a failure, some borrowers' misses social. Returns
    the book, the kernel's inputs (state, part payments, social) and, for the loop, the
    billed rows, the amounts paid and due and each loan's miss cause."""
    L = book(rng, n)
    rows, due, _ = run_bill(5, L, 5)
    state = np.zeros(n, dtype=np.uint8)
    state[rows] = kernels.BILLED
    kind = rng.choice(["full", "none", "part"], len(rows))
    share = rng.choice([0.0, 0.3, 1 - 1e-14, 0.99], len(rows))
    amount = np.where(kind == "full", due, np.where(kind == "part", due * share, 0.0))
    state[rows[kind != "none"]] |= kernels.PAYABLE
    state[rows[kind == "full"]] |= kernels.FULL
    lost = (kind == "none") & (rng.random(len(rows)) < 0.5)
    state[rows[lost]] |= kernels.LOST_TO_FAILURE
    social = rng.random(max(1, n // 3)) < 0.4
    cause = np.where(lost, kernels.MISS_PLATFORM_FAILURE,
                     np.where(social[L["borrower_idx"][rows]], kernels.MISS_SOCIAL,
                              kernels.MISS_FUNDAMENTAL)).astype(np.int8)
    return (L, (state, amount[kind == "part"], social),
            (rows, amount, due, cause, kind != "none"))


@pytest.mark.parametrize("n", [0, 1, 9, 3000])
@pytest.mark.parametrize("default_after", [1, 3])
def test_settle_loans_matches_loop(n, default_after):
    L, args, loop_args = settle_case(np.random.default_rng(100 + n), n)
    slow = copy(L)
    got = run_settle(*args, default_after, L, 5)
    want = slow_settle(*loop_args, default_after, slow, 5)
    for g, w in zip(got[0], want[0]):
        np.testing.assert_array_equal(g, w)
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(got[2], want[2])  # what each borrower paid
    for k in L:
        np.testing.assert_array_equal(L[k], slow[k], err_msg=k)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 40), default_after=st.integers(1, 4))
def test_settle_loans_matches_loop_hypothesis(seed, n, default_after):
    L, args, loop_args = settle_case(np.random.default_rng(seed), n)
    slow = copy(L)
    got = run_settle(*args, default_after, L, 5)
    want = slow_settle(*loop_args, default_after, slow, 5)
    for g, w in zip(got[0] + [got[1], got[2]], want[0] + [want[1], want[2]]):
        np.testing.assert_array_equal(g, w)
    for k in L:
        np.testing.assert_array_equal(L[k], slow[k], err_msg=k)
    # a loan is repaid only when paid in full, defaulted only when not
    assert not set(got[0][1].tolist()) & set(got[0][0].tolist())
    assert set(got[0][2].tolist()) <= set(got[0][0].tolist())


def test_push_miss_keeps_eight_months():
    bits = np.uint8(0)
    for missed in (True, False, True) + (False,) * 5:
        bits = kernels.push_miss(bits, missed)
    assert int(bits) == 0b10100000
    assert int(kernels.push_miss(bits, False)) == 0b01000000  # the oldest month drops out


# ----------------------------------------------------------------- expected_due


@pytest.mark.parametrize("n", [0, 1, 50, 2000])
def test_expected_due_matches_loop(n):
    L = book(np.random.default_rng(7 + n), n)
    nb = max(1, n // 3)
    want = np.zeros(nb)
    for i in range(n):
        if L["status"][i] <= LoanStatus.DELINQUENT:
            bal = L["balance"][i] * (1.0 + L["apr"][i] / 12.0)
            d = L["instalment"][i] + L["arrears"][i]
            want[L["borrower_idx"][i]] += bal if (L["months_left"][i] <= 1 or bal <= d) else d
    got = kernels.expected_due(L["status"], L["borrower_idx"], L["balance"], L["apr"],
                               L["instalment"], L["arrears"], L["months_left"], nb)
    np.testing.assert_array_equal(got, want)


# ----------------------------------------------------------------- grouped sums, compaction


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 60), groups=st.integers(1, 6))
def test_grouped_sum_matches_loop(seed, n, groups):
    rng = np.random.default_rng(seed)
    key = rng.integers(0, groups, n).astype(np.intp)
    w, mask = rng.normal(0, 100, n), rng.random(n) < 0.6
    want = np.zeros(groups)
    for i in range(n):
        if mask[i]:
            want[key[i]] += w[i]
    np.testing.assert_array_equal(kernels.grouped_sum(key, w, mask, groups), want)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 80), P=st.integers(1, 5),
       banks=st.integers(1, 4))
def test_sum_by_platform_and_bank_matches_loop_and_add_at(seed, n, P, banks):
    """The pools' amounts times each bank's share, summed by platform: a loop pool by pool,
    and the ``numpy.add.at`` the kernel replaced, both to the last bit."""
    rng = np.random.default_rng(seed)
    plat = rng.integers(0, P, n).astype(np.int32)  # the pools' dtype (FundingPools)
    per_pool = rng.normal(0, 1e4, n)
    shares = rng.dirichlet(np.ones(banks), n) * rng.uniform(0.5, 1.0, (n, 1))
    want = np.zeros((P, banks))
    for i in range(n):
        for j in range(banks):
            want[plat[i], j] += per_pool[i] * shares[i, j]
    got = kernels.sum_by_platform_and_bank(plat, per_pool, shares, P)
    np.testing.assert_array_equal(got, want)
    add_at = np.zeros((P, banks))
    np.add.at(add_at, plat, per_pool[:, None] * shares)
    np.testing.assert_array_equal(got, add_at)


def test_sum_by_platform_and_bank_by_hand():
    # pools 0 and 2 are platform 1's, pool 1 platform 0's; two banks
    shares = np.array([[0.5, 0.5], [0.98, 0.0], [0.0, 0.9]])
    got = kernels.sum_by_platform_and_bank(np.array([1, 0, 1], dtype=np.int32),
                                           np.array([100.0, 50.0, 10.0]), shares, 3)
    np.testing.assert_array_equal(got, [[49.0, 0.0], [50.0, 59.0], [0.0, 0.0]])


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 60), cols=st.integers(1, 4))
def test_compaction_matches_loop(seed, n, cols):
    rng = np.random.default_rng(seed)
    status = rng.choice(np.array(list(LoanStatus), dtype=np.int8), n)
    keep = [i for i in range(n) if status[i] <= LoanStatus.DEFAULTED]
    arr = rng.integers(0, 2**32, (n, cols), dtype=np.uint64)
    want = np.array([arr[i] for i in keep]).reshape(len(keep), cols)
    assert kernels.move_open_rows_2d(arr, status) == len(keep)
    np.testing.assert_array_equal(arr[:len(keep)], want)
    one = rng.integers(0, 200, n).astype(np.uint8)
    want_one = np.array([one[i] for i in keep], dtype=np.uint8)
    want_status = np.array([status[i] for i in keep], dtype=np.uint8)
    # the status column moves in the same pass as the column that decides it
    both = (one, status.view(np.uint8))
    assert kernels.move_open_rows(both, status) == len(keep)
    np.testing.assert_array_equal(one[:len(keep)], want_one)
    np.testing.assert_array_equal(status[:len(keep)].view(np.uint8), want_status)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 60), share=st.floats(0, 1))
def test_sample_compaction_matches_loop(seed, n, share):
    """The sampled loans still open keep their features and weights, in order, and their book
    rows become their rank among the open rows (what they will be once the book is
    compacted)."""
    rng = np.random.default_rng(seed)
    status = rng.choice(np.array(list(LoanStatus), dtype=np.int8), n)
    srow = np.flatnonzero(rng.random(n) < share).astype(np.int32)  # LoanBook._srow
    ns = len(srow)
    w = rng.integers(1, 9, ns).astype(np.int32)
    ff = rng.random((ns, 3)).astype(np.float32)
    fb = rng.integers(0, 16, ns).astype(np.uint8)
    fc = rng.integers(0, 40, ns).astype(np.int16)
    open_rank = {}
    for i in range(n):
        if status[i] <= LoanStatus.DEFAULTED:
            open_rank[i] = len(open_rank)
    kept = [j for j in range(ns) if srow[j] in open_rank]
    want = (np.array([open_rank[srow[j]] for j in kept], dtype=np.int64), w[kept], ff[kept],
            fb[kept], fc[kept])
    m = kernels.compact_sample(status, srow, w, ff, fb, fc)
    assert m == len(kept)
    for got, exp in zip((srow, w, ff, fb, fc), want):
        np.testing.assert_array_equal(got[:m], exp)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 400), share=st.floats(0, 1),
       k=st.integers(0, 40), runs=st.integers(1, 4))
def test_sample_positions_match_a_lookup_row_by_row(seed, n, share, k, runs):
    """Each row's place in the sample (the first sampled row not below it, a place past the
    end read as 0) and whether it is sampled, looked up one row at a time; the rows come in
    ascending runs, as the month's matured loans do, or in any order."""
    rng = np.random.default_rng(seed)
    srow = np.flatnonzero(rng.random(n) < share).astype(np.int32)  # LoanBook._srow
    rows = rng.integers(0, n + 2, k).astype(np.int64)
    cuts = np.sort(rng.integers(0, k + 1, runs - 1))
    rows = np.concatenate([np.sort(part) for part in np.split(rows, cuts)])
    for order in (rows, rng.permutation(rows)):
        pos, found = kernels.sample_positions(srow, order)
        for i, r in enumerate(order):
            first = next((j for j, s in enumerate(srow) if s >= r), len(srow))
            assert pos[i] == (first if first < len(srow) else 0)
            assert found[i] == (r in set(srow.tolist()))


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 60), nb=st.integers(1, 70),
       P=st.integers(1, 4))
def test_flagged_loans_matches_loop(seed, n, nb, P):
    """Per loan: flagged when open and an open late loan shares its (borrower, platform)
    cell, or its platform sees spending and its borrower jumped. Up to 70 borrowers x 4
    platforms: cells beyond the first 64-bit word of the kernel's bit set."""
    rng = np.random.default_rng(seed)
    b, p = rng.integers(0, nb, n).astype(np.int32), rng.integers(0, P, n).astype(np.int16)
    late, is_open = rng.random(n) < 0.2, rng.random(n) < 0.8
    jumped, sees = rng.random(nb) < 0.3, rng.random(P) < 0.5
    want = [i for i in range(n) if is_open[i] and (
        any(late[j] and is_open[j] and b[j] == b[i] and p[j] == p[i] for j in range(n))
        or (sees[p[i]] and jumped[b[i]]))]
    assert kernels.flagged_loans(b, p, late, is_open, jumped, sees, nb).tolist() == want


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 30), nb=st.integers(1, 6),
       P=st.integers(1, 5), index=st.sampled_from([np.int32, np.int64]))
def test_owes_at_matches_loop(seed, n, nb, P, index):
    rng = np.random.default_rng(seed)
    # debts of zero, positive and (tiny) negative amounts: only a positive one is owed
    own = rng.choice([0.0, 1e-300, -1e-12, 250.0], size=(nb, P))
    b = rng.integers(0, nb, n).astype(index)
    want = [[own[b[i], j] > 0 for j in range(P)] for i in range(n)]
    got = kernels.owes_at(own, b)
    assert got.dtype == np.bool_ and got.shape == (n, P)
    assert got.tolist() == want


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), nb=st.integers(1, 90), P=st.integers(1, 5),
       share=st.floats(0, 1), index=st.sampled_from([np.int32, np.int64]))
def test_add_debt_matches_loop(seed, nb, P, share, index):
    """The debt state's scatter-add, with rounds both shorter and longer than the kernels'
    prefetch distance, against a loop over the loans."""
    rng = np.random.default_rng(seed)
    own = np.where(rng.random((nb, P)) < 0.4, rng.uniform(0, 5000, (nb, P)), 0.0)
    total = own.sum(axis=1) + rng.uniform(0, 100, nb)
    n_lenders = (own > 0).sum(axis=1).astype(np.int64)
    # a borrower wins at most once a round: distinct borrowers, ascending as in a round
    b = np.flatnonzero(rng.random(nb) < share).astype(index)
    p = rng.integers(0, P, len(b)).astype(np.int16)
    amount = rng.uniform(100, 9000, len(b))
    before = own[b, p].copy()
    want = own.copy(), total.copy(), n_lenders.copy()
    for i in range(len(b)):
        want[0][b[i], p[i]] += amount[i]
        want[1][b[i]] += amount[i]
        want[2][b[i]] += before[i] <= 0
    kernels.add_debt(own, total, n_lenders, b, p, amount, before)
    for got, w in zip((own, total, n_lenders), want):
        np.testing.assert_array_equal(got, w)


def test_prefetch_emits_llvms_hint_and_changes_nothing():
    """``kernels.prefetch`` compiles to LLVM's prefetch (so the hint is really there: a
    build where it compiled to nothing would fail here) on 1-D and 2-D arrays with mixed
    integer index types, reads and writes nothing, and a wrong number of indices is
    refused when the loop compiles."""
    import numba

    @numba.njit
    def gather(vec, mat, b, p):
        s = 0.0
        for i in range(len(b)):
            j = min(i + 3, len(b) - 1)
            kernels.prefetch(vec, b[j])
            kernels.prefetch(mat, (b[j], p[j]))
            kernels.prefetch(mat, (b[j], 0))
            s += vec[b[i]] + mat[b[i], p[i]]
        return s

    rng = np.random.default_rng(5)
    vec, mat = rng.normal(size=50), rng.normal(size=(50, 4))
    b, p = rng.integers(0, 50, 40).astype(np.int32), rng.integers(0, 4, 40).astype(np.int16)
    keep = vec.copy(), mat.copy()
    want = 0.0
    for i in range(len(b)):
        want += vec[b[i]] + mat[b[i], p[i]]
    assert gather(vec, mat, b, p) == want
    np.testing.assert_array_equal(vec, keep[0])
    np.testing.assert_array_equal(mat, keep[1])
    ir = next(iter(gather.inspect_llvm().values()))
    assert "@llvm.prefetch" in ir

    @numba.njit
    def wrong(mat):
        kernels.prefetch(mat, 3)

    with pytest.raises(numba.core.errors.TypingError):
        wrong(mat)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 30), P=st.integers(1, 5),
       share=st.floats(0, 1))
def test_keep_rows_is_take_in_place(seed, n, P, share):
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(n, P))
    u[rng.random((n, P)) < 0.2] = -np.inf
    rows = np.flatnonzero(rng.random(n) < share)
    want = np.take(u, rows, axis=0)
    before = u.__array_interface__["data"][0]
    got = kernels.keep_rows(u, rows)
    assert got.__array_interface__["data"][0] == before  # the same memory
    np.testing.assert_array_equal(got, want)


# ----------------------------------------------------------------- tallies over the book


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 80), nb=st.integers(1, 9),
       P=st.integers(1, 4), bucket_log2=st.sampled_from([-1, 0, 1, 2, 40]),
       copy_loans=st.sampled_from([1, 2, 5, 10**6]))
def test_book_tallies_match_loops(seed, n, nb, P, bucket_log2, copy_loans):
    rng = np.random.default_rng(seed)
    status = rng.integers(0, 5, n).astype(np.int8)
    b = rng.integers(0, nb, n).astype(np.intp)
    p = rng.integers(0, P, n).astype(np.intp)
    pool = rng.integers(0, 3, n).astype(np.intp)
    bal = rng.choice([0.0, 1.5, 100.0, 1e-3], n) * rng.random(n)
    own, total, lenders = np.zeros((nb, P)), np.zeros(nb), np.zeros(nb, dtype=np.int64)
    by_pool, count = np.zeros((3, 3)), np.zeros(P, dtype=np.int64)
    by_platform = np.zeros(P)
    for i in range(n):
        if status[i] <= LoanStatus.DEFAULTED:  # open loans only
            own[b[i], p[i]] += bal[i]
            total[b[i]] += bal[i]
            by_pool[pool[i], status[i]] += bal[i]
            by_platform[p[i]] += bal[i]
            count[p[i]] += 1
    for j in range(nb):
        lenders[j] = sum(own[j, k] > 0 for k in range(P))
    # buckets of 1, 2 or 4 borrowers as well as the default (one bucket at this size) and
    # one wider than the widest allowed (cut to 2^16 borrowers), the open loans copied a bucket at a time, a few buckets or all at once: neither bucketing
    # nor copying in runs may change a sum's order
    got = kernels.debt_by_cell(status, b, p, bal, np.full((nb, P), 7.0),  # overwritten
                               bucket_log2, kernels.DEBT_LOAN_BYTES * copy_loans)
    for g, w in zip(got, (own, total, lenders)):
        np.testing.assert_array_equal(g, w)
        assert g.dtype == w.dtype
    got_pool, got_platform = kernels.balances_by_pool_status(status, pool, bal, 3, p, P)
    np.testing.assert_array_equal(got_pool, by_pool)
    np.testing.assert_array_equal(got_platform, by_platform)
    np.testing.assert_array_equal(
        kernels.book_by_platform(status, np.zeros(n, _FIELDS["n_missed"]), bal, p, P)[5], count)




@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 200))
def test_open_balances_are_the_masked_balances(seed, n):
    rng = np.random.default_rng(seed)
    is_open = rng.random(n) < 0.7
    n_missed = rng.integers(0, 6, n).astype(_FIELDS["n_missed"])
    bal = rng.random(n) * 1000.0
    got = kernels.open_balances(is_open, n_missed, bal)
    for g, mask in zip(got, (is_open, is_open & (n_missed >= 1), is_open & (n_missed >= 3))):
        np.testing.assert_array_equal(g, bal[mask])


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 200))
def test_open_balances_of_an_all_open_book_read_the_column(seed, n):
    """Every loan open (the book after compaction): the open balances are the balance
    column itself, not a copy, and numpy sums them as it sums the masked copy."""
    rng = np.random.default_rng(seed)
    n_missed = rng.integers(0, 6, n).astype(_FIELDS["n_missed"])
    bal = rng.random(n) * 1000.0
    got = kernels.open_balances(np.ones(n, dtype=bool), n_missed, bal)
    assert np.shares_memory(got[0], bal) or n == 0
    np.testing.assert_array_equal(got[0], bal)
    assert got[0].sum() == bal[np.ones(n, dtype=bool)].sum()
    for g, mask in zip(got[1:], (n_missed >= 1, n_missed >= 3)):
        np.testing.assert_array_equal(g, bal[mask])

def test_debt_by_cell_keys_hold_the_last_platform_and_place():
    """A loan's key holds its borrower's place in its bucket in the upper 16 bits and its
    platform in the lower 16: the last place of a bucket of 2^16 borrowers and the last of
    65,536 platforms come back where they were; a 65,537th platform is refused."""
    def loop(b, p, bal, nb, P):
        own = np.zeros((nb, P))
        for i in range(len(b)):
            own[b[i], p[i]] += bal[i]
        return own
    bal = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    # buckets of 2^16 borrowers (and wider asked for: cut to 2^16)
    nb, P = 0x10000 + 3, 2
    b = np.array([0xFFFF, 0x10000, 0xFFFF, 0x10002, 0], dtype=np.int32)
    p = np.array([1, 1, 0, 0, 1], dtype=np.int16)
    for log2 in (16, 17):
        own, total, lenders = kernels.debt_by_cell(np.zeros(5, np.int8), b, p, bal,
                                                   np.full((nb, P), 7.0), log2)
        np.testing.assert_array_equal(own, loop(b, p, bal, nb, P))
        np.testing.assert_array_equal(total, own.sum(axis=1))
        np.testing.assert_array_equal(lenders, (own > 0).sum(axis=1))
    # the last of 65,536 platforms
    nb, P = 3, 0x10000
    b = np.array([0, 2, 2, 1, 0], dtype=np.int32)
    p = np.array([P - 1, 0, P - 1, P - 2, P - 1], dtype=np.int64)
    own, total, lenders = kernels.debt_by_cell(np.zeros(5, np.int8), b, p, bal,
                                               np.full((nb, P), 7.0))
    np.testing.assert_array_equal(own, loop(b, p, bal, nb, P))
    np.testing.assert_array_equal(lenders, [1, 1, 2])
    with pytest.raises(ValueError, match="65,536 platforms"):
        kernels.debt_by_cell(np.zeros(0, np.int8), np.zeros(0, np.int32),
                             np.zeros(0, np.int16), np.zeros(0), np.zeros((1, P + 1)))


def test_debt_by_cell_past_65534_buckets():
    """Buckets of one borrower each, 70,001 of them: each loan's bucket no longer fits the
    two bytes it is noted in below 65,535 buckets."""
    rng = np.random.default_rng(7)
    n, nb, P = 3000, 70_000, 3
    status = rng.integers(0, 5, n).astype(np.int8)
    b = np.r_[rng.integers(0, nb, n - 2), 0, nb - 1].astype(np.int32)
    p = rng.integers(0, P, n).astype(np.int16)
    bal = rng.random(n) * 100.0
    own, total = np.zeros((nb, P)), np.zeros(nb)
    for i in range(n):
        if status[i] <= LoanStatus.DEFAULTED:
            own[b[i], p[i]] += bal[i]
            total[b[i]] += bal[i]
    for copy_loans in (50, 10**6):
        got = kernels.debt_by_cell(status, b, p, bal, np.full((nb, P), 7.0), 0, kernels.DEBT_LOAN_BYTES * copy_loans)
        np.testing.assert_array_equal(got[0], own)
        np.testing.assert_array_equal(got[1], total)
        np.testing.assert_array_equal(got[2], (own > 0).sum(axis=1))

@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_app=st.integers(0, 50), P=st.integers(1, 4),
       cut=st.floats(0, 1))
def test_tally_round_matches_loop(seed, n_app, P, cut):
    """The sums of a month's rounds, added round by round (the applicants split in two
    rounds at ``cut``), are the per-item loop's over all of them, to the last bit."""
    rng = np.random.default_rng(seed)
    seg_a, q_a = rng.integers(0, 3, n_app), rng.integers(0, 5, n_app)
    won = rng.random(n_app) < 0.6
    seg_w, q_w = seg_a[won], q_a[won]
    k = len(seg_w)
    plat, amount = rng.integers(0, P, k), rng.uniform(100, 5000, k)
    apr, el, term = rng.uniform(0, 0.36, k), rng.uniform(0, 0.2, k), rng.choice([1.0, 6, 12], k)
    want = {n: np.zeros(sh) for n, sh in (
        ("apps", 3), ("apps_q", 5), ("approved", 3), ("approved_q", 5), ("orig_s", 3),
        ("apr_s", 3), ("orig_q", 5), ("apr_q", 5), ("orig_p", P), ("apr_p", P),
        ("orig_ps", (P, 3)), ("apr_ps", (P, 3)), ("n_new", P), ("el_p", P), ("exp_p", P))}
    for i in range(n_app):
        want["apps"][seg_a[i]] += 1
        want["apps_q"][q_a[i]] += 1
    for i in range(k):  # from the docstring
        s, q, p, a = seg_w[i], q_w[i], plat[i], amount[i]
        exposure = a * (term[i] + 1.0) / 2.0
        for name, key, x in (("approved", s, 1.0), ("approved_q", q, 1.0), ("orig_s", s, a),
                             ("apr_s", s, a * apr[i]), ("orig_q", q, a),
                             ("apr_q", q, a * apr[i]), ("orig_p", p, a), ("apr_p", p, a * apr[i]),
                             ("orig_ps", (p, s), a), ("apr_ps", (p, s), a * apr[i]),
                             ("n_new", p, 1.0), ("el_p", p, exposure * el[i]),
                             ("exp_p", p, exposure)):
            want[name][key] += x
    got = tuple(np.zeros_like(w) for w in want.values())
    ca = int(cut * n_app)
    cw = int(won[:ca].sum())  # the first round's winners
    for a, w in ((slice(0, ca), slice(0, cw)), (slice(ca, None), slice(cw, None))):
        kernels.tally_round(seg_a[a], q_a[a], seg_w[w], q_w[w], plat[w], amount[w], apr[w],
                            el[w], term[w], got)
    for g, (name, w) in zip(got, want.items()):
        np.testing.assert_array_equal(g, w, err_msg=name)


# ----------------------------------------------------------------- memory (issue 20, item 2)
# numba's allocations are traced by tracemalloc, so what a kernel's results keep alive and the
# most it holds at once can be read off it (bytes, not time).


def traced(call):
    """``call()``'s result, the bytes it keeps alive and the most held during the call. Call
    the kernel once before: loading or compiling it allocates objects that stay."""
    import tracemalloc

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        out = call()
        now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return out, now - before, peak - before


def test_repayment_holds_a_byte_a_loan():
    """Billing writes into one byte a row of the book (its repayment state, allocated by the
    phase) and allocates nothing, not a list of billed rows and amounts due (16 bytes a
    billed loan); settling adds only the outcomes' row numbers (8 bytes each)."""
    k = 200_000
    L = book(np.random.default_rng(4), k)
    L["status"][:] = LoanStatus.CURRENT
    L["origination_step"][:] = 0
    L["months_left"][:] = 1  # the final instalment: paid in full, every loan is repaid
    run_bill(5, copy(L), 5)  # compiled and loaded before tracing
    state, owed = np.zeros(k, dtype=np.uint8), np.zeros(k)
    strategic = np.zeros(k, dtype=bool)
    _, kept, peak = traced(lambda: kernels.bill_loans(
        5, L["status"], L["origination_step"], L["n_missed"], L["balance"], L["apr"],
        L["instalment"], L["arrears"], L["months_left"], L["pool_idx"], np.zeros(5),
        L["borrower_idx"], strategic, state, owed))
    assert (state == kernels.BILLED | kernels.PAYABLE).all()
    assert kept <= 10_000 and peak <= 10_000, (kept, peak)
    state |= kernels.FULL
    social, paid, by_borrower = np.zeros(k, dtype=bool), np.zeros(5), np.zeros(k)
    one = copy(L)
    run_settle(state[:1].copy(), np.zeros(0), social, 3, one, 5)
    out, kept, peak = traced(lambda: kernels.settle_loans(
        state, np.zeros(0), social, L["borrower_idx"], 3, L["n_missed"], L["instalment"],
        L["balance"], L["arrears"], L["miss_bits"], L["status"], L["months_left"], L["cause"],
        L["pool_idx"], paid, by_borrower))
    assert [len(o) for o in out] == [0, k, 0]  # none missed, all repaid, none defaulted
    assert kept <= 8 * k + 10_000, kept
    assert peak <= 8 * k + 10_000, peak  # the repaid rows; before, 24 bytes a loan and more


# ----------------------------------------------------------------- compilation and its cache


def test_kernels_compile_without_a_cache_where_nothing_is_writable(monkeypatch):
    """A read-only install with no writable cache directory: numba itself refuses
    (``cache=True`` raises at decoration, so lendsim would not import); the kernels compile
    uncached instead."""
    import numba
    from numba.core import caching

    monkeypatch.setattr(caching.CacheImpl, "_locator_classes", [])  # no writable place

    def plus_one(x):
        return x + 1

    with pytest.raises(RuntimeError, match="no locator available"):
        numba.njit(cache=True)(plus_one)
    k = kernels.kernel(plus_one)
    assert k(1) == 2
    assert type(k._cache).__name__ == "NullCache"


def test_kernels_are_cached():
    import numba

    dispatchers = {name: k for name, k in vars(kernels).items()
                   if isinstance(k, numba.core.registry.CPUDispatcher)}
    assert {"bill_loans", "settle_loans", "noisy_utility",
            "applicant_features"} <= set(dispatchers)
    for name, k in dispatchers.items():
        assert type(k._cache).__name__ == "FunctionCache", name


# ----------------------------------------------------------------- underwriting's kernels


@settings(max_examples=60, deadline=None)
@given(x=st.lists(st.integers(0, 4).map(float), max_size=70))
def test_stable_argsort_is_numpys_stable_sort(x):
    x = np.array(x, dtype=float)
    np.testing.assert_array_equal(kernels.stable_argsort(x), np.argsort(x, kind="stable"))


def numpy_utility(apr, rep, share, conv, trust, has, beta, tw, bw, loyalty, noise, scale,
                  is_open):
    """The numpy expressions underwriting used before the kernel (2026-12-02), term by term
    in their order."""
    brand = bw * np.log(np.maximum(share, 1e-4))
    if np.ndim(beta) == 0:
        per = -beta * apr + brand + conv
    else:
        per = (brand + conv)[None, :] - np.asarray(beta)[:, None] * apr[None, :]
    u = per + tw * trust[:, None] * rep[None, :] + loyalty * has
    u -= scale * noise
    u[:, ~is_open] = -np.inf
    return u


@pytest.mark.parametrize("per_borrower", [False, True])
@pytest.mark.parametrize("n, P", [(0, 3), (1, 1), (300, 7)])
def test_noisy_utility_is_the_numpy_expression_to_the_bit(per_borrower, n, P):
    from lendsim.agents.rules.choice import platform_utility

    rng = np.random.default_rng(n + P)
    apr, rep, share, conv = (rng.uniform(0.05, 0.4, P), rng.random(P), rng.dirichlet(
        np.ones(P)), rng.normal(size=P))
    trust, has = rng.random(n), rng.random((n, P)) < 0.3
    beta = rng.uniform(5, 30, n) if per_borrower else 24.0
    noise = np.log(rng.standard_exponential((n, P), dtype=np.float32))
    is_open = rng.random(P) < 0.8
    kw = dict(trust_weight=0.7, brand_weight=0.5, loyalty=1.3)
    got = platform_utility(apr, rep, share, conv, trust, has, price_sensitivity=beta,
                           noise=noise, noise_scale=0.6, is_open=is_open, **kw)
    want = numpy_utility(apr, rep, share, conv, trust, has, beta, 0.7, 0.5, 1.3, noise, 0.6,
                         is_open)
    np.testing.assert_array_equal(got, want)


def slow_applicant_view(b, p, debt, covered, late_anyone, late_pairs, risk, noise_sd, normal,
                        income, employed, request):
    """Per applicant, from borrower_features' docstring and DebtState's methods: the features
    but for the two logs, own exposure, debt seen and other lenders seen."""
    X = np.zeros((len(b), 11), dtype=np.float32)
    own, seen, others = np.zeros(len(b)), np.zeros(len(b)), np.zeros(len(b), dtype=np.int64)
    pairs = set(late_pairs.tolist())
    for i, (bi, pi) in enumerate(zip(b, p)):
        o = debt.own[bi, pi]
        inc = max(income[bi], 1.0)
        c = 1.0 if covered[bi] else 0.0
        own[i] = o
        seen[i] = debt.total[bi] if covered[bi] else o
        others[i] = debt.n_lenders[bi] - (o > 0) if covered[bi] else 0
        late = late_anyone[bi] if covered[bi] else (bi * kernels.PAIR_SHIFT + pi) in pairs
        X[i] = [1.0, risk[bi] + noise_sd[pi] * normal[i], 0.0, float(employed[bi]),
                o / (12.0 * inc), c * debt.total[bi] / (12.0 * inc), c * debt.n_lenders[bi],
                c, 0.0, float(late), request[i] / (12.0 * inc)]
    return X, own, seen, others


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 40), nb=st.integers(1, 9),
       P=st.integers(1, 4))
def test_applicant_features_match_loop(seed, n, nb, P):
    from lendsim.simulation.debt import DebtState
    from lendsim.simulation.features import borrower_features, FEATURES

    rng = np.random.default_rng(seed)
    own = np.where(rng.random((nb, P)) < 0.5, rng.uniform(0, 5000, (nb, P)), 0.0)
    debt = DebtState(own, own.sum(axis=1) + rng.uniform(0, 3000, nb) * (rng.random(nb) < 0.5),
                     (own > 0).sum(axis=1) + rng.integers(0, 3, nb))
    b, p = rng.integers(0, nb, n), rng.integers(0, P, n)
    covered, employed = rng.random(nb) < 0.5, rng.random(nb) < 0.8
    # as late_accounts makes them: the pairs' borrowers are exactly those late with anyone
    late_pairs = np.unique(rng.integers(0, nb, 5) * kernels.PAIR_SHIFT + rng.integers(0, P, 5))
    late_anyone = np.zeros(nb, dtype=bool)
    late_anyone[late_pairs // kernels.PAIR_SHIFT] = True
    risk, income = rng.normal(size=nb), rng.choice([0.0, 0.5, 3000.0, 8000.0], nb)
    noise_sd, normal = rng.uniform(0, 1, P), rng.normal(size=n)
    request = np.where(rng.random(n) < 0.2, np.inf, rng.uniform(100, 9000, n))
    term = rng.choice([1, 6, 12], n)
    X, o, seen, others = borrower_features(
        b, p, risk=risk, income=income, is_employed=employed, is_covered=covered, debt=debt,
        noise_sd=noise_sd, income_median=6000.0, normal=normal, term=term, request=request,
        late=(late_anyone, late_pairs))
    want = slow_applicant_view(b, p, debt, covered, late_anyone, late_pairs, risk, noise_sd,
                               normal, income, employed, request)
    logs = [FEATURES.index("log_income"), FEATURES.index("log_term")]
    rest = [j for j in range(len(FEATURES)) if j not in logs]
    np.testing.assert_array_equal(X[:, rest], want[0][:, rest])
    np.testing.assert_array_equal(X[:, logs[0]], np.log(np.maximum(income[b], 1.0) / 6000.0)
                                  .astype(np.float32))
    np.testing.assert_array_equal(X[:, logs[1]], np.log(term / 6.0).astype(np.float32))
    for got, w in zip((o, seen, others), want[1:]):
        np.testing.assert_array_equal(got, w)


def test_applicant_features_refuse_a_term_outside_the_log_table():
    """The log term is looked up by whole term: a term the table does not hold is refused
    with one line naming it, not read from past the table's end."""
    from lendsim.simulation.debt import DebtState
    from lendsim.simulation.features import FEATURES, LOG_TERM, borrower_features

    debt = DebtState(np.zeros((1, 1)), np.zeros(1), np.zeros(1, dtype=np.int64))
    args = dict(risk=np.zeros(1), income=np.full(1, 6000.0), is_employed=np.ones(1, bool),
                is_covered=np.zeros(1, bool), debt=debt, noise_sd=np.zeros(1),
                income_median=6000.0, normal=np.zeros(1), request=np.ones(1),
                late=(np.zeros(1, dtype=bool), np.zeros(0, dtype=np.int64)))
    one = np.zeros(1, dtype=np.int64)
    X = borrower_features(one, one, term=np.array([len(LOG_TERM) - 1]), **args)[0]
    assert X[0, FEATURES.index("log_term")] == np.float32(np.log((len(LOG_TERM) - 1) / 6.0))
    for bad in (0, len(LOG_TERM)):
        with pytest.raises(ValueError, match=f"loan term: {bad}..{bad} months, allowed 1..127"):
            borrower_features(one, one, term=np.array([bad]), **args)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 80), P=st.integers(1, 5))
def test_book_by_platform_matches_loop_and_grouped_sums(seed, n, P):
    rng = np.random.default_rng(seed)
    L = book(rng, n)
    plat = rng.integers(0, P, n).astype(np.int16)
    got = kernels.book_by_platform(L["status"], L["n_missed"], L["balance"], plat, P)
    want = [np.zeros(P) for _ in range(5)] + [np.zeros(P, dtype=np.int64)]
    for i in range(n):
        if L["status"][i] > kernels.DEFAULTED:
            continue
        p, b, m = plat[i], L["balance"][i], L["n_missed"][i]
        want[0][p] += b
        want[5][p] += 1
        for k, hit in ((1, m >= 1), (2, m >= 3), (3, m == 1), (4, m == 2)):
            if hit:
                want[k][p] += b
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    is_open = L["status"] <= kernels.DEFAULTED
    for k, mask in ((0, is_open), (1, is_open & (L["n_missed"] >= 1)),
                    (2, is_open & (L["n_missed"] >= 3))):  # the passes it replaced
        np.testing.assert_array_equal(got[k], kernels.grouped_sum(plat, L["balance"], mask, P))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 60), nb=st.integers(1, 8))
def test_repayment_passes_match_loops(seed, n, nb):
    """billed_rows, billed_before, billing's payable loans and what borrowers owe,
    pay_in_full and what settle_loans says each borrower paid against per-loan loops written
    from their docstrings, on a random billed book."""
    rng = np.random.default_rng(seed)
    L = book(rng, n + 5)
    L["borrower_idx"] = rng.integers(0, nb, n + 5).astype(np.int32)
    slow = copy(L)
    rows, due, _ = slow_bill(5, slow, 5)  # the billed rows and their amounts due
    borrower = L["borrower_idx"]
    pick = rng.random(nb) < 0.5
    picked = [r for r in rows if pick[borrower[r]]]
    np.testing.assert_array_equal(
        kernels.billed_before(5, L["status"], L["origination_step"], borrower, pick), picked)
    walk = rows[rng.random(len(rows)) < 0.2]
    strategic = rng.random(nb) < 0.3
    state, _, owed = bill(5, L, 5, strategic, walk)
    np.testing.assert_array_equal(np.flatnonzero(state & kernels.BILLED), rows)
    np.testing.assert_array_equal(kernels.billed_rows(state, borrower, pick), picked)
    want_p = np.array([not strategic[borrower[r]] and r not in walk for r in rows], dtype=bool)
    want_o = np.zeros(nb)
    for i, r in enumerate(rows):
        if want_p[i]:
            want_o[borrower[r]] += due[i]
    np.testing.assert_array_equal((state[rows] & kernels.PAYABLE) > 0, want_p)
    np.testing.assert_array_equal((state[rows] & kernels.WALKED) > 0, np.isin(rows, walk))
    np.testing.assert_array_equal(owed, want_o)
    cash = owed * rng.choice([0.0, 0.5, 1.0 - 1e-13, 1.0, 2.0], nb)
    kernels.pay_in_full(state, borrower, cash, owed, 1 - 1e-12)
    short = kernels.billed_rows(state, on=kernels.PAYABLE, off=kernels.FULL)
    amount = np.zeros(len(rows))
    for i, r in enumerate(rows):
        b = borrower[r]
        full = want_p[i] and cash[b] >= owed[b] * (1 - 1e-12)
        assert bool(state[r] & kernels.FULL) == full
        assert (r in short) == (want_p[i] and not full)
        amount[i] = due[i] if full else 0.0
    assert (np.diff(short) > 0).all()
    part_paid = rng.uniform(0, 10, len(short))
    amount[np.searchsorted(rows, short)] = part_paid
    want = kernels.grouped_sum(borrower[rows].astype(np.intp), amount, want_p, nb)
    paid, by_borrower = np.zeros(5), np.zeros(nb)
    kernels.settle_loans(state, part_paid, np.zeros(nb, dtype=bool), borrower, 3,
                         L["n_missed"], L["instalment"], L["balance"], L["arrears"],
                         L["miss_bits"], L["status"], L["months_left"], L["cause"],
                         L["pool_idx"], paid, by_borrower)
    np.testing.assert_array_equal(by_borrower, want)
