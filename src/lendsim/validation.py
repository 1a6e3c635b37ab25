"""``lendsim validate``: check the contagion and clearing code against published results.

Each check compares lendsim's functions with an independent truth: a worked example from the
literature (recomputed by hand in ``docs/validation.md``), or the prediction of a
generating-function theory computed in :mod:`lendsim.simulation.contagion`, against
simulations on random networks drawn from one seeded generator. The suite returns one
:class:`Check` per row; ``lendsim validate`` (``lendsim.cli.validate``) prints them as a table
and exits 1 if any fails.

``--quick`` runs small networks and few trials (well under a minute on 2 cores); the full suite
uses larger networks, more trials and more mean degrees (a few minutes). See
``docs/validation.md`` for what each check tests and why the tolerances are what they are.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["Check", "format_table", "percolation_giant_share", "run_validation",
           "simulate_sir"]


@dataclass(frozen=True)
class Check:
    """One row of the validation table.

    Attributes:
        name: What is checked.
        expected: The published or predicted value, and the tolerance.
        measured: What lendsim computed or simulated.
        passed: Whether ``measured`` is within tolerance of ``expected``.
        seconds: Wall time of the check (the group it belongs to, for grouped checks).
    """

    name: str
    expected: str
    measured: str
    passed: bool
    seconds: float = 0.0


@dataclass(frozen=True)
class _Settings:
    n_sir: int
    n_sir_trials: int
    n_watts: int
    n_watts_trials: int
    watts_degrees: tuple[float, ...]
    n_gk: int
    n_gk_trials: int
    gk_degrees: tuple[float, ...]


QUICK = _Settings(n_sir=2000, n_sir_trials=100, n_watts=2000, n_watts_trials=60,
                  watts_degrees=(0.4, 2.5, 4.0, 12.0), n_gk=500, n_gk_trials=60,
                  gk_degrees=(0.4, 2.5, 4.0, 12.0))
FULL = _Settings(n_sir=10_000, n_sir_trials=300, n_watts=10_000, n_watts_trials=300,
                 watts_degrees=(0.4, 0.5, 2.0, 2.5, 3.0, 4.0, 4.5, 10.0, 12.0, 16.0), n_gk=1000,
                 n_gk_trials=400, gk_degrees=(0.4, 0.5, 2.0, 2.5, 3.0, 4.0, 4.5, 10.0, 12.0, 16.0))

WATTS_THRESHOLD = 0.18      # Watts (2002)'s example threshold
GK_CAPITAL_RATIO = 0.04     # Gai & Kapadia (2010) baseline: capital 4% of assets,
GK_INTERBANK_SHARE = 0.20   # interbank assets 20% of assets
GLOBAL_SHARE_WATTS = 0.10   # a cascade is global when it reaches > 10% of nodes
GLOBAL_SHARE_GK = 0.05      # Gai & Kapadia count contagion when > 5% of banks fail
LARGE_OUTBREAK_SHARE = 0.05  # an SIR outbreak is large when it reaches > 5% of nodes


# -- the suite ------------------------------------------------------------------------------------


def run_validation(*, quick: bool = False, seed: int = 0,
                   progress: Callable[[str], None] | None = None) -> list[Check]:
    """Run the validation suite.

    Args:
        quick: Small networks and few trials (under a minute) instead of the full suite.
        seed: Root seed; every check draws from its own child stream of it, so a check's
            numbers do not depend on which other checks run.
        progress: Called with each group's name before it runs (e.g. to print progress).

    Returns:
        One :class:`Check` per row, in table order.
    """
    settings = QUICK if quick else FULL
    streams = np.random.SeedSequence(seed).spawn(4)
    groups = [
        ("Eisenberg-Noe", lambda: _clearing_checks(np.random.default_rng(streams[0]))),
        ("DebtRank", _debtrank_checks),
        ("epidemic threshold", lambda: _epidemic_checks(settings, np.random.default_rng(streams[1]))),
        ("Watts window", lambda: _watts_checks(settings, np.random.default_rng(streams[2]))),
        ("Gai-Kapadia window", lambda: _gai_kapadia_checks(settings, np.random.default_rng(streams[3]))),
    ]
    rows: list[Check] = []
    for name, group in groups:
        if progress is not None:
            progress(name)
        start = time.perf_counter()
        checks = group()
        seconds = time.perf_counter() - start
        rows.extend(Check(c.name, c.expected, c.measured, c.passed, round(seconds, 2)) for c in checks)
    return rows


def format_table(rows: list[Check]) -> str:
    """The rows as a plain-text table ``check | expected | measured | result``.

    Examples:
        >>> print(format_table([Check("a", "1", "1.0", True)]))
        check | expected | measured | result
        ----- | -------- | -------- | ------
        a     | 1        | 1.0      | pass
    """
    from lendsim.results.summary import pipe_table

    return pipe_table(("check", "expected", "measured", "result"),
                      [(r.name, r.expected, r.measured, "pass" if r.passed else "FAIL")
                       for r in rows])


# -- clearing and DebtRank ------------------------------------------------------------------------


def _fmt_vec(x) -> str:
    return "[" + ", ".join(f"{v:.4f}" for v in np.asarray(x, dtype=float)) + "]"


def _clearing_checks(rng: np.random.Generator) -> list[Check]:
    from lendsim.simulation.clearing import eisenberg_noe, rogers_veraart

    L = np.array([[0, 20, 10], [5, 0, 24], [10, 0, 0]], dtype=float)
    e = np.array([10, 10, 10], dtype=float)
    expected = np.array([1890 / 77, 10 + 2 / 3 * 1890 / 77, 10.0])  # solved by hand, docs/validation.md
    res = eisenberg_noe(L, e)
    cumulative, seen = [], set()
    for r in res.rounds:
        seen |= set(r.tolist())
        cumulative.append(sorted(seen))
    rows = [
        Check("EN 3 banks: clearing payments", "[24.5455, 26.3636, 10.0000] +/- 1e-4",
              _fmt_vec(res.payments), bool(np.allclose(res.payments, expected, atol=1e-4, rtol=0))),
        Check("EN 3 banks: defaulted banks by round (0-based)", "[[0], [0, 1]]", str(cumulative),
              cumulative == [[0], [0, 1]]),
    ]
    # The clearing identity on random systems (Eisenberg & Noe 2001, Definition 1).
    n, worst, worst_rv = 60, 0.0, 0.0
    for _ in range(20):
        Lr = np.where(rng.random((n, n)) < 0.1, rng.exponential(1.0, (n, n)), 0.0)
        np.fill_diagonal(Lr, 0.0)
        er = rng.exponential(0.5, n)
        ext = rng.exponential(0.5, n)
        out = eisenberg_noe(Lr, er, external_liabilities=ext)
        pbar = Lr.sum(axis=1) + ext
        Pi = np.divide(Lr, pbar[:, None], out=np.zeros_like(Lr), where=pbar[:, None] > 0)
        worst = max(worst, float(np.max(np.abs(out.payments - np.minimum(pbar, er + Pi.T @ out.payments)))))
        rv = rogers_veraart(Lr, er, alpha=1.0, beta=1.0, external_liabilities=ext)
        worst_rv = max(worst_rv, float(np.max(np.abs(rv.payments - out.payments))))
    rows.append(Check("EN fixed point p = min(pbar, Pi^T p + e), 20 random systems",
                      "max error < 1e-9", f"{worst:.1e}", worst < 1e-9))
    rows.append(Check("Rogers-Veraart alpha = beta = 1 equals EN", "max difference < 1e-9",
                      f"{worst_rv:.1e}", worst_rv < 1e-9))
    return rows


def _debtrank_checks() -> list[Check]:
    from lendsim.simulation.clearing import debtrank

    # Chain 1 -> 2 -> 3 (0-based 0 -> 1 -> 2): impact weights 0.5 and 0.4, exposures[i, j]
    # being what i loses if j fails, so Lambda[1, 0] = 0.5 and Lambda[2, 1] = 0.4.
    exposures = np.array([[0, 0, 0], [0.5, 0, 0], [0, 0.4, 0]])
    rows = []
    for variant in ("original", "linear"):
        res = debtrank(exposures, [1.0, 1.0, 1.0], [1.0, 0.0, 0.0], variant=variant)
        ok = bool(np.allclose(res.h, [1.0, 0.5, 0.2], atol=1e-12) and abs(res.debtrank - 0.7 / 3) < 1e-12)
        rows.append(Check(f"DebtRank chain ({variant}): h, DebtRank",
                          "h = [1, 0.5, 0.2], R = (0 + 0.5 + 0.2)/3 = 0.2333",
                          f"h = {_fmt_vec(res.h)}, R = {res.debtrank:.4f}", ok))
    return rows


# -- epidemic threshold ---------------------------------------------------------------------------


def simulate_sir(adjacency: sp.csr_matrix, transmissibility: float, seed_idx: int,
                 rng: np.random.Generator) -> int:
    """Final size of an SIR outbreak from one seed, in discrete generations.

    Each newly infected node gets one chance to infect each susceptible neighbour, with
    probability ``transmissibility``, then recovers: the outbreak is the cluster of the seed
    in bond percolation with occupation probability ``T`` (Newman 2002). Vectorised over the
    infected generation.

    Args:
        adjacency: Symmetric binary adjacency (CSR).
        transmissibility: ``T`` in [0, 1].
        seed_idx: The first infected node.
        rng: Random generator.

    Returns:
        Number of nodes ever infected (the seed included).

    References:
        Newman, M. E. J. (2002). Spread of epidemic disease on networks. Physical Review E
        66, 016128.
    """
    n = adjacency.shape[0]
    is_reached = np.zeros(n, dtype=bool)
    is_reached[seed_idx] = True
    frontier = np.array([seed_idx])
    while frontier.size:
        rows = adjacency[frontier]
        targets = rows.indices[rng.random(rows.indices.size) < transmissibility]
        targets = np.unique(targets[~is_reached[targets]])
        is_reached[targets] = True
        frontier = targets
    return int(is_reached.sum())


def _epidemic_checks(s: _Settings, rng: np.random.Generator) -> list[Check]:
    from lendsim.simulation.contagion import epidemic_threshold
    from lendsim.simulation.networks import degree, erdos_renyi

    n = s.n_sir
    # Heterogeneous degrees: geometric on 1, 2, ..., mean 4, variance 12 (T_c well below 1/<k>).
    hetero = _configuration_model(rng.geometric(0.25, size=n), rng)
    nets = [("Erdos-Renyi <k> = 4", sp.csr_matrix(erdos_renyi(n, 4.0, rng))),
            ("configuration model, geometric degrees", hetero)]
    rows = []
    for label, adj in nets:
        k = degree(adj)
        t_c = epidemic_threshold(k)
        for factor in (0.5, 2.0):
            T = min(1.0, factor * t_c)
            seeds = rng.integers(0, n, size=s.n_sir_trials)
            shares = np.array([simulate_sir(adj, T, int(i), rng) for i in seeds]) / n
            is_large = shares > LARGE_OUTBREAK_SHARE
            name = f"SIR on {label}: T = {factor:g} T_c (T_c = {t_c:.3f})"
            if factor < 1:
                rows.append(Check(name, f"mean outbreak < 1% of N, none > {LARGE_OUTBREAK_SHARE:.0%}",
                                  f"mean {shares.mean():.2%}, largest {shares.max():.2%}",
                                  bool(shares.mean() < 0.01 and not is_large.any())))
                continue
            # Above T_c the giant cluster of bond percolation, S, is both the chance of a large
            # outbreak and its size (Newman 2002, sec. IV), computed from the network's degrees.
            big = percolation_giant_share(k, T)
            mean_large = shares[is_large].mean() if is_large.any() else 0.0
            tol_f = 3 * np.sqrt(big * (1 - big) / s.n_sir_trials) + 0.03
            ok = bool(abs(is_large.mean() - big) <= tol_f and abs(mean_large - big) <= 0.05)
            rows.append(Check(name, f"P(large) = size = {big:.3f} (+/- {tol_f:.2f}, size +/- 0.05)",
                              f"P(large) {is_large.mean():.3f}, size {mean_large:.3f}", ok))
    return rows


def percolation_giant_share(degrees, transmissibility: float) -> float:
    """Giant-cluster share of bond percolation on a configuration-model network.

    ``S = 1 - G_0(u)`` with ``u = 1 - T + T G_1(u)`` the smallest root in [0, 1], where
    ``G_0(x) = <x^k>`` and ``G_1(x) = <k x^(k-1)> / <k>`` over the degree sequence: the share
    of nodes a large SIR outbreak reaches, and the probability that one seed starts one.

    References:
        Newman, M. E. J. (2002). Spread of epidemic disease on networks. Physical Review E
        66, 016128 (eqs. for the outbreak size above the threshold).

    Examples:
        >>> round(percolation_giant_share([4] * 100, 1.0), 4)   # 4-regular: S = 1 - u^4, u = u^3
        1.0
    """
    k = np.asarray(degrees, dtype=np.float64)
    T = float(transmissibility)
    mean_k = k.mean()
    if mean_k == 0:
        return 0.0
    u = 0.0
    for _ in range(100_000):
        u_next = 1.0 - T + T * float(np.mean(k * u ** np.maximum(k - 1, 0))) / mean_k
        if abs(u_next - u) < 1e-14:
            break
        u = u_next
    return float(1.0 - np.mean(u_next ** k))


def _configuration_model(degrees: np.ndarray, rng: np.random.Generator) -> sp.csr_matrix:
    """Random graph with (about) the given degrees: stubs paired uniformly at random; self
    loops and repeated edges are dropped (Molloy & Reed 1995; Newman 2010, sec. 13.2)."""
    stubs = np.repeat(np.arange(degrees.size), degrees)
    if stubs.size % 2:
        stubs = stubs[:-1]
    stubs = rng.permutation(stubs)
    u, v = stubs[0::2], stubs[1::2]
    keep = u != v
    n = degrees.size
    adj = sp.coo_matrix((np.ones(int(keep.sum())), (u[keep], v[keep])), shape=(n, n)).tocsr()
    adj = adj + adj.T
    adj.data[:] = 1.0
    adj.sort_indices()
    return adj.tocsr()


# -- cascade windows ------------------------------------------------------------------------------


def _window_rows(label: str, window, degrees, freqs, extents, n_trials: int) -> list[Check]:
    """Rows comparing simulated global-cascade frequencies with a predicted window.

    Inside the window the simulated frequency must match the predicted one within three
    binomial standard errors plus 0.05 for finite size (the theory is for infinite networks;
    on 10^3 to 10^4 nodes the cluster sizes it counts fluctuate by several percent). Well
    outside (z below half the lower edge, or above 1.5 times the upper edge) global cascades
    must be rare: at most 2% of trials. Points close to an edge, where finite networks blur
    the transition, are reported but not checked.
    """
    rows = []
    edges = f"{window.lower:.2f} < z < {window.upper:.2f}"
    for z, pred, is_in, f, ext in zip(degrees, window.frequency, window.inside, freqs, extents):
        measured = f"freq {f:.3f}, extent {ext:.2f}" if f > 0 else f"freq {f:.3f}"
        if is_in:
            tol = 3 * np.sqrt(max(pred * (1 - pred), 0.01) / n_trials) + 0.05
            near_edge = z < 1.25 * window.lower or z > 0.8 * window.upper
            ok = True if near_edge else bool(abs(f - pred) <= tol and f > 0.1)
            exp = (f"inside {edges}: freq {pred:.3f} +/- {tol:.2f}"
                   + (" (near edge, not checked)" if near_edge else ""))
        else:
            far = z <= 0.5 * window.lower or z >= 1.5 * window.upper
            ok = bool(f <= 0.02) if far else True
            exp = f"outside {edges}: freq <= 0.02" if far else f"outside {edges}, near edge: not checked"
        rows.append(Check(f"{label}, z = {z:g}", exp, measured, ok))
    return rows


def _watts_checks(s: _Settings, rng: np.random.Generator) -> list[Check]:
    from lendsim.simulation.contagion import threshold_cascade, watts_cascade_window
    from lendsim.simulation.networks import erdos_renyi

    window = watts_cascade_window(s.watts_degrees, WATTS_THRESHOLD)
    freqs, extents = [], []
    for z in s.watts_degrees:
        sizes = []
        for _ in range(s.n_watts_trials):
            adj = erdos_renyi(s.n_watts, z, rng)  # a fresh network per trial, as Watts did
            seed = int(rng.integers(s.n_watts))
            sizes.append(threshold_cascade(adj, WATTS_THRESHOLD, [seed]).mean())
        _global_cascades(sizes, GLOBAL_SHARE_WATTS, freqs, extents)
    label = f"Watts cascades (phi {WATTS_THRESHOLD}, N {s.n_watts})"
    return _window_rows(label, window, s.watts_degrees, freqs, extents, s.n_watts_trials)


def _global_cascades(sizes, threshold: float, freqs: list, extents: list) -> None:
    """Append the share of trials whose cascade exceeded ``threshold`` of the nodes (a global
    cascade), and the mean size of those cascades (0 if none)."""
    sizes = np.asarray(sizes)
    is_global = sizes > threshold
    freqs.append(float(is_global.mean()))
    extents.append(float(sizes[is_global].mean()) if is_global.any() else 0.0)


def _gai_kapadia_checks(s: _Settings, rng: np.random.Generator) -> list[Check]:
    from lendsim.simulation.contagion import gai_kapadia_window, interbank_cascade
    from lendsim.simulation.interbank import random_directed

    window = gai_kapadia_window(s.gk_degrees, GK_CAPITAL_RATIO, GK_INTERBANK_SHARE)
    sizes_ib = np.full(s.n_gk, GK_INTERBANK_SHARE)  # total assets 1 per bank
    capital = np.full(s.n_gk, GK_CAPITAL_RATIO)
    freqs, extents = [], []
    for z in s.gk_degrees:
        shares = []
        for _ in range(s.n_gk_trials):
            E = random_directed(s.n_gk, mean_degree=z, sizes=sizes_ib, rng=rng)
            first = int(rng.integers(s.n_gk))
            shares.append(interbank_cascade(E, capital, [first]).failed.mean())
        _global_cascades(shares, GLOBAL_SHARE_GK, freqs, extents)
    label = f"Gai-Kapadia (K/A {GK_CAPITAL_RATIO}, A_IB/A {GK_INTERBANK_SHARE}, N {s.n_gk})"
    return _window_rows(label, window, s.gk_degrees, freqs, extents, s.n_gk_trials)
