"""Phase 6, underwriting (simulation/phases/underwriting.py): refusals, prices, caps and
booking against per-applicant loops and hand examples."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from conftest import tiny

import lendsim
from lendsim import MarketModel
from lendsim.agents.rules.underwriting import annuity_payment
from lendsim.simulation import strategies
from lendsim.simulation.features import FEATURES
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


@pytest.mark.parametrize("share_defaults", [True, False])
def test_is_blacklisted_against_a_loop(share_defaults):
    """Refused: a borrower who defaulted with the lender, or, when the bureau reports
    defaults, a covered borrower who defaulted with anyone in the last 24 months (whether
    it reports arrears plays no part)."""
    model = _model(**{"regulator.data_sharing": 0.5,
                      "regulator.share_defaults": share_defaults,
                      "regulator.share_arrears": not share_defaults})
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
    want = [bool((share_defaults and model.is_covered[x] and pop.months_since_default[x] < 24)
                 or (pop.months_since_default[x] < pop.NEVER
                     and x * model.params.platforms.max_n + q in stored))
            for x, q in zip(b, p)]
    assert got.tolist() == want
    assert 0 < got.sum() < len(b)
    model.close()


def test_price_cap_adds_fees_only_to_an_interest_only_cap():
    model = _model(0, **{"platforms.micro_lender.fee_rate": 0.1,
                         "regulator.apr_cap_all_in": False,
                         "platforms.embedded.max_apr": 0.0})  # no product ceiling here
    g = underwriting.platform_arrays(model)
    fees = np.array([0.1 if pl.kind == "micro_lender" else pl.tp.fee_rate
                     for pl in model.platforms])
    assert underwriting.price_cap(model, g).tolist() == pytest.approx(model.apr_cap + fees)
    assert (fees > 0).any()
    model.regulator.set_policy(apr_cap_all_in=True)
    assert underwriting.price_cap(model, g).tolist() == [model.apr_cap] * len(fees)
    model.close()


def test_a_products_price_ceiling_holds_on_every_loan_and_approval():
    """The embedded platform's products cost at most 18.25 % a year (0.05 % a day): under a
    36 % cap none of its loans is dearer, while other lenders' are."""
    model = MarketModel(tiny(**{"regulator.apr_cap": 0.36, "platforms.n": 6}))
    model.run(8)
    g = underwriting.platform_arrays(model)
    ceil = [pl.tp.max_apr for pl in model.platforms]
    assert underwriting.price_cap(model, g).tolist() == pytest.approx(
        [c if c > 0 else 0.36 for c in ceil])
    L = model.loans
    kinds = np.array([pl.kind for pl in model.platforms])[L.platform_idx[:L.n]]
    apr = L.apr[:L.n]
    assert (kinds == "embedded").any()
    assert (apr[kinds == "embedded"] <= 0.1825 + 1e-9).all()
    assert (apr[kinds != "embedded"] > 0.1825).any()
    model.close()


def test_quote_calls_each_platforms_strategy():
    model = _model(0)

    class Flat(strategies.BreakEven):  # not registered: the platform holds an instance
        name = "flat_test"

        def quote(self, pd_life, p, term, arrays, lgd, amount, markup):
            return np.full(len(pd_life), 0.1), np.full(len(pd_life), 0.18)

    model.platforms[1].pricing = Flat()
    g = underwriting.platform_arrays(model)
    rng = np.random.default_rng(1)
    p = rng.integers(0, len(model.platforms), 50)
    pd_life = rng.uniform(0, 0.2, 50)
    term = rng.choice([1, 6, 12], 50)
    g = dataclasses.replace(g, loss_severity=rng.uniform(0.4, 0.9, len(model.platforms)))
    amount = rng.uniform(100, 5000, 50)
    floor, price = underwriting.quote(pd_life, p, term, g, amount)
    for i in range(50):
        pl = model.platforms[p[i]]
        # an instalment loan's origination cost is spread over its expected balance-months
        origination = (pl.tp.cost_per_loan / amount[i] * 12 / ((term[i] + 1) / 2)
                       if term[i] > 1 else 0.0)
        want = (0.1 if p[i] == 1 else
                g.funding_cost[p[i]] + pd_life[i] * g.loss_severity[p[i]] * 24 / (term[i] + 1)
                + pl.tp.operating_cost + origination)
        assert floor[i] == pytest.approx(want)
        assert price[i] == pytest.approx(0.18 if p[i] == 1 else want + pl.margin)
    assert (p == 1).any()
    model.close()


@pytest.mark.parametrize("share_arrears", [True, False])
def test_arrears_seen_against_a_loop_over_loans(share_arrears):
    """A lender sees a borrower behind on a payment on one of its own loans, or, through the
    bureau for a covered borrower while it reports negative data, on any loan; the feature
    ``arrears_seen`` carries it."""
    model = _model(steps=6, **{"regulator.data_sharing": 0.5,
                               "regulator.share_arrears": share_arrears,
                               "regulator.share_defaults": not share_arrears,
                               "borrowers.strategic_base": -3.0})
    _start_month(model)
    L, P = model.loans, len(model.platforms)
    rng = np.random.default_rng(4)
    b = rng.integers(0, model.n_borrowers, 2000)
    p = rng.integers(0, P, 2000)
    late = [(int(L.borrower_idx[i]), int(L.platform_idx[i])) for i in range(L.n)
            if L.status[i] <= LoanStatus.DEFAULTED and L.n_missed[i] > 0]
    anywhere, late = {x for x, _ in late}, set(late)
    bureau = model.is_covered & share_arrears
    want = [(x in anywhere) if bureau[x] else ((x, q) in late)
            for x, q in zip(b.tolist(), p.tolist())]
    # covered applicants behind only at other lenders: seen exactly when arrears are shared
    elsewhere = [i for i, (x, q) in enumerate(zip(b.tolist(), p.tolist()))
                 if model.is_covered[x] and x in anywhere and (x, q) not in late]
    assert elsewhere and all(want[i] == share_arrears for i in elsewhere)
    from lendsim.simulation.features import FEATURES, arrears_seen
    got = arrears_seen(model, b, p)
    assert got.tolist() == want
    assert 0 < got.sum() < len(b)
    assert (~model.is_covered[b] & got).any()  # its own arrears, without the bureau
    g = underwriting.platform_arrays(model)
    X = underwriting.assess(model, b, p, np.full(2000, 1000.0), g, g.term[p])[4]
    assert X[:, FEATURES.index("arrears_seen")].tolist() == [float(w) for w in want]
    model.close()


@pytest.mark.parametrize("elasticity", [0.0, 0.7])
def test_assess_refuses_for_exactly_the_stated_reasons(elasticity):
    model = _model(**{"regulator.data_sharing": 0.6, "regulator.require_income": True,
                      "regulator.apr_cap": 0.3, "platforms.limit_risk_elasticity": elasticity,
                      "platforms.limit_reference_pd": 0.02})
    model.regulator.set_policy(max_lenders=1)  # after borrowers took loans from several
    _start_month(model)
    model.inquiries[::7] = model.params.platforms.max_inquiries + 1  # asked many lenders
    g = underwriting.platform_arrays(model)
    pop, rng = model.population, np.random.default_rng(2)
    b = rng.integers(0, model.n_borrowers, 1500)
    p = rng.integers(0, len(model.platforms), 1500)
    owed = model.debt.own[b] > 0
    again = np.flatnonzero(owed.any(axis=1) & (rng.random(1500) < 0.5))
    p[again] = [rng.choice(np.flatnonzero(owed[i])) for i in again]  # a lender they owe
    request = rng.uniform(100, 20_000, 1500)
    term = g.term[p]
    ok, pd_life, apr, limit, X, own, visible = underwriting.assess(model, b, p, request, g,
                                                                   term)
    black = underwriting.is_blacklisted(model, b, p)
    debt = model.debt
    for i in range(len(b)):
        x, q = b[i], p[i]
        pl = model.platforms[q]
        assert own[i] == debt.own[x, q]
        covered = model.is_covered[x]
        assert visible[i] == (debt.total[x] if covered else own[i])
        others = debt.n_lenders[x] - (own[i] > 0) if covered else 0
        T = pl.tp.term_months
        # risk-scaled limits (7.7): the lifetime PD as an annual one, against 2 % a year
        pd_year = 1 - (1 - pd_life[i]) ** (12 / T)
        multiple = pl.tp.limit_income_multiple * (0.02 / pd_year) ** elasticity
        room = max(min(multiple * pop.income[x] - own[i],
                       pl.tp.max_debt_income * 12 * pop.income[x] - visible[i],
                       model.regulator.policy.max_loan - visible[i]), 0.0)
        amt = min(request[i], room)
        # before origination cost: funding, loss on the loan's term, operating cost
        base = (g.funding_cost[q] + pd_life[i] * model.params.platforms.lgd * 24 / (T + 1)
                + pl.tp.operating_cost)
        per_year = pl.tp.cost_per_loan * 24 / (T + 1)  # RMB a year per RMB-of-balance unit
        floor = base + per_year / max(amt, 1.0)
        cap = 0.3 if model.regulator.policy.apr_cap_all_in else 0.3 + pl.tp.fee_rate
        if pl.tp.max_apr > 0:  # the product's own ceiling
            cap = min(cap, pl.tp.max_apr)
        if floor > cap and per_year > 0 and cap > base:
            # too small to pay its origination cost under the cap: the smallest loan that does
            bigger = per_year / (cap - base) * (1 + 1e-9)
            if bigger <= room:
                amt, floor = bigger, base + per_year / bigger
        # the markup by the price sensitivity the signal implies: E[z | s] = s / (1 + sd^2),
        # var = sd^2 / (1 + sd^2); 1 / E[exp(-k z) | s] = exp(k E[z|s] - k^2 var / 2)
        k, sd = model.params.borrowers.price_sensitivity_risk, pl.noise_sd(
            model.params.platforms)
        mean, var = X[i, 1] / (1 + sd ** 2), sd ** 2 / (1 + sd ** 2)
        markup = math.exp(k * mean - k * k * var / 2)
        # the price asked, capped; approval rests on the floor
        assert apr[i] == pytest.approx(min(floor + pl.margin * markup, cap))
        assert limit[i] == pytest.approx(amt)
        asked_around = covered and model.inquiries[x] > model.params.platforms.max_inquiries
        want = (pd_life[i] <= pl.pd_cutoff and floor <= cap
                and pop.is_employed[x] and not black[i] and (own[i] > 0 or others < 1)
                and not asked_around and limit[i] >= model.params.borrowers.min_loan)
        assert ok[i] == want, i
    assert 0 < ok.sum() < len(b)
    # a lender already owed may lend again to a borrower with other lenders; a new one not
    covered = model.is_covered[b]
    stacked = covered & (own > 0) & (debt.n_lenders[b] >= 2)
    assert ok[stacked].any()
    model.close()


def test_the_scorecard_sees_the_amount_asked():
    """``request_income`` (docs/ODD.md 7.6): the amount asked over annual income, by hand;
    the same applicants asking four times as much, with the same draws, differ in log-odds of
    default by exactly the scorecard's coefficient times the difference, and nowhere else in
    what the lender sees."""
    model = _model()
    _start_month(model)
    g = underwriting.platform_arrays(model)
    rng = np.random.default_rng(3)
    b = rng.integers(0, model.n_borrowers, 400)
    p = rng.integers(0, len(model.platforms), 400)
    request = rng.uniform(100, 20_000, 400)
    state = model.rng.bit_generator.state
    out = {}
    for k in (1, 4):
        model.rng.bit_generator.state = state  # the same noise on the risk signal
        out[k] = underwriting.assess(model, b, p, k * request, g, g.term[p])
    k_req = FEATURES.index("request_income")
    income = np.maximum(model.population.income[b], 1.0)
    X1, X4 = out[1][4].astype(float), out[4][4].astype(float)
    np.testing.assert_allclose(X1[:, k_req], request / (12 * income), rtol=1e-6)
    np.testing.assert_array_equal(np.delete(X1, k_req, axis=1), np.delete(X4, k_req, axis=1))
    logit = {k: np.log(out[k][1] / (1 - out[k][1])) for k in (1, 4)}
    np.testing.assert_allclose(logit[4] - logit[1],
                               g.coef[p, k_req] * (X4[:, k_req] - X1[:, k_req]), atol=1e-6)
    assert (g.coef[:, k_req] != 0).any()


def test_book_adds_a_new_loan_for_every_grant():
    """Borrowing again where one already owes is a new loan: the earlier one runs to its
    maturity untouched (no top-up, no re-amortisation)."""
    model = _model()
    _start_month(model)
    L, pools = model.loans, model.pools
    r = int(np.flatnonzero((L.term > 1) & L.is_open())[0])
    b_old, p_old = int(L.borrower_idx[r]), int(L.platform_idx[r])
    before = {f: getattr(L, f)[r].copy() for f in ("balance", "apr", "term", "months_left",
                                                   "instalment", "pool_idx")}
    n0 = L.n
    pool = model.month.pool_of
    flows0 = pools.flows["originated"][: pools.n].copy()
    X = np.ones((3, L.features.shape[1]))
    b, p = np.array([b_old, 7, 7]), np.array([p_old, 0, 0])
    amount, apr, term = np.array([50.0, 80.0, 20.0]), np.array([0.2, 0.25, 0.3]), \
        np.array([12, 12, 1])
    underwriting.book(model, b, p, amount, apr, term, X, is_refinance=False)
    assert L.n == n0 + 3
    for f, v in before.items():
        assert getattr(L, f)[r] == v, f  # the earlier loan is as it was
    new = np.arange(n0, n0 + 3)
    assert L.borrower_idx[new].tolist() == b.tolist() and L.term[new].tolist() == [12, 12, 1]
    assert L.balance[new].tolist() == amount.tolist() and (L.months_left[new] == term).all()
    np.testing.assert_allclose(L.instalment[new], annuity_payment(amount, apr, term))
    assert (L.pool_idx[new] == pool[p]).all() and (L.origination_step[new] == model.t).all()
    assert model.month.matured == []  # nothing matured by lending
    want = np.zeros(pools.n)
    np.add.at(want, pool[p], amount)
    np.testing.assert_allclose(pools.flows["originated"][: pools.n]
                               - np.r_[flows0, np.zeros(pools.n - len(flows0))], want)
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
    granted = underwriting.apply(model, b, amount, 3, is_refinance=False, product="purchase")
    assert granted.sum() > 0
    # more than asked only from a lender with origination costs, sizing a loan up to the
    # smallest worth making under the cap (size_up)
    over = np.flatnonzero(granted > amount + 1e-9)
    new = np.arange(n0, L.n)
    costly = {pl.idx for pl in model.platforms if pl.tp.cost_per_loan > 0}
    for k in over:
        lenders = L.platform_idx[new[L.borrower_idx[new] == b[k]]]
        assert costly & set(lenders.tolist())
    # capacity used = credit granted = new balances on the book = new debt seen by lenders
    assert cap0.sum() - m.capacity.sum() == pytest.approx(granted.sum(), rel=1e-9)
    assert L.balance.sum() - bal0 == pytest.approx(granted.sum(), rel=1e-9)
    np.testing.assert_allclose(model.debt.total - debt0,
                               np.bincount(b, weights=granted, minlength=model.n_borrowers),
                               atol=1e-6)
    # a borrower who did without (7.5) applied nowhere; everyone who applied counts
    assert m.applied[b][m.inquiries[b] > 0].all()
    assert (m.inquiries[b][~m.applied[b]] == 0).all()
    assert m.granted_any[b].tolist() == (granted > 0).tolist()
    short = amount - granted >= model.params.borrowers.min_loan
    assert m.rationed[b].tolist() == (short & m.applied[b]).tolist()
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


def _recording_assess(monkeypatch, calls):
    """Record every round of ``assess``: borrowers, platforms and who was too risky."""
    real = underwriting.assess

    def assess(model, b, p, request, g, term):
        out = real(model, b, p, request, g, term)
        calls.append((b.copy(), p.copy(), out[1] > g.pd_cutoff[p], out[0].copy()))
        return out

    monkeypatch.setattr(underwriting, "assess", assess)


def test_turned_down_as_too_risky_a_borrower_tries_only_bolder_lenders(monkeypatch):
    model = _model()
    _start_month(model)
    # spread the cut-offs so that a refusal for risk rules some lenders out
    for k, pl in enumerate(model.platforms):
        pl.pd_cutoff = 0.01 + 0.02 * k
    calls = []
    _recording_assess(monkeypatch, calls)
    b = np.arange(model.n_borrowers)
    underwriting.apply(model, b, np.full(len(b), 2000.0), 4, is_refinance=False,
                       product="cash")
    cutoff = np.array([pl.pd_cutoff for pl in model.platforms])
    bar = {}  # borrower -> the cut-off of the lender that found it too risky
    checked = 0
    for bb, pp, risky, _ in calls:
        for x, q, r in zip(bb.tolist(), pp.tolist(), risky.tolist()):
            if x in bar:
                assert cutoff[q] > bar[x], (x, q)
                checked += 1
            if r:
                bar[x] = max(bar.get(x, 0.0), cutoff[q])
    assert bar and checked > 0
    model.close()


def test_products_and_income_proof_decide_who_may_lend(monkeypatch):
    """Purchase credit only at lenders that offer it, cash loans only at cash lenders; a
    lender that asks for income proof refuses the jobless even without the regulator's rule."""
    model = _model(**{"regulator.require_income": False})
    _start_month(model)
    g = underwriting.platform_arrays(model)
    assert g.serves_purchase.any() and g.serves_cash.any() and g.requires_income.any()
    for product, serves in (("purchase", g.serves_purchase), ("cash", g.serves_cash)):
        calls = []
        _recording_assess(monkeypatch, calls)
        b = np.arange(model.n_borrowers)
        underwriting.apply(model, b, np.full(len(b), 800.0), 3, is_refinance=False,
                           product=product)
        tried = np.concatenate([pp for _, pp, _, _ in calls])
        assert serves[tried].all() and len(tried)
        jobless = ~model.population.is_employed
        for bb, pp, _, ok in calls:
            assert not (ok & jobless[bb] & g.requires_income[pp]).any()
        if product == "cash":  # the jobless did ask such a lender
            assert any((jobless[bb] & g.requires_income[pp]).any() for bb, pp, _, _ in calls)
    model.close()


def test_every_application_is_an_inquiry_the_bureau_keeps_for_next_month(monkeypatch):
    model = _model()
    _start_month(model)
    calls = []
    _recording_assess(monkeypatch, calls)
    b = np.arange(model.n_borrowers)
    underwriting.apply(model, b, np.full(len(b), 3000.0), 3, is_refinance=False,
                       product="cash")
    want = np.zeros(model.n_borrowers, dtype=int)
    for bb, *_ in calls:
        for x in bb.tolist():
            want[x] += 1
    assert model.month.inquiries.tolist() == want.tolist() and want.max() >= 2
    from lendsim.simulation.phases import supervise
    supervise.step(model)
    assert model.inquiries.tolist() == want.tolist()  # what lenders read next month
    model.close()


NO_SEARCH_COSTS = {"borrowers.application_hassle": 0.0,
                   "borrowers.outside_apr_purchase": float("inf"),
                   "borrowers.outside_apr_cash": float("inf"),
                   "borrowers.outside_apr_repay": float("inf")}


def test_without_search_costs_the_search_rule_is_the_old_ranking(monkeypatch):
    """Hassle 0 and no outside option (reservation APRs inf) run the code path of the model
    before search costs (``choice.next_choice``: every applicant applies down its ranking);
    forcing the same run through Weitzman's rule with zero hassle and an outside option worth
    -inf gives the same tables to the last digit."""
    from lendsim.agents.rules import choice

    scen = tiny(**NO_SEARCH_COSTS)

    def never(*a, **k):
        raise AssertionError("the search rule ran without search costs")

    with monkeypatch.context() as mp:
        mp.setattr(choice, "next_application", never)
        old = lendsim.run(scen, steps=12, seed=3).tables()

    def zero_costs(model, seg, has_account, g, one_month, product, is_refinance, beta):
        n, P = has_account.shape
        return np.full(n, -np.inf), 0.0, np.full((n, P), 0.5), np.ones((n, P))

    calls = []
    real = choice.next_application
    monkeypatch.setattr(underwriting, "search_terms", zero_costs)
    monkeypatch.setattr(choice, "next_application",
                        lambda *a: calls.append(1) or real(*a))
    new = lendsim.run(scen, steps=12, seed=3).tables()
    assert calls  # the search rule did run
    assert old.keys() == new.keys()
    for name in old:
        pd.testing.assert_frame_equal(old[name], new[name], check_exact=True, obj=name)


def test_a_borrower_who_does_without_applies_nowhere(monkeypatch):
    """Applicants whose outside option beats every platform make no application (no
    inquiry, no loan) and count neither as applicants nor as rationed; the others apply."""
    model = _model()
    _start_month(model)
    real = underwriting.search_terms

    def half_do_without(model, seg, has_account, g, one_month, product, is_refinance, beta):
        outside, hassle, belief, years = real(model, seg, has_account, g, one_month, product,
                                              is_refinance, beta)
        n = len(seg)
        return np.where(np.arange(n) % 2 == 0, np.inf, -np.inf), hassle, belief, years

    monkeypatch.setattr(underwriting, "search_terms", half_do_without)
    b = np.arange(model.n_borrowers)
    m = model.month
    granted = underwriting.apply(model, b, np.full(len(b), 2000.0), 3, is_refinance=False,
                                 product="cash")
    without = b % 2 == 0
    assert (granted[without] == 0).all() and (m.inquiries[without] == 0).all()
    assert not m.applied[without].any() and not m.rationed[without].any()
    assert m.applied[~without].all() and (m.inquiries[~without] > 0).all()
    model.close()


def test_approval_beliefs_count_every_application_and_every_loan(monkeypatch):
    """The counts behind borrowers' approval beliefs grow by each round's applications at
    each platform, in the applicant's risk segment and account cell, and by each loan made."""
    model = _model()
    _start_month(model)
    calls = []
    _recording_assess(monkeypatch, calls)
    before, n0 = model.approval_counts.copy(), model.loans.n
    b = np.arange(model.n_borrowers)
    owed = model.debt_now().own > 0
    underwriting.apply(model, b, np.full(len(b), 3000.0), 3, is_refinance=False,
                       product="cash")
    want = np.zeros_like(before[0])
    seg = model.population.risk_segment
    for bb, pp, _, _ in calls:
        np.add.at(want, (pp, seg[bb] * 2 + owed[bb, pp]), 1)
    added = model.approval_counts - before
    np.testing.assert_array_equal(added[0], want)
    assert added[1].sum() == model.loans.n - n0 > 0
    assert (added[1] <= added[0]).all()
    model.close()


def test_reservation_aprs_may_be_inf_and_the_hassle_may_not():
    """inf switches the outside option off ("never do without"); the hassle is a finite
    RMB amount. Bad values fail on one line naming the field and the value."""
    from lendsim.errors import ScenarioError

    scen = tiny(**NO_SEARCH_COSTS)
    assert scen.borrowers.outside_apr_cash == float("inf")
    for key, bad in (("borrowers.application_hassle", float("inf")),
                     ("borrowers.application_hassle", -1.0),
                     ("borrowers.outside_apr_purchase", -0.1),
                     ("borrowers.outside_apr_cash", float("nan"))):
        with pytest.raises(ScenarioError) as err:
            tiny(**{key: bad})
        msg = str(err.value)
        assert key in msg and "\n" not in msg


def test_an_application_costs_its_lender_types_share_of_the_hassle():
    """``search_terms`` charges each platform ``borrowers.application_hassle`` times its
    type's ``application_hassle_share`` (the embedded platform's credit is offered in its
    app: 0 by default); with every type's share 0 no application costs anything."""
    model = _model(steps=2, **{"borrowers.application_hassle": 20.0,
                               "platforms.consumer_finance.application_hassle_share": 0.5})
    g = underwriting.platform_arrays(model)
    n, P = 5, len(model.platforms)
    seg = np.zeros(n, dtype=int)
    _, hassle, belief, years = underwriting.search_terms(
        model, seg, np.zeros((n, P), dtype=int), g, None, "cash", False, 12.0)
    want = [{"embedded": 0.0, "consumer_finance": 10.0}.get(pl.kind, 20.0)
            for pl in model.platforms]
    assert hassle.tolist() == want and 0.0 in want and 10.0 in want
    assert belief.shape == years.shape == (n, P)
    model.close()
    model = _model(steps=2, **{"borrowers.application_hassle": 20.0,
                               **{f"platforms.{k}.application_hassle_share": 0.0
                                  for k in ("embedded", "micro_lender", "consumer_finance",
                                            "p2p")}})
    g = underwriting.platform_arrays(model)
    _, hassle, _, _ = underwriting.search_terms(
        model, seg, np.zeros((n, P), dtype=int), g, None, "cash", False, 12.0)
    assert not hassle.any()
    model.close()


@pytest.mark.parametrize("rows", [1, 3, 1 << 16])
def test_scorecard_logit_is_the_same_in_blocks(monkeypatch, rows):
    """Scoring in blocks of ``SCORE_ROWS`` applicants gives each one the same log-odds, to
    the last bit, as scoring all at once, and that is each row's dot product with its
    platform's coefficients."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(1001, 11)).astype(np.float32)
    coef, p = rng.normal(size=(4, 11)), rng.integers(0, 4, 1001)
    monkeypatch.setattr(underwriting, "SCORE_ROWS", rows)
    got = underwriting.scorecard_logit(X, coef, p)
    whole = np.einsum("ij,ij->i", X.astype(np.float64), coef[p])
    np.testing.assert_array_equal(got, whole)
    loop = [sum(float(X[i, j]) * coef[p[i], j] for j in range(11)) for i in range(len(p))]
    np.testing.assert_allclose(got, loop, rtol=1e-12, atol=1e-12)
