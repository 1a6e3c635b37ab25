"""Who owes whom: the month's debt state, a (borrowers x platforms) structure read and
written through a flat cell index (:func:`cells`), several times faster than indexing with a
pair of index arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lendsim import kernels
from lendsim.simulation.allocator import in_place
from lendsim.simulation.ledger import LoanBook


def cell_key(b: np.ndarray, p: np.ndarray, n_platforms: int) -> np.ndarray:
    """Flat index ``b * n_platforms + p``, as ``np.intp``: numpy gathers and scatters with
    narrower index arrays about half as fast (it casts them on every use)."""
    return b.astype(np.intp, copy=False) * n_platforms + p.astype(np.intp, copy=False)


def cells(m: np.ndarray, b: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A flat view of a (borrowers x platforms) array and the flat index of cells
    ``(b, p)``: ``view[cell]`` is ``m[b, p]`` (read or write).

    Examples:
        >>> m = np.zeros((2, 3))
        >>> view, cell = cells(m, np.array([1]), np.array([2]))
        >>> view[cell] = 5.0
        >>> float(m[1, 2])
        5.0
    """
    if not m.flags.c_contiguous:  # a reshaped copy would swallow writes
        raise ValueError("cells needs a C-contiguous array")
    return m.reshape(-1), cell_key(b, p, m.shape[1])


@dataclass
class DebtState:
    """Debt as lenders see it this month: as of the end of last month, plus the loans made
    since (:meth:`add`).

    Attributes:
        own: debt of each borrower at each platform, RMB (n_borrowers, n_platforms).
        total: each borrower's total debt, RMB.
        n_lenders: number of platforms each borrower owes.
    """

    own: np.ndarray
    total: np.ndarray
    n_lenders: np.ndarray
    #: the memory ``own`` lies at the start of, with room for ``SPARE_PLATFORMS`` more
    #: columns (by default ``own``'s own memory, when C-contiguous; else None)
    store: np.ndarray | None = field(default=None, repr=False, compare=False)

    #: columns of room a new matrix leaves for entrants: a month with a new platform writes
    #: the matrix into the same memory (at 10^6 borrowers, 8 MB of fresh pages a column)
    #: instead of ~100 MB of fresh pages beside the old matrix
    SPARE_PLATFORMS = 4

    def __post_init__(self):
        if self.store is None and self.own.flags.c_contiguous:
            self.store = self.own.reshape(-1)

    @classmethod
    def from_book(cls, loans: LoanBook, n_borrowers: int, n_platforms: int,
                  reuse: DebtState | None = None) -> DebtState:
        """The debt state of the open loans in ``loans``. ``reuse``: a state no longer
        needed whose (borrowers x platforms) matrix is overwritten, when its memory has room,
        instead of allocating another (it must not be read afterwards)."""
        own, store = cls._matrix(n_borrowers, n_platforms,
                                 None if reuse is None else reuse.store)
        own, total, n_lenders = kernels.debt_by_cell(loans.status, loans.borrower_idx,
                                                     loans.platform_idx, loans.balance, own)
        if reuse is not None:  # the old state's arrays keep their place
            total, n_lenders = in_place(reuse.total, total), in_place(reuse.n_lenders, n_lenders)
        return cls(own, total, n_lenders, store)

    @classmethod
    def _matrix(cls, n_borrowers: int, n_platforms: int, store: np.ndarray | None
                ) -> tuple[np.ndarray, np.ndarray]:
        """A C-contiguous (borrowers x platforms) float64 matrix at the start of ``store``
        when it has room, else of a new store with ``SPARE_PLATFORMS`` columns to spare;
        returns ``(matrix, store)``. Its contents are whatever the memory held."""
        need = n_borrowers * n_platforms
        if store is None or len(store) < need:
            store = np.empty(n_borrowers * (n_platforms + cls.SPARE_PLATFORMS))
        return store[:need].reshape(n_borrowers, n_platforms), store

    def copy(self) -> DebtState:
        """A copy whose totals and lender counts can change without touching this one (the
        dense matrix is shared: this month's lending writes into it)."""
        return DebtState(self.own, self.total.copy(), self.n_lenders.copy(), self.store)

    def widen(self, n_platforms: int) -> None:
        """Give platforms that entered since this state was built a column of zeros."""
        n, P = self.own.shape
        if P < n_platforms:
            own, self.store = self._matrix(n, n_platforms, None)
            own[:, :P], own[:, P:] = self.own, 0.0
            self.own = own

    def own_at(self, b: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Debt of borrowers ``b`` at platforms ``p``, RMB."""
        view, cell = cells(self.own, b, p)
        return view[cell]

    def owes(self, b: np.ndarray) -> np.ndarray:
        """Which platforms borrowers ``b`` owe: (len(b), n_platforms) bool."""
        return kernels.owes_at(self.own, b)

    def add(self, b: np.ndarray, p: np.ndarray, amount: np.ndarray,
            own_before: np.ndarray) -> None:
        """New loans join the debt state, so later applications this month see them.
        (Borrower, platform) pairs are unique within a call: a borrower wins at most once per
        round."""
        kernels.add_debt(self.own, self.total, self.n_lenders, b, p,
                         np.asarray(amount, dtype=float), np.asarray(own_before, dtype=float))

    def seen_by_lender(self, b: np.ndarray, own: np.ndarray, is_covered: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
        """What a lender holding ``own`` (RMB) of borrowers ``b`` sees of their other credit:
        their total debt and other lenders through the bureau when covered; else only its own
        exposure and no other lenders."""
        covered = is_covered[b]
        return (np.where(covered, self.total[b], own),
                np.where(covered, self.n_lenders[b] - (own > 0), 0))
