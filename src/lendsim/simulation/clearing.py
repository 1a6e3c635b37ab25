"""Interbank clearing and systemic-risk measures: Eisenberg-Noe, Rogers-Veraart, DebtRank.

Pure functions of plain arrays: dense numpy arrays and scipy.sparse matrices are both accepted
for every matrix argument, and nothing depends on the order in which banks are listed
(permuting the banks permutes the results).

Conventions (amounts in RMB, or any one currency unit):

* ``liabilities[i, j]`` is what bank ``i`` owes bank ``j`` (nominal, >= 0, zero diagonal);
* ``external_assets[i]`` is bank ``i``'s assets outside the interbank network (>= 0);
* ``external_liabilities[i]`` is what bank ``i`` owes outside the network (depositors, bond
  holders; >= 0, default 0), with one of two seniority conventions:

  - ``"pari_passu"``: external and interbank creditors share a defaulted bank's assets pro rata
    to their nominal claims (Eisenberg & Noe 2001 with the outside world as one more creditor);
  - ``"external_senior"``: external creditors are paid first; interbank creditors share what is
    left (pro rata among themselves), so a bank whose assets do not cover its external
    liabilities pays nothing to other banks (Elsinger, Lehar & Summer 2006 treat deposits as
    senior in the same way).

* ``exposures[i, j]`` (DebtRank) is what bank ``i`` loses if bank ``j`` fails.

Examples:
    >>> import numpy as np
    >>> res = eisenberg_noe([[0, 20, 10], [5, 0, 24], [10, 0, 0]], [10, 10, 10])
    >>> np.round(res.payments, 4).tolist(), [r.tolist() for r in res.rounds]
    ([24.5455, 26.3636, 10.0], [[0], [1]])
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from lendsim.errors import LendsimError

__all__ = [
    "SENIORITIES",
    "ClearingInputError",
    "ClearingResult",
    "DebtRankResult",
    "debtrank",
    "eisenberg_noe",
    "rogers_veraart",
]

SENIORITIES = ("pari_passu", "external_senior")
DEBTRANK_VARIANTS = ("original", "linear")

# A bank defaults when its assets fall short of its obligations by more than this relative
# tolerance: the linear solves carry rounding of ~1e-15 relative, so an exact tie (assets equal
# to obligations) must not flip to a default by rounding.
_REL_TOL = 1e-10


class ClearingInputError(LendsimError, ValueError):
    """An argument of a clearing or contagion function is not valid."""


# -- input checks (shared with lendsim.simulation.contagion and interbank) -----------------------


def as_matrix(matrix, name: str, n: int | None = None, *, square: bool = True) -> sp.csr_matrix:
    """``matrix`` (dense or sparse) as a float CSR matrix, checked finite and non-negative.

    Args:
        matrix: Array-like or scipy.sparse matrix.
        name: Argument name, for error messages.
        n: Required number of rows (and columns when ``square``), or None.
        square: Whether the matrix must be square.

    Returns:
        ``float64`` CSR matrix with sorted indices and no stored zeros.

    Raises:
        ClearingInputError: If the shape is wrong or an entry is negative or not finite.
    """
    if sp.issparse(matrix):
        out = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
    else:
        arr = np.asarray(matrix, dtype=np.float64)
        if arr.ndim != 2:
            raise ClearingInputError(f"{name} must be a 2-D matrix, got an array of shape {arr.shape}")
        out = sp.csr_matrix(arr)
    if square and out.shape[0] != out.shape[1]:
        raise ClearingInputError(f"{name} must be a square matrix, got shape {out.shape}")
    if n is not None and out.shape[0] != n:
        raise ClearingInputError(f"{name} must have {n} rows (one per bank), got shape {out.shape}")
    if not np.all(np.isfinite(out.data)):
        raise ClearingInputError(f"{name} has a non-finite entry; allowed: finite numbers >= 0")
    if np.any(out.data < 0):
        raise ClearingInputError(f"{name} has a negative entry ({out.data.min():g}); allowed: >= 0")
    out.eliminate_zeros()
    out.sort_indices()
    return out


def as_vector(values, name: str, n: int, *, low: float | None = 0.0, high: float | None = None,
              dtype=np.float64) -> np.ndarray:
    """``values`` (scalar or length-``n`` array) as a checked 1-D array.

    Raises:
        ClearingInputError: If the length is wrong or a value is outside ``[low, high]``.
    """
    arr = np.asarray(values, dtype=dtype)
    if arr.ndim == 0:
        arr = np.full(n, arr, dtype=dtype)
    if arr.shape != (n,):
        raise ClearingInputError(f"{name} must have length {n} (one per bank), got shape {arr.shape}")
    if dtype is bool:
        return arr.copy()
    if not np.all(np.isfinite(arr)):
        raise ClearingInputError(f"{name} has a non-finite value; allowed: finite numbers")
    if low is not None and np.any(arr < low):
        raise ClearingInputError(f"{name} has a value {arr.min():g} below the allowed minimum {low:g}")
    if high is not None and np.any(arr > high):
        raise ClearingInputError(f"{name} has a value {arr.max():g} above the allowed maximum {high:g}")
    return arr.copy()


def _check_fraction(value: float, name: str) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ClearingInputError(f"{name} = {value!r}: allowed values are in [0, 1]")
    return value


# -- clearing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClearingResult:
    """Clearing payments of a network of banks.

    Attributes:
        payments: Total payment by each bank to all its creditors, external and interbank.
        interbank_payments: Part of ``payments`` that goes to other banks.
        equity: Each bank's equity after clearing: external assets (net of default costs for a
            defaulted bank) plus interbank receipts minus payments; 0 for a defaulted bank
            (limited liability), ``>= 0`` always.
        defaulted: True for a bank that pays less than it owes.
        rounds: Banks newly defaulting in each round of the fictitious default algorithm
            (round 1 first), as sorted index arrays; empty list when no bank defaults.
    """

    payments: np.ndarray
    interbank_payments: np.ndarray
    equity: np.ndarray
    defaulted: np.ndarray
    rounds: list[np.ndarray]


def eisenberg_noe(liabilities, external_assets, *, external_liabilities=None,
                  seniority: str = "pari_passu") -> ClearingResult:
    """Greatest clearing payment vector of Eisenberg & Noe (2001), by fictitious default.

    With ``pbar`` each bank's total obligation and ``Pi[i, j]`` the share of bank ``i``'s
    payment that goes to ``j`` (``liabilities[i, j] / pbar[i]``, external creditors taking the
    rest), the clearing vector is the greatest ``p`` with ``p = min(pbar, e + Pi^T p)``: every
    bank pays in full or pays out all it has, creditors share pro rata. Under
    ``"external_senior"`` the interbank payments ``q`` solve
    ``q = min(Lbar, max(0, e + Pi_IB^T q - external_liabilities))`` instead (external
    creditors first). The fictitious default algorithm assumes every bank pays, finds who cannot,
    solves the linear system in which those banks pay out their assets, and repeats until no new
    bank defaults; each round's new defaulters are reported in ``rounds``. It ends after at most
    n rounds with the greatest clearing vector.

    Args:
        liabilities: ``n x n`` nominal interbank liabilities, ``liabilities[i, j]`` owed by ``i``
            to ``j`` (dense or scipy.sparse; >= 0; the diagonal is ignored).
        external_assets: Length-``n`` assets held outside the network (>= 0).
        external_liabilities: Length-``n`` obligations to creditors outside the network (>= 0;
            default none).
        seniority: ``"pari_passu"`` or ``"external_senior"`` (see the module docstring).

    Returns:
        A :class:`ClearingResult`.

    Raises:
        ClearingInputError: On a bad shape, a negative or non-finite amount, or an unknown
            seniority.

    References:
        Eisenberg, L. & Noe, T. H. (2001). Systemic risk in financial systems. Management
        Science 47(2), 236-249 (clearing vector: Definition 1, Theorem 2; fictitious default
        algorithm: Section 3).
        Elsinger, H., Lehar, A. & Summer, M. (2006). Risk assessment for banking systems.
        Management Science 52(9), 1301-1314 (senior external claims).

    Examples:
        >>> res = eisenberg_noe([[0, 10], [0, 0]], [4, 0])
        >>> res.payments.tolist(), res.defaulted.tolist(), res.equity.tolist()
        ([4.0, 0.0], [True, False], [0.0, 4.0])
    """
    return _clear(liabilities, external_assets, external_liabilities, seniority, 1.0, 1.0)


def rogers_veraart(liabilities, external_assets, *, alpha: float = 1.0, beta: float = 1.0,
                   external_liabilities=None, seniority: str = "pari_passu") -> ClearingResult:
    """Greatest clearing vector with default costs (Rogers & Veraart 2013).

    A solvent bank pays ``pbar`` in full. A defaulted bank realises only a share ``alpha`` of
    its external assets and ``beta`` of the interbank payments it receives, and pays that out:
    ``p_i = alpha e_i + beta (Pi^T p)_i``. The greatest clearing vector is found by Rogers and
    Veraart's Greatest Clearing Vector Algorithm, the fictitious default algorithm with the
    default costs in the defaulted banks' linear system. ``alpha = beta = 1`` is Eisenberg-Noe.
    ``seniority`` is as in :func:`eisenberg_noe`, applied to what a defaulted bank realises.

    Args:
        liabilities: ``n x n`` nominal liabilities, ``liabilities[i, j]`` owed by ``i`` to ``j``.
        external_assets: Length-``n`` external assets (>= 0).
        alpha: Share of external assets a defaulted bank realises, in [0, 1].
        beta: Share of interbank receipts a defaulted bank realises, in [0, 1].
        external_liabilities: Length-``n`` external obligations (>= 0; default none).
        seniority: ``"pari_passu"`` or ``"external_senior"``.

    Returns:
        A :class:`ClearingResult`; ``equity`` is 0 for defaulted banks (what default costs
        destroy is lost to everyone).

    Raises:
        ClearingInputError: On bad input, or ``alpha``/``beta`` outside [0, 1].

    References:
        Rogers, L. C. G. & Veraart, L. A. M. (2013). Failure and rescue in an interbank
        network. Management Science 59(4), 882-898 (Definition 2.3; Greatest Clearing Vector
        Algorithm, Section 3).

    Examples:
        >>> res = rogers_veraart([[0, 10], [0, 0]], [4, 0], alpha=0.5)
        >>> res.payments.tolist()
        [2.0, 0.0]
    """
    return _clear(liabilities, external_assets, external_liabilities, seniority,
                  _check_fraction(alpha, "alpha"), _check_fraction(beta, "beta"))


def _clear(liabilities, external_assets, external_liabilities, seniority, alpha, beta):
    if seniority not in SENIORITIES:
        raise ClearingInputError(f"seniority = {seniority!r}: allowed values are {', '.join(SENIORITIES)}")
    L = as_matrix(liabilities, "liabilities")
    n = L.shape[0]
    L = (L - sp.diags(L.diagonal())).tocsr()  # a bank owes itself nothing
    L.eliminate_zeros()
    e = as_vector(external_assets, "external_assets", n)
    ext = np.zeros(n) if external_liabilities is None else as_vector(
        external_liabilities, "external_liabilities", n)
    lbar = np.asarray(L.sum(axis=1)).ravel()
    pbar = lbar + ext
    is_senior = seniority == "external_senior"
    # Pi[i, j]: share of i's interbank payment q_i received by j. Under pari passu the interbank
    # payment is the share lbar/pbar of the total, so Pi^T q is the same as EN's Pi^T p.
    share = np.divide(1.0, lbar, out=np.zeros(n), where=lbar > 0)
    Pi = sp.diags(share) @ L
    PiT = Pi.T.tocsr()
    tol = _REL_TOL * np.maximum(pbar, 1.0)

    is_defaulted = np.zeros(n, dtype=bool)
    q = lbar.copy()  # interbank payments; round 0: everybody pays in full
    rounds: list[np.ndarray] = []
    while True:
        assets = e + PiT @ q
        is_new = ~is_defaulted & (assets < pbar - tol)
        if not is_new.any():
            break
        rounds.append(np.flatnonzero(is_new))
        is_defaulted |= is_new
        q = _interbank_payments(PiT, e, ext, lbar, pbar, is_defaulted, alpha, beta, is_senior)
    inflow = PiT @ q
    realised = np.where(is_defaulted, alpha * e + beta * inflow, e + inflow)
    payments = np.where(is_defaulted, realised, pbar)
    equity = np.where(is_defaulted, 0.0, np.maximum(e + inflow - pbar, 0.0))
    return ClearingResult(payments=payments, interbank_payments=q, equity=equity,
                          defaulted=is_defaulted, rounds=rounds)


def _interbank_payments(PiT, e, ext, lbar, pbar, is_defaulted, alpha, beta, is_senior):
    """Interbank payments when the banks in ``is_defaulted`` pay out what they realise.

    Solvent banks pay ``lbar``. A defaulted bank ``i`` realises
    ``r_i = alpha e_i + beta (Pi^T q)_i``; it pays ``q_i = r_i * lbar_i / pbar_i`` to banks
    under pari passu, ``max(0, r_i - ext_i)`` when external creditors are senior. The first is
    one linear system; the second a linear complementarity problem with an M-matrix, solved by
    Chandrasekaran's (1970) finite algorithm: start with every defaulted bank paying nothing,
    let the banks whose realised assets exceed their external debt pay, solve, repeat (the
    set of paying banks only grows, so it ends after at most n solves).
    """
    d_idx = np.flatnonzero(is_defaulted)
    s_idx = np.flatnonzero(~is_defaulted)
    q = lbar.copy()
    q[d_idx] = 0.0
    A = PiT[d_idx][:, d_idx] * beta                       # defaulted <- defaulted
    from_solvent = PiT[d_idx][:, s_idx] @ lbar[s_idx]     # defaulted <- solvent (paying lbar)
    c = alpha * e[d_idx] + beta * from_solvent
    if not is_senior:
        frac = np.divide(lbar[d_idx], pbar[d_idx], out=np.zeros(d_idx.size), where=pbar[d_idx] > 0)
        # q_D = diag(frac) (c + A q_D)
        M = sp.identity(d_idx.size, format="csr") - sp.diags(frac) @ A
        q[d_idx] = _solve(M, frac * c, lbar[d_idx])
        return np.maximum(q, 0.0)
    c = c - ext[d_idx]
    is_paying = c > 0
    while True:
        z = np.zeros(d_idx.size)
        j = np.flatnonzero(is_paying)
        if j.size:
            M = sp.identity(j.size, format="csr") - A[j][:, j]
            z[j] = _solve(M, c[j], lbar[d_idx][j])
        is_new = ~is_paying & (c + A @ z > 0)
        if not is_new.any():
            break
        is_paying |= is_new
    q[d_idx] = np.maximum(z, 0.0)
    return q


#: Systems up to this size are solved densely (LAPACK); larger ones iteratively, with sparse
#: matrix-vector products only (no factorisation: a sparse LU of a 10^5-bank random network
#: fills in and took minutes).
_DENSE_MAX = 200
#: Jacobi sweeps before the iteration is handed to a Krylov method (BiCGSTAB).
_JACOBI_MAX_ITER = 2_000
#: Relative change (of the largest payment) at which an iteration has converged.
_ITER_TOL = 1e-14


def _solve(M: sp.csr_matrix, b: np.ndarray, x_upper: np.ndarray) -> np.ndarray:
    """Solve ``M x = b`` with ``M = I - N``, ``N >= 0``.

    Small systems are solved densely. Larger ones by the fixed-point (Jacobi) iteration
    ``x <- b + N x`` from ``x_upper``, one sparse product per sweep: ``N`` is the defaulted
    banks' payment-share matrix scaled by default costs, its row sums are below 1 wherever a
    bank has outside creditors or costs, and on sparse networks it converges in tens of sweeps.
    Where it is slow (a group of defaulted banks that owe almost everything to each other,
    spectral radius near 1) BiCGSTAB takes over from the last iterate, and the result is
    checked by its residual.

    ``M`` is singular only in degenerate systems (a closed group of defaulted banks with no
    assets and no outside creditors, whose payments to each other are then indeterminate).
    There the greatest solution is taken, by monotone iteration ``x <- min(x_upper, b + N x)``
    down from ``x_upper`` (the banks' nominal obligations, which bound any payment).
    """
    if b.size == 0:
        return b.copy()
    N = sp.identity(b.size, format="csr") - M
    scale = max(1.0, float(np.max(np.abs(x_upper))), float(np.max(np.abs(b))))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", spla.MatrixRankWarning)
        if b.size <= _DENSE_MAX:
            try:
                x = np.linalg.solve(M.toarray(), b)
                if np.all(np.isfinite(x)):
                    return x
            except np.linalg.LinAlgError:
                pass
        else:
            x = x_upper.astype(np.float64, copy=True)
            for _ in range(_JACOBI_MAX_ITER):
                x_next = b + N @ x
                if np.max(np.abs(x_next - x)) <= _ITER_TOL * scale:
                    return x_next
                x = x_next
            if np.all(np.isfinite(x)):
                y, info = spla.bicgstab(M, b, x0=x, rtol=1e-13, atol=0.0, maxiter=10 * b.size)
                if info == 0 and np.all(np.isfinite(y)) and \
                        np.max(np.abs(M @ y - b)) <= 1e-10 * scale:
                    return y
    x = np.minimum(x_upper, b + N @ x_upper)
    for _ in range(100_000):
        x_next = np.minimum(x_upper, b + N @ x)
        if np.max(np.abs(x_next - x)) <= 1e-13 * max(1.0, float(np.max(np.abs(x)))):
            return x_next
        x = x_next
    return x


# -- DebtRank ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DebtRankResult:
    """Outcome of a DebtRank propagation.

    Attributes:
        h: Final relative equity loss of each bank, in [0, 1].
        debtrank: Economic-value-weighted loss caused by propagation, beyond the initial shock:
            ``sum_i v_i h_i(T) - sum_i v_i h_i(1)``.
        n_iterations: Propagation steps until nothing changed.
    """

    h: np.ndarray
    debtrank: float
    n_iterations: int


def debtrank(exposures, equity, initial_shock, *, variant: str = "original", weights=None,
             max_iter: int = 10_000, tol: float = 1e-12) -> DebtRankResult:
    """DebtRank: how an initial equity loss spreads through interbank exposures.

    The impact of bank ``j``'s distress on bank ``i`` is ``Lambda[i, j] = exposures[i, j] /
    equity[i]`` (capped at 1 in the original variant, as Battiston et al. define the impact:
    one counterparty cannot cost more than all of a bank's equity), and ``h_i`` is bank ``i``'s
    relative equity loss, starting from ``h(1) = initial_shock``. All banks update at once, so
    the result does not depend on the order of the banks.

    * ``"original"`` (Battiston et al. 2012): banks are undistressed (U), distressed (D) or
      inactive (I). ``h_i(t) = min(1, h_i(t-1) + sum_{j in D(t-1)} Lambda[i, j] h_j(t-1))``; a
      D bank becomes I after one propagation step, a U bank with ``h > 0`` becomes D. Each
      distressed bank therefore propagates its distress exactly once.
    * ``"linear"`` (Bardoscia et al. 2015): with ``h(0) = 0``,
      ``h_i(t+1) = min(1, h_i(t) + sum_j Lambda[i, j] (h_j(t) - h_j(t-1)))``: every increment
      of distress propagates, including around cycles, until it dies out (stops when no ``h``
      moves by more than ``tol``).

    The economic weights are ``v = weights / sum(weights)`` (default equal, ``v_i = 1/n``), and
    ``DebtRank = sum_i v_i h_i(T) - sum_i v_i h_i(1)``: the value lost through propagation,
    excluding the initial shock itself.

    Args:
        exposures: ``n x n`` matrix, ``exposures[i, j]`` what bank ``i`` loses if ``j`` fails
            (dense or scipy.sparse, >= 0).
        equity: Length-``n`` equity (>= 0, and > 0 for every bank with an exposure).
        initial_shock: Length-``n`` initial relative equity losses, in [0, 1].
        variant: ``"original"`` or ``"linear"``.
        weights: Length-``n`` economic weights (>= 0, positive sum), e.g. total assets;
            default equal weights.
        max_iter: Cap on propagation steps.
        tol: Convergence tolerance on ``h`` for the linear variant.

    Returns:
        A :class:`DebtRankResult`.

    Raises:
        ClearingInputError: On bad input.

    References:
        Battiston, S., Puliga, M., Kaushik, R., Tasca, P. & Caldarelli, G. (2012). DebtRank:
        too central to fail? Scientific Reports 2, 541 (eqs. 1-3).
        Bardoscia, M., Battiston, S., Caccioli, F. & Caldarelli, G. (2015). DebtRank: a
        microscopic foundation for shock propagation. PLoS ONE 10(6), e0130406 (eq. 7).

    Examples:
        Chain 0 -> 1 -> 2 with impact weights 0.5 and 0.4, bank 0 defaulting:

        >>> res = debtrank([[0, 0, 0], [0.5, 0, 0], [0, 0.4, 0]], [1, 1, 1], [1, 0, 0])
        >>> res.h.round(4).tolist(), round(res.debtrank, 4)
        ([1.0, 0.5, 0.2], 0.2333)
    """
    if variant not in DEBTRANK_VARIANTS:
        raise ClearingInputError(f"variant = {variant!r}: allowed values are {', '.join(DEBTRANK_VARIANTS)}")
    W = as_matrix(exposures, "exposures")
    n = W.shape[0]
    eq = as_vector(equity, "equity", n)
    h1 = as_vector(initial_shock, "initial_shock", n, low=0.0, high=1.0)
    v = _economic_weights(weights, n)
    Lam = _impact_matrix(W, eq, is_capped=variant == "original")
    if variant == "original":
        h, n_iter = _debtrank_original(Lam, h1, max_iter)
    else:
        h, n_iter = _debtrank_linear(Lam, h1, max_iter, tol)
    return DebtRankResult(h=h, debtrank=float(v @ h - v @ h1), n_iterations=n_iter)


def _economic_weights(weights, n: int) -> np.ndarray:
    if weights is None:
        return np.full(n, 1.0 / max(n, 1))
    w = as_vector(weights, "weights", n)
    total = w.sum()
    if total <= 0:
        raise ClearingInputError("weights sum to 0; allowed: non-negative weights with a positive sum")
    return w / total


def _impact_matrix(W: sp.csr_matrix, equity: np.ndarray, *, is_capped: bool) -> sp.csr_matrix:
    """``Lambda[i, j] = W[i, j] / equity[i]`` (optionally capped at 1)."""
    row = np.repeat(np.arange(W.shape[0]), np.diff(W.indptr))
    eq = equity[row]
    if np.any(eq <= 0):
        bad = int(row[np.argmax(eq <= 0)])
        raise ClearingInputError(f"equity[{bad}] = {equity[bad]:g} but bank {bad} has exposures; "
                                 "allowed: equity > 0 for every bank with an exposure")
    data = W.data / eq
    if is_capped:
        data = np.minimum(data, 1.0)
    return sp.csr_matrix((data, W.indices.copy(), W.indptr.copy()), shape=W.shape)


def _debtrank_original(Lam, h1, max_iter):
    h = h1.copy()
    is_distressed = h > 0
    is_inactive = np.zeros(h.size, dtype=bool)
    n_iter = 0
    while is_distressed.any() and n_iter < max_iter:
        h_prev = h
        h = np.minimum(1.0, h_prev + Lam @ np.where(is_distressed, h_prev, 0.0))
        is_inactive |= is_distressed
        is_distressed = (h > 0) & ~is_inactive
        n_iter += 1
    return h, n_iter


def _debtrank_linear(Lam, h1, max_iter, tol):
    h_prev = np.zeros_like(h1)
    h = h1.copy()
    n_iter = 0
    while n_iter < max_iter:
        h_next = np.minimum(1.0, h + Lam @ (h - h_prev))
        n_iter += 1
        h_prev, h = h, h_next
        if np.max(np.abs(h - h_prev), initial=0.0) <= tol:
            break
    return h, n_iter
