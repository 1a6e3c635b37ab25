"""The network picture's and the charts' data against slow or independent references."""

import numpy as np
import pytest

from lendsim.simulation.ledger import LoanStatus
from lendsim.viz import data, network
from lendsim.viz.model import DashboardModel, close_largest_platform


@pytest.fixture(scope="module")
def model():
    m = DashboardModel(n_borrowers=400, n_platforms=4, seed=2, social_rule="cascade (threshold)",
                       social_threshold=0.3)
    for _ in range(10):
        if m.steps == 6:
            close_largest_platform(m)
        m.step()
    yield m
    m.close()


def test_borrower_status_matches_a_per_borrower_loop(model):
    status = network.borrower_status(model, model.has_borrowed)
    loans = model.loans_frame()  # open loans, an independent view of the book
    in_default = model.population.months_since_default < 12
    for i in range(model.n_borrowers):
        mine = loans[loans["borrower_idx"] == i]
        if in_default[i]:
            want = network.BorrowerStatus.DEFAULTED
        elif (mine["status"] == LoanStatus.DELINQUENT.name).any():
            want = network.BorrowerStatus.DELINQUENT
        elif model.has_borrowed[i]:
            want = network.BorrowerStatus.CURRENT
        else:
            want = network.BorrowerStatus.NEVER_BORROWED
        assert status[i] == want, i
    counts = network.status_counts(status)
    assert sum(counts.values()) == model.n_borrowers and counts["current"] > 0


def test_has_borrowed_covers_every_borrower_with_a_loan(model):
    assert model.has_borrowed[model.loans_frame()["borrower_idx"]].all()


def test_edges_match_the_loan_book_and_lines(model):
    b, p = network.lending_edges(model)
    pairs = set(zip(b.tolist(), p.tolist()))
    loans = model.loans_frame()
    assert pairs == set(zip(loans["borrower_idx"], loans["platform_idx"]))
    assert len(pairs) == len(b)
    bk, pl, line = network.funding_edges(model)
    lines = model.lines[:, :len(model.platforms)]
    assert len(bk) == int((lines > 0).sum())
    assert np.allclose(line, lines[bk, pl])


def _mean_gap(adj, lay):
    import scipy.sparse as sp

    ang = np.arctan2(lay.borrower_xy[:, 1], lay.borrower_xy[:, 0])
    u, v = sp.triu(adj, 1).nonzero()
    return np.abs(np.angle(np.exp(1j * (ang[u] - ang[v])))).mean()


def test_layout_keeps_contacts_close():
    """Contacts sit much closer around the ring than random pairs (pi/2 apart on average)
    for the networks with a spatial order: the Watts-Strogatz ring and city-tier blocks."""
    from lendsim.simulation.networks import social_network

    rng = np.random.default_rng(0)
    ws = social_network(600, "watts_strogatz", 6, rng)
    assert _mean_gap(ws, network.compute_layout(ws, "watts_strogatz", 5, 3, 6, 1)) < 0.2
    sbm = social_network(600, "stochastic_block", 6, rng)
    assert _mean_gap(sbm, network.compute_layout(sbm, "stochastic_block", 5, 3, 6, 1)) < 1.2
    ba = social_network(600, "barabasi_albert", 6, rng)
    lay = network.compute_layout(ba, "barabasi_albert", 5, 3, 6, seed=1)
    order = network.social_order(ba, "barabasi_albert")
    assert sorted(order.tolist()) == list(range(600))  # a permutation
    again = network.compute_layout(ba, "barabasi_albert", 5, 3, 6, seed=1)
    assert np.array_equal(again.borrower_xy, lay.borrower_xy)  # deterministic
    r = np.hypot(*lay.borrower_xy.T)
    assert (r >= network.BORROWER_BAND[0]).all() and (r <= network.BORROWER_BAND[1]).all()


def test_node_area_is_proportional_with_a_floor():
    a = network.node_area(np.array([1.0, 4.0, 0.0]), max_area=400.0, min_area=10.0)
    assert a.tolist() == [100.0, 400.0, 10.0]


def test_series_match_the_model_table(model):
    t = model.tables()["model"]
    s = data.series(model, data.CREDIT)
    assert np.allclose(s["outstanding"], t["credit_outstanding"] / 1e6)
    d = data.series(model, data.DELINQUENCY)
    assert np.allclose(d["90+"], t["delinquency_90"])
    assert np.array_equal(data.steps(model), t["step"].to_numpy(dtype=float))
    ch = data.loss_channels(model)
    assert "platforms" not in ch and "banks" not in ch
    for name, v in ch.items():
        assert np.allclose(v, t[f"losses_{name}"].fillna(0) / 1e3)
    assert data.has_losses(ch) == bool(
        sum(t[f"losses_{k}"].abs().sum() for k in ch) > 0)


def test_wide_tables_match_pandas_pivots(model):
    tabs = model.tables()
    share, kinds = data.platform_shares(model)
    ref = tabs["platforms"].pivot(index="step", columns="platform_id",
                                  values="market_share").fillna(0.0)
    assert np.allclose(share, ref.to_numpy())
    assert kinds == [pl.kind for pl in model.platforms]
    assert np.allclose(share.sum(axis=1), 1.0)
    cap = data.bank_capital(model)
    ref = tabs["banks"].pivot(index="step", columns="bank_id", values="capital_ratio")
    assert np.allclose(cap, ref.to_numpy(), equal_nan=True)
    h = data.headline(model)
    assert h["step"] == 10 and h["credit_outstanding"] == pytest.approx(
        tabs["model"]["credit_outstanding"].iloc[-1])


def test_empty_model_has_empty_data():
    m = DashboardModel(n_borrowers=300, n_platforms=2)
    assert len(data.steps(m)) == 0 and data.loss_channels(m) == {} and data.headline(m) == {}
    assert data.platform_shares(m)[0].shape[0] == 0 and data.bank_capital(m).shape[0] == 0
    m.close()
