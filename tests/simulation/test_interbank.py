"""Tests of the interbank network builders, the exposure-file reader and layer export."""

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from lendsim.errors import LendsimError
from lendsim.simulation.interbank import core_periphery, from_file, random_directed
from lendsim.simulation.layers import to_networkx, write_layer


def test_random_directed_degree_sizes_and_seed():
    n, z = 400, 5.0
    E = random_directed(n, mean_degree=z, sizes=np.full(n, 0.2), rng=np.random.default_rng(0))
    assert isinstance(E, sp.csr_matrix) and E.shape == (n, n)
    assert E.diagonal().sum() == 0
    # links ~ Binomial(n (n-1), p): mean n z, sd about sqrt(n z)
    assert abs(E.nnz - n * z) < 5 * np.sqrt(n * z)
    has_debtor = E.getnnz(axis=1) > 0
    np.testing.assert_allclose(E.sum(axis=1).A1[has_debtor], 0.2)
    # each claim is A_IB / (number of debtors), Gai & Kapadia
    i = int(np.flatnonzero(has_debtor)[0])
    np.testing.assert_allclose(E[i].data, 0.2 / E[i].nnz)
    again = random_directed(n, mean_degree=z, sizes=np.full(n, 0.2), rng=np.random.default_rng(0))
    assert (E != again).nnz == 0


def test_random_directed_total_and_unit_weights():
    E = random_directed(100, p=0.05, total_exposure=1000.0, rng=np.random.default_rng(1))
    assert E.sum() == pytest.approx(1000.0)
    U = random_directed(100, p=0.05, rng=np.random.default_rng(1))
    assert set(U.data.tolist()) == {1.0} and (U != 0).nnz == (E != 0).nnz


def test_random_directed_edge_frequency_is_uniform():
    # every ordered pair i != j equally likely: count over many draws on 5 banks
    counts = np.zeros((5, 5))
    rng = np.random.default_rng(2)
    for _ in range(2000):
        counts += random_directed(5, p=0.3, rng=rng).toarray() > 0
    off = counts[~np.eye(5, dtype=bool)] / 2000
    assert np.all(np.diag(counts) == 0)
    assert np.all(np.abs(off - 0.3) < 5 * np.sqrt(0.3 * 0.7 / 2000))


def test_core_periphery_block_densities():
    n, n_core = 300, 30
    E = core_periphery(n, n_core, 0.9, 0.2, 0.1, 0.0, np.random.default_rng(3)).toarray() > 0
    c, p = slice(0, n_core), slice(n_core, n)
    assert E[c, c].sum() / (n_core * (n_core - 1)) == pytest.approx(0.9, abs=0.05)
    assert E[c, p].mean() == pytest.approx(0.2, abs=0.02)
    assert E[p, c].mean() == pytest.approx(0.1, abs=0.02)
    assert E[p, p].sum() == 0 and np.trace(E) == 0


def test_builder_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(LendsimError, match="exactly one"):
        random_directed(10, p=0.1, mean_degree=2, rng=rng)
    with pytest.raises(LendsimError, match="p_cp"):
        core_periphery(10, 2, 0.5, 1.5, 0.1, 0.1, rng)
    with pytest.raises(LendsimError, match="n_core"):
        core_periphery(10, 11, 0.5, 0.5, 0.1, 0.1, rng)


def test_from_file_matrix_and_edge_list(tmp_path):
    m = tmp_path / "m.csv"
    m.write_text("# exposures\n0,2.5,0\n0,0,1\n3,0,0\n")
    expected = np.array([[0, 2.5, 0], [0, 0, 1], [3, 0, 0]])
    np.testing.assert_array_equal(from_file(m, 3).toarray(), expected)
    el = tmp_path / "e.csv"
    el.write_text("lender,borrower,amount\n0,1,2.0\n2,0,3\n1,2,1\n0,1,0.5\n")
    np.testing.assert_array_equal(from_file(el, 3).toarray(), expected)  # repeated pairs add up


@pytest.mark.parametrize("text,match", [
    ("0,1\n1,0\n", "2 data rows for n = 3"),
    ("0,1,x\n0,0,0\n0,0,0\n", "column 3 is not a number"),  # the text is never echoed
    ("1,0,0\n0,0,0\n0,0,0\n", "diagonal"),
    ("0,-1,0\n0,0,0\n0,0,0\n", "finite number >= 0"),
    ("lender,borrower,amount\n0,3,1\n", "borrower = 3"),
    ("lender,borrower,amount\n1,1,1\n", "cannot lend to itself"),
    ("lender,borrower,amount\n0,1\n", "2 fields"),
    ("", "no data"),
])
def test_from_file_errors_name_file_line_value(tmp_path, text, match):
    f = tmp_path / "bad.csv"
    f.write_text(text)
    with pytest.raises(LendsimError, match=match) as err:
        from_file(f, 3)
    assert "bad.csv" in str(err.value)


def test_from_file_missing(tmp_path):
    with pytest.raises(LendsimError, match="cannot read"):
        from_file(tmp_path / "nope.csv", 3)


def test_to_networkx_directed_undirected_bipartite():
    E = sp.csr_matrix(np.array([[0, 2.0, 0], [0, 0, 1.5], [0, 0, 0]]))
    g = to_networkx(E, directed=True, node_attrs={"capital": [1, 2, 3]})
    assert isinstance(g, nx.DiGraph) and sorted(g.edges(data="weight")) == [(0, 1, 2.0), (1, 2, 1.5)]
    assert g.nodes[2]["capital"] == 3
    sym = E + E.T
    u = to_networkx(sym, directed=False)
    assert isinstance(u, nx.Graph) and u.number_of_edges() == 2 and u[1][0]["weight"] == 2.0
    with pytest.raises(LendsimError, match="not symmetric"):
        to_networkx(E, directed=False)
    lending = np.array([[1.0, 0], [0, 2.0], [3.0, 0]])  # 3 borrowers x 2 platforms
    b = to_networkx(lending, directed=False)
    assert b.number_of_nodes() == 5 and sorted(b.edges(data="weight")) == [(0, 3, 1.0), (1, 4, 2.0), (2, 3, 3.0)]
    assert [b.nodes[i]["bipartite"] for i in range(5)] == [0, 0, 0, 1, 1]


def test_write_layer_round_trips(tmp_path):
    E = random_directed(30, mean_degree=3, sizes=np.full(30, 0.2), rng=np.random.default_rng(4))
    path = write_layer(E, tmp_path / "ib.csv")
    assert path.read_text().splitlines()[0] == "source,target,weight"
    back = from_file(path, 30)
    assert abs(back - E).max() == 0
    g = nx.read_graphml(write_layer(E, tmp_path / "ib.graphml"))
    assert g.number_of_edges() == E.nnz and g.number_of_nodes() == 30
    w = sum(d["weight"] for _, _, d in g.edges(data=True))
    assert w == pytest.approx(E.sum())


def test_write_layer_bad_suffix_writes_nothing(tmp_path):
    with pytest.raises(LendsimError, match="suffix"):
        write_layer(np.eye(2), tmp_path / "x.json")
    with pytest.raises(LendsimError, match="not symmetric"):
        write_layer(np.array([[0, 1.0], [0, 0]]), tmp_path / "y.csv", directed=False)
    assert list(tmp_path.iterdir()) == []
