"""Phase 4, funding (simulation/phases/funding.py): capacity and funding split by hand."""

import numpy as np
import pytest
from conftest import tiny

import lendsim
from lendsim import MarketModel
from lendsim.simulation.month import Month
from lendsim.simulation.phases import funding


def _model(**over):
    model = MarketModel(tiny(**{"platforms.n": 3, "banks.n": 3,
                                "network.interbank.kind": "none", **over}))
    model.run(2)
    model.month = Month(model.n_borrowers, len(model.platforms))
    return model


def _expected(model):
    """Capacity and bank shares of each platform, bank by bank: the headroom on a bank's line
    (nothing from a bank that cannot lend), scaled down to the bank's room under its joint-loan
    limit; the own share; capacity = min(own capacity / s, headroom / (1 - s))."""
    reg = model.regulator.policy
    P, B = len(model.platforms), len(model.banks)
    out = np.zeros((P, B))  # the banks' open joint loans with each platform, loan by loan
    L, pools = model.loans, model.pools
    for i in np.flatnonzero(L.is_open()):
        out[pools.platform_idx[L.pool_idx[i]]] += L.balance[i] * pools.bank_shares[L.pool_idx[i]]
    head = np.zeros((P, B))
    for b, bk in enumerate(model.banks):
        ok = not bk.is_failed and bk.capital_ratio() >= reg.bank_capital_requirement
        for p in range(P):
            head[p, b] = max(model.lines[b, p] - out[p, b], 0.0) if ok else 0.0
        room = bk.joint_room(reg)
        if head[:, b].sum() > room:
            head[:, b] *= room / head[:, b].sum()
    want = []
    for pl in model.platforms:
        s = max(pl.tp.own_share, reg.joint_lending_min_share)
        own = max(pl.leverage_limit(reg) * pl.equity - pl.loans_held, 0.0)
        h = head[pl.idx].sum()
        cap = min(own / s, h / (1 - s))
        want.append((s, cap, (1 - s) * head[pl.idx] / h, own / s <= h / (1 - s)))
    return want


@pytest.mark.parametrize("over", [{}, {"regulator.joint_lending_min_share": 0.6},
                                  {"regulator.bank_joint_loan_limit": 0.05}])
def test_capacity_and_split_by_hand(over):
    model = _model(**over)
    want = _expected(model)
    funding.step(model)
    m, pools = model.month, model.pools
    funded = [pl.idx for pl, (_, cap, *_) in zip(model.platforms, want) if cap > 0]
    for pl, (s, cap, shares, own_binds) in zip(model.platforms, want):
        assert m.capacity[pl.idx] == pytest.approx(cap, rel=1e-12)
        assert m.own_limited[pl.idx] == own_binds  # what the platform's capital decision reads
        k = m.pool_of[pl.idx]
        if cap <= 0:  # nothing to lend: no pool this month
            assert k == -1
            continue
        # one new pool for each platform that can lend, in order
        assert k == pools.n - len(funded) + funded.index(pl.idx)
        assert pools.platform_idx[k] == pl.idx and pools.platform_share[k] == pytest.approx(s)
        assert pools.fee_rate[k] == pl.tp.bank_fee  # until accounting sets the month's rate
        np.testing.assert_allclose(pools.bank_shares[k], shares, rtol=1e-12)
    if over.get("regulator.joint_lending_min_share"):  # the own share binds somewhere
        assert any(cap == pytest.approx(
            max(pl.leverage_limit(model.regulator.policy) * pl.equity - pl.loans_held, 0) / s)
                   for pl, (s, cap, *_) in zip(model.platforms, want))
        assert m.own_limited.any()
    model.close()


def test_a_bank_below_its_requirement_lends_nothing_new():
    model = _model()
    bk = model.banks[0]
    cut = bk.equity - 0.05 * (bk.joint_loans + bk.other_loans)
    bk.post(cash=-cut, equity=-cut)
    want = _expected(model)
    funding.step(model)
    for pl, (s, cap, shares, _) in zip(model.platforms, want):
        assert model.pools.bank_shares[model.month.pool_of[pl.idx], 0] == 0.0
        assert model.month.capacity[pl.idx] == pytest.approx(cap, rel=1e-12)
    model.close()


def test_platforms_that_may_not_lend_or_have_no_funding():
    model = _model()
    out, unfunded = model.platforms[0], model.platforms[1]
    out.outage_step = model.t
    model.lines[:, unfunded.idx] = 0.0  # no headroom anywhere: no capacity
    before = (out.months_unfunded, unfunded.months_unfunded)
    n_pools = model.pools.n
    funding.step(model)
    m = model.month
    assert m.capacity[:2].tolist() == [0.0, 0.0] and m.pool_of[:2].tolist() == [-1, -1]
    assert out.months_unfunded == before[0]  # not lending is not being unfunded
    assert unfunded.months_unfunded == before[1] + 1
    assert m.capacity[2] > 0 and model.pools.n == n_pools + 1
    model.close()


def test_joint_lending_min_share_sets_every_platform_share():
    model = MarketModel(tiny(**{"regulator.joint_lending_min_share": 0.3}))
    model.run(4)
    shares = model.pools.platform_share
    assert len(shares) > 0 and (shares >= 0.3 - 1e-12).all()
    model.close()
