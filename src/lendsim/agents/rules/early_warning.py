"""Early warning from behaviour: a behavioural warning signal per borrower at a platform, the
platform's early-warning score and its dynamic threshold. Pure array functions.

A lender that watches its accounts month by month (behavioural scoring) learns of trouble
before default: missed or partial payments and time in arrears over the last few months, and,
where it sees its users' consumption, spending that jumps relative to income. The platform
adds up the balance of its performing book held by borrowers showing such signals, and judges
that share against its own recent history (a control chart: mean + k standard deviations of
the trailing months) rather than against a fixed level: the source's dynamic thresholds
(動態閾值). A platform above its threshold is *on warning*.

References:
    The source book's chapter on risk-assessment models (early warning from repayment and
    consumption behaviour; dynamic thresholds). Thomas, Edelman & Crook, *Credit Scoring and
    Its Applications* (SIAM, 2002; 2nd ed. 2017), ch. 6, behavioural scoring: recent payment
    performance (arrears, missed payments over the last months) as the strongest predictors
    of default on an existing account. Shewhart control charts (Montgomery, *Introduction to
    Statistical Quality Control*, ch. 6): a process is out of control when a point lies more
    than k standard deviations from the mean of its in-control history. docs/ODD.md, 7.21.
"""

from __future__ import annotations

import numpy as np

from lendsim import kernels

#: Months of repayment history a loan's ``miss_bits`` can hold (one bit a month, uint8).
MAX_MONTHS = 8
#: Months of trailing history a dynamic threshold needs before it can fire.
MIN_HISTORY = 3


def late_loans(miss_bits: np.ndarray, behind: np.ndarray, months: int) -> np.ndarray:
    """Loans showing a repayment signal: an instalment missed or paid only in part among the
    last ``months`` bills (``miss_bits``, ``lendsim.kernels.push_miss``; ``months`` <= 8), or
    payments behind now (``behind``, ``n_missed``).

    Examples:
        >>> late_loans(np.array([0b1000, 0b0100, 0], dtype=np.uint8), np.array([0, 0, 1]),
        ...            3).tolist()
        [False, True, True]
    """
    return ((miss_bits & np.uint8((1 << months) - 1)) != 0) | (behind > 0)


def spending_jump(ratio: np.ndarray, history: np.ndarray) -> np.ndarray:
    """Relative jump of spending over income against the borrower's own recent level:
    ``ratio / mean(history) - 1`` (a fraction; 0.5 = half again the usual share of income).

    Args:
        ratio: this month's spending need over income, per borrower.
        history: the same ratio in the last months, ``(n, months)``, NaN for months not yet
            seen (the ring :class:`lendsim.simulation.early_warning.EarlyWarning` keeps).

    Returns:
        The jump; NaN where there is no history yet or its mean is not positive.

    Examples:
        >>> spending_jump(np.array([0.9, 0.3]),
        ...               np.array([[0.5, 0.7], [np.nan, np.nan]])).tolist()
        [0.5, nan]
    """
    seen = np.isfinite(history)
    n_seen = seen.sum(axis=1)
    mean = np.divide(np.where(seen, history, 0.0).sum(axis=1), n_seen,
                     out=np.full(len(ratio), np.nan), where=n_seen > 0)
    return np.divide(ratio, mean, out=np.full(len(ratio), np.nan),
                     where=np.isfinite(mean) & (mean > 0)) - 1.0


def flagged_loans(borrower: np.ndarray, platform: np.ndarray, late: np.ndarray,
                  is_open: np.ndarray, jump: np.ndarray, sees_spending: np.ndarray,
                  jump_limit: float) -> np.ndarray:
    """The open loans whose borrower shows a warning signal to the loan's platform.

    A borrower shows one at platform p when any of its open loans at p is late (missed or part
    paid an instalment in the last months, or behind now: :func:`late_loans`), or, if p's
    type sees consumption data (``sees_spending[p]``), its spending over income jumped by
    more than ``jump_limit`` against its own recent level (``jump``, per borrower,
    :func:`spending_jump`). A lender sees repayment on its own accounts only.

    Args:
        borrower, platform: each loan's borrower and platform index.
        late: each loan's repayment signal (:func:`late_loans`).
        is_open: each loan is still owed (a closed loan neither signals nor is flagged).
        jump: spending jump of every borrower (indexed by borrower; NaN = none).
        sees_spending: per platform, whether its type sees spending (``alt_data``).
        jump_limit: the jump that signals, fraction.

    Returns:
        The flagged loans' positions, ascending (one compiled pass over the loans:
        :func:`lendsim.kernels.flagged_loans`).

    Examples:
        Borrower 0 missed on its loan at platform 0, so its other loan there is flagged too;
        its loan at platform 1 is not. Borrower 1's spending jumped by 0.8, seen by platform
        1 only; its loan there is closed:

        >>> flagged_loans(np.array([0, 0, 0, 1, 1, 1]), np.array([0, 0, 1, 0, 1, 1]),
        ...               np.array([True, False, False, False, False, False]),
        ...               np.array([True, True, True, True, True, False]),
        ...               np.array([0.0, 0.8]), np.array([False, True]), 0.5).tolist()
        [0, 1, 4]
    """
    sees_spending = np.asarray(sees_spending, dtype=np.bool_)
    jumped = (np.isfinite(jump) & (jump > jump_limit) if sees_spending.any()
              else np.zeros(len(jump), dtype=np.bool_))
    return kernels.flagged_loans(borrower, platform, np.asarray(late, dtype=np.bool_),
                                 np.asarray(is_open, dtype=np.bool_), jumped, sees_spending,
                                 len(jump))


def platform_score(platform: np.ndarray, balance: np.ndarray, book: np.ndarray) -> np.ndarray:
    """Each platform's early-warning score: the share of its book's balance (RMB-weighted)
    held on loans whose borrower is flagged (:func:`flagged_loans`); NaN without a book.

    Args:
        platform, balance: the flagged loans' platform and balance, RMB.
        book: each platform's book, RMB (the flagged loans' balances are part of it).

    Examples:
        Platform 0 holds 400 (100 of it flagged), platform 2 nothing:

        >>> platform_score(np.array([0]), np.array([100.0]), np.array([400.0, 50.0, 0.0])
        ...                ).tolist()
        [0.25, 0.0, nan]
    """
    n = len(book)
    bad = np.bincount(platform, weights=balance, minlength=n)
    return np.divide(bad, book, out=np.full(n, np.nan), where=book > 0)


def dynamic_threshold(history: np.ndarray, z: float) -> np.ndarray:
    """Each row's control limit: mean + ``z`` sample standard deviations (ddof 1) of its
    finite entries (a platform's score in its trailing months; NaN = a month not seen).

    NaN when a row has fewer than ``MIN_HISTORY`` finite months, or a flat history (standard
    deviation 0: no scale to judge a move by; the regulator's early warnings do the same).

    Examples:
        >>> dynamic_threshold(np.array([[0.1, 0.2, 0.3, np.nan], [0.1, 0.2, np.nan, np.nan]]),
        ...                   2.0).round(3).tolist()
        [0.4, nan]
    """
    seen = np.isfinite(history)
    n = seen.sum(axis=1)
    x = np.where(seen, history, 0.0)
    mean = np.divide(x.sum(axis=1), n, out=np.zeros(len(n)), where=n > 0)
    dev = np.where(seen, history - mean[:, None], 0.0)
    var = np.divide((dev * dev).sum(axis=1), n - 1, out=np.zeros(len(n)), where=n > 1)
    sd = np.sqrt(var)
    ok = (n >= MIN_HISTORY) & (sd > 1e-12)
    return np.where(ok, mean + z * sd, np.nan)


def on_warning(score: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """A platform is on warning when its score lies above its dynamic threshold (never
    while either is NaN).

    Examples:
        >>> on_warning(np.array([0.5, 0.5, np.nan]), np.array([0.4, np.nan, 0.1])).tolist()
        [True, False, False]
    """
    return np.isfinite(score) & np.isfinite(threshold) & (score > np.nan_to_num(threshold))
