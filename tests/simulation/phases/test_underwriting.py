"""Phase 6, underwriting (simulation/phases/underwriting.py): refusals, prices, caps and
booking against per-applicant loops and hand examples."""

import numpy as np
import pytest
from conftest import tiny

import lendsim
from lendsim import MarketModel
from lendsim.agents.rules.underwriting import annuity_payment
from lendsim.simulation import strategies
from lendsim.simulation.ledger import LoanStatus
from lendsim.simulation.month import Month
from lendsim.simulation.phases import demand, funding, underwriting


def _model(steps=3, **over):
    model = MarketModel(tiny(**{"borrowers.n": 400, **over}))
    model.run(steps)
    return model


def _start_month(model):
    """The month up to underwriting: a new month, its step counted, demand and funding."""
    model.t += 1
    model.month = Month(model.n_borrowers, len(model.platforms))
    demand.step(model)
    funding.step(model)


def test_is_blacklisted_against_a_loop():
    model = _model(**{"regulator.data_sharing": 0.5})
    pop, P = model.population, len(model.platforms)
    rng = np.random.default_rng(0)
    b = rng.integers(0, model.n_borrowers, 300)
    p = rng.integers(0, P, 300)
    pop.months_since_default[::3] = rng.integers(0, 40, len(pop.months_since_default[::3]))
    ever = np.flatnonzero(pop.months_since_default < pop.NEVER)
    pairs = {(int(x), int(rng.integers(0, P))) for x in ever[::2]}
    model.default_keys = np.union1d(model.default_keys, np.array(
        [x * model.params.platforms.max_n + q for x, q in pairs], dtype=np.int64))
    stored = set(model.default_keys.tolist())
    got = underwriting.is_blacklisted(model, b, p)
    want = [bool((model.is_covered[x] and pop.months_since_default[x] < 24)
                 or (pop.months_since_default[x] < pop.NEVER
                     and x * model.params.platforms.max_n + q in stored))
            for x, q in zip(b, p)]
    assert got.tolist() == want
    assert 0 < got.sum() < len(b)
    model.close()


def test_price_cap_adds_fees_only_to_an_interest_only_cap():
    model = _model(0, **{"platforms.micro_lender.fee_rate": 0.1,
                         "regulator.apr_cap_all_in": False})
    g = underwriting.platform_arrays(model)
    fees = np.array([0.1 if pl.kind == "micro_lender" else pl.tp.fee_rate
                     for pl in model.platforms])
    assert underwriting.price_cap(model, g).tolist() == pytest.approx(model.apr_cap + fees)
    assert (fees > 0).any()
    model.regulator.set_policy(apr_cap_all_in=True)
    assert underwriting.price_cap(model, g).tolist() == [model.apr_cap] * len(fees)
    model.close()


def test_required_apr_calls_each_platforms_strategy():
    model = _model(0)

    class Flat(strategies.CostPlus):  # not registered: the platform holds an instance
        name = "flat_test"

        def required_apr(self, pd_life, p, arrays, lgd):
            return np.full(len(pd_life), 0.18)

    model.platforms[1].pricing = Flat()
    g = underwriting.platform_arrays(model)
    rng = np.random.default_rng(1)
    p = rng.integers(0, len(model.platforms), 50)
    pd_life = rng.uniform(0, 0.2, 50)
    got = underwriting.required_apr(pd_life, p, g, 0.8)
    for i in range(50):
        pl = model.platforms[p[i]]
        want = (0.18 if p[i] == 1 else
                g.funding_cost[p[i]] + pd_life[i] * 0.8 * 24 / (pl.tp.term_months + 1)
                + pl.tp.operating_cost + pl.margin)
        assert got[i] == pytest.approx(want)
    assert (p == 1).any()
    model.close()


def test_assess_refuses_for_exactly_the_stated_reasons():
    model = _model(**{"regulator.data_sharing": 0.6, "regulator.require_income": True,
                      "regulator.apr_cap": 0.3})
    model.regulator.set_policy(max_lenders=1)  # after borrowers took loans from several
    _start_month(model)
    g = underwriting.platform_arrays(model)
    pop, rng = model.population, np.random.default_rng(2)
    b = rng.integers(0, model.n_borrowers, 400)
    p = rng.integers(0, len(model.platforms), 400)
    owed = model.debt.own[b] > 0
    again = np.flatnonzero(owed.any(axis=1) & (rng.random(400) < 0.5))
    p[again] = [rng.choice(np.flatnonzero(owed[i])) for i in again]  # a lender they owe
    request = rng.uniform(100, 20_000, 400)
    ok, pd_life, apr, limit, X, own, visible = underwriting.assess(model, b, p, request, g)
    black = underwriting.is_blacklisted(model, b, p)
    debt = model.debt
    for i in range(len(b)):
        x, q = b[i], p[i]
        pl = model.platforms[q]
        assert own[i] == debt.own[x, q]
        covered = model.is_covered[x]
        assert visible[i] == (debt.total[x] if covered else own[i])
        others = debt.n_lenders[x] - (own[i] > 0) if covered else 0
        assert apr[i] == pytest.approx(g.funding_cost[q] + pd_life[i] * model.params.platforms.lgd
                                       * 24 / (pl.tp.term_months + 1)
                                       + pl.tp.operating_cost + pl.margin)
        want_limit = max(min(request[i], pl.tp.limit_income_multiple * pop.income[x] - own[i],
                             model.regulator.policy.max_loan - visible[i]), 0.0)
        assert limit[i] == pytest.approx(want_limit)
        cap = 0.3 if model.regulator.policy.apr_cap_all_in else 0.3 + pl.tp.fee_rate
        want = (pd_life[i] <= pl.pd_cutoff and apr[i] <= cap
                and pop.is_employed[x] and not black[i] and (own[i] > 0 or others < 1)
                and limit[i] >= model.params.borrowers.min_loan)
        assert ok[i] == want, i
    assert 0 < ok.sum() < len(b)
    # a lender already owed may lend again to a borrower with other lenders; a new one not
    covered = model.is_covered[b]
    stacked = covered & (own > 0) & (debt.n_lenders[b] >= 2)
    assert ok[stacked].any()
    model.close()


def test_book_tops_up_an_account_and_adds_new_loans():
    model = _model()
    _start_month(model)
    L, A, pools = model.loans, model.accounts, model.pools
    b_acc, p_acc = (int(x[0]) for x in np.nonzero(A.rows >= 0))
    r = int(A.rows[b_acc, p_acc])
    old_bal, old_pool, old_x = L.balance[r], int(L.pool_idx[r]), L.features[r].copy()
    b_new = int(next(x for x in range(model.n_borrowers) if (A.rows[x] < 0).all()
                     and x != b_acc))
    p_new = 0
    n0 = L.n
    pool = model.month.pool_of
    flows0 = {k: v[: pools.n].copy() for k, v in pools.flows.items()}
    X = np.ones((3, L.features.shape[1]))
    b = np.array([b_acc, b_new, b_new])
    p = np.array([p_acc, p_new, p_new])
    term = np.array([12, 12, 1])  # a one-month loan never tops up an account
    underwriting.book(model, b, p, np.array([50.0, 80.0, 20.0]), np.array([0.2, 0.25, 0.3]),
                      term, X, is_refinance=False)
    # the account: same row, its balance plus the new amount, repriced and re-amortised
    assert L.n == n0 + 2
    assert L.balance[r] == pytest.approx(old_bal + 50) and L.principal[r] == L.balance[r]
    assert L.apr[r] == 0.2 and L.term[r] == 12 and L.months_left[r] == 12
    assert L.instalment[r] == pytest.approx(annuity_payment(np.array([old_bal + 50]),
                                                            np.array([0.2]), np.array([12]))[0])
    assert L.pool_idx[r] == pool[p_acc] and (L.features[r] == 1).all()
    rows, label, feats = model.month.matured[0]  # it performed: trains as a good loan
    assert rows.tolist() == [r] and label == 0 and np.array_equal(feats[0], old_x)
    # the new loans: two rows; the instalment loan becomes the account
    assert L.borrower_idx[n0:].tolist() == [b_new, b_new] and L.term[n0:].tolist() == [12, 1]
    assert A.rows[b_new, p_new] == n0 and A.is_consistent(L)
    # flows: the balance moves from the old pool to this month's; originations in full
    d = {k: pools.flows[k][: pools.n] - np.r_[flows0[k], np.zeros(pools.n - len(flows0[k]))]
         for k in pools.flows}
    assert d["rolled_out"][old_pool] == pytest.approx(old_bal)
    assert d["rolled_in"][pool[p_acc]] == pytest.approx(old_bal)
    want_orig = np.zeros(pools.n)
    np.add.at(want_orig, pool[p], [50.0, 80.0, 20.0])
    np.testing.assert_allclose(d["originated"], want_orig)
    model.close()


def test_use_capacity_by_hand():
    model = _model(0)
    model.month = Month(model.n_borrowers, 3)
    model.month.capacity[:] = [100.0, 50.0, 10.0]
    underwriting.use_capacity(model, np.array([0, 0, 1, 2]), np.array([30.0, 20.0, 50.0, 15.0]))
    assert model.month.capacity.tolist() == [50.0, 0.0, 0.0]
    model.close()


def test_apply_grants_within_capacity_and_books_every_grant():
    model = _model()
    _start_month(model)
    m, L = model.month, model.loans
    cap0, n0, debt0 = m.capacity.copy(), L.n, model.debt.total.copy()
    bal0 = L.balance.sum()
    b, amount = m.applicants, m.request
    granted = underwriting.apply(model, b, amount, 3, is_refinance=False)
    assert (granted <= amount + 1e-9).all() and granted.sum() > 0
    # capacity used = credit granted = new balances on the book = new debt seen by lenders
    assert cap0.sum() - m.capacity.sum() == pytest.approx(granted.sum(), rel=1e-9)
    assert L.balance.sum() - bal0 == pytest.approx(granted.sum(), rel=1e-9)
    np.testing.assert_allclose(model.debt.total - debt0,
                               np.bincount(b, weights=granted, minlength=model.n_borrowers),
                               atol=1e-6)
    assert m.applied[b].all()
    assert m.granted_any[b].tolist() == (granted > 0).tolist()
    short = amount - granted >= model.params.borrowers.min_loan
    assert m.rationed[b].tolist() == short.tolist()
    new = np.arange(n0, L.n)
    assert (L.origination_step[new] == model.t).all()
    assert (L.status[new] == LoanStatus.CURRENT).all()
    model.close()


def test_apr_cap_binds_on_every_loan():
    model = MarketModel(tiny(**{"regulator.apr_cap": 0.2}))
    for _ in range(8):
        model.step()
        assert (model.loans.apr <= 0.2 + 1e-12).all()
    model.close()


def test_max_lenders_with_full_data_sharing_prevents_stacking():
    """A platform that sees every borrower's lenders (data_sharing = 1) refuses a new borrower
    who already owes someone when max_lenders = 1: nobody ends up with two lenders."""
    on = lendsim.run(tiny(**{"regulator.max_lenders": 1, "regulator.data_sharing": 1.0}),
                     steps=10)
    off = lendsim.run(tiny(**{"regulator.max_lenders": 1, "regulator.data_sharing": 0.0}),
                      steps=10)
    assert (on.model["multi_lender_share"] == 0).all()
    assert off.model["multi_lender_share"].max() > 0  # invisible to lenders without sharing
