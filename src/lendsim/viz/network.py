"""The network picture's data: a fixed layout, borrower status, node sizes and edges.

The picture is radial, in three layers: banks in the centre, platforms on a ring around them,
borrowers in an outer band. Lending edges (borrower-platform, from the open loans) run between
the outer band and the ring (entrants get an inner ring); funding edges (bank-platform, from
the funding lines
``model.lines``) between the ring and the centre. Borrowers are placed around the band in an
order that keeps social contacts close together (the lattice order of a Watts-Strogatz ring,
else a reverse Cuthill-McKee ordering of the social graph), so a default wave that travels
through contacts shows up as a spreading arc. (Graphs without a spatial order, such as
Barabasi-Albert's, have no ordering that keeps most contacts close; there contacts scatter.)

Everything here is plain numpy; :mod:`lendsim.viz.figures` draws it.

References:
    docs/ODD.md, section 2 (networks); Cuthill & McKee (1969), "Reducing the bandwidth of sparse
    symmetric matrices" (via ``scipy.sparse.csgraph.reverse_cuthill_mckee``); Watts & Strogatz
    (1998).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import reverse_cuthill_mckee

from lendsim.simulation.ledger import LoanStatus

#: Radii of the layers (the borrower band spans BORROWER_BAND); platforms that enter later sit
#: on an inner ring, ENTRANT_RADIUS.
BANK_RADIUS = 0.2
ENTRANT_RADIUS = 0.36
PLATFORM_RADIUS = 0.5
BORROWER_BAND = (0.72, 1.0)
GOLDEN_ANGLE = np.pi * (3.0 - np.sqrt(5.0))  # spreads any number of entrants evenly


class BorrowerStatus(IntEnum):
    """What the picture colours a borrower by."""

    NEVER_BORROWED = 0
    CURRENT = 1  # has borrowed; nothing past due now
    DELINQUENT = 2  # an open loan with a missed instalment, not (yet) in default
    DEFAULTED = 3  # defaulted within the last 12 months (what contacts notice)


@dataclass(frozen=True)
class Layout:
    """Node positions, computed once per model (unit-disc coordinates).

    Attributes:
        borrower_xy: array (n_borrowers, 2).
        platform_xy: array (max_platforms, 2): a slot for every platform that may enter.
        bank_xy: array (n_banks, 2).
    """

    borrower_xy: np.ndarray
    platform_xy: np.ndarray
    bank_xy: np.ndarray


def ring(n: int, radius: float, phase: float = 0.0) -> np.ndarray:
    """``n`` points evenly around a circle of ``radius``, array (n, 2).

    Examples:
        >>> ring(4, 1.0).round(6).tolist()
        [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [-0.0, -1.0]]
    """
    a = phase + 2 * np.pi * np.arange(n) / max(n, 1)
    return radius * np.column_stack([np.cos(a), np.sin(a)])


def social_order(adj: sp.spmatrix, kind: str) -> np.ndarray:
    """An ordering of borrowers that keeps social contacts close together.

    A Watts-Strogatz network is a rewired ring lattice built in index order, and a stochastic
    block model numbers its blocks contiguously, so index order already does it; for other
    graphs reverse Cuthill-McKee (a bandwidth-reducing breadth-first ordering) does.

    Returns:
        A permutation of ``range(n)``: ``order[k]`` is the borrower at position ``k``.
    """
    n = adj.shape[0]
    if kind in ("watts_strogatz", "stochastic_block", "none") or adj.nnz == 0:
        return np.arange(n)
    return np.asarray(reverse_cuthill_mckee(sp.csr_matrix(adj), symmetric_mode=True))


def compute_layout(adj: sp.spmatrix, kind: str, n_banks: int, n_platforms: int,
                   max_platforms: int, seed: int) -> Layout:
    """Positions of every borrower, platform slot and bank.

    The ``n_platforms`` platforms at start sit evenly around their ring; slots for entrants
    (up to ``max_platforms`` in all) follow on an inner ring, a golden angle apart.

    Borrowers go around the outer band in :func:`social_order`, each at a radius drawn
    uniformly within the band (so 2,000 points do not sit on one line); the radii come from
    ``numpy.random.default_rng(seed)``, a generator of the picture's own: the model's stream
    must not move when the picture is drawn.

    Examples:
        >>> import scipy.sparse as sp
        >>> lay = compute_layout(sp.csr_matrix((6, 6)), "none", 2, 2, 3, seed=0)
        >>> lay.borrower_xy.shape, lay.platform_xy.shape, lay.bank_xy.shape
        ((6, 2), (3, 2), (2, 2))
        >>> np.hypot(*lay.platform_xy.T).round(2).tolist()  # two at start, one entrant slot
        [0.5, 0.5, 0.36]
    """
    n = adj.shape[0]
    order = social_order(adj, kind)
    rng = np.random.default_rng(seed)
    pos = np.empty(n)
    pos[order] = np.arange(n)
    angle = 2 * np.pi * pos / max(n, 1)
    lo, hi = BORROWER_BAND
    radius = lo + (hi - lo) * rng.random(n)
    borrower_xy = radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    n_entrants = max(max_platforms - n_platforms, 0)
    a = np.pi / 2 + np.pi / max(n_platforms, 1) + GOLDEN_ANGLE * np.arange(n_entrants)
    platform_xy = np.vstack([ring(n_platforms, PLATFORM_RADIUS, phase=np.pi / 2),
                             ENTRANT_RADIUS * np.column_stack([np.cos(a), np.sin(a)])])
    bank_xy = ring(n_banks, BANK_RADIUS, phase=np.pi / 4) if n_banks > 1 else np.zeros((1, 2))
    return Layout(borrower_xy, platform_xy, bank_xy)


def borrower_status(model, has_borrowed: np.ndarray | None = None) -> np.ndarray:
    """Status of every borrower now, array of :class:`BorrowerStatus` values (int8).

    Args:
        model: a MarketModel.
        has_borrowed: who has ever borrowed (``DashboardModel.has_borrowed``); default: who
            has a loan in the book now.

    Examples:
        >>> from lendsim import MarketModel, load_scenario
        >>> m = MarketModel(load_scenario(None, {"borrowers.n": 50, "platforms.n": 2,
        ...                                      "banks.n": 2}))
        >>> int((borrower_status(m) == BorrowerStatus.NEVER_BORROWED).sum())
        50
    """
    n = model.n_borrowers
    L = model.loans
    is_open = L.is_open()
    if has_borrowed is None:
        has_borrowed = np.zeros(n, dtype=bool)
        has_borrowed[L.borrower_idx[: L.n]] = True
    status = np.where(has_borrowed, BorrowerStatus.CURRENT,
                      BorrowerStatus.NEVER_BORROWED).astype(np.int8)
    late = is_open & (L.status == LoanStatus.DELINQUENT)
    status[L.borrower_idx[late]] = BorrowerStatus.DELINQUENT
    status[model.population.is_in_default()] = BorrowerStatus.DEFAULTED
    return status


def status_counts(status: np.ndarray) -> dict[str, int]:
    """Borrowers in each status, by lower-case name.

    Examples:
        >>> status_counts(np.array([0, 1, 1, 3], dtype=np.int8))
        {'never_borrowed': 1, 'current': 2, 'delinquent': 0, 'defaulted': 1}
    """
    counts = np.bincount(status, minlength=len(BorrowerStatus))
    return {s.name.lower(): int(counts[s]) for s in BorrowerStatus}


def lending_edges(model) -> tuple[np.ndarray, np.ndarray]:
    """Borrower-platform pairs with an open loan between them, each pair once.

    Returns:
        (borrower_idx, platform_idx), int arrays of equal length.
    """
    L = model.loans
    m = L.is_open()
    P = max(len(model.platforms), 1)
    key = np.unique(L.borrower_idx[m].astype(np.int64) * P + L.platform_idx[m])
    return key // P, key % P


def funding_edges(model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bank-platform pairs with a funding line, and the line, RMB.

    Returns:
        (bank_idx, platform_idx, line) from ``model.lines`` (banks x platform slots).
    """
    P = len(model.platforms)
    lines = model.lines[:, :P]
    b, p = np.nonzero(lines > 0)
    return b, p, lines[b, p]


def platform_lending(model) -> np.ndarray:
    """Open loans each platform manages (its own and its banks' shares), RMB."""
    L = model.loans
    m = L.is_open()
    return np.bincount(L.platform_idx[m], weights=L.balance[m],
                       minlength=len(model.platforms))


def bank_lending(model) -> np.ndarray:
    """Each bank's lending through platforms (its joint loans), RMB."""
    return np.array([max(bk.joint_loans, 0.0) for bk in model.banks])


def node_area(amount: np.ndarray, max_area: float = 900.0, min_area: float = 60.0) -> np.ndarray:
    """Marker area (points^2) for institutions: area proportional to lending, the largest at
    ``max_area``, none below ``min_area`` so that a small or failed one stays visible.

    Examples:
        >>> node_area(np.array([0.0, 25.0, 100.0])).tolist()
        [60.0, 225.0, 900.0]
    """
    amount = np.maximum(np.asarray(amount, dtype=float), 0.0)
    top = amount.max() if len(amount) else 0.0
    if top <= 0:
        return np.full(len(amount), min_area)
    return np.maximum(max_area * amount / top, min_area)


def social_edges(adj: sp.spmatrix) -> tuple[np.ndarray, np.ndarray]:
    """Each social tie once, (u, v) with u < v."""
    coo = sp.triu(adj, k=1).tocoo()
    return coo.row, coo.col
