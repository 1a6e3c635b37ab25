"""Tests for lendsim.simulation.networks against networkx and closed-form truths."""

from __future__ import annotations

import time

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from lendsim.simulation.networks import (
    NETWORK_KINDS,
    barabasi_albert,
    degree,
    erdos_renyi,
    from_edge_list,
    neighbour_share,
    social_network,
    stochastic_block,
    to_networkx,
    watts_strogatz,
    write_network,
)

RANDOM_KINDS = ("watts_strogatz", "erdos_renyi", "barabasi_albert", "stochastic_block")


def edge_set(adj: sp.spmatrix) -> set[tuple[int, int]]:
    """Undirected edges as ``(min, max)`` pairs."""
    coo = sp.coo_matrix(adj)
    return {(min(a, b), max(a, b)) for a, b in zip(coo.row.tolist(), coo.col.tolist())}


def assert_simple_graph(adj: sp.spmatrix, n: int) -> None:
    """Symmetric, binary, loop-free, canonical CSR on n nodes."""
    assert isinstance(adj, sp.csr_matrix)
    assert adj.shape == (n, n)
    assert adj.dtype in (np.int8, np.bool_)
    assert np.all(adj.data == 1)
    assert (adj != adj.T).nnz == 0
    assert adj.diagonal().sum() == 0
    assert adj.has_sorted_indices
    rows = np.repeat(np.arange(n), np.diff(adj.indptr))
    assert np.all(np.diff(adj.indices)[np.diff(rows) == 0] > 0), "duplicate or unsorted entries"


# --------------------------------------------------------------------- shape


@pytest.mark.parametrize("kind", RANDOM_KINDS)
def test_every_kind_gives_simple_graph_with_requested_mean_degree(kind):
    n, mean_degree = 5000, 8.0
    adj = social_network(n, kind, mean_degree, np.random.default_rng(1))
    assert_simple_graph(adj, n)
    assert degree(adj).mean() == pytest.approx(mean_degree, rel=0.02)


def test_none_kind_has_no_edges():
    adj = social_network(10, "none", 4.0, np.random.default_rng(0))
    assert_simple_graph(adj, 10)
    assert adj.nnz == 0


def test_unknown_kind_error_names_kind_and_allowed_values():
    with pytest.raises(ValueError, match="small_world") as info:
        social_network(10, "small_world", 4.0, np.random.default_rng(0))
    for kind in NETWORK_KINDS:
        assert kind in str(info.value)


def test_edge_list_kind_needs_a_path():
    with pytest.raises(ValueError, match="edge_list"):
        social_network(10, "edge_list", 4.0, np.random.default_rng(0))


@pytest.mark.parametrize("kind", RANDOM_KINDS)
def test_same_seed_same_graph_different_seed_different_graph(kind):
    a = social_network(2000, kind, 6.0, np.random.default_rng(42))
    b = social_network(2000, kind, 6.0, np.random.default_rng(42))
    c = social_network(2000, kind, 6.0, np.random.default_rng(43))
    assert (a != b).nnz == 0
    assert (a != c).nnz > 0


@settings(max_examples=30, deadline=None)
@given(
    kind=st.sampled_from(RANDOM_KINDS),
    n=st.integers(min_value=12, max_value=80),
    mean_degree=st.floats(min_value=0.0, max_value=6.0),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_small_graphs_are_always_simple(kind, n, mean_degree, seed):
    adj = social_network(n, kind, mean_degree, np.random.default_rng(seed), p_in_out_ratio=2.0)
    assert_simple_graph(adj, n)


# ------------------------------------------------------------ Watts-Strogatz


@pytest.mark.parametrize(("n", "k"), [(10, 2), (30, 4), (101, 10), (50, 7)])
def test_watts_strogatz_without_rewiring_equals_networkx_ring_lattice(n, k):
    adj = watts_strogatz(n, k, 0.0, np.random.default_rng(0))
    expected = {(min(a, b), max(a, b)) for a, b in nx.watts_strogatz_graph(n, k, 0.0).edges()}
    assert edge_set(adj) == expected


def test_watts_strogatz_clustering_follows_barrat_weigt():
    # C(p) ~= C(0) (1 - p)^3 with C(0) = 3(k - 2) / (4(k - 1)) (Barrat & Weigt 2000).
    n, k, p = 20000, 10, 0.2
    adj = watts_strogatz(n, k, p, np.random.default_rng(3))
    c0 = 3 * (k - 2) / (4 * (k - 1))
    clustering = nx.average_clustering(to_networkx(adj))
    assert clustering == pytest.approx(c0 * (1 - p) ** 3, rel=0.05)
    assert degree(adj).mean() == pytest.approx(k, abs=0.01)
    n_rewired = len(edge_set(adj) - edge_set(watts_strogatz(n, k, 0.0, np.random.default_rng(0))))
    assert n_rewired / (n * k / 2) == pytest.approx(p, abs=0.01)


def test_watts_strogatz_rejects_k_not_below_n():
    with pytest.raises(ValueError, match="k < n"):
        watts_strogatz(10, 10, 0.1, np.random.default_rng(0))


@pytest.mark.slow
def test_watts_strogatz_million_nodes_builds_in_seconds():
    start = time.perf_counter()
    adj = watts_strogatz(10**6, 10, 0.1, np.random.default_rng(0))
    elapsed = time.perf_counter() - start
    assert adj.shape == (10**6, 10**6)
    assert degree(adj).mean() == pytest.approx(10.0, abs=0.01)
    assert elapsed < 10.0


# ---------------------------------------------------------------- Erdős-Rényi


def test_erdos_renyi_has_exact_edge_count_and_poisson_degrees():
    n, mean_degree = 20000, 6.0
    adj = erdos_renyi(n, mean_degree, np.random.default_rng(5))
    assert adj.nnz // 2 == round(n * mean_degree / 2)
    deg = degree(adj)
    # G(n, m) degrees are close to Poisson(mean_degree): variance ~ mean.
    assert deg.var() == pytest.approx(mean_degree, rel=0.05)


def test_erdos_renyi_complete_graph_when_all_pairs_requested():
    adj = erdos_renyi(7, 6.0, np.random.default_rng(0))
    assert adj.nnz == 7 * 6


def test_erdos_renyi_pairs_are_uniform():
    # Each of the 10 pairs of 5 nodes is chosen with probability m / 10 = 0.3.
    rng = np.random.default_rng(9)
    counts = np.zeros((5, 5))
    n_draws = 4000
    for _ in range(n_draws):
        counts += erdos_renyi(5, 1.2, rng).toarray()
    share = counts[np.triu_indices(5, 1)] / n_draws
    assert np.allclose(share, 0.3, atol=0.03)


# ---------------------------------------------------------- Barabási-Albert


def test_barabasi_albert_matches_networkx_edge_count_and_degree_distribution():
    n, m = 20000, 3
    adj = barabasi_albert(n, m, np.random.default_rng(11))
    reference = nx.barabasi_albert_graph(n, m, seed=11)
    assert adj.nnz // 2 == reference.number_of_edges() == m * (n - m)
    deg = degree(adj)
    ref_deg = np.array([d for _, d in sorted(reference.degree())])
    assert deg.min() == m
    # Same algorithm, different random stream: the degree distributions agree.
    for threshold in (m, 2 * m, 4 * m, 10 * m):
        assert np.mean(deg > threshold) == pytest.approx(np.mean(ref_deg > threshold), abs=0.015)
    assert deg.max() > 20 * m  # heavy tail: hubs exist


def test_barabasi_albert_hundred_thousand_nodes_is_fast():
    start = time.perf_counter()
    adj = barabasi_albert(10**5, 5, np.random.default_rng(0))
    assert time.perf_counter() - start < 5.0
    assert adj.nnz // 2 == 5 * (10**5 - 5)


# ------------------------------------------------------- stochastic blocks


def test_stochastic_block_within_between_density_ratio():
    n, mean_degree, n_blocks, ratio = 6001, 12.0, 3, 5.0
    adj = stochastic_block(n, mean_degree, n_blocks, ratio, np.random.default_rng(2))
    assert_simple_graph(adj, n)
    block = np.repeat(np.arange(n_blocks), [len(b) for b in np.array_split(np.arange(n), n_blocks)])
    coo = sp.triu(adj, k=1, format="coo")
    is_within = block[coo.row] == block[coo.col]
    sizes = np.bincount(block)
    pairs_within = np.sum(sizes * (sizes - 1) / 2)
    pairs_between = n * (n - 1) / 2 - pairs_within
    density_ratio = (is_within.sum() / pairs_within) / ((~is_within).sum() / pairs_between)
    assert is_within.sum() > (~is_within).sum()
    assert density_ratio == pytest.approx(ratio, rel=0.08)
    assert degree(adj).mean() == pytest.approx(mean_degree, rel=0.03)


def test_stochastic_block_rejects_impossible_probability():
    with pytest.raises(ValueError, match="probability"):
        stochastic_block(30, 25.0, 3, 5.0, np.random.default_rng(0))


# ------------------------------------------------------------------- files


@pytest.mark.parametrize("suffix", [".txt", ".csv", ".edgelist"])
def test_edge_list_round_trip(tmp_path, suffix):
    adj = erdos_renyi(300, 4.0, np.random.default_rng(4))
    path = tmp_path / f"net{suffix}"
    write_network(adj, path)
    back = from_edge_list(path, 300)
    assert_simple_graph(back, 300)
    assert (back != adj).nnz == 0
    via_kind = social_network(300, "edge_list", 0.0, np.random.default_rng(0), edge_list=path)
    assert (via_kind != adj).nnz == 0


def test_graphml_round_trip(tmp_path):
    adj = watts_strogatz(50, 4, 0.3, np.random.default_rng(0))
    path = tmp_path / "net.graphml"
    write_network(adj, path)
    graph = nx.read_graphml(path, node_type=int)
    assert graph.number_of_nodes() == 50
    assert {(min(a, b), max(a, b)) for a, b in graph.edges()} == edge_set(adj)


def test_edge_list_reader_accepts_mixed_separators_comments_duplicates_loops(tmp_path):
    path = tmp_path / "net.txt"
    path.write_text("# header\n0 1\n1,2\n\n2 , 3\n1 0\n3 3\n  # indented comment\n")
    adj = from_edge_list(path, 5)
    assert_simple_graph(adj, 5)
    assert edge_set(adj) == {(0, 1), (1, 2), (2, 3)}


@pytest.mark.parametrize(
    ("body", "bad_line", "message"),
    [
        ("0 1\n1 x\n", 2, "two 0-based integer"),
        ("0 1\n# c\n1 2 3\n", 3, "two 0-based integer"),
        ("0 1\n4\n", 2, "two 0-based integer"),
        ("0 5\n", 1, "out of range"),
        ("0 1\n-1 2\n", 2, "out of range"),
        ("0.5 1\n", 1, "two 0-based integer"),
    ],
)
def test_edge_list_reader_errors_name_file_and_line(tmp_path, body, bad_line, message):
    path = tmp_path / "bad.txt"
    path.write_text(body)
    with pytest.raises(ValueError, match=message) as info:
        from_edge_list(path, 5)
    assert str(path) in str(info.value)
    assert f"line {bad_line}" in str(info.value)
    assert "[0, 5)" in str(info.value)


def test_to_networkx_keeps_isolated_nodes():
    adj = social_network(4, "none", 0.0, np.random.default_rng(0))
    graph = to_networkx(adj)
    assert graph.number_of_nodes() == 4
    assert graph.number_of_edges() == 0


# --------------------------------------------------------------- statistics


def test_neighbour_share_matches_per_node_loop():
    rng = np.random.default_rng(8)
    n = 300
    adj = erdos_renyi(n, 3.0, rng)  # sparse enough that some nodes are isolated
    flag = rng.random(n) < 0.3
    dense = adj.toarray()
    expected = np.zeros(n)
    for node in range(n):
        neighbours = np.flatnonzero(dense[node])
        if neighbours.size:
            expected[node] = flag[neighbours].mean()
    assert np.any(dense.sum(axis=1) == 0)
    np.testing.assert_allclose(neighbour_share(adj, flag), expected, rtol=0, atol=1e-15)


def test_degree_matches_networkx():
    adj = barabasi_albert(500, 2, np.random.default_rng(0))
    graph = to_networkx(adj)
    np.testing.assert_array_equal(degree(adj), [graph.degree(i) for i in range(500)])


def test_neighbour_share_rejects_wrong_length():
    adj = erdos_renyi(10, 2.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="shape"):
        neighbour_share(adj, np.zeros(9, dtype=bool))
