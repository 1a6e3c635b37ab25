"""Platforms' early warning from behaviour: each month every platform scores its book on its
borrowers' recent repayment (and, where its type sees it, spending) behaviour, judges the
score against its own trailing history, and, on warning, brings forward the credit-line
reviews of the borrowers whose signal fired.

The rules are pure array functions in :mod:`lendsim.agents.rules.early_warning`; this module
keeps their state (the borrowers' recent spending, the platforms' trailing scores) and runs
them once a month, in phase 10 (platforms adapt), after repayment.

References:
    docs/ODD.md, 7.21 (early warning from behaviour); the sources are in
    :mod:`lendsim.agents.rules.early_warning`.
"""

from __future__ import annotations

import numpy as np

from lendsim.agents.rules import early_warning as rules
from lendsim.simulation.ledger import LoanStatus


class EarlyWarning:
    """The early-warning state of a run.

    Attributes:
        spending: each borrower's spending need over income in its last ``ew_months`` months,
            ``(n_borrowers, ew_months)`` float32, a ring indexed by month; NaN = not seen.
        history: each platform's score in its last ``ew_window`` months, ``(max_n, ew_window)``,
            a ring indexed by month; NaN = no score (no book, or not yet a platform).
        score: this month's score per platform (:func:`rules.platform_score`).
        threshold: this month's dynamic threshold per platform (from the months before).
        on_warning: per platform, whether the score is above the threshold.
        reviews: per platform, credit lines whose review the warning brought forward.
    """

    def __init__(self, n_borrowers: int, platform_params):
        pp = platform_params
        self.spending = np.full((n_borrowers, pp.ew_months), np.nan, dtype=np.float32)
        self.history = np.full((pp.max_n, pp.ew_window), np.nan)
        self.score = np.full(pp.max_n, np.nan)
        self.threshold = np.full(pp.max_n, np.nan)
        self.on_warning = np.zeros(pp.max_n, dtype=bool)
        self.reviews = np.zeros(pp.max_n, dtype=np.int64)
        self.book = np.zeros(pp.max_n)  # performing balance scored, RMB


def step(model, is_open: np.ndarray | None = None, managed: np.ndarray | None = None,
         n_open: np.ndarray | None = None) -> None:
    """This month's signals, scores, thresholds and warnings, and the reviews they bring
    forward (docs/ODD.md 7.21). ``is_open`` (per loan), ``managed`` (open balance per
    platform, RMB) and ``n_open`` (open loans per platform), when the caller has them, save
    passes over the book."""
    ew, pp, L, pop = model.early_warning, model.params.platforms, model.loans, model.population
    P = len(model.platforms)
    if is_open is None:
        is_open = L.is_open()
        managed = L.balance_by(L.platform_idx, P, is_open)
        n_open = np.bincount(L.platform_idx[is_open], minlength=P)
    b, p = L.borrower_idx, L.platform_idx
    ratio = pop.need / np.maximum(pop.income, 1.0)  # as the spending_income feature
    sees = np.array([("spending_income" in pp.type_params(pl.kind).alt_data_names())
                     for pl in model.platforms], dtype=bool)
    jump = (rules.spending_jump(ratio, ew.spending) if sees.any()
            else np.full(model.n_borrowers, np.nan))
    late = rules.late_loans(L.miss_bits, L.n_missed, pp.ew_months)
    f = rules.flagged_loans(b, p, late, is_open, jump, sees, pp.ew_spending_jump)  # few
    # the score is over the performing book: defaulted loans (all of them late, so flagged)
    # are already lost
    perf = L.status[f] <= LoanStatus.DELINQUENT
    lost = np.bincount(p[f[~perf]], weights=L.balance[f[~perf]], minlength=P)
    ew.book[:P] = np.where(managed - lost > 1e-6, managed - lost, 0.0)  # (rounding)
    score = rules.platform_score(p[f[perf]], L.balance[f[perf]], ew.book[:P])
    active = model.platform_values("is_active", bool)
    score[~active] = np.nan
    slot = model.t % pp.ew_window
    threshold = rules.dynamic_threshold(ew.history[:P], pp.ew_z)
    # a rate measured on a handful of loans is noise: nobody reacts to it
    warn = rules.on_warning(score, threshold) & (n_open >= pp.min_book)
    ew.score[:P], ew.threshold[:P], ew.on_warning[:P] = score, threshold, warn
    ew.history[:P, slot] = score
    ew.spending[:, model.t % pp.ew_months] = ratio
    ew.reviews[:] = 0
    if pp.ew_reviews and warn.any():
        ew.reviews[:P] = bring_forward(model.credit_lines, b[f], p[f], warn, model.t + 1)


def bring_forward(lines, b: np.ndarray, p: np.ndarray, warn: np.ndarray, step: int
                  ) -> np.ndarray:
    """Flagged borrowers ``b`` at platforms ``p`` (pairs, repeats allowed) whose credit line
    is at ``p`` and ``p`` is on warning (``warn``, per platform): their lines become due for
    review from month ``step`` (the next draw re-underwrites them on that day's data).
    Returns the number of lines brought forward per platform."""
    held = lines.platform[b] == p
    sel = np.unique(b[held & warn[p]])
    sooner = sel[lines.until[sel] > step]
    lines.until[sooner] = step
    return np.bincount(lines.platform[sooner].astype(np.intp), minlength=len(warn))


def model_row(model) -> dict[str, float]:
    """The model table's early-warning columns: ``early_warning`` (the live platforms'
    scores weighted by their performing book: the share of the market's performing balance
    held by flagged borrowers), ``platforms_on_warning`` (share of live platforms on warning)
    and ``early_warning_reviews`` (credit lines brought forward this month)."""
    ew, P = model.early_warning, len(model.platforms)
    ok = np.isfinite(ew.score[:P])
    book = ew.book[:P][ok]
    active = model.platform_values("is_active", bool)
    return {
        "early_warning": (float((ew.score[:P][ok] * book).sum() / book.sum())
                          if book.sum() > 0 else np.nan),
        "platforms_on_warning": (float(ew.on_warning[:P][active].mean()) if active.any()
                                 else 0.0),
        "early_warning_reviews": int(ew.reviews.sum()),
    }


__all__ = ["EarlyWarning", "step", "bring_forward", "model_row"]
