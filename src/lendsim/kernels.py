"""Compiled loops (numba): the loan book's passes (billing, settlement, compaction, grouped
sums) and underwriting's (borrowers' utilities and choices, applicant features, capacity
rationing, booking features).

Each kernel is a plain function of arrays (and, where a rule is random, of draws made
beforehand with the model's one ``numpy.random.Generator``): no kernel draws a random number,
so a seed gives the same numbers whatever runs the model. Each is compiled once per argument
types with ``cache=True``, so later processes load the machine code instead of compiling it:
numba keeps it in ``__pycache__`` next to this file, or, when that is not writable (a read-only
install), in the user's cache directory (``~/.cache/numba``), or wherever ``NUMBA_CACHE_DIR``
says. Where none of these is writable the kernels compile in every process instead (a few
seconds; README, "Performance"). Each has a slow per-loan version in the tests.

A helper kernel passed arrays costs something at every call, whether numba inlines it or not:
``flagged_loans``, whose loop does little else, ran four times slower with its per-loan test in
such a helper than with the test written out. Where the loop does more per item
(``applicant_features`` asking ``_sees_arrears`` once an applicant) the call made no
measurable difference, and the rule stays in one helper.

A loop that reads per-borrower arrays at the borrowers of its rows (billing, paying in full,
settlement, what borrowers expect to owe, and underwriting's applicant features, accounts
and new debts) asks for those entries ``PREFETCH_AHEAD`` rows ahead (:func:`prefetch`), so
that the cache misses of a large market overlap instead of following each other: at 10^6
borrowers a month took about 13 % less (benchmarks/README.md, "Gathers that ask for their
memory ahead"). A prefetch is a hint and changes no number.

A kernel adds each loan's amount to its group's sum in the book's row order, which is the
order ``numpy.bincount`` uses: the sums are the numpy code's to the last bit (``debt_by_cell``
regroups the loans by borrower first, keeping that order within every sum).

This module imports nothing from the rest of lendsim, so the agents' rules and the simulation
both build on it. Loan status codes are ``lendsim.simulation.ledger.LoanStatus``'s values (a
test checks they agree).
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils
from numba.extending import intrinsic

# LoanStatus's values (numba compiles plain integer constants into the loops)
CURRENT, DELINQUENT, DEFAULTED, CHARGED_OFF, REPAID = 0, 1, 2, 3, 4
# MissCause's values
MISS_FUNDAMENTAL, MISS_SOCIAL, MISS_PLATFORM_FAILURE = 0, 1, 2

#: a payment equal to the amount due up to rounding counts as paid in full
PAID_TOL = 1.0 - 1e-12


#: how many items ahead a gathering loop asks for the memory it will read (``prefetch``)
PREFETCH_AHEAD = 16


@intrinsic
def prefetch(typingctx, arr, idx):
    """Ask the CPU to start loading ``arr[idx]`` into its caches and go on without waiting
    (LLVM's ``llvm.prefetch``: a read, kept in every cache level; ``idx`` an integer, or a
    tuple of integers for a 2-D array). A hint: LLVM's language reference gives it no
    effect on what the program computes, only on its speed.

    Why: a loop that reads per-borrower arrays at the borrowers of its rows (applicants in
    ascending order, a few borrowers apart) misses the cache at nearly every read of an
    array larger than the cache, and the hardware's prefetcher does not follow gaps that
    vary. Asking for the row ``PREFETCH_AHEAD`` items ahead overlaps those misses:
    ``applicant_features`` at 10^6 borrowers took 0.42 of its time before
    (benchmarks/README.md, "Gathers that ask for their memory ahead"). numba offers no
    prefetch of its own, so this is a numba intrinsic, the extension API for emitting LLVM
    instructions (numba's documentation, "High-level extension API", ``@intrinsic``).
    """
    if isinstance(idx, numba.types.Integer):
        idx_types = [idx]
    elif isinstance(idx, numba.types.BaseTuple):
        idx_types = list(idx.types)
    else:
        return None
    if (not isinstance(arr, numba.types.Array) or len(idx_types) != arr.ndim
            or not all(isinstance(t, numba.types.Integer) for t in idx_types)):
        return None

    def codegen(context, builder, sig, args):
        aryty = sig.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        values = ([args[1]] if isinstance(sig.args[1], numba.types.Integer)
                  else cgutils.unpack_tuple(builder, args[1], len(idx_types)))
        ind = [context.cast(builder, v, t, numba.types.intp)
               for v, t in zip(values, idx_types)]
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, ind, wraparound=False,
                                       boundscheck=False)
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn = builder.module.declare_intrinsic(
            "llvm.prefetch", [i8p], ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]))
        # read (0), keep in all levels (3), data cache (1)
        builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0),
                          ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return numba.types.void(arr, idx), codegen


def kernel(fn):
    """``numba.njit(cache=True)``, or plain ``numba.njit`` where numba finds no writable place
    for its cache (it would refuse to compile otherwise, and lendsim would not import)."""
    try:
        return numba.njit(cache=True)(fn)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return numba.njit(fn)


@kernel
def amount_due(balance, instalment, arrears, months_left):
    """This month's amount due on one performing loan, RMB.

    The instalment plus the arrears (what earlier months left unpaid, RMB), and the whole
    balance in the final month or once the balance is below that sum. ``balance`` (RMB)
    already includes this month's interest; ``months_left``: instalments left, months.

    Examples:
        >>> amount_due(500.0, 20.0, 15.0, 6), amount_due(30.0, 20.0, 15.0, 6)
        (35.0, 30.0)
    """
    due = instalment + arrears
    if months_left <= 1 or balance <= due:
        return balance
    return due


@kernel
def payments_behind(n_missed, paid, due, instalment):
    """Payments behind after this month's payment (a loan's delinquency count, docs/ODD.md
    7.10).

    A loan whose payment covers all that is due is current (0). Otherwise it is one more
    payment behind when it paid less than this month's instalment (``min(instalment, due)``):
    a month without a full instalment adds a month of delinquency even if part was paid. A
    payment of at least the instalment but less than the arrears keeps the count (the loan
    kept pace without catching up). With all-or-nothing payments this is the count of
    consecutive missed months.

    Args:
        n_missed: payments behind before this month's payment.
        paid: amount paid this month, RMB (0 <= paid <= due).
        due: amount due this month (:func:`amount_due`), RMB.
        instalment: the loan's level instalment, RMB.

    Examples:
        >>> [payments_behind(n, p, d, 20.0) for n, p, d in
        ...  ((0, 20.0, 20.0), (1, 10.0, 40.0), (1, 25.0, 40.0), (2, 0.0, 60.0))]
        [0, 2, 1, 3]
    """
    if paid >= due * PAID_TOL:
        return 0
    if paid < min(instalment, due) * PAID_TOL:
        return n_missed + 1
    return n_missed


@kernel
def push_miss(miss_bits, missed):
    """A loan's repayment history after this month's bill (docs/ODD.md 7.21): bit 0 = this
    month's instalment missed or paid only in part, bit k = k months ago (uint8, the last 8
    months: the bit 8 months back drops out).

    Examples:
        >>> int(push_miss(np.uint8(0b101), True)), int(push_miss(np.uint8(0b10000001), False))
        (11, 2)
    """
    return np.uint8(((miss_bits << 1) | missed) & 0xFF)


#: A loan's repayment state in the month (one byte a row of the book, bits): billed this
#: month; its borrower walked away from its failed lender; to be paid (billed, not walked
#: away from, its borrower not defaulting strategically); paid in full; unpaid although its
#: borrower would have paid it had the lender not failed (docs/ODD.md 7.9, 7.17.3).
BILLED, WALKED, PAYABLE, FULL, LOST_TO_FAILURE = 1, 2, 4, 8, 16


@kernel
def is_billed(t, status, origination_step):
    """Whether a loan is billed in month ``t``: current or delinquent, and booked before
    ``t`` (the first instalment falls due the month after origination)."""
    return status <= DELINQUENT and origination_step < t


@kernel
def billed_before(t, status, origination_step, key, select):
    """The rows :func:`bill_loans` will bill in month ``t`` whose ``select[key[i]]`` holds
    (``key``: a column of the book, such as its platforms), ascending: known before
    billing, so that walking away (``WALKED``) can be decided first."""
    k = 0
    for i in range(len(status)):
        if select[key[i]] and is_billed(t, status[i], origination_step[i]):
            k += 1
    rows = np.empty(k, dtype=np.intp)
    k = 0
    for i in range(len(status)):
        if select[key[i]] and is_billed(t, status[i], origination_step[i]):
            rows[k] = i
            k += 1
    return rows


@kernel
def bill_loans(t, status, origination_step, n_missed, balance, apr, instalment, arrears,
               months_left, pool_idx, interest_by_pool, borrower_idx, strategic, state,
               owed):
    """Phase 7's first pass over the book: age defaulted loans, accrue a month's interest on
    performing loans, bill them, and add up what each borrower means to pay.

    A defaulted loan pays nothing and falls one more payment behind (``n_missed`` += 1). A
    loan :func:`is_billed` in month ``t`` accrues ``balance * apr / 12`` (RMB; ``apr``
    annual, fraction), added to ``balance`` and to its funding pool's entry of
    ``interest_by_pool`` (RMB, one entry per pool, added to in place), and is marked
    ``BILLED`` in ``state`` (one byte a row, in place; on entry 0, or ``WALKED`` for the
    loans whose borrowers walked away from their failed lender). A billed loan not walked
    away from, whose borrower is not ``strategic`` (per borrower), is also marked
    ``PAYABLE`` and what is due on it (:func:`amount_due`, after the interest) is added to
    its borrower's entry of ``owed`` (RMB, per borrower, in place, in row order).

    What a billed loan owes is not stored: nothing changes its columns between billing and
    settlement, so every later pass works it out again (:func:`due_on`). The month then
    holds a byte a loan, where a list of billed rows and their amounts would take 16 (150 MB
    at 10^6 borrowers, freshly faulted in every month).
    """
    n = len(status)
    for i in range(n):
        if i + PREFETCH_AHEAD < n:  # the borrower arrays' entries a few loans on
            bj = borrower_idx[i + PREFETCH_AHEAD]
            prefetch(owed, bj)
            prefetch(strategic, bj)
        s = status[i]
        if s == DEFAULTED:
            n_missed[i] += 1
        elif is_billed(t, s, origination_step[i]):
            interest = balance[i] * apr[i] / 12.0
            balance[i] += interest
            interest_by_pool[pool_idx[i]] += interest
            w = state[i] | BILLED
            b = borrower_idx[i]
            if not w & WALKED and not strategic[b]:
                w |= PAYABLE
                owed[b] += amount_due(balance[i], instalment[i], arrears[i], months_left[i])
            state[i] = w


@kernel
def due_on(rows, balance, instalment, arrears, months_left):
    """What the billed loans ``rows`` owe this month (:func:`amount_due` of their columns
    after billing), RMB, in the order of ``rows``."""
    out = np.empty(len(rows))
    for j in range(len(rows)):
        i = rows[j]
        out[j] = amount_due(balance[i], instalment[i], arrears[i], months_left[i])
    return out


@kernel
def billed_rows(state, key=None, select=None, on=BILLED, off=0):
    """The rows whose ``state`` has the bits ``on`` and none of ``off`` (by default: the
    billed rows), ascending; with ``key`` and ``select``, only those whose
    ``select[key[i]]`` holds (``key``: a column of the book, such as its platforms or
    borrowers)."""
    k = 0
    for i in range(len(state)):
        if state[i] & on == on and not state[i] & off and (select is None
                                                           or select[key[i]]):
            k += 1
    rows = np.empty(k, dtype=np.intp)
    k = 0
    for i in range(len(state)):
        if state[i] & on == on and not state[i] & off and (select is None
                                                           or select[key[i]]):
            rows[k] = i
            k += 1
    return rows


@kernel
def pay_in_full(state, borrower_idx, cash, owed, full_share):
    """Who pays in full: the ``PAYABLE`` loans of a borrower whose ``cash`` covers
    ``full_share`` of what it owes (``owed``, RMB) are marked ``FULL`` in ``state`` (in
    place); the others are left for the payment order to reach (``billed_rows(state,
    on=PAYABLE, off=FULL)``)."""
    n = len(state)
    for i in range(n):
        if i + PREFETCH_AHEAD < n:  # the borrower arrays' entries a few loans on
            bj = borrower_idx[i + PREFETCH_AHEAD]
            prefetch(cash, bj)
            prefetch(owed, bj)
        s = state[i]
        if s & PAYABLE:
            b = borrower_idx[i]
            if cash[b] >= owed[b] * full_share:
                state[i] = s | FULL


@kernel
def pay_in_priority(borrower_idx, due, cash, first=None):
    """What a short-of-cash borrower pays on each loan, in the order of payment (docs/ODD.md
    7.9): per borrower, the loans ``first`` marks (if given) before the others, then the
    smallest ``due`` first, ties in the order given; each paid in full while the running
    total due stays within ``cash`` (per borrower, RMB, times 1 + 1e-12), the first loan it
    does not cover gets what cash is left, the rest nothing.

    The order is ``numpy.lexsort((due, ~first, borrower_idx))``'s: the loans are counted
    into their borrowers' places (a stable counting sort, one slot a borrower of ``cash``),
    and each borrower's few loans put in order by insertion. A borrower's running total is
    one running sum over all loans in that order less its value where the borrower's loans
    begin, the arithmetic of ``numpy.cumsum`` over the sorted loans, which the rule used
    before this kernel, to the last bit.

    Returns:
        (paid, RMB, in the order given; whether each is paid in full, boolean).
    """
    n, n_b = len(due), len(cash)
    start = np.zeros(n_b + 1, dtype=np.int64)
    for i in range(n):
        start[borrower_idx[i] + 1] += 1
    for b in range(n_b):
        start[b + 1] += start[b]
    order = np.empty(n, dtype=np.intp)
    for i in range(n):
        b = borrower_idx[i]
        order[start[b]] = i
        start[b] += 1
    paid = np.empty(n)
    full = np.empty(n, dtype=np.bool_)
    run = base = 0.0
    g = 0
    while g < n:
        b = borrower_idx[order[g]]
        h = g + 1
        while h < n and borrower_idx[order[h]] == b:
            h += 1
        for k in range(g + 1, h):  # insertion sort: stable, and groups are small
            i = order[k]
            late_i = 0 if first is None or first[i] else 1
            j = k
            while j > g:
                o = order[j - 1]
                late_o = 0 if first is None or first[o] else 1
                if late_o > late_i or (late_o == late_i and due[o] > due[i]):
                    order[j] = o
                    j -= 1
                else:
                    break
            order[j] = i
        limit = cash[b] * (1 + 1e-12)
        for k in range(g, h):
            i = order[k]
            d = due[i]
            run += d
            cum = run - base
            full[i] = cum <= limit
            if full[i]:
                paid[i] = d
            else:
                paid[i] = min(max(cash[b] - (cum - d), 0.0), d)
        base = run
        g = h
    return paid, full


@kernel
def settle_loans(state, part_paid, social, borrower_idx, default_after, n_missed, instalment,
                 balance, arrears, miss_bits, status, months_left, loan_cause, pool_idx,
                 paid_by_pool, paid_by_borrower):
    """Apply a month's payments to the billed loans (docs/ODD.md 7.9, 7.10).

    A billed loan (``state`` has ``BILLED``) owes :func:`amount_due` of its columns, ``d``,
    and pays ``a``: all of it if ``FULL``; its entry of ``part_paid`` if ``PAYABLE`` but not
    ``FULL`` (RMB, one per such loan, in row order); else nothing. Paid in full (up to
    rounding), it is current, its arrears cleared, and repaid once its balance is gone (a
    balance within 1e-9 RMB of zero is zero). Paid less, it keeps ``d - a`` as arrears, takes
    the miss's cause (``MissCause``: PLATFORM_FAILURE if ``LOST_TO_FAILURE``, else SOCIAL
    where its borrower's non-payment was its contacts' doing, ``social`` per borrower, else
    FUNDAMENTAL), is :func:`payments_behind` and delinquent while behind, and defaulted at
    ``default_after`` payments behind. Either way the balance falls by the payment, one
    instalment fewer is left and the month enters the loan's repayment history
    (:func:`push_miss`). Payments are added to their pools' entries of ``paid_by_pool`` and
    the payments of ``PAYABLE`` loans to their borrowers' entries of ``paid_by_borrower``
    (RMB, in place, in row order: what each borrower pays this month). The loan arrays are
    changed in place, and ``state`` ends holding each loan's outcome (bit 0 missed, 1
    repaid, 2 defaulted).

    Returns:
        rows of the loans (ascending) not paid in full, repaid, and defaulted now.
    """
    n_mi = n_re = n_de = 0
    k = 0
    n = len(state)
    for i in range(n):
        if i + PREFETCH_AHEAD < n:  # the borrower array's entry a few loans on
            prefetch(paid_by_borrower, borrower_idx[i + PREFETCH_AHEAD])
        s = state[i]
        if not s & BILLED:  # 0: only billed loans carry bits
            continue
        d = amount_due(balance[i], instalment[i], arrears[i], months_left[i])
        if s & FULL:
            a = d
        elif s & PAYABLE:
            a = part_paid[k]
            k += 1
        else:
            a = 0.0
        if s & PAYABLE:
            paid_by_borrower[borrower_idx[i]] += a
        full = a >= d * PAID_TOL
        behind = payments_behind(n_missed[i], a, d, instalment[i])
        balance[i] -= a
        if a > 0:
            paid_by_pool[pool_idx[i]] += a
        miss_bits[i] = push_miss(miss_bits[i], not full)
        n_missed[i] = behind
        months_left[i] = max(months_left[i] - 1, 0)
        outcome = 0
        if full:
            if abs(balance[i]) < 1e-9:
                balance[i] = 0.0
            arrears[i] = 0.0
            if balance[i] <= 0.0:
                status[i] = REPAID
                outcome = 2
                n_re += 1
            else:
                status[i] = CURRENT
        else:
            arrears[i] = d - a
            if s & LOST_TO_FAILURE:
                loan_cause[i] = MISS_PLATFORM_FAILURE
            elif social[borrower_idx[i]]:
                loan_cause[i] = MISS_SOCIAL
            else:
                loan_cause[i] = MISS_FUNDAMENTAL
            outcome = 1
            n_mi += 1
            if behind >= default_after:
                status[i] = DEFAULTED
                outcome = 5
                n_de += 1
            elif behind > 0:
                status[i] = DELINQUENT
            else:
                status[i] = CURRENT
        state[i] = outcome
    missed = np.empty(n_mi, dtype=np.intp)
    repaid = np.empty(n_re, dtype=np.intp)
    defaulted = np.empty(n_de, dtype=np.intp)
    n_mi = n_re = n_de = 0
    for i in range(len(state)):
        o = state[i]
        if o & 1:
            missed[n_mi] = i
            n_mi += 1
        if o & 2:
            repaid[n_re] = i
            n_re += 1
        if o & 4:
            defaulted[n_de] = i
            n_de += 1
    return missed, repaid, defaulted


@kernel
def expected_due(status, borrower_idx, balance, apr, instalment, arrears, months_left,
                 n_borrowers):
    """What each borrower expects to owe this month on its performing (current or
    delinquent) loans, RMB: :func:`amount_due` on the balance with a month's interest
    (``balance * (1 + apr / 12)``), summed per borrower (array of ``n_borrowers``)."""
    out = np.zeros(n_borrowers)
    n = len(status)
    for i in range(n):
        if i + PREFETCH_AHEAD < n:  # the borrower's entry a few loans on
            prefetch(out, borrower_idx[i + PREFETCH_AHEAD])
        if status[i] <= DELINQUENT:
            bal = balance[i] * (1.0 + apr[i] / 12.0)
            out[borrower_idx[i]] += amount_due(bal, instalment[i], arrears[i],
                                               months_left[i])
    return out


@kernel
def grouped_sum(key, weights, mask, n_groups):
    """``weights`` summed by ``key`` over the rows where ``mask`` holds: an array of
    ``n_groups`` (``numpy.bincount(key[mask], weights[mask], n_groups)`` without the two
    copies; the units are those of ``weights``)."""
    out = np.zeros(n_groups)
    for i in range(len(key)):
        if mask[i]:
            out[key[i]] += weights[i]
    return out


@kernel
def sum_by_platform_and_bank(platform_idx, per_pool, bank_shares, n_platforms):
    """The banks' shares of per-pool amounts, summed by the pool's platform: an array
    (``n_platforms``, banks), in the units of ``per_pool``. Row ``i`` of ``bank_shares`` is
    pool ``i``'s split between the banks. The pools are added in their order, which is the
    order ``numpy.add.at(out, platform_idx, per_pool[:, None] * bank_shares)`` uses, without
    its (pools x banks) temporary or its cost per call (one pool a platform a month, kept for
    the run: 2,316 after the 240 months of the default run, seed 1)."""
    n_banks = bank_shares.shape[1]
    out = np.zeros((n_platforms, n_banks))
    for i in range(len(platform_idx)):
        p, w = platform_idx[i], per_pool[i]
        for j in range(n_banks):
            out[p, j] += w * bank_shares[i, j]
    return out


@kernel
def move_open_rows(arrs, status):
    """Compact a loan book's 1-D columns in place: the item of each open row (``status`` <=
    DEFAULTED) moves up to the next free place, in order, as ``a[:m] = a[status <=
    DEFAULTED]`` would do without a copy. ``arrs``: a tuple of columns of one dtype (the
    book's fields of one item size); ``status``: the first ``len(status)`` rows' status.
    Returns the number of open rows, ``m``.

    ``status`` may itself be (a view of) one of ``arrs``: row ``i``'s status is read before
    anything is written to row ``j <= i``. Any other column must be moved before that one.
    Reading the status byte in each pass costs less than an index of kept rows (8 bytes a
    row, and 80 MB at 10^7 loans)."""
    j = 0
    for i in range(len(status)):
        if status[i] <= DEFAULTED:
            for a in arrs:
                a[j] = a[i]
            j += 1
    return j


@kernel
def move_open_rows_2d(arr, status):
    """:func:`move_open_rows` for the rows of a 2-D array."""
    j = 0
    for i in range(len(status)):
        if status[i] <= DEFAULTED:
            for c in range(arr.shape[1]):
                arr[j, c] = arr[i, c]
            j += 1
    return j


@kernel
def compact_sample(status, srow, sweight, ffloat, fbits, fcount):
    """Compact a loan book's sample of kept features (:class:`lendsim.simulation.ledger.
    LoanBook`) in place, before the book itself: the sampled loans still open (``status``
    <= DEFAULTED, the book's first ``len(status)`` rows) keep their weights and features,
    moved up in order, and their book rows ``srow`` (ascending, one per sample row) become
    the rows they will have once the book drops its closed loans. Returns the number of
    sample rows kept."""
    j = 0  # next sample slot
    s = 0  # sample cursor
    new = 0  # open book rows before row i
    ns = len(srow)
    for i in range(len(status)):
        is_open = status[i] <= DEFAULTED
        if s < ns and srow[s] == i:
            if is_open:
                srow[j] = new
                sweight[j] = sweight[s]
                fbits[j] = fbits[s]
                fcount[j] = fcount[s]
                for c in range(ffloat.shape[1]):
                    ffloat[j, c] = ffloat[s, c]
                j += 1
            s += 1
        if is_open:
            new += 1
    return j


@kernel
def sample_positions(srow, rows):
    """Where book rows ``rows`` sit in a book's sample of kept features: ``srow`` holds the
    sampled rows, ascending. Returns (positions, found): ``numpy.searchsorted(srow, rows)``
    with a position past the end read as 0, and whether ``srow`` holds the row there.

    The month's matured loans come in ascending runs (settlement's order), so a cursor moves
    forward through ``srow`` within a run, by doubling steps then a binary search between the
    last two (an exponential search: a short step costs a comparison or two, a long one its
    logarithm, where walking the cursor row by row cost the whole sample per call when the
    rows asked for are few and far apart); a row below the one before it starts a new run
    from a binary search. Any order gives searchsorted's answer."""
    n, ns = len(rows), len(srow)
    pos = np.empty(n, dtype=np.int64)
    found = np.zeros(n, dtype=np.bool_)
    c = 0
    for i in range(n):
        r = rows[i]
        if i > 0 and r < rows[i - 1]:
            c = np.searchsorted(srow, r)
        elif c < ns and srow[c] < r:
            # srow[c] < r: double the step while still below r, then search the last gap
            step = 1
            while c + step < ns and srow[c + step] < r:
                step *= 2
            lo, hi = c + step // 2 + 1, min(c + step, ns)
            c = lo + np.searchsorted(srow[lo:hi], r)
        if c < ns:
            pos[i] = c
            found[i] = srow[c] == r
        else:
            pos[i] = 0
    return pos, found


@kernel
def flagged_loans(borrower, platform, late, is_open, jumped, sees_spending, n_borrowers):
    """The open loans (``is_open``) whose borrower shows a warning signal to the loan's
    platform, as ascending book rows: a loan is flagged when an open ``late`` loan sits in
    its (borrower, platform) cell, or when its platform ``sees_spending`` and its
    borrower ``jumped`` (one boolean per borrower; ``sees_spending`` all False: never).

    Two passes over the loans: the first marks the cells of open late loans, one bit each
    (a borrowers x platforms bit set, 1.4 MB at 10^6 borrowers and 11 platforms, which
    stays in cache where a byte a cell did not); the second reads every open loan's cell
    and writes out the rows of the flagged ones (a few per cent of the book)."""
    P = len(sees_spending)
    bits = np.zeros((n_borrowers * P + 63) // 64, dtype=np.uint64)
    for i in range(len(late)):
        if late[i] and is_open[i]:
            c = np.int64(borrower[i]) * P + platform[i]
            bits[c >> 6] |= np.uint64(1) << np.uint64(c & 63)
    # room for every row, but only the pages the few flagged rows are written to are touched
    out = np.empty(len(late), dtype=np.int64)
    k = 0
    for i in range(len(late)):
        if not is_open[i]:
            continue
        # written out, not a helper taking the arrays (module docstring)
        b, q = borrower[i], platform[i]
        c = np.int64(b) * P + q
        if (bits[c >> 6] >> np.uint64(c & 63)) & np.uint64(1) or (sees_spending[q]
                                                                  and jumped[b]):
            out[k] = i
            k += 1
    return out[:k].copy()


@kernel
def book_by_platform(status, n_missed, balance, platform_idx, n_platforms):
    """The open book by platform in one pass: balances of all open loans, of those one or
    more, three or more, exactly one and exactly two payments behind (RMB), and the number
    of open loans. Each sum adds the loans in row order, as :func:`grouped_sum` (and
    ``numpy.bincount``) does, so each is that function's to the last bit.

    Returns:
        (managed, behind_1plus, behind_3plus, behind_1, behind_2, n_open); float64 arrays of
        ``n_platforms`` but the last, int64.
    """
    managed, d30, d90 = np.zeros(n_platforms), np.zeros(n_platforms), np.zeros(n_platforms)
    d1, d2 = np.zeros(n_platforms), np.zeros(n_platforms)
    n_open = np.zeros(n_platforms, dtype=np.int64)
    for i in range(len(status)):
        if status[i] > DEFAULTED:
            continue
        p, b, m = platform_idx[i], balance[i], n_missed[i]
        managed[p] += b
        n_open[p] += 1
        if m >= 1:
            d30[p] += b
            if m >= 3:
                d90[p] += b
            elif m == 1:
                d1[p] += b
            else:
                d2[p] += b
    return managed, d30, d90, d1, d2, n_open


@kernel
def open_balances(is_open, n_missed, balance):
    """The balances of the open loans (``is_open``), and of those among them 1 or more and 3
    or more payments behind (``n_missed``), RMB: three arrays in book order, as
    ``balance[is_open]``, ``balance[is_open & (n_missed >= 1)]`` and ``balance[is_open &
    (n_missed >= 3)]`` give them, in one pass and without the masks.

    When every loan is open, as after the month's compaction, the first array is
    ``balance`` itself, not a copy (at 10^6 borrowers a copy is 56 MB of fresh pages a
    month): read it, do not write it."""
    k0 = k1 = k3 = 0
    for i in range(len(is_open)):
        if is_open[i]:
            k0 += 1
            if n_missed[i] >= 1:
                k1 += 1
                if n_missed[i] >= 3:
                    k3 += 1
    every = k0 == len(is_open)
    all_ = balance if every else np.empty(k0)
    behind, behind3 = np.empty(k1), np.empty(k3)
    k0 = k1 = k3 = 0
    for i in range(len(is_open)):
        if is_open[i]:
            if not every:
                all_[k0] = balance[i]
            k0 += 1
            if n_missed[i] >= 1:
                behind[k1] = balance[i]
                k1 += 1
                if n_missed[i] >= 3:
                    behind3[k3] = balance[i]
                    k3 += 1
    return all_, behind, behind3


@kernel
def balances_by_pool_status(status, pool_idx, balance, n_pools, platform_idx, n_platforms):
    """Open balances (RMB) by funding pool and status, an array (``n_pools``, 3) of the
    CURRENT, DELINQUENT and DEFAULTED loans' balances, and by platform (``n_platforms``), in
    one pass (each sum in row order, as ``grouped_sum`` adds)."""
    out = np.zeros((n_pools, 3))
    by_platform = np.zeros(n_platforms)
    for i in range(len(status)):
        s = status[i]
        if s <= DEFAULTED:
            out[pool_idx[i], s] += balance[i]
            by_platform[platform_idx[i]] += balance[i]
    return out, by_platform


#: bytes of the sums of one bucket of borrowers in :func:`debt_by_cell` (their debt at each
#: platform and in all): well inside a core's L2 cache
DEBT_BUCKET_BYTES = 1 << 18
#: bytes :func:`debt_by_cell`'s copy takes an open loan: its balance (float64) and a 4-byte
#: key, the borrower's place in its bucket and the platform
DEBT_LOAN_BYTES = 12
#: most bytes :func:`debt_by_cell`'s copy of the open loans takes at once: under the C
#: allocator's mmap threshold (``lendsim.simulation.allocator``), so the copy reuses the same
#: heap memory every month instead of 90 MB faulted in afresh at 10^6 borrowers
DEBT_COPY_BYTES = 24 << 20
#: the widest bucket :func:`debt_by_cell` takes: the borrower's place in its bucket is the
#: upper 16 bits of a loan's key (the platform the lower 16, as ``platform_idx``'s int16 allows)
DEBT_MAX_BUCKET_LOG2 = 16


@kernel
def debt_by_cell(status, borrower_idx, platform_idx, balance, own, bucket_log2=-1,
                 copy_bytes=DEBT_COPY_BYTES):
    """Each borrower's debt on its open loans (RMB), by platform and in all, and its number
    of lenders.

    ``own`` (``n_borrowers`` x ``n_platforms``, float64, at most 65,536 platforms) receives
    the debt at each platform: its old contents are overwritten, so last month's matrix
    serves again (at 10^6 borrowers it is 80 MB, and a fresh one costs a page fault per
    4 kB).

    The book is in order of origination, so adding its loans straight into ``own`` would
    touch the matrix at random, a cache miss a loan. The open loans are first copied, in
    book order, into buckets of ``2^bucket_log2`` consecutive borrowers (by default as many
    as fill ``DEBT_BUCKET_BYTES`` with their sums; at most ``2^DEBT_MAX_BUCKET_LOG2``), then
    added bucket by bucket into a buffer the size of one bucket's rows, which stays in the
    cache; each row is then written to ``own`` once, its lenders counted on the way. A
    cell's loans all fall in one bucket, in book order, and each sum starts from 0, so every
    sum adds the same numbers in the same order as the plain loop: the result is the same
    to the last bit. The copy takes ``DEBT_LOAN_BYTES`` an open loan (its balance, and its
    borrower's place in the bucket and its platform in one 4-byte key: one stream of writes
    less per bucket than three columns, which at 10^6 borrowers took a third more time), and
    holds at most ``copy_bytes`` at once (the loans of as many consecutive buckets as fit,
    at least one bucket): each such run of buckets is one more pass over each loan's bucket,
    noted (2 bytes a loan, 4 past 65,534 buckets) in the first pass.

    Returns:
        (``own``; total debt, array of ``n_borrowers``; number of platforms it owes more
        than 0, int64 array).
    """
    n_borrowers, n_platforms = own.shape
    if n_platforms > 0x10000:
        raise ValueError("debt_by_cell: at most 65,536 platforms (a loan's key holds the "
                         "platform in 16 bits)")
    shift = min(bucket_log2, DEBT_MAX_BUCKET_LOG2)
    if shift < 0:
        shift = 0
        while (shift < DEBT_MAX_BUCKET_LOG2
               and (2 << shift) * 8 * (n_platforms + 1) <= DEBT_BUCKET_BYTES):
            shift += 1
    n_buckets = (n_borrowers >> shift) + 1
    if n_buckets < 0xFFFF:
        return _debt_in_buckets(np.empty(len(status), dtype=np.uint16), 0xFFFF, status,
                                borrower_idx, platform_idx, balance, own, shift, n_buckets,
                                copy_bytes)
    return _debt_in_buckets(np.empty(len(status), dtype=np.uint32), 0xFFFFFFFF, status,
                            borrower_idx, platform_idx, balance, own, shift, n_buckets,
                            copy_bytes)


@kernel
def _debt_in_buckets(bucket, closed, status, borrower_idx, platform_idx, balance, own, shift,
                     n_buckets, copy_bytes):
    """:func:`debt_by_cell`'s work, ``bucket`` (one entry a loan) holding each open loan's
    bucket and ``closed`` for the others."""
    n_borrowers, n_platforms = own.shape
    total = np.zeros(n_borrowers)
    lenders = np.zeros(n_borrowers, dtype=np.int64)
    count = np.zeros(n_buckets, dtype=np.int64)
    for i in range(len(status)):
        if status[i] <= DEFAULTED:
            q = borrower_idx[i] >> shift
            count[q] += 1
            bucket[i] = q
        else:
            bucket[i] = closed
    # runs of consecutive buckets whose loans fit the copy (at least one bucket each):
    # run r is buckets ends[r - 1] (0 for the first) to ends[r] - 1
    per_run = max(copy_bytes // DEBT_LOAN_BYTES, 1)
    ends = np.empty(n_buckets, dtype=np.int64)
    n_runs = most = 0
    k = 0
    while k < n_buckets:
        m = count[k]
        k += 1
        while k < n_buckets and m + count[k] <= per_run:
            m += count[k]
            k += 1
        ends[n_runs] = k
        n_runs += 1
        most = max(most, m)
    key = np.empty(most, dtype=np.uint32)  # place in the bucket << 16 | platform
    amt = np.empty(most)
    start = np.zeros(n_buckets + 1, dtype=np.int64)
    width = 1 << shift
    in_bucket = width - 1
    acc = np.empty((width, n_platforms))  # one bucket's debt by platform
    acc_total = np.empty(width)  # and in all
    lo = 0
    for r in range(n_runs):
        hi = ends[r]
        start[lo] = 0
        for q in range(lo, hi):
            start[q + 1] = start[q] + count[q]
        for i in range(len(bucket)):
            q = bucket[i]  # ``closed`` is past every run
            if lo <= q < hi:
                j = start[q]
                start[q] = j + 1
                key[j] = ((borrower_idx[i] & in_bucket) << 16) | platform_idx[i]
                amt[j] = balance[i]
        j = 0  # start[q] is now where bucket q's loans end
        for q in range(lo, hi):
            b0 = q << shift
            rows = min(width, n_borrowers - b0)
            acc[:rows, :] = 0.0
            acc_total[:rows] = 0.0
            while j < start[q]:
                x = key[j] >> 16
                acc[x, key[j] & 0xFFFF] += amt[j]
                acc_total[x] += amt[j]
                j += 1
            for x in range(rows):
                c = 0
                for p in range(n_platforms):
                    v = acc[x, p]
                    own[b0 + x, p] = v
                    if v > 0:
                        c += 1
                lenders[b0 + x] = c
                total[b0 + x] = acc_total[x]
        lo = hi
    return own, total, lenders


@kernel
def owes_at(own, b):
    """Which platforms each of borrowers ``b`` owes: ``own[b] > 0``, (len(b), P) bool, from a
    (borrowers x platforms) debt matrix ``own`` (RMB), without the float64 copy of the rows
    that numpy's gather would make first (8 bytes an applicant and platform: at 10^6
    borrowers, tens of MB in a month's first round)."""
    P = own.shape[1]
    out = np.empty((len(b), P), dtype=np.bool_)
    n = len(b)
    for i in range(n):
        if i + PREFETCH_AHEAD < n and P > 0:  # the row's first and last cache lines
            bj = b[i + PREFETCH_AHEAD]
            prefetch(own, (bj, 0))
            prefetch(own, (bj, P - 1))
        bi = b[i]
        for j in range(P):
            out[i, j] = own[bi, j] > 0
    return out


@kernel
def add_debt(own, total, n_lenders, b, p, amount, own_before):
    """New loans join a debt state (:class:`lendsim.simulation.debt.DebtState`), in place:
    ``amount[i]`` (RMB) is added to ``own[b[i], p[i]]`` and ``total[b[i]]``, and a borrower
    that owed platform ``p[i]`` nothing before (``own_before[i] <= 0``) has one lender more
    in ``n_lenders``. Each borrower appears at most once in ``b`` (a borrower wins at most
    once a round), so the result is numpy's scatter-adds'."""
    n = len(b)
    for i in range(n):
        if i + PREFETCH_AHEAD < n:  # the borrower's entries a few loans on
            bj = b[i + PREFETCH_AHEAD]
            prefetch(own, (bj, p[i + PREFETCH_AHEAD]))
            prefetch(total, bj)
            prefetch(n_lenders, bj)
        bi = b[i]
        own[bi, p[i]] += amount[i]
        total[bi] += amount[i]
        if own_before[i] <= 0:
            n_lenders[bi] += 1


@kernel
def tally_round(seg_applied, q_applied, seg_won, q_won, plat, amount, apr, el_rate, term,
                sums):
    """Add one application round to the month's sums ``sums`` (in place): applicants by risk
    segment (3) and income quintile (5); winners' counts, amounts (RMB) and APR-weighted
    amounts (RMB x APR) by segment, quintile, platform and (platform, segment); new loans,
    annualised expected-loss weighted exposure and exposure by platform. A loan's exposure is
    its expected balance-months, ``amount * (term + 1) / 2`` (RMB x months; ``term`` months);
    ``el_rate`` is the annual expected-loss rate its lender priced in, fraction. Each sum
    adds its items in the rounds' order, so calling this round by round gives the sums of
    one call on the rounds one after the other.

    ``sums``: float64 arrays apps (3), apps_q (5), approved (3), approved_q (5),
    orig_by_segment (3), apr_by_segment (3), orig_by_quintile (5), apr_by_quintile (5),
    orig_by_platform (P), apr_by_platform (P), orig_by_platform_segment (P, 3),
    apr_by_platform_segment (P, 3), n_new_by_platform (P), el_by_platform (P),
    exposure_by_platform (P).
    """
    (apps, apps_q, approved, approved_q, orig_s, apr_s, orig_q, apr_q, orig_p, apr_p,
     orig_ps, apr_ps, n_new, el_p, exp_p) = sums
    for i in range(len(seg_applied)):
        apps[seg_applied[i]] += 1.0
        apps_q[q_applied[i]] += 1.0
    for i in range(len(seg_won)):
        s, q, p, a = seg_won[i], q_won[i], plat[i], amount[i]
        w = a * apr[i]
        exposure = a * (term[i] + 1.0) / 2.0
        approved[s] += 1.0
        approved_q[q] += 1.0
        orig_s[s] += a
        apr_s[s] += w
        orig_q[q] += a
        apr_q[q] += w
        orig_p[p] += a
        apr_p[p] += w
        orig_ps[p, s] += a
        apr_ps[p, s] += w
        n_new[p] += 1.0
        el_p[p] += exposure * el_rate[i]
        exp_p[p] += exposure


@kernel
def noisy_utility(base, beta, apr, trust_weight, trust, reputation, loyalty, has_account,
                  noise, noise_scale, is_open):
    """Borrowers' noisy utility of each platform, (n, P) float64: ``base[j] - beta[i] apr[j]
    + trust_weight trust[i] reputation[j] + loyalty has_account[i, j]``, less
    ``noise_scale x noise[i, j]`` (float32, as numpy multiplies a float32 array by a number),
    ``-inf`` where a platform is not open. Each term is added in the order numpy's
    expression of :func:`lendsim.agents.rules.choice.platform_utility` adds it, so the
    utilities are numpy's to the last bit; one pass instead of six (n, P) temporaries."""
    n, P = has_account.shape
    out = np.empty((n, P))
    for i in range(n):
        tt = trust_weight * trust[i]
        for j in range(P):
            if not is_open[j]:
                out[i, j] = -np.inf
                continue
            u = base[j] - beta[i] * apr[j]
            u = u + tt * reputation[j]
            u = u + (loyalty if has_account[i, j] else 0.0)
            out[i, j] = u - np.float64(noise_scale * noise[i, j])
    return out


@kernel
def keep_rows(u, rows):
    """Keep rows ``rows`` (strictly increasing) of the 2-D array ``u``, in order, as its first
    ``len(rows)`` rows, in place; returns that view. A row only moves up (``rows[i] >= i``),
    so none is overwritten before it moves: ``numpy.take(u, rows, axis=0)`` without a
    second array."""
    for i in range(len(rows)):
        r = rows[i]
        if r != i:
            u[i, :] = u[r, :]
    return u[: len(rows)]


@kernel
def next_choice(u):
    """Each row's best column of ``u`` (the first of equal maxima, as ``numpy.argmax``), or
    -1 when the best is not finite (every column tried or closed); the chosen entry becomes
    ``-inf`` in place, so k calls give each row's k best columns in order. ``u`` holds no
    NaN."""
    n, P = u.shape
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        best, bv = 0, u[i, 0]
        for j in range(1, P):
            if u[i, j] > bv:
                best, bv = j, u[i, j]
        out[i] = best if np.isfinite(bv) else -1
        u[i, best] = -np.inf
    return out


@kernel
def stable_argsort(x):
    """Indices that sort ``x`` ascending, equal values in their original order (a bottom-up
    merge sort, as ``numpy.argsort(x, kind="stable")`` gives them; x holds no NaN). Written
    out because numba's own stable sort takes seconds to compile."""
    n = len(x)
    a = np.arange(n)
    tmp = np.empty(n, dtype=np.int64)
    width = 1
    while width < n:
        for lo in range(0, n, 2 * width):
            mid, hi = min(lo + width, n), min(lo + 2 * width, n)
            i, j, k = lo, mid, lo
            while i < mid and j < hi:
                if x[a[j]] < x[a[i]]:  # strictly less: the left run wins ties
                    tmp[k] = a[j]
                    j += 1
                else:
                    tmp[k] = a[i]
                    i += 1
                k += 1
            while i < mid:
                tmp[k] = a[i]
                i += 1
                k += 1
            while j < hi:
                tmp[k] = a[j]
                j += 1
                k += 1
        a, tmp = tmp, a
        width *= 2
    return a


@kernel
def capacity_fits(platform_idx, priority, amount, capacity, binding, tol):
    """Which applications fit their platform's capacity (RMB): on each platform marked
    ``binding``, applications in ascending ``priority`` (ties in row order) are granted while
    the running total of the platform's ``amount`` up to and including them is within
    ``capacity x (1 + tol)``; on the other platforms every one fits. Amounts are not negative,
    so the total never falls: once one does not fit, none after it does, and when the smallest
    does not fit alone none does (no sort needed: a lender with its capacity used up)."""
    n = len(amount)
    out = np.ones(n, dtype=np.bool_)
    n_p = len(binding)
    start = np.zeros(n_p + 1, dtype=np.int64)  # each platform's first place in the order
    for i in range(n):
        if binding[platform_idx[i]]:
            start[platform_idx[i] + 1] += 1
    for q in range(n_p):
        start[q + 1] += start[q]
    pos = start.copy()
    rows = np.empty(start[n_p], dtype=np.int64)
    pr = np.empty(start[n_p])
    smallest = np.full(n_p, np.inf)
    for i in range(n):  # rows grouped by platform, in row order within each
        q = platform_idx[i]
        if binding[q]:
            rows[pos[q]] = i
            pr[pos[q]] = priority[i]
            pos[q] += 1
            out[i] = False
            if amount[i] < smallest[q]:
                smallest[q] = amount[i]
    for q in range(n_p):
        limit = capacity[q] * (1 + tol)
        if start[q + 1] == start[q] or smallest[q] > limit:
            continue
        order = stable_argsort(pr[start[q]:start[q + 1]])  # ties keep row order
        cum = 0.0
        for k in range(len(order)):
            i = rows[start[q] + order[k]]
            cum += amount[i]
            if cum > limit:
                break
            out[i] = True
    return out


@kernel
def pack_features(X, float_cols, bit_cols, count_col, ffloat, fbits, fcount, start):
    """Store feature rows ``X`` (k, F) float32 from row ``start`` of a loan book's compact
    columns: ``float_cols`` as float32, ``bit_cols`` (0 or 1) as bits of one byte (bit k
    for ``bit_cols[k]``), ``count_col`` (a whole number) as an int16. Returns False, having
    written nothing, when a row holds a value those columns would not give back exactly."""
    k = X.shape[0]
    for i in range(k):
        for b in range(len(bit_cols)):
            v = X[i, bit_cols[b]]
            if v != 0.0 and v != 1.0:
                return False
        c = X[i, count_col]
        if not (c >= -32768.0 and c <= 32767.0 and c == np.floor(c)):
            return False
    for i in range(k):
        r = start + i
        for m in range(len(float_cols)):
            ffloat[r, m] = X[i, float_cols[m]]
        bits = 0
        for b in range(len(bit_cols)):
            if X[i, bit_cols[b]] == 1.0:
                bits |= 1 << b
        fbits[r] = bits
        fcount[r] = np.int16(X[i, count_col])
    return True


@kernel
def _is_late_pair(key, pairs):
    """Whether ``key`` is in the sorted array ``pairs`` (binary search)."""
    lo, hi = 0, len(pairs)
    while lo < hi:
        mid = (lo + hi) // 2
        if pairs[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo < len(pairs) and pairs[lo] == key


#: (borrower, platform) pairs are keyed ``borrower x PAIR_SHIFT + platform``
PAIR_SHIFT = 1 << 20


@kernel
def _sees_arrears(b, p, is_covered, late_anyone, late_pairs):
    """Whether platform ``p`` sees borrower ``b`` behind on a payment: through the bureau on
    any loan (``late_anyone``) when the borrower is covered, else on a loan at ``p`` itself
    (its key ``b x PAIR_SHIFT + p`` in the sorted ``late_pairs``). As
    :func:`lendsim.simulation.features.late_accounts` makes them, the pairs' borrowers are
    exactly those ``late_anyone`` flags, so a borrower behind with no one (most applicants)
    needs no binary search, which costs a cache miss a step on a large book."""
    if is_covered[b] or not late_anyone[b]:
        return late_anyone[b]
    return _is_late_pair(np.int64(b) * PAIR_SHIFT + p, late_pairs)


@kernel
def late_seen(b, p, is_covered, late_anyone, late_pairs):
    """:func:`_sees_arrears` for each pair ``(b[i], p[i])``."""
    out = np.empty(len(b), dtype=np.bool_)
    for i in range(len(b)):
        out[i] = _sees_arrears(b[i], p[i], is_covered, late_anyone, late_pairs)
    return out


@kernel
def applicant_features(b, p, own_debt, total, n_lenders, is_covered, arrears_covered,
                       late_anyone, late_pairs, risk, noise_sd, normal, income, log_income,
                       is_employed, request, term, log_term, X):
    """What platforms ``p`` see of applicants ``b``, in one pass: fills the float32 feature
    rows ``X`` (k, F) and returns each platform's own exposure (``own_debt[b, p]``,
    RMB), the debt it can see (the bureau's total when covered, else its own, RMB) and the
    other lenders it can see (0 when not covered), as
    :meth:`lendsim.simulation.debt.DebtState.own_at` and ``seen_by_lender`` give them.
    Columns: 1, ``risk + noise_sd[p] x normal``; 2, ``log_income[b]`` (numpy's log, made
    by the caller once for every borrower); 3, employed; 4, own / (12 income); 5,
    covered x total / (12 income); 6, covered x lenders; 7, covered; 8, ``log_term[term]``
    (the caller's table of numpy's logs by whole term); 9, :func:`_sees_arrears`
    with the bureau's arrears reported for ``arrears_covered`` borrowers;
    10, ``request`` / (12 income); income floored at 1 RMB. Each value is the float64
    arithmetic of :func:`lendsim.simulation.features.borrower_features`'s numpy expressions,
    rounded to float32 once, so the rows are numpy's to the last bit."""
    k = len(b)
    own = np.empty(k)
    visible = np.empty(k)
    others = np.zeros(k, dtype=n_lenders.dtype)
    for i in range(k):
        if i + PREFETCH_AHEAD < k:  # the float arrays' rows a few applicants on (prefetch)
            bj = b[i + PREFETCH_AHEAD]
            prefetch(own_debt, (bj, p[i + PREFETCH_AHEAD]))
            prefetch(total, bj)
            prefetch(n_lenders, bj)
            prefetch(risk, bj)
            prefetch(income, bj)
            prefetch(log_income, bj)
        bi, pi = b[i], p[i]
        o = own_debt[bi, pi]
        cov = is_covered[bi]
        c = 1.0 if cov else 0.0
        inc12 = 12.0 * max(income[bi], 1.0)
        own[i] = o
        visible[i] = total[bi] if cov else o
        if cov:
            others[i] = n_lenders[bi] - (1 if o > 0 else 0)
        X[i, 0] = 1.0
        X[i, 1] = risk[bi] + noise_sd[pi] * normal[i]
        X[i, 2] = log_income[bi]
        X[i, 3] = 1.0 if is_employed[bi] else 0.0
        X[i, 4] = o / inc12
        X[i, 5] = c * total[bi] / inc12
        X[i, 6] = c * n_lenders[bi]
        X[i, 7] = c
        X[i, 8] = log_term[term[i]]
        X[i, 9] = 1.0 if _sees_arrears(bi, pi, arrears_covered, late_anyone,
                                       late_pairs) else 0.0
        X[i, 10] = request[i] / inc12
    return own, visible, others
