"""Platform (agents/platforms.py): pricing adaptation, limits, learning and cash, by hand."""

import dataclasses

import numpy as np
import pytest
from conftest import tiny

from lendsim import MarketModel
from lendsim.agents.platforms import Platform, PlatformArrays
from lendsim.simulation import strategies
from lendsim.simulation.features import N_FEATURES, PRIOR_COEF


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


def _sig(share, target, d30, b=16.0, capital=0.01):
    return strategies.MarketSignals(share, target, d30, b, 1e6, capital)


def test_cost_plus_adapt_by_hand(model, pp):
    pl = _platform(model, pp, pricing="cost_plus")
    pl.margin, pl.pd_cutoff = 0.07, 0.10
    # share 0.3 against a target of 0.2, delinquency 6 % against a tolerance of 4 %
    pl.adapt(_sig(0.3, 0.2, 0.06), pp)
    dm = 0.02 * 0.1 + 0.05 * 0.02 + 0.1 * (0.05 - 0.07)
    assert pl.margin == pytest.approx(0.07 + dm)
    assert pl.pd_cutoff == pytest.approx(0.10 * 0.95)  # losses above tolerance: tighter
    # below tolerance the cut-off relaxes by half the speed, never above the type's appetite
    pl.margin, pl.pd_cutoff = 0.05, 0.10
    pl.adapt(_sig(0.1, 0.2, 0.02), pp)
    assert pl.margin == pytest.approx(0.05 + 0.02 * (0.1 - 0.2))
    assert pl.pd_cutoff == pytest.approx(0.10 * 1.025)
    pl.pd_cutoff = 0.119
    pl.adapt(_sig(0.2, 0.2, 0.0), pp)
    assert pl.pd_cutoff == 0.12
    pl.pd_cutoff = 0.10
    pl.adapt(_sig(0.2, 0.2, 0.04), pp)  # exactly at tolerance: not above, relaxes
    assert pl.pd_cutoff == pytest.approx(0.1025)


def test_cost_plus_margin_stays_within_its_bounds(model, pp):
    pl = _platform(model, pp, pricing="cost_plus")
    pl.adapt(_sig(1.0, 0.0, 5.0), pp)  # far above target and tolerance
    assert pl.margin == 0.3
    pl.margin = 0.01
    pl.adapt(_sig(0.0, 1.0, 0.0), pp)
    assert pl.margin == 0.0


def test_break_even_margin_moves_toward_the_logit_markup_by_hand(model, pp):
    pl = _platform(model, pp, pricing="break_even", target_roe=0.15)
    pl.margin = 0.05
    # Lerner's markup for logit demand: 1 / (b (1 - share)) = 1 / (16 x 0.5) = 0.125
    pl.adapt(_sig(0.5, 0.9, 0.0), pp)  # the target share plays no part
    assert pl.margin == pytest.approx(0.05 + 0.1 * (0.125 - 0.05))
    # the return on the capital a loan ties up sets a floor: 0.15 x 0.5 = 0.075 > 1 / 160
    pl.margin = 0.05
    pl.adapt(_sig(0.0, 0.0, 0.0, b=160.0, capital=0.5), pp)
    assert pl.margin == pytest.approx(0.05 + 0.1 * (0.075 - 0.05))
    # a (near) monopoly's markup is capped by max_margin; price-blind borrowers too
    for sig in (_sig(1.0, 0.0, 0.0), _sig(0.3, 0.0, 0.0, b=0.0)):
        pl.margin = 0.05
        pl.adapt(sig, pp)
        assert pl.margin == pytest.approx(0.05 + 0.1 * (0.3 - 0.05))


def test_break_even_quote_by_hand(model):
    g = PlatformArrays.of(model.platforms, 0.04, model.params.platforms,
                          model.regulator.policy, 0.035)
    p, pd_life, term = np.array([0, 1, 1]), np.array([0.02, 0.05, 0.05]), np.array([6, 6, 1])
    amount = np.array([1400.0, 1400.0, 1400.0])
    floor, price = strategies.BreakEven().quote(pd_life, p, term, g, 0.9, amount,
                                                   np.ones(len(pd_life)))
    el = pd_life * 0.9 * 24 / (term + 1)  # annualised on each loan's own term
    # the origination cost of an instalment loan, over its (term + 1) / 2 months on average
    cost = np.array([model.platforms[i].tp.cost_per_loan for i in p]) * (term > 1)
    want = g.funding_cost[p] + el + g.operating_cost[p] + cost / amount * 12 / ((term + 1) / 2)
    np.testing.assert_allclose(floor, want)
    np.testing.assert_allclose(price, want + g.margin[p])
    assert floor[2] > floor[1]  # a one-month loan's loss is priced over one month
    # the markup scales the margin only: less price-sensitive applicants pay more of it
    k = np.array([0.5, 1.0, 2.0])
    floor2, price2 = strategies.BreakEven().quote(pd_life, p, term, g, 0.9, amount, k)
    np.testing.assert_allclose(floor2, floor)
    np.testing.assert_allclose(price2, want + g.margin[p] * k)
    # a margin below zero (pricing under cost) is not a markup: never scaled (a large markup
    # would otherwise drive the rate below -100 % a month)
    import dataclasses
    neg = dataclasses.replace(g, margin=-np.abs(g.margin) - 0.5)
    _, price3 = strategies.BreakEven().quote(pd_life, p, term, neg, 0.9, amount, k * 100)
    np.testing.assert_allclose(price3, want + neg.margin[p])


def test_adapt_calls_the_platforms_pricing_strategy(model, pp):
    calls = []

    class Recorder(strategies.BreakEven):  # not registered: the platform holds an instance
        name = "recorder_test"

        def adapt(self, platform, signals, pp):
            calls.append((platform, signals, pp))

    pl = _platform(model, pp)
    pl.pricing = Recorder()
    sig = _sig(0.3, 0.2, 0.01)
    pl.adapt(sig, pp)
    assert calls == [(pl, sig, pp)]


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


def test_learn_keeps_the_last_draws_and_the_last_loans_apart(model, pp):
    """The training window against two lists: the last ``training_window // 2`` one-month
    draws and, apart, the last ``training_window // 2`` instalment loans, with weights."""
    from lendsim.agents.platforms import TrainingWindow, spread_order

    pl = _platform(model, pp)
    half = pp.training_window // 2
    rng = np.random.default_rng(0)
    kept = {True: [], False: []}
    batches = {True: [], False: []}  # (first entry, size) of each batch in a ring
    for n, w in ((20, 1.0), (30, 3.0), (half // 2, 2.0), (10, 5.0), (half // 3, 1.0)):
        X = rng.random((n, N_FEATURES)).astype(np.float32)
        is_draw = rng.random(n) < 0.7
        X[:, TrainingWindow.TERM] = np.where(is_draw, np.log(1 / 6), np.log(12 / 6))
        y = rng.integers(0, 2, n).astype(np.int8)
        pl.learn(X, y, weight=w)
        for draw in (True, False):
            batches[draw].append((len(kept[draw]), int((is_draw == draw).sum())))
        for i in range(n):
            kept[bool(is_draw[i])].append((X[i], y[i], w))
    X, y, w = pl.window.rows()
    # each batch is written in spread_order: a ring holds its newest whole batches and, of the
    # oldest batch it still holds, the entries written last
    want = []
    for draw in (True, False):  # draws first, each ring newest first
        ring, rows = [], kept[draw]
        for start, n in batches[draw]:
            ring += [rows[start + i] for i in spread_order(n)]
        want += ring[::-1][:half]
    assert len(y) == len(want) == pl.window.size()
    for j, (x, yy, ww) in enumerate(want):
        np.testing.assert_array_equal(X[j], x.astype(float))
        assert y[j] == yy and w[j] == ww
    pl.window.mark_fit()
    assert len(pl.window.rows(newest_only=True)[1]) == 0
    pl.learn(X[:3].astype(np.float32), y[:3].astype(np.int8))  # three draws
    assert len(pl.window.rows(newest_only=True)[1]) == 3


def test_a_batch_larger_than_the_window_is_thinned_not_cut(model, pp):
    """A month's matured loans arrive repaid first, defaulted last. When more arrive than
    the window holds, every k-th stands for k, so the weighted default rate is the batch's;
    keeping the last ones (as the window once did) kept every default and over-counted the
    rate several times."""
    from lendsim.agents.platforms import TrainingWindow

    pl = _platform(model, pp)
    half = pp.training_window // 2
    n = 7 * half
    X = np.zeros((n, N_FEATURES), dtype=np.float32)
    X[:, TrainingWindow.TERM] = np.log(6 / 6)  # instalment loans
    y = np.r_[np.zeros(n - n // 50), np.ones(n // 50)].astype(np.int8)  # 2 % defaulted
    pl.learn(X, y, weight=3.0)
    _, yy, w = pl.window.rows()
    assert len(yy) <= half
    assert np.average(yy, weights=w) == pytest.approx(y.mean(), rel=0.1)
    assert w.sum() == pytest.approx(3.0 * n, rel=0.01)


def test_the_part_of_an_older_month_a_window_keeps_is_a_fair_share_of_it(model, pp):
    """Month after month of matured loans, repaid first and defaulted last, each month 4/5 of
    a ring: the ring holds the newest month and a fifth of the one before. That fifth must
    be an even share of its month, or the window counts the older month's defaults at five
    times their rate: written as they came, the window held 1.6 % defaults for the stream's
    1 %."""
    from lendsim.agents.platforms import TrainingWindow

    pp = dataclasses.replace(pp, training_window=5000)
    pl = _platform(model, pp)
    half = pp.training_window // 2
    n = 4 * half // 5
    X = np.zeros((n, N_FEATURES), dtype=np.float32)
    X[:, TrainingWindow.TERM] = np.log(6 / 6)  # instalment loans
    y = np.r_[np.zeros(n - n // 100), np.ones(n // 100)].astype(np.int8)  # 1 % defaulted
    assert y.sum() == 20
    for _ in range(6):
        pl.learn(X, y)
    _, yy, w = pl.window.rows()
    assert len(yy) == half
    assert np.average(yy, weights=w) == pytest.approx(y.mean(), rel=0.05)


def test_spread_order_takes_an_even_share_of_any_block():
    """Every run of the first or last ``m`` entries of the order holds a block of the
    original order (here its last tenth, as a month's defaults) in proportion, within one."""
    from lendsim.agents.platforms import spread_order

    for n in (10, 97, 2000, 4001):
        order = spread_order(n)
        assert sorted(order.tolist()) == list(range(n))
        block = order >= n - n // 10  # the last tenth of the original order
        for m in range(1, n + 1, max(1, n // 50)):
            for part in (block[:m], block[-m:]):
                assert abs(part.sum() - m * (n // 10) / n) <= 2.0, (n, m)


def _applicants(n, rng):
    """Feature rows like a platform's without bureau data (the bureau columns all 0)."""
    X = np.zeros((n, N_FEATURES), dtype=np.float32)
    X[:, 0] = 1.0
    X[:, 1] = rng.normal(0.0, 1.5, n)
    X[:, 2] = rng.normal(0.0, 0.5, n)
    X[:, 3] = rng.random(n) < 0.9
    X[:, 4] = rng.uniform(0.0, 0.3, n)
    return X


def _mean_pd(coef, X):
    return float(np.mean(1 / (1 + np.exp(-X.astype(float) @ coef))))


def test_retrain_learns_from_loans_that_never_defaulted(model, pp):
    """With no default seen, each refit lowers the platform's PD below the prior's, more as
    matured loans accumulate; below ``min_training`` there is no refit."""
    pp = dataclasses.replace(pp, training_window=5000, min_training=100, prior_weight=300.0)
    pl = _platform(model, pp)
    rng = np.random.default_rng(1)
    X = _applicants(3000, rng)
    pl.learn(X[:99], np.zeros(99, np.int8))
    pl.retrain(pp)
    np.testing.assert_array_equal(pl.coef, PRIOR_COEF)  # 99 < min_training
    pds = [_mean_pd(PRIOR_COEF, X)]
    for lo, hi in ((99, 300), (300, 1000), (1000, 3000)):
        pl.learn(X[lo:hi], np.zeros(hi - lo, np.int8))
        pl.retrain(pp)
        pds.append(_mean_pd(pl.coef, X))
    assert pds[0] > pds[1] > pds[2] > pds[3]
    # never seen: the bureau columns keep the prior's coefficients
    np.testing.assert_allclose(pl.coef[5:], PRIOR_COEF[5:])


def test_retrain_is_the_posterior_mode_under_a_prior_worth_prior_weight_loans(model, pp):
    """Against scipy on the penalised likelihood written per loan, with the prior's precision
    built by a loop: prior_weight x one loan's Fisher information at the window's default
    rate shrunk toward the prior's mean PD by prior_weight loans."""
    from scipy import optimize

    pp = dataclasses.replace(pp, training_window=5000, min_training=100, prior_weight=150.0)
    pl = _platform(model, pp)
    rng = np.random.default_rng(2)
    X = _applicants(400, rng)
    y = (rng.random(400) < 0.15).astype(np.int8)
    weight = np.r_[np.ones(250), np.full(150, 3.0)]
    pl.learn(X[:250], y[:250])
    pl.learn(X[250:], y[250:], weight=3.0)
    pl.retrain(pp)
    Xf = X.astype(float)
    info = np.zeros((N_FEATURES, N_FEATURES))
    defaults = prior_pd = 0.0
    for x, yy, w in zip(Xf, y, weight):
        info += w * np.outer(x, x)
        defaults += w * yy
        prior_pd += w / (1 + np.exp(-x @ PRIOR_COEF))
    rate = (defaults + 150.0 * prior_pd / weight.sum()) / (weight.sum() + 150.0)
    precision = 150.0 * rate * (1 - rate) * info / weight.sum() + np.eye(N_FEATURES) / 2.5 ** 2

    def objective(coef):
        nll = sum(w * (np.logaddexp(0.0, x @ coef) - yy * (x @ coef))
                  for x, yy, w in zip(Xf, y, weight))
        d = coef - PRIOR_COEF
        return nll + 0.5 * d @ precision @ d

    want = optimize.minimize(objective, PRIOR_COEF, method="BFGS", options={"gtol": 1e-6}).x
    seen = np.abs(Xf).sum(axis=0) > 0  # the features the loans have: the rest stay put
    np.testing.assert_allclose(pl.coef[seen], want[seen], atol=2e-3)
    np.testing.assert_allclose(pl.coef[~seen], PRIOR_COEF[~seen])


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
    reg = model.regulator.policy
    g = PlatformArrays.of(pls, 0.04, model.params.platforms, reg, 0.035)
    assert g.own_funding_cost.tolist() == pytest.approx([0.04 + p.tp.funding_spread
                                                         for p in pls])
    # the funding split's blend: own share at the platform's cost, the rest at the banks'
    assert g.funding_cost.tolist() == pytest.approx(
        [p.own_share(reg) * (0.04 + p.tp.funding_spread) + (1 - p.own_share(reg)) * 0.035
         for p in pls])
    assert g.coef.shape == (len(pls), N_FEATURES)
    assert [len(x) for x in (g.margin, g.term, g.pd_cutoff)] == [len(pls)] * 3
    assert len(g.pricing_groups()) == 1  # one strategy: one call per round

    class Flat(strategies.BreakEven):
        name = "flat_test"

    old = pls[1].pricing
    try:
        pls[1].pricing = Flat()
        groups = PlatformArrays.of(pls, 0.04, model.params.platforms, reg,
                                   0.035).pricing_groups()
    finally:
        pls[1].pricing = old
    assert [s.name for s, _ in groups] == ["break_even", "flat_test"]
    assert groups[0][1].tolist() == [True, False, True]
    assert groups[1][1].tolist() == [False, True, False]


def test_refits_are_calibrated_when_defaults_are_rare(model, pp):
    """A prior worth ``prior_weight`` loans must not outweigh a full window of rare-default
    data. Evaluated at the prior's 4 % PD, the information made a prior of 300 loans weigh
    as much as thousands of loans at a 0.4 % default rate, and the mean estimated PD stayed
    near twice the window's default rate (the top platform priced far more loss than it
    realised). At the window's default rate (shrunk toward the prior's) the prior keeps the
    pull of 300 loans against 5,000: the mean PD is within 25 % of the window's default rate
    (a maximum-likelihood fit would match it exactly)."""
    from lendsim.agents.rules import scoring

    pp = dataclasses.replace(pp, training_window=10000, min_training=300, prior_weight=300.0)
    pl = _platform(model, pp)
    rng = np.random.default_rng(3)
    X = _applicants(5000, rng)
    true = PRIOR_COEF.copy()
    true[0] = -6.0  # lifetime PD about 0.4 % on these rows
    p_true = 1 / (1 + np.exp(-X.astype(float) @ true))
    y = (rng.random(5000) < p_true).astype(np.int8)
    pl.learn(X, y)
    for _ in range(4):  # the same window refitted on schedule
        pl.retrain(pp)
    assert abs(_mean_pd(pl.coef, X) / y.mean() - 1) < 0.25, (_mean_pd(pl.coef, X), y.mean())
    at_prior = scoring.fit_logistic(
        X.astype(float), y.astype(float), prior_mean=PRIOR_COEF,
        prior_precision=300.0 * scoring.unit_information(X.astype(float), PRIOR_COEF))
    assert _mean_pd(at_prior, X) / y.mean() - 1 > 0.5  # the rule this replaced


def test_loss_severity_is_net_charge_offs_over_principal_shrunk_toward_lgd(model, pp):
    """By hand: no charge-off yet gives platforms.lgd; then (lgd x k + net charge-offs) /
    (k + principal) with k = SEVERITY_PRIOR_LOANS x the mean principal charged off, over the
    last 24 months only."""
    from lendsim.agents.platforms import SEVERITY_PRIOR_LOANS as K

    pp = dataclasses.replace(pp, lgd=0.9)
    pl = _platform(model, pp)
    assert pl.loss_severity(pp) == 0.9
    zero = _platform(model, pp)
    zero.record_losses(0.0, 1e4, principal_charged_off=0.0, n_charged_off=1)  # a zero loan
    assert zero.loss_severity(pp) == 0.9
    pl.record_losses(300.0, 1e4, principal_charged_off=1000.0, n_charged_off=2)
    pl.record_losses(0.0, 1e4)
    k = K * 1000.0 / 2
    assert pl.loss_severity(pp) == pytest.approx((0.9 * k + 300.0) / (k + 1000.0))
    for _ in range(24):  # the first month drops out of the 24
        pl.record_losses(50.0, 1e4, principal_charged_off=100.0, n_charged_off=1)
    k = K * 100.0
    assert pl.loss_severity(pp) == pytest.approx((0.9 * k + 24 * 50.0) / (k + 24 * 100.0))


def test_manage_capital_by_hand(model, pp):
    """Target equity = own loans / target leverage (at least a tenth of the initial equity).
    Rationed by its own capacity and earning its target ROE, a platform raises a fifth of its
    equity and pays the issue cost; otherwise it pays out, from cash, what exceeds 1.25 x the
    target, but never more than its retained profit (equity above paid-in capital: the
    capital it entered with and every raise, gross); in between it does nothing."""
    reg = model.regulator.policy
    pp = dataclasses.replace(pp, equity_issue_cost=0.05)
    entrant = _platform(model, pp, target_leverage=2.0, max_leverage=3.0, target_roe=0.15)
    # no loans yet: target 0.1 x 1,000; 875 above the band and 1,000 of cash, but no profit
    entrant.manage_capital(rationed=False, roe=0.3, reg=reg, pp=pp)
    assert entrant.dividends == 0.0 and entrant.equity == 1000.0
    pl = _platform(model, pp, target_leverage=2.0, max_leverage=3.0, target_roe=0.15)
    pl.post(cash=-800.0, loans_held=800.0)  # equity 1,000, own loans 800, cash 200
    assert pl.target_equity(reg) == pytest.approx(400.0)
    pl.manage_capital(rationed=True, roe=0.2, reg=reg, pp=pp)
    assert pl.equity_raised == 200.0 and pl.dividends == 0.0
    assert pl.equity == pytest.approx(1000 + 200 * 0.95)  # paid in: 1,200
    assert pl.cash == pytest.approx(200 + 200 * 0.95)
    pl.manage_capital(rationed=True, roe=0.1, reg=reg, pp=pp)  # below its target ROE: no raise
    # 690 above the band, 390 of cash, but retained profit 1,190 - 1,200 < 0 (the issue cost)
    assert pl.equity_raised == 0.0 and pl.dividends == 0.0
    pl.post(cash=300.0, equity=300.0)  # profit: equity 1,490, cash 690
    pl.manage_capital(rationed=False, roe=0.3, reg=reg, pp=pp)
    assert pl.dividends == pytest.approx(290.0)  # min(1,490 - 500, 690, 1,490 - 1,200)
    assert pl.equity == pytest.approx(1200.0) and pl.cash == pytest.approx(400.0)
    pl.post(cash=100.0, loans_held=-100.0)  # a repayment: own loans 700, target 350
    pl.post(cash=-250.0, equity=-250.0)  # a loss: equity 950 > 1.25 x 350 = 437.5, cash 250
    pl.manage_capital(rationed=False, roe=0.0, reg=reg, pp=pp)
    assert pl.dividends == 0.0  # the loss is made up before anything is paid out
    pl.post(cash=400.0, equity=400.0)  # profit: equity 1,350, cash 650
    pl.manage_capital(rationed=False, roe=0.3, reg=reg, pp=pp)
    assert pl.dividends == pytest.approx(150.0)  # min(1,350 - 437.5, 650, 1,350 - 1,200)
    pl.post(allowance=300.0, equity=-300.0)  # a provision: equity 900, retained -300
    pl.manage_capital(rationed=False, roe=0.3, reg=reg, pp=pp)
    assert pl.dividends == 0.0 and pl.equity_raised == 0.0
    assert pl.balance_gap() == pytest.approx(0.0, abs=1e-9)


def test_a_platform_without_a_year_of_results_pays_nothing_out(model, pp):
    """A starting platform (paid-in capital 0: its equity is an initial condition) pays out
    what exceeds its target only once it has a year of results; before, it may still raise
    when rationed, judged by its business plan's return (passed in as ``roe``)."""
    reg = model.regulator.policy
    pp = dataclasses.replace(pp, equity_issue_cost=0.05)
    pl = _platform(model, pp, target_leverage=2.0, max_leverage=3.0, target_roe=0.15)
    pl.paid_in = 0.0
    pl.post(cash=-200.0, loans_held=200.0)  # target 100, band 125, cash 800, retained 1,000
    pl.manage_capital(rationed=False, roe=0.15, reg=reg, pp=pp, established=False)
    assert pl.dividends == 0.0 and pl.equity == 1000.0
    pl.manage_capital(rationed=True, roe=0.15, reg=reg, pp=pp, established=False)
    assert pl.equity_raised == 200.0 and pl.equity == pytest.approx(1190.0)
    pl.manage_capital(rationed=False, roe=0.15, reg=reg, pp=pp, established=True)
    # min(1,190 - 125, cash 990, retained 1,190 - 200)
    assert pl.dividends == pytest.approx(990.0) and pl.equity == pytest.approx(200.0)
