"""Convenience credit lines: one per borrower, drawn without re-underwriting until review.

Embedded credit (Huabei, Baitiao) is a revolving line: the lender underwrites once, sets a
limit, and the borrower then pays with it month after month; the lender watches the account
and reviews the limit. Here a borrower whose one-month (convenience) request a platform
approves gets a line there: the APR, the estimated PD, the limit and the features the platform
saw. A convenience request within the limit is then drawn on the line directly (no shopping,
no scoring); the draw is still booked as a one-month loan, funded from the platform's pool of
the month and within its capacity.

The platform reviews a line (underwrites the borrower again, at the same platform, and renews
or closes it) in the borrower's review month, and at once when what it can see turns worse:
the borrower lost their job or earns much less than at grant, or the debt or number of lenders
it sees (its own; the bureau's when the borrower is covered) rose since the grant, and whenever
the regulator changes a rule of borrower-level underwriting (``LINE_RULES``). A line closes
when the borrower misses any payment or fails a review; it cannot be drawn while the platform
does not lend or when its price would break the cap.

References:
    docs/ODD.md, 7.19 (convenience credit lines) and 7.17.3 (platform failure: its borrowers
    lose their credit lines); docs/calibration.md, 2.2 (embedded credit).
"""

from __future__ import annotations

import numpy as np

from lendsim.simulation.features import N_FEATURES
from lendsim.simulation.ledger import put_rows

INCOME_DROP = 0.8  # income below this share of the income seen at grant triggers a review
# regulator instruments of borrower-level underwriting: when one changes, every line is reviewed
LINE_RULES = ("max_loan", "max_debt_income", "max_lenders", "data_sharing", "require_income")


class CreditLines:
    """Struct of arrays, one row per borrower.

    Attributes:
        platform: index of the platform holding the line, -1 = none (int16).
        apr: all-in annual rate of a draw, fraction (float32).
        pd: the platform's lifetime PD estimate at grant (float32), its priority when
            capacity binds.
        limit: largest draw, RMB (float32).
        until: first month (model step) in which the line must be underwritten again (int32).
        debt_seen: debt the platform could see at grant, RMB (float32): its own, plus the
            bureau's when the borrower is covered.
        lenders_seen: other lenders the platform could see at grant, through the bureau
            (int16; 0 for borrowers the bureau does not cover).
        features: what the platform saw at grant, ``(n, n_features)`` float32; draws train the
            scoring model with these when they mature.
    """

    def __init__(self, n: int, n_features: int = N_FEATURES):
        self.platform = np.full(n, -1, dtype=np.int16)
        self.apr = np.zeros(n, dtype=np.float32)
        self.pd = np.zeros(n, dtype=np.float32)
        self.limit = np.zeros(n, dtype=np.float32)
        self.until = np.zeros(n, dtype=np.int32)
        self.debt_seen = np.zeros(n, dtype=np.float32)
        self.lenders_seen = np.zeros(n, dtype=np.int16)
        self.features = np.zeros((n, n_features), dtype=np.float32)

    def grant(self, b, p, apr, pd, limit, features, until, debt_seen, lenders_seen) -> None:
        """Open (or replace) the lines of borrowers ``b`` at platforms ``p``."""
        self.debt_seen[b] = debt_seen
        self.lenders_seen[b] = lenders_seen
        self.platform[b] = p
        self.apr[b] = apr
        self.pd[b] = pd
        self.limit[b] = limit
        self.until[b] = until
        put_rows(self.features, b, features)

    def revoke(self, b=None) -> None:
        """Close the lines of borrowers ``b`` (all lines when ``b`` is None)."""
        if b is None:
            self.platform[:] = -1
        else:
            self.platform[b] = -1

    def due_for_review(self, b: np.ndarray, step: int, employed: np.ndarray,
                       debt_visible: np.ndarray, lenders_visible: np.ndarray,
                       income: np.ndarray) -> np.ndarray:
        """Which lines of borrowers ``b`` (all holding one) the platform reviews this month: the
        review month has come, the borrower is out of work or earns less than
        ``INCOME_DROP`` of the income seen at grant (``income`` / the median, as in the
        features), or the debt (RMB) or number of other lenders the platform sees now (arrays
        for ``b``) rose since the grant, debt by more than the line's limit."""
        return ((self.until[b] <= step) | ~employed
                | (income < INCOME_DROP * np.exp(self.features[b, 2]))
                | (debt_visible > self.debt_seen[b].astype(float) + self.limit[b])
                | (lenders_visible > self.lenders_seen[b]))

    def review_all(self, step: int) -> None:
        """Every open line is due for review from month ``step``."""
        np.minimum(self.until, step, out=self.until)

    def usable(self, b: np.ndarray, amount: np.ndarray, step: int, is_open: np.ndarray,
               apr_cap: np.ndarray, employed: np.ndarray | None = None) -> np.ndarray:
        """Which of borrowers ``b`` can draw ``amount`` (RMB) on their line this month.

        ``is_open`` and ``apr_cap`` are per platform (lending this month; the all-in cap that
        applies to it); ``employed`` (per borrower in ``b``), when given, must be true (the
        regulator's income requirement).
        """
        p = self.platform[b].astype(np.intp)
        has = p >= 0
        pp = np.where(has, p, 0)
        ok = (has & (self.until[b] > step) & (amount <= self.limit[b]) & is_open[pp]
              & (self.apr[b] <= apr_cap[pp]))
        if employed is not None:
            ok &= employed
        return ok

    @property
    def n_open(self) -> int:
        return int((self.platform >= 0).sum())
