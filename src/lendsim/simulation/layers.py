"""Export any network layer (social, lending, funding, interbank) to networkx or a file.

A layer is a matrix (dense or scipy.sparse): square for one kind of node (borrowers,
banks), ``n_rows x n_cols`` for two kinds (borrower x platform lending, platform x bank
funding). Nonzero entries are edges; their values become the ``weight`` attribute.

For a rectangular (bipartite) layer, row nodes are numbered ``0 .. n_rows - 1`` and column
nodes ``n_rows .. n_rows + n_cols - 1``, with the networkx convention ``bipartite = 0`` for
rows and ``1`` for columns.

Examples:
    >>> import numpy as np
    >>> g = to_networkx(np.array([[0, 2.5], [0, 0]]), directed=True)
    >>> list(g.edges(data=True))
    [(0, 1, {'weight': 2.5})]
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import networkx as nx
import numpy as np
import scipy.sparse as sp

from lendsim.errors import LendsimError

__all__ = ["LAYER_SUFFIXES", "to_networkx", "write_layer"]

#: File suffixes :func:`write_layer` understands.
LAYER_SUFFIXES = (".csv", ".graphml")


def to_networkx(matrix, directed: bool, node_attrs: dict | None = None) -> nx.Graph:
    """Convert a layer to a networkx graph with ``weight`` edge attributes.

    Args:
        matrix: Dense or sparse layer matrix; ``matrix[i, j] != 0`` is an edge ``i -> j``.
        directed: True for a :class:`networkx.DiGraph`. False for a :class:`networkx.Graph`;
            a square matrix must then be symmetric (each edge is read once, from ``i <= j``).
        node_attrs: Optional ``{name: values}``, one value per node (length ``n`` for a square
            layer, ``n_rows + n_cols`` for a rectangular one), stored as node attributes.

    Returns:
        The graph, with every node (isolated ones included).

    Raises:
        LendsimError: If an undirected square matrix is not symmetric, or an attribute has the
            wrong length.

    References:
        Hagberg, A., Schult, D. & Swart, P. (2008). Exploring network structure, dynamics, and
        function using NetworkX. Proc. SciPy 2008; bipartite node convention of
        ``networkx.algorithms.bipartite``.
    """
    M, n_nodes, rows, cols, weights = _edges(matrix, directed)
    graph = nx.DiGraph() if directed else nx.Graph()
    graph.add_nodes_from(range(n_nodes))
    if M.shape[0] != M.shape[1]:
        nx.set_node_attributes(graph, {i: int(i >= M.shape[0]) for i in range(n_nodes)}, "bipartite")
    graph.add_weighted_edges_from(zip(rows.tolist(), cols.tolist(), weights.tolist()))
    for name, values in (node_attrs or {}).items():
        values = np.asarray(values)
        if values.shape != (n_nodes,):
            raise LendsimError(f"node_attrs[{name!r}] has shape {values.shape}; allowed: one value "
                               f"per node, length {n_nodes}")
        nx.set_node_attributes(graph, dict(enumerate(values.tolist())), name)
    return graph


def write_layer(matrix, path: str | os.PathLike, *, directed: bool = True,
                columns: tuple[str, str, str] = ("source", "target", "weight"),
                node_attrs: dict | None = None) -> Path:
    """Write a layer to ``path``, the format chosen by the suffix.

    * ``.csv``: an edge list, header ``source,target,weight`` (or ``columns``), one line per
      edge in row-major order; an interbank layer written this way reads back with
      :func:`lendsim.simulation.interbank.from_file`.
    * ``.graphml``: GraphML via networkx, with ``weight`` edge attributes and ``node_attrs``.

    The file is written to a temporary name and renamed, so it appears complete or not at all.

    Args:
        matrix: Dense or sparse layer matrix.
        path: Output file (``.csv`` or ``.graphml``).
        directed: Whether edges are directed (see :func:`to_networkx`).
        columns: Header of the CSV edge list.
        node_attrs: Node attributes (GraphML only).

    Returns:
        The path written.

    Raises:
        LendsimError: For another suffix, or an undirected layer that is not symmetric.

    References:
        GraphML: Brandes, U. et al. (2002). GraphML progress report. Graph Drawing, LNCS 2265.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in LAYER_SUFFIXES:
        raise LendsimError(f"layer file {path}: suffix {path.suffix!r}; allowed: {', '.join(LAYER_SUFFIXES)}")
    if suffix == ".graphml":
        graph = to_networkx(matrix, directed, node_attrs)
        _atomic_write(path, lambda tmp: nx.write_graphml(graph, tmp))
        return path
    _, _, rows, cols, weights = _edges(matrix, directed)

    def write_csv(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            handle.write(",".join(columns) + "\n")
            handle.writelines(f"{r},{c},{w!r}\n" for r, c, w in
                              zip(rows.tolist(), cols.tolist(), weights.tolist()))

    _atomic_write(path, write_csv)
    return path


def _edges(matrix, directed: bool):
    """(CSR matrix, number of nodes, rows, cols, weights) of the layer's edges."""
    M = sp.csr_matrix(matrix, dtype=np.float64) if sp.issparse(matrix) else sp.csr_matrix(
        np.asarray(matrix, dtype=np.float64))
    M.sum_duplicates()
    M.eliminate_zeros()
    M.sort_indices()
    n_rows, n_cols = M.shape
    is_square = n_rows == n_cols
    if not directed and is_square:
        if (abs(M - M.T) > 1e-12 * max(1.0, (float(abs(M).max()) if M.nnz else 0.0))).nnz:
            raise LendsimError("layer matrix is not symmetric, so it cannot be an undirected layer; "
                               "allowed: a symmetric matrix, or directed=True")
        M = sp.triu(M, format="csr")
    coo = M.tocoo()
    order = np.lexsort((coo.col, coo.row))
    rows = coo.row[order].astype(np.int64)
    cols = coo.col[order].astype(np.int64) + (0 if is_square else n_rows)
    n_nodes = n_rows if is_square else n_rows + n_cols
    return M, n_nodes, rows, cols, coo.data[order]


def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes the file private; a results file is not
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
