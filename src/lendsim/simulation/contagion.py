"""Contagion on networks: default cascades, threshold cascades and their analytic windows.

Pure functions of arrays (dense numpy or scipy.sparse), independent of the order in which
nodes are listed:

* :func:`interbank_cascade`: banks fail when losses on failed debtors exceed capital
  (Furfine 2003; Gai & Kapadia 2010);
* :func:`threshold_cascade`: Watts's (2002) threshold model;
* :func:`epidemic_threshold`, :func:`watts_cascade_window`, :func:`gai_kapadia_window`: the
  generating-function predictions the validation suite (``lendsim validate``) checks the
  simulations against.

Examples:
    >>> import numpy as np
    >>> exposures = np.array([[0, 5.0, 0], [0, 0, 5.0], [0, 0, 0]])  # 0 lends to 1, 1 to 2
    >>> res = interbank_cascade(exposures, [4.0, 4.0, 4.0], [2])
    >>> res.failed.tolist(), [r.tolist() for r in res.rounds]
    ([True, True, True], [[1], [0]])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from lendsim.simulation.clearing import ClearingInputError, as_matrix, as_vector

__all__ = [
    "CascadeResult",
    "CascadeWindow",
    "epidemic_threshold",
    "gai_kapadia_window",
    "interbank_cascade",
    "threshold_cascade",
    "watts_cascade_window",
]


@dataclass(frozen=True)
class CascadeResult:
    """Outcome of a default cascade.

    Attributes:
        failed: True for every failed bank, the initial failures included.
        rounds: Banks newly failing in each round of contagion (round 1 first, the initial
            failures not included), as sorted index arrays; ``len(rounds)`` is the duration.
    """

    failed: np.ndarray
    rounds: list[np.ndarray]


def interbank_cascade(exposures, capital, initial_failures, *, recovery: float = 0.0) -> CascadeResult:
    """Default cascade through interbank exposures (losses at face value, no clearing).

    In each round, every surviving bank ``i`` counts its loss on all failed debtors,
    ``(1 - recovery) * sum_{j failed} exposures[i, j]``, and fails when that loss is strictly
    greater than its capital. Rounds repeat until no bank fails; all banks are updated at once
    (the result does not depend on bank order, and since losses only grow, it is the same as
    any sequential order).

    Args:
        exposures: ``n x n`` matrix, ``exposures[i, j]`` what bank ``i`` is owed by (and would
            lose if) bank ``j`` (dense or scipy.sparse, >= 0).
        capital: Length-``n`` (or scalar) capital buffers (>= 0), in the same unit.
        initial_failures: Boolean mask of length ``n`` or an array of bank indices.
        recovery: Share of a claim on a failed bank that is recovered, in [0, 1].

    Returns:
        A :class:`CascadeResult`.

    Raises:
        ClearingInputError: On bad shapes, negative amounts, indices out of range.

    References:
        Furfine, C. (2003). Interbank exposures: quantifying the risk of contagion. Journal of
        Money, Credit and Banking 35(1), 111-128.
        Gai, P. & Kapadia, S. (2010). Contagion in financial networks. Proc. R. Soc. A 466,
        2401-2423 (a bank defaults when its losses on failed counterparties exceed its capital).
    """
    E = as_matrix(exposures, "exposures")
    n = E.shape[0]
    K = as_vector(capital, "capital", n)
    recovery = float(recovery)
    if not 0.0 <= recovery <= 1.0:
        raise ClearingInputError(f"recovery = {recovery!r}: allowed values are in [0, 1]")
    is_failed = _seed_mask(initial_failures, n, "initial_failures")
    ET = E.T.tocsr()  # row j: creditors of j and their claims
    loss = np.zeros(n)
    new_idx = np.flatnonzero(is_failed)
    rounds: list[np.ndarray] = []
    while new_idx.size:
        touched, amounts = _touched(ET, new_idx)
        loss[touched] += (1.0 - recovery) * amounts
        cand = touched[~is_failed[touched]]
        new_idx = cand[loss[cand] > K[cand]]
        if new_idx.size:
            rounds.append(new_idx)
            is_failed[new_idx] = True
    return CascadeResult(failed=is_failed, rounds=rounds)


def threshold_cascade(adjacency, thresholds, seeds) -> np.ndarray:
    """Final active set of Watts's threshold model.

    A node becomes active when the share of its neighbours that are active is at least
    (``>=``) its threshold; active nodes stay active. A node with no neighbours never
    activates unless seeded. Node ``i``'s neighbours are the nonzero entries of row ``i``
    (for a directed graph: the nodes ``i`` listens to); edge weights are ignored.

    Rounds are synchronous but, the rule being monotone, the final set is the same as under
    any update order. Each round only looks at the neighbours of the nodes activated in the
    previous round (a sparse product restricted to the new nodes), so the whole cascade costs
    O(edges): a 10^6-node network runs in about a second.

    Args:
        adjacency: ``n x n`` adjacency matrix (dense or scipy.sparse).
        thresholds: Length-``n`` (or scalar) thresholds, fractions in [0, 1].
        seeds: Boolean mask of length ``n`` or an array of node indices active at the start.

    Returns:
        Boolean array, True for every node active at the end (seeds included).

    Raises:
        ClearingInputError: On bad shapes or thresholds outside [0, 1].

    References:
        Watts, D. J. (2002). A simple model of global cascades on random networks. PNAS
        99(9), 5766-5771.

    Examples:
        >>> import numpy as np
        >>> path = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]])
        >>> threshold_cascade(path, 0.5, [0]).tolist()
        [True, True, True]
        >>> threshold_cascade(path, 0.6, [0]).tolist()
        [True, False, False]
    """
    A = _binary(adjacency)
    n = A.shape[0]
    phi = as_vector(thresholds, "thresholds", n, low=0.0, high=1.0)
    is_active = _seed_mask(seeds, n, "seeds")
    AT = A.T.tocsr()  # row j: nodes that have j as a neighbour
    n_neighbours = np.diff(A.indptr).astype(np.float64)
    n_active = np.zeros(n)
    # a node with threshold 0 needs no active neighbour (share 0 >= 0), only a neighbour
    is_active |= (n_neighbours > 0) & (phi <= 0)
    new_idx = np.flatnonzero(is_active)
    while new_idx.size:
        # only the neighbours of newly active nodes can change: O(their edges) per round
        touched, counts = _touched(AT, new_idx)
        n_active[touched] += counts
        cand = touched[~is_active[touched]]
        new_idx = cand[n_active[cand] / n_neighbours[cand] >= phi[cand]]
        is_active[new_idx] = True
    return is_active


# -- analytic predictions -------------------------------------------------------------------------


@dataclass(frozen=True)
class CascadeWindow:
    """A generating-function cascade prediction on random networks, per mean degree.

    Attributes:
        mean_degrees: The mean degrees ``z`` asked about.
        condition: The branching number at each ``z``: expected number of further vulnerable
            nodes one vulnerable node's failure reaches; cascades are possible where it
            exceeds 1.
        inside: ``condition > 1``.
        frequency: Predicted probability that one random initial failure triggers a global
            cascade (the extended vulnerable cluster), 0 outside the window.
        lower, upper: Edges of the window (where ``condition == 1``), found by root finding
            on ``(0, z_max]``; NaN if there is no window.
    """

    mean_degrees: np.ndarray
    condition: np.ndarray
    inside: np.ndarray
    frequency: np.ndarray
    lower: float
    upper: float


def epidemic_threshold(degrees) -> float:
    """Critical transmissibility of SIR on a random network with the given degree sequence.

    ``T_c = <k> / (<k^2> - <k>)``: an outbreak can reach a finite share of the network only
    when the transmissibility (probability that an infected node infects a given neighbour
    before recovering) exceeds ``T_c``. Here ``<k>`` and ``<k^2>`` are the mean degree and mean
    squared degree of the network (configuration model).

    Args:
        degrees: Degree of every node.

    Returns:
        ``T_c`` (may exceed 1: then no epidemic is possible); ``inf`` if ``<k^2> <= <k>``.

    References:
        Newman, M. E. J. (2002). Spread of epidemic disease on networks. Physical Review E
        66, 016128 (the epidemic threshold as bond percolation).

    Examples:
        >>> epidemic_threshold([4] * 10)   # regular graph: 1 / (k - 1)
        0.3333333333333333
    """
    k = np.asarray(degrees, dtype=np.float64)
    if k.size == 0 or np.any(k < 0) or not np.all(np.isfinite(k)):
        raise ClearingInputError("degrees must be a non-empty array of finite numbers >= 0")
    k1, k2 = k.mean(), (k * k).mean()
    return float(k1 / (k2 - k1)) if k2 > k1 else float("inf")


def watts_cascade_window(mean_degrees, threshold: float, *, z_max: float = 50.0) -> CascadeWindow:
    """Watts's (2002) cascade window for a uniform threshold on Erdos-Renyi (Poisson) networks.

    A node of degree ``k`` is vulnerable (one active neighbour activates it) when
    ``1/k >= threshold``, so ``rho_k = 1`` for ``1 <= k <= K = floor(1/threshold)``. Global
    cascades are possible when ``sum_k k (k-1) rho_k p_k > <k> = z`` (Watts's cascade
    condition), i.e. when
    the branching number ``sum_k k (k-1) rho_k p_k / z`` exceeds 1; with Poisson ``p_k`` it is
    ``sum_{k=2..K} z^(k-1) e^-z / (k-2)!``. The frequency of global cascades is the
    probability that a random seed touches the giant vulnerable cluster:
    ``1 - G_0(u)`` with ``u = 1 - G_1v(1) + G_1v(u)``, ``G_0(x) = e^{z(x-1)}`` and
    ``G_1v(x) = sum_k rho_k k p_k x^(k-1) / z`` (Watts's generating functions, Poisson case).

    Args:
        mean_degrees: Mean degrees ``z`` (> 0) to evaluate.
        threshold: The uniform threshold ``phi`` in (0, 1].
        z_max: Upper end of the search for the window's edges.

    Returns:
        A :class:`CascadeWindow`.

    References:
        Watts, D. J. (2002). A simple model of global cascades on random networks. PNAS
        99(9), 5766-5771 (cascade condition and frequency of global cascades; its example
        window is for phi = 0.18 on Poisson networks).

    Examples:
        >>> w = watts_cascade_window([0.5, 3.0, 12.0], 0.18)
        >>> w.inside.tolist(), round(w.lower, 3), round(w.upper, 2)
        ([False, True, False], 1.021, 5.76)
    """
    from scipy.stats import poisson  # heavy (~30 MB): only the analytical windows need it
    phi = float(threshold)
    if not 0.0 < phi <= 1.0:
        raise ClearingInputError(f"threshold = {threshold!r}: allowed values are in (0, 1]")
    k_vuln = int(np.floor(1.0 / phi + 1e-12))
    ks = np.arange(1, k_vuln + 1)

    def branching(z):
        z = np.asarray(z, dtype=np.float64)
        pk = poisson.pmf(ks[:, None], np.atleast_1d(z)[None, :])
        out = np.sum((ks * (ks - 1))[:, None] * pk, axis=0) / np.atleast_1d(z)
        return out.reshape(z.shape)

    def edge_vulnerable(z: float) -> np.ndarray:
        return ks * poisson.pmf(ks, z) / z  # P(edge end has degree k and is vulnerable)

    def frequency(z: float) -> float:
        w = edge_vulnerable(z)
        u = _smallest_root(lambda x: 1.0 - w.sum() + np.sum(w * x ** (ks - 1)))
        return float(1.0 - np.exp(z * (u - 1.0)))

    return _window(mean_degrees, branching, frequency, z_max)


def gai_kapadia_window(mean_degrees, capital_ratio: float, interbank_share: float, *,
                       z_max: float = 50.0) -> CascadeWindow:
    """Gai & Kapadia's (2010) contagion window on a directed Poisson interbank network.

    Every bank holds interbank assets ``A_IB = interbank_share * A`` spread evenly over its
    ``j`` debtors and capital ``K = capital_ratio * A``; with zero recovery one failed debtor
    costs it ``A_IB / j``, so it is vulnerable when ``K / A < A_IB / (j A)``, i.e.
    ``j < interbank_share / capital_ratio`` (computed here as
    ``interbank_share / j > capital_ratio``, the same floating-point test
    :func:`interbank_cascade` applies). Contagion spreads from a failed bank to its creditors.
    On a directed network with independent Poisson in- and out-degrees of mean ``z``
    (``p_jk = p_j p_k``), the branching condition of Gai & Kapadia, ``sum_{j,k} (j k / z) v_j
    p_jk > 1``, becomes ``sum_j j v_j p_j > 1``. The contagion frequency is the probability
    that the first failure reaches the giant vulnerable out-cluster: ``1 - e^{z(u-1)}`` with
    ``u = 1 - a + a e^{z(u-1)}``, ``a = sum_j j v_j p_j / z`` the probability that a creditor
    reached along a link is vulnerable.

    Args:
        mean_degrees: Mean numbers ``z`` of debtors (= creditors) per bank (> 0).
        capital_ratio: Capital over total assets, ``K / A``, in (0, 1].
        interbank_share: Interbank assets over total assets, ``A_IB / A``, in (0, 1].
        z_max: Upper end of the search for the window's edges.

    Returns:
        A :class:`CascadeWindow`.

    References:
        Gai, P. & Kapadia, S. (2010). Contagion in financial networks. Proc. R. Soc. A 466,
        2401-2423 (section 3: vulnerable banks and the cascade condition from the generating
        function of the joint degree distribution; the baseline has a 4% capital ratio and a
        20% interbank share).

    Examples:
        >>> w = gai_kapadia_window([0.5, 3.0, 12.0], 0.04, 0.2)
        >>> w.inside.tolist(), round(w.lower, 2), round(w.upper, 2)
        ([False, True, False], 1.02, 5.76)
    """
    from scipy.stats import poisson  # heavy (~30 MB): only the analytical windows need it
    k_ratio = float(capital_ratio)
    ib = float(interbank_share)
    if not 0.0 < k_ratio <= 1.0:
        raise ClearingInputError(f"capital_ratio = {capital_ratio!r}: allowed values are in (0, 1]")
    if not 0.0 < ib <= 1.0:
        raise ClearingInputError(f"interbank_share = {interbank_share!r}: allowed values are in (0, 1]")
    j_max = int(np.ceil(ib / k_ratio)) + 1
    js = np.arange(1, j_max + 1)
    js = js[ib / js > k_ratio]  # vulnerable in-degrees (numbers of debtors)

    def branching(z):
        z = np.asarray(z, dtype=np.float64)
        out = np.sum(js[:, None] * poisson.pmf(js[:, None], np.atleast_1d(z)[None, :]), axis=0)
        return out.reshape(z.shape)

    def frequency(z: float) -> float:
        a = float(branching(z)) / z
        u = _smallest_root(lambda x: 1.0 - a + a * np.exp(z * (x - 1.0)))
        return float(1.0 - np.exp(z * (u - 1.0)))

    return _window(mean_degrees, branching, frequency, z_max)


def _window(mean_degrees, branching, frequency, z_max: float) -> CascadeWindow:
    z = np.atleast_1d(np.asarray(mean_degrees, dtype=np.float64))
    if np.any(z <= 0) or not np.all(np.isfinite(z)):
        raise ClearingInputError("mean_degrees must be finite numbers > 0")
    cond = np.asarray(branching(z), dtype=np.float64)
    inside = cond > 1.0
    freq = np.array([frequency(x) if is_in else 0.0 for x, is_in in zip(z, inside)])
    lower, upper = _window_edges(branching, z_max)
    return CascadeWindow(mean_degrees=z, condition=cond, inside=inside, frequency=freq,
                         lower=lower, upper=upper)


def _window_edges(branching, z_max: float) -> tuple[float, float]:
    """Smallest and largest ``z`` in ``(0, z_max]`` where ``branching(z) == 1``."""
    from scipy.optimize import brentq  # likewise
    grid = np.linspace(1e-3, z_max, 4000)
    f = branching(grid) - 1.0
    crossings = np.flatnonzero(np.sign(f[:-1]) != np.sign(f[1:]))
    if crossings.size == 0:
        return float("nan"), float("nan")
    def root(i: int) -> float:
        return float(brentq(lambda x: float(branching(x)) - 1.0, grid[i], grid[i + 1], xtol=1e-12))
    return root(crossings[0]), root(crossings[-1])


def _smallest_root(g) -> float:
    """Smallest fixed point ``u = g(u)`` in [0, 1] of an increasing convex ``g`` (iteration
    from 0 converges to it monotonically)."""
    u = 0.0
    for _ in range(100_000):
        u_next = float(g(u))
        if abs(u_next - u) < 1e-14:
            return u_next
        u = u_next
    return u


# -- helpers --------------------------------------------------------------------------------------


def _binary(adjacency) -> sp.csr_matrix:
    """Nonzero pattern of ``adjacency`` as a float CSR matrix of ones."""
    A = sp.csr_matrix(adjacency, dtype=np.float64) if sp.issparse(adjacency) else sp.csr_matrix(
        np.asarray(adjacency, dtype=np.float64))
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ClearingInputError(f"adjacency must be a square matrix, got shape {A.shape}")
    A.eliminate_zeros()
    A.data[:] = 1.0
    return A


def _seed_mask(seeds, n: int, name: str) -> np.ndarray:
    """Boolean mask from a mask or an index array."""
    arr = np.asarray(seeds)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise ClearingInputError(f"{name} as a mask must have length {n}, got shape {arr.shape}")
        return arr.copy()
    idx = arr.astype(np.int64).ravel() if arr.size else np.empty(0, np.int64)
    if arr.size and not np.array_equal(idx, arr.ravel()):
        raise ClearingInputError(f"{name} must be a boolean mask or integer indices")
    if np.any((idx < 0) | (idx >= n)):
        raise ClearingInputError(f"{name} has an index outside [0, {n}): {idx[(idx < 0) | (idx >= n)][0]}")
    mask = np.zeros(n, dtype=bool)
    mask[idx] = True
    return mask


def _touched(MT: sp.csr_matrix, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``i`` with ``M[i, idx] != 0`` (sorted) and ``M[i, idx].sum()`` for each, read from
    ``MT`` (M transposed, CSR) in O(entries of those rows)."""
    rows = MT[idx]
    if rows.nnz > MT.shape[0] // 16:  # large frontier: a dense count is cheaper than sorting
        sums = np.bincount(rows.indices, weights=rows.data, minlength=MT.shape[0])
        touched = np.flatnonzero(np.bincount(rows.indices, minlength=MT.shape[0]))
        return touched, sums[touched]
    touched, inverse = np.unique(rows.indices, return_inverse=True)
    return touched, np.bincount(inverse, weights=rows.data, minlength=touched.size)
