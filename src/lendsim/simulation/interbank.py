"""Interbank exposure networks: random directed, core-periphery, or read from a file.

Every builder returns an ``n x n`` :class:`scipy.sparse.csr_matrix` of exposures,
``exposures[i, j]`` = what bank ``i`` is owed by bank ``j`` (``i`` lends to ``j``), >= 0, with
a zero diagonal, sorted indices and no stored zeros. Its transpose is the liabilities matrix of
:func:`lendsim.simulation.clearing.eisenberg_noe` (``liabilities[j, i]`` = what ``j`` owes
``i``). All randomness comes from the ``numpy.random.Generator`` passed in.

Amounts on the links:

* ``sizes`` (length ``n``): bank ``i``'s interbank assets, spread evenly over its debtors
  (Gai & Kapadia 2010), so row ``i`` sums to ``sizes[i]`` when ``i`` has a debtor;
* ``total_exposure`` (scalar): the system's total, spread evenly over all links;
* neither: every link is 1.

Examples:
    >>> import numpy as np
    >>> E = random_directed(50, mean_degree=3.0, sizes=np.full(50, 0.2), rng=np.random.default_rng(1))
    >>> E.shape, bool(E.diagonal().any()), bool(np.allclose(E.sum(axis=1)[E.getnnz(axis=1) > 0], 0.2))
    ((50, 50), False, True)
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from lendsim.errors import LendsimError
from lendsim.simulation.clearing import ClearingInputError

__all__ = ["EDGE_LIST_HEADERS", "core_periphery", "from_file", "random_directed"]

#: Header lines that mark an edge-list file (lender, borrower, amount).
EDGE_LIST_HEADERS = (("lender", "borrower", "amount"), ("source", "target", "weight"))


def random_directed(n: int, *, p: float | None = None, mean_degree: float | None = None,
                    total_exposure: float | None = None, sizes=None,
                    rng: np.random.Generator) -> sp.csr_matrix:
    """Directed Erdos-Renyi exposure network: each ordered pair ``i != j`` is a loan from ``i``
    to ``j`` independently with probability ``p`` (``= mean_degree / (n - 1)``).

    The number of links is drawn from its binomial distribution and that many distinct ordered
    pairs are chosen uniformly (the same distribution as independent coin flips, in O(links)).
    In- and out-degrees are then Binomial(n - 1, p), close to Poisson(``mean_degree``), as in
    Gai & Kapadia's simulations.

    Args:
        n: Number of banks (>= 1).
        p: Link probability in [0, 1]; give this or ``mean_degree``.
        mean_degree: Expected number of debtors (and of creditors) per bank, in [0, n - 1].
        total_exposure: Total interbank exposure, split evenly over links (>= 0).
        sizes: Length-``n`` interbank assets per bank, split evenly over its debtors (>= 0).
        rng: Random generator.

    Returns:
        ``n x n`` CSR exposure matrix.

    Raises:
        ClearingInputError: If both or neither of ``p``/``mean_degree`` are given, both of
            ``total_exposure``/``sizes``, or a value is out of range.

    References:
        Erdos, P. & Renyi, A. (1959). On random graphs I; Gai, P. & Kapadia, S. (2010).
        Contagion in financial networks. Proc. R. Soc. A 466, 2401-2423 (section 4).
    """
    n = _check_n(n)
    p = _link_probability(n, p, mean_degree)
    rows, cols = _ordered_pairs(n, 0, n, 0, n, p, rng, is_diagonal_block=True)
    return _exposures(rows, cols, n, total_exposure, sizes)


def core_periphery(n: int, n_core: int, p_cc: float, p_cp: float, p_pc: float, p_pp: float,
                   rng: np.random.Generator, *, total_exposure: float | None = None,
                   sizes=None) -> sp.csr_matrix:
    """Core-periphery exposure network (a directed two-block stochastic block model).

    Banks ``0 .. n_core - 1`` form the core, the rest the periphery. A link from lender ``i``
    to borrower ``j`` exists independently with probability ``p_cc`` (core lends to core),
    ``p_cp`` (core to periphery), ``p_pc`` (periphery to core) or ``p_pp`` (periphery to
    periphery). The classic pattern is a dense core (``p_cc`` near 1), periphery banks linked
    to the core only (``p_pp = 0``).

    Args:
        n: Number of banks.
        n_core: Number of core banks, ``0 <= n_core <= n``.
        p_cc, p_cp, p_pc, p_pp: Link probabilities in [0, 1] (lender block, borrower block).
        rng: Random generator.
        total_exposure: Total exposure split evenly over links (>= 0).
        sizes: Length-``n`` interbank assets per bank, split evenly over its debtors.

    Returns:
        ``n x n`` CSR exposure matrix.

    Raises:
        ClearingInputError: On values out of range.

    References:
        Craig, B. & von Peter, G. (2014). Interbank tiering and money center banks. Journal of
        Financial Intermediation 23(3), 322-347; in 't Veld, D. & van Lelyveld, I. (2014).
        Finding the core: network structure in interbank markets. Journal of Banking &
        Finance 49, 27-40.
    """
    n = _check_n(n)
    n_core = int(n_core)
    if not 0 <= n_core <= n:
        raise ClearingInputError(f"n_core = {n_core}: allowed values are 0 .. n = {n}")
    probs = {"p_cc": p_cc, "p_cp": p_cp, "p_pc": p_pc, "p_pp": p_pp}
    for name, value in probs.items():
        _check_probability(value, name)
    blocks = {"c": (0, n_core), "p": (n_core, n)}
    rows, cols = [], []
    for lender in "cp":
        for borrower in "cp":
            r0, r1 = blocks[lender]
            c0, c1 = blocks[borrower]
            r, c = _ordered_pairs(n, r0, r1, c0, c1, probs[f"p_{lender}{borrower}"], rng,
                                  is_diagonal_block=lender == borrower)
            rows.append(r)
            cols.append(c)
    return _exposures(np.concatenate(rows), np.concatenate(cols), n, total_exposure, sizes)


def from_file(path: str | os.PathLike, n: int) -> sp.csr_matrix:
    """Read a user's exposure matrix.

    Two formats, told apart by the first line:

    * an edge list, whose first line is the header ``lender,borrower,amount`` (or
      ``source,target,weight``, as :func:`lendsim.simulation.layers.write_layer` writes),
      then one line ``i,j,amount`` per loan: 0-based bank indices in ``[0, n)``, ``i != j``,
      amount >= 0; repeated pairs add up;
    * otherwise an ``n x n`` CSV matrix, row ``i`` column ``j`` what ``i`` is owed by ``j``,
      with a zero diagonal.

    Blank lines and lines starting with ``#`` are skipped.

    Args:
        path: CSV file.
        n: Number of banks.

    Returns:
        ``n x n`` CSR exposure matrix.

    Raises:
        LendsimError: Naming the file, the line, the value and what is allowed, if the file
            cannot be read or does not follow one of the formats.
    """
    n = _check_n(n)
    path = Path(path)
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            lines = [(no, row) for no, row in enumerate(csv.reader(handle), start=1)
                     if row and any(f.strip() for f in row) and not row[0].lstrip().startswith("#")]
    except (OSError, UnicodeDecodeError) as exc:
        raise LendsimError(f"interbank exposure file {path}: cannot read it as UTF-8 CSV "
                           f"({type(exc).__name__})") from None
    if not lines:
        raise LendsimError(f"interbank exposure file {path}: no data; allowed: an {n} x {n} CSV "
                           "matrix or an edge list with the header lender,borrower,amount")
    header = tuple(f.strip().lower() for f in lines[0][1])
    if header in EDGE_LIST_HEADERS:
        return _read_edge_list(path, lines[1:], n)
    return _read_matrix(path, lines, n)


# -- internals ------------------------------------------------------------------------------------


def _read_edge_list(path: Path, lines, n: int) -> sp.csr_matrix:
    rows, cols, amounts = [], [], []
    for no, fields in lines:
        where = f"interbank exposure file {path}, line {no}"
        if len(fields) != 3:
            raise LendsimError(f"{where}: {len(fields)} fields; allowed: lender,borrower,amount")
        i = _parse_index(fields[0], where, "lender", n)
        j = _parse_index(fields[1], where, "borrower", n)
        if i == j:
            raise LendsimError(f"{where}: lender = borrower = {i}; allowed: a bank cannot lend to itself")
        amounts.append(_parse_amount(fields[2], where, "amount"))
        rows.append(i)
        cols.append(j)
    E = sp.csr_matrix((np.asarray(amounts, dtype=np.float64), (np.asarray(rows, dtype=np.int64),
                       np.asarray(cols, dtype=np.int64))), shape=(n, n))  # duplicates add up
    return _canonical(E)


def _read_matrix(path: Path, lines, n: int) -> sp.csr_matrix:
    allowed = (f"an {n} x {n} CSV matrix of amounts >= 0 with a zero diagonal, or an edge list "
               "whose first line is lender,borrower,amount")
    if len(lines) != n:
        raise LendsimError(f"interbank exposure file {path}: {len(lines)} data rows for n = {n} "
                           f"banks; allowed: {allowed}")
    dense = np.zeros((n, n))
    for i, (no, fields) in enumerate(lines):
        where = f"interbank exposure file {path}, line {no}"
        if len(fields) != n:
            raise LendsimError(f"{where}: {len(fields)} values; allowed: {allowed}")
        for j, text in enumerate(fields):
            dense[i, j] = _parse_amount(text, where, f"column {j + 1}")
        if dense[i, i] != 0:
            raise LendsimError(f"{where}: diagonal entry {dense[i, i]:g} (bank {i} owed by itself); "
                               f"allowed: {allowed}")
    return _canonical(sp.csr_matrix(dense))


def _parse_index(text: str, where: str, name: str, n: int) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise LendsimError(f"{where}: {name} is not a whole number; allowed: a 0-based bank "
                           f"index in [0, {n})") from None
    if not 0 <= value < n:
        raise LendsimError(f"{where}: {name} = {value}; allowed: a 0-based bank index in [0, {n})")
    return value


def _parse_amount(text: str, where: str, name: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise LendsimError(f"{where}: {name} is not a number; allowed: a number >= 0") from None
    if not np.isfinite(value) or value < 0:
        raise LendsimError(f"{where}: {name} = {value:g}; allowed: a finite number >= 0")
    return value


def _canonical(E: sp.spmatrix) -> sp.csr_matrix:
    E = sp.csr_matrix(E, dtype=np.float64)
    E.sum_duplicates()
    E.eliminate_zeros()
    E.sort_indices()
    return E


def _check_n(n) -> int:
    if int(n) != n or n < 1:
        raise ClearingInputError(f"n = {n!r}: allowed values are integers >= 1 (number of banks)")
    return int(n)


def _check_probability(p, name: str) -> float:
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ClearingInputError(f"{name} = {p!r}: allowed values are probabilities in [0, 1]")
    return p


def _link_probability(n: int, p, mean_degree) -> float:
    if (p is None) == (mean_degree is None):
        raise ClearingInputError("give exactly one of p (link probability) and mean_degree")
    if p is not None:
        return _check_probability(p, "p")
    z = float(mean_degree)
    if not 0.0 <= z <= max(n - 1, 0):
        raise ClearingInputError(f"mean_degree = {mean_degree!r}: allowed values are in [0, n - 1 = {n - 1}]")
    return z / (n - 1) if n > 1 else 0.0


def _ordered_pairs(n: int, r0: int, r1: int, c0: int, c1: int, p: float,
                   rng: np.random.Generator, *, is_diagonal_block: bool) -> tuple[np.ndarray, np.ndarray]:
    """Each pair (row in [r0, r1), col in [c0, c1)) independently with probability ``p``,
    excluding ``row == col`` in a diagonal block."""
    n_rows, n_cols = r1 - r0, c1 - c0
    n_pairs = n_rows * (n_rows - 1) if is_diagonal_block else n_rows * n_cols
    n_links = int(rng.binomial(n_pairs, p)) if n_pairs > 0 else 0
    if n_links == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    pair_idx = np.asarray(rng.choice(n_pairs, size=n_links, replace=False), dtype=np.int64)
    if is_diagonal_block:
        row, col = np.divmod(pair_idx, n_rows - 1)
        col = col + (col >= row)  # skip the diagonal
    else:
        row, col = np.divmod(pair_idx, n_cols)
    return row + r0, col + c0


def _exposures(rows: np.ndarray, cols: np.ndarray, n: int, total_exposure, sizes) -> sp.csr_matrix:
    if total_exposure is not None and sizes is not None:
        raise ClearingInputError("give at most one of total_exposure and sizes")
    if sizes is not None:
        size_arr = np.asarray(sizes, dtype=np.float64)
        if size_arr.shape != (n,) or not np.all(np.isfinite(size_arr)) or np.any(size_arr < 0):
            raise ClearingInputError(f"sizes must be {n} finite numbers >= 0 (interbank assets per bank)")
        n_debtors = np.bincount(rows, minlength=n)
        amounts = size_arr[rows] / n_debtors[rows]
    elif total_exposure is not None:
        total = float(total_exposure)
        if not np.isfinite(total) or total < 0:
            raise ClearingInputError(f"total_exposure = {total_exposure!r}: allowed values are finite numbers >= 0")
        amounts = np.full(rows.size, total / rows.size if rows.size else 0.0)
    else:
        amounts = np.ones(rows.size)
    return _canonical(sp.csr_matrix((amounts, (rows, cols)), shape=(n, n)))
