"""Phase 8, accounting (simulation/phases/accounting.py): every posting against a loop over
pools or loans, and the balance-sheet identities."""

import numpy as np
import pandas as pd
import pytest
from conftest import tiny

from lendsim import InvariantError, MarketModel
from lendsim.simulation.ledger import FLOW_KINDS, LoanStatus
from lendsim.simulation.month import Month
from lendsim.simulation.phases import accounting

FIELDS = ("cash", "loans_held", "joint_loans", "equity", "allowance", "debt", "deposits")


def _model(steps=3, **over):
    model = MarketModel(tiny(**{"platforms.n": 3, "banks.n": 3,
                                "network.interbank.kind": "none", **over}))
    model.run(steps)
    model.month = Month(model.n_borrowers, len(model.platforms))
    return model


def _sheets(model):
    return [{f: getattr(a, f) for f in FIELDS if hasattr(a, f)}
            for a in (*model.platforms, *model.banks)]


def _delta(model, before):
    return [{f: getattr(a, f) - v for f, v in b.items()}
            for a, b in zip((*model.platforms, *model.banks), before)]


def _funders(model, k):
    """(agent, share) of every funder of pool ``k``."""
    pools = model.pools
    yield model.platforms[pools.platform_idx[k]], pools.platform_share[k]
    for j, bk in enumerate(model.banks):
        yield bk, pools.bank_shares[k, j]


def test_post_flows_moves_exactly_the_pool_flows_and_keeps_sheets_balanced():
    model = _model()
    pools = model.pools
    rng = np.random.default_rng(0)
    for k in FLOW_KINDS:
        pools.flows[k][: pools.n] = rng.uniform(0, 1000, pools.n)
    f = {k: v[: pools.n].copy() for k, v in pools.flows.items()}
    before = _sheets(model)
    accounting.post_flows(model)
    got = _delta(model, before)
    want = [dict.fromkeys(d, 0.0) for d in got]
    pos = {id(a): i for i, a in enumerate((*model.platforms, *model.banks))}
    for k in range(pools.n):
        lent = f["originated"][k]
        back = f["paid"][k]
        for agent, s in _funders(model, k):
            w = want[pos[id(agent)]]
            w[agent.LOANS] += s * (lent + f["interest"][k] - back - f["charged_off"][k])
            w["cash"] += s * (back + f["recovered"][k] - lent)
            w["equity"] += s * (f["interest"][k] - f["charged_off"][k] + f["recovered"][k])
    for g, w in zip(got, want):
        assert g == pytest.approx(w, rel=1e-9, abs=1e-6)
    for a in (*model.platforms, *model.banks):
        assert a.balance_gap() == pytest.approx(0.0, abs=1e-6)
    bank_loss = sum(pools.bank_shares[k].sum() * (f["charged_off"][k] - f["recovered"][k])
                    for k in range(pools.n))
    m = model.month
    assert m.losses_banks == pytest.approx(bank_loss)
    assert m.losses["common_funder"] == pytest.approx(bank_loss)
    assert m.losses_platforms + m.losses_banks == pytest.approx(
        (f["charged_off"] - f["recovered"]).sum())
    assert m.originations == pytest.approx(f["originated"].sum())
    assert all((v[: pools.n] == 0).all() for v in pools.flows.values())  # taken once


def test_charge_off_by_hand_with_a_failed_lender():
    model = _model(**{"platforms.recovery_rate": 0.1, "platforms.resolver_recovery": 0.5,
                      "platforms.chargeoff_after_missed": 6})
    L, pools = model.loans, model.pools
    model.platforms[1].fail(model.t)  # no resolver: half the usual recovery
    open_ = np.flatnonzero(L.is_open() & (L.balance > 0))
    old, young = open_[:40], open_[40:60]
    L.status[old] = L.status[young] = LoanStatus.DEFAULTED
    L.n_missed[old], L.n_missed[young] = 6, 5
    bal = L.balance[old].copy()
    rec = np.where(L.platform_idx[old] == 1, 0.05, 0.1) * bal
    flows0 = {k: pools.flows[k][: pools.n].copy() for k in ("charged_off", "recovered")}
    losses0 = sum(model.month.losses.values())
    accounting.charge_off(model)
    assert (L.status[old] == LoanStatus.CHARGED_OFF).all() and (L.balance[old] == 0).all()
    assert (L.status[young] == LoanStatus.DEFAULTED).all() and (L.balance[young] > 0).all()
    np.testing.assert_allclose(pools.flows["charged_off"][: pools.n] - flows0["charged_off"],
                               np.bincount(L.pool_idx[old], bal, pools.n))
    np.testing.assert_allclose(pools.flows["recovered"][: pools.n] - flows0["recovered"],
                               np.bincount(L.pool_idx[old], rec, pools.n))
    assert (L.platform_idx[old] == 1).any()
    assert model.month.charge_offs == pytest.approx(bal.sum())
    # every RMB lost is attributed to one channel
    assert sum(model.month.losses.values()) - losses0 == pytest.approx((bal - rec).sum())


def test_charge_off_follows_each_types_write_off_point():
    """A type's own chargeoff_after_missed (here 4 for micro-lenders) replaces the common
    one (6) for its loans only; 0 keeps the common one."""
    model = _model(**{"platforms.chargeoff_after_missed": 6,
                      "platforms.micro_lender.chargeoff_after_missed": 4})
    L = model.loans
    kinds = np.array([pl.kind for pl in model.platforms])
    assert {"micro_lender"} < set(kinds)
    open_ = np.flatnonzero(L.is_open() & (L.balance > 0))[:300]
    L.status[open_] = LoanStatus.DEFAULTED
    L.n_missed[open_] = np.arange(len(open_)) % 4 + 3  # 3, 4, 5, 6
    accounting.charge_off(model)
    micro = kinds[L.platform_idx[open_]] == "micro_lender"
    want = np.where(micro, L.n_missed[open_] >= 4, L.n_missed[open_] >= 6)
    assert ((L.status[open_] == LoanStatus.CHARGED_OFF) == want).all()
    assert (micro & (L.n_missed[open_] == 4)).any() and (~micro & want).any()


def _loan_shares(model, i):
    return list(_funders(model, model.loans.pool_idx[i]))


def test_pool_balances_provisions_and_fees_against_a_loop_over_loans():
    model = _model(**{"regulator.provision_rate": 0.01})
    L = model.loans
    L.status[L.is_open() & (np.arange(L.n) % 9 == 0)] = LoanStatus.DELINQUENT
    L.status[L.is_open() & (np.arange(L.n) % 13 == 0)] = LoanStatus.DEFAULTED
    by_status, managed = accounting.pool_balances(model)
    want = np.zeros((model.pools.n, 3))
    for i in np.flatnonzero(L.is_open()):
        want[L.pool_idx[i], L.status[i]] += L.balance[i]
    np.testing.assert_allclose(by_status, want)
    want_p = np.zeros(len(model.platforms))
    for i in np.flatnonzero(L.is_open()):
        want_p[L.platform_idx[i]] += L.balance[i]
    np.testing.assert_array_equal(managed, want_p)  # the book each platform manages
    # provisions: 1 %, 30 %, 80 % of each funder's share of current, 30+, defaulted loans
    rate = {LoanStatus.CURRENT: 0.01, LoanStatus.DELINQUENT: accounting.PROVISION_DELINQUENT,
            LoanStatus.DEFAULTED: accounting.PROVISION_DEFAULTED}
    target, fee = {}, {}
    for i in np.flatnonzero(L.is_open()):
        fee_rate = model.pools.fee_rate[L.pool_idx[i]] / 12  # set by set_fee_rates
        for agent, s in _loan_shares(model, i):
            target[id(agent)] = target.get(id(agent), 0.0) + s * L.balance[i] * rate[L.status[i]]
            if agent in model.banks and L.status[i] != LoanStatus.DEFAULTED:
                f = s * L.balance[i] * fee_rate  # banks pay on the performing balance they fund
                fee[id(agent)] = fee.get(id(agent), 0.0) - f
                pl = model.platforms[L.platform_idx[i]]
                fee[id(pl)] = fee.get(id(pl), 0.0) + f
    before = _sheets(model)
    accounting.provisions(model, by_status)
    for a, b in zip((*model.platforms, *model.banks), before):
        assert a.allowance == pytest.approx(target.get(id(a), 0.0), rel=1e-9, abs=1e-9)
        assert a.equity - b["equity"] == pytest.approx(b["allowance"] - a.allowance)
        assert a.balance_gap() == pytest.approx(0.0, abs=1e-6)
    before = _sheets(model)
    accounting.servicing_fees(model, by_status[:, 0] + by_status[:, 1])
    for a, b in zip((*model.platforms, *model.banks), before):
        assert a.equity - b["equity"] == pytest.approx(fee.get(id(a), 0.0), rel=1e-9, abs=1e-9)
        assert a.cash - b["cash"] == pytest.approx(fee.get(id(a), 0.0), rel=1e-9, abs=1e-9)
    assert sum(fee.values()) == pytest.approx(0.0, abs=1e-6) and max(fee.values()) > 0


def test_fee_rates_cover_what_the_months_loans_cost_to_make_by_hand():
    """A month's pool pays the type's fee or, when higher, the platform's operating cost plus
    its origination costs spread over the pool's expected balance-months."""
    model = MarketModel(tiny(**{"platforms.n": 3, "banks.n": 3,
                                "network.interbank.kind": "none"}))
    model.run(2)
    from lendsim.simulation.phases import credit_lines, demand, funding, income, underwriting
    model.t += 1
    model.month = Month(model.n_borrowers, len(model.platforms))
    for phase in (income, demand, funding, credit_lines, underwriting):
        phase.step(model)
    m, L, pools = model.month, model.loans, model.pools
    m.tally()  # as accounting does before setting the rates
    accounting.set_fee_rates(model)
    checked = 0
    for pl in model.platforms:
        k = m.pool_of[pl.idx]
        if k < 0:
            continue
        new = [i for i in range(L.n) if L.pool_idx[i] == k and L.origination_step[i] == model.t]
        exposure = sum(L.principal[i] * (L.term[i] + 1) / 2 for i in new)
        # each instalment loan cost cost_per_loan to make; one-month credit nothing
        n_loans = sum(L.term[i] > 1 for i in new)
        assert m.origination_cost_by_platform[pl.idx] == pytest.approx(
            n_loans * pl.tp.cost_per_loan)
        if exposure <= 0:
            assert pools.fee_rate[k] == pl.tp.bank_fee
            continue
        cost = pl.tp.operating_cost + 12 * m.origination_cost_by_platform[pl.idx] / exposure
        assert pools.fee_rate[k] == pytest.approx(max(pl.tp.bank_fee, cost), rel=1e-12)
        checked += cost > pl.tp.bank_fee  # the cost side binds for some
    assert checked >= 1
    model.close()


def test_costs_and_bank_income_by_hand():
    model = _model(**{"banks.payout_ratio": 0.0, "platforms.fixed_cost_share": 0.01})
    model.platforms[2].fail(model.t)  # a failed platform pays no fixed cost
    model.platforms[0].debt = 500.0
    model.platforms[0].cash += 500.0
    bp, pp, L = model.params.banks, model.params.platforms, model.loans
    bench = model.macro.benchmark_rate
    before = _sheets(model)
    for pl in model.platforms:
        pl.start_month()
    accounting.costs_and_bank_income(model, accounting.pool_balances(model)[1])
    for pl, b in zip(model.platforms, before):
        managed = L.balance[L.is_open() & (L.platform_idx == pl.idx)].sum()
        cost = (pl.tp.operating_cost / 12 * managed
                + (0.01 * pl.initial_equity if pl.is_active else 0.0)
                + (bench + pl.tp.funding_spread) / 12 * pl.debt)
        assert pl.equity - b["equity"] == pytest.approx(-cost)
        assert pl.cash - b["cash"] == pytest.approx(-cost)
        # the income statement carries each cost on its own line
        inc = pl.income
        assert inc["operating_cost"] == pytest.approx(pl.tp.operating_cost / 12 * managed)
        assert inc["fixed_cost"] == (0.01 * pl.initial_equity if pl.is_active else 0.0)
        assert inc["funding_cost"] == pytest.approx((bench + pl.tp.funding_spread) / 12
                                                    * pl.debt)
        assert inc["origination_cost"] == 0.0  # no loans made in this month's Month
    for bk, b in zip(model.banks, before[len(model.platforms):]):
        net = ((bp.other_loan_yield - bp.other_loan_loss) / 12 * bk.other_loans
               - bp.deposit_rate / 12 * bk.deposits
               - bp.operating_cost / 12 * (bk.other_loans + bk.joint_loans))
        assert bk.equity - b["equity"] == pytest.approx(net)
        assert bk.equity_at_close == bk.equity  # the month is closed for dividends


def test_accounting_brings_holdings_back_in_line_with_the_book():
    """Until accounting, the month's flows sit in the pools and holdings lag the loan book;
    after it, every funder holds its share of every open balance and every sheet balances."""
    model = MarketModel(tiny(**{"borrowers.n": 400}))
    model.run(3)
    model.t += 1
    model.month = Month(model.n_borrowers, len(model.platforms))
    phases = model.PHASES
    for phase in phases[: phases.index(accounting)]:
        phase.step(model)
    with pytest.raises(InvariantError, match="hold"):
        model.check_invariants()
    accounting.step(model)
    model.check_invariants()
    model.close()


#: every line of the income statement happens in this market: P2P lenders with retail money
#: and a guarantor, the others without; incidents and breaches; capital raised and paid out
INCOME_CASE = {"borrowers.n": 1500, "platforms.n": 6, "platforms.max_n": 8,
               "platforms.p2p.weight": 8.0, "platforms.p2p.retail_funding": 15.0,
               "platforms.p2p.equity_per_borrower": 5.0,
               "guarantee.n": 1, "guarantee.insured_type": "p2p",
               "guarantee.capital_per_borrower": 0.5, "guarantee.premium_rate": 0.02,
               "contagion.incident_rate": 0.05, "contagion.breach_share": 0.5,
               "contagion.retail_run_sensitivity": 1.0, "contagion.reputation_hit": 0.9,
               "contagion.run_penalty": 0.5,
               "shocks.platform_failure_step": 10, "shocks.platform_failure_type": "p2p",
               "simulation.steps": 36}


def test_income_statement_adds_up_to_the_change_in_equity_every_month():
    """Accounting identity: each platform's month's profit, income less expenses line by
    line, is its change in equity plus dividends less new equity (gross of the issue cost),
    for every platform in every month, entrants and failed platforms included."""
    from lendsim.agents.platforms import EXPENSE_LINES, INCOME_LINES

    model = MarketModel(tiny(**INCOME_CASE))
    seen = dict.fromkeys(INCOME_LINES + EXPENSE_LINES, 0)
    equity = {}
    for _ in range(36):
        model.step()
        for pl in model.platforms:
            inc = pl.income
            profit = sum(inc[k] for k in INCOME_LINES) - sum(inc[k] for k in EXPENSE_LINES)
            start = equity.get(pl.idx, pl.initial_equity)  # an entrant starts from its capital
            assert profit == pytest.approx(pl.equity - start + pl.dividends
                                           - pl.equity_raised, abs=1e-6), (model.t, pl.idx)
            assert pl.profit() == pytest.approx(profit)
            assert inc["marketing"] == pl.marketing
            equity[pl.idx] = pl.equity
            for k, v in inc.items():
                seen[k] += v != 0
    model.close()
    missing = [k for k, n in seen.items() if n == 0]
    assert not missing, f"lines never exercised: {missing}"


def test_income_statement_columns_in_the_platforms_table():
    """The platforms table carries the statement: ``profit`` is the lines' sum, and ``roe``
    is profit over the month's opening equity, annualised."""
    from lendsim.agents.platforms import EXPENSE_LINES, INCOME_LINES

    model = MarketModel(tiny(**{"borrowers.n": 600}))
    model.run(12)
    t = pd.DataFrame(model.records["platforms"])
    model.close()
    lines = t[list(INCOME_LINES)].sum(axis=1) - t[list(EXPENSE_LINES)].sum(axis=1)
    assert np.allclose(lines, t["profit"], atol=1e-6)
    t = t.sort_values(["platform_id", "step"])
    start = t.groupby("platform_id").equity.shift(1)
    ok = start.notna() & (start > 0)
    assert np.allclose(t.roe[ok], 12 * t.profit[ok] / start[ok])
    assert (t.fee_income > 0).any() and (t.interest_income > 0).any()
