"""Platform (agents/platforms.py): pricing adaptation, limits, learning and cash, by hand."""

import dataclasses

import numpy as np
import pytest
from conftest import tiny

from lendsim import MarketModel
from lendsim.agents.platforms import Platform, PlatformArrays
from lendsim.simulation import strategies
from lendsim.simulation.features import N_FEATURES


@pytest.fixture(scope="module")
def model():
    return MarketModel(tiny(**{"platforms.n": 3, "banks.n": 2}))


@pytest.fixture
def pp(model):
    return dataclasses.replace(model.params.platforms, margin_speed=0.02, loss_speed=0.05,
                               margin_reversion=0.1, cutoff_speed=0.05, min_margin=0.0,
                               max_margin=0.3, training_window=100)


def _platform(model, pp, **tp_changes):
    tp = dataclasses.replace(pp.type_params("micro_lender"), margin=0.05, pd_cutoff=0.12,
                             delinquency_target=0.04, **tp_changes)
    return Platform(model, 0, "micro_lender", tp, 1000.0, pp)


def test_cost_plus_adapt_by_hand(model, pp):
    pl = _platform(model, pp)
    pl.margin, pl.pd_cutoff = 0.07, 0.10
    # share 0.3 against a target of 0.2, delinquency 6 % against a tolerance of 4 %
    pl.adapt(0.3, 0.2, 0.06, pp)
    dm = 0.02 * 0.1 + 0.05 * 0.02 + 0.1 * (0.05 - 0.07)
    assert pl.margin == pytest.approx(0.07 + dm)
    assert pl.pd_cutoff == pytest.approx(0.10 * 0.95)  # losses above tolerance: tighter
    # below tolerance the cut-off relaxes by half the speed, never above the type's appetite
    pl.margin, pl.pd_cutoff = 0.05, 0.10
    pl.adapt(0.1, 0.2, 0.02, pp)
    assert pl.margin == pytest.approx(0.05 + 0.02 * (0.1 - 0.2))
    assert pl.pd_cutoff == pytest.approx(0.10 * 1.025)
    pl.pd_cutoff = 0.119
    pl.adapt(0.2, 0.2, 0.0, pp)
    assert pl.pd_cutoff == 0.12
    pl.pd_cutoff = 0.10
    pl.adapt(0.2, 0.2, 0.04, pp)  # exactly at tolerance: not above, relaxes
    assert pl.pd_cutoff == pytest.approx(0.1025)


def test_margin_stays_within_its_bounds(model, pp):
    pl = _platform(model, pp)
    pl.adapt(1.0, 0.0, 5.0, pp)  # far above target and tolerance
    assert pl.margin == 0.3
    pl.margin = 0.01
    pl.adapt(0.0, 1.0, 0.0, pp)
    assert pl.margin == 0.0


def test_adapt_calls_the_platforms_pricing_strategy(model, pp):
    calls = []

    class Recorder(strategies.CostPlus):  # not registered: the platform holds an instance
        name = "recorder_test"

        def adapt(self, platform, *args):
            calls.append((platform, args))

    pl = _platform(model, pp)
    pl.pricing = Recorder()
    pl.adapt(0.3, 0.2, 0.01, pp)
    assert calls == [(pl, (0.3, 0.2, 0.01, pp))]


def test_own_capacity_and_the_deleverage_order(model, pp):
    reg = dataclasses.replace(model.regulator.policy, platform_leverage_limit=4.0,
                              platform_borrowing_limit=np.inf, platform_abs_limit=np.inf)
    pl = _platform(model, pp, max_leverage=10.0)
    assert pl.leverage_limit(reg) == 4.0
    pl.post(loans_held=2500.0, cash=-2500.0)  # leverage 2.5
    assert pl.own_capacity(reg) == pytest.approx(4.0 * 1000 - 2500)
    pl.deleverage_order = 2.0  # above the target: no new lending, the order stands
    assert pl.own_capacity(reg) == 0.0 and pl.deleverage_order == 2.0
    pl.post(loans_held=-600.0, cash=600.0)  # leverage 1.9: the order is lifted
    assert pl.own_capacity(reg) == pytest.approx(4000 - 1900)
    assert pl.deleverage_order is None
    limits = dataclasses.replace(reg, platform_borrowing_limit=1.0, platform_abs_limit=0.5)
    assert pl.leverage_limit(limits) == 2.5  # equity plus 1x borrowing plus 0.5x bonds
    pl.post(cash=-1000.0, equity=-1000.0)
    assert pl.own_capacity(reg) == 0.0 and pl.leverage() == np.inf


def test_may_lend(model, pp):
    reg = model.regulator.policy
    pl = _platform(model, pp)
    assert pl.may_lend(5, reg)
    pl.outage_step = 5
    assert not pl.may_lend(5, reg) and pl.may_lend(6, reg)
    pl.suspended_until = 7
    assert not pl.may_lend(7, reg) and pl.may_lend(8, reg)
    p2p = _platform(model, pp, is_p2p=True)
    assert p2p.may_lend(1, reg)
    assert not p2p.may_lend(1, dataclasses.replace(reg, p2p_lending=False))
    pl.fail(9)
    assert not pl.may_lend(10, reg) and pl.reputation == 0.0 and pl.failed_step == 9


def test_learn_keeps_the_last_window_with_weights(model, pp):
    """The ring buffer against a list that keeps the last ``training_window`` entries."""
    pl = _platform(model, pp)
    rng = np.random.default_rng(0)
    kept = []
    for n, w in ((60, 1.0), (70, 3.0), (250, 2.0), (10, 5.0)):
        X = rng.random((n, N_FEATURES)).astype(np.float32)
        y = rng.integers(0, 2, n).astype(np.int8)
        pl.learn(X, y, weight=w)
        kept += [(X[i], y[i], w) for i in range(n)]
    kept = kept[-100:]
    # ring position of entry k of all 390 seen is k mod 100
    seen = 390
    for j, (x, y, w) in enumerate(kept):
        pos = (seen - 100 + j) % 100
        np.testing.assert_array_equal(pl._X[pos], x)
        assert pl._y[pos] == y and pl._w[pos] == w


def test_settle_cash_borrows_a_shortfall_and_repays_debt_from_surplus(model, pp):
    pl = _platform(model, pp)
    pl.post(cash=-1300.0, equity=-1300.0)  # 300 more than its cash
    pl.settle_cash()
    assert pl.cash == 0.0 and pl.debt == pytest.approx(300.0)
    pl.post(cash=200.0, equity=200.0)
    pl.settle_cash()
    assert pl.cash == 0.0 and pl.debt == pytest.approx(100.0)
    pl.post(cash=250.0, equity=250.0)
    pl.settle_cash()
    assert pl.cash == pytest.approx(150.0) and pl.debt == 0.0
    assert pl.balance_gap() == pytest.approx(0.0)


def test_platform_arrays_and_pricing_groups(model):
    pls = model.platforms
    g = PlatformArrays.of(pls, 0.04, model.params.platforms)
    assert g.funding_cost.tolist() == pytest.approx([0.04 + p.tp.funding_spread for p in pls])
    assert g.coef.shape == (len(pls), N_FEATURES)
    assert [len(x) for x in (g.margin, g.term, g.pd_cutoff)] == [len(pls)] * 3
    assert len(g.pricing_groups()) == 1  # one strategy: one call per round

    class Flat(strategies.CostPlus):
        name = "flat_test"

    old = pls[1].pricing
    try:
        pls[1].pricing = Flat()
        groups = PlatformArrays.of(pls, 0.04, model.params.platforms).pricing_groups()
    finally:
        pls[1].pricing = old
    assert [s.name for s, _ in groups] == ["cost_plus", "flat_test"]
    assert groups[0][1].tolist() == [True, False, True]
    assert groups[1][1].tolist() == [False, True, False]
