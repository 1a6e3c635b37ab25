"""Borrowers (agents/borrowers.py): the population's vectorised decisions against per-borrower
loops, and the Mesa agent as a view of one row."""

import copy

import numpy as np
import pytest
from conftest import tiny

from lendsim import MarketModel
from lendsim.agents.borrowers import Borrower, BorrowerPopulation
from lendsim.agents.rules import demand, income


@pytest.fixture(scope="module")
def scen():
    return tiny(**{"borrowers.n": 300})


def _pop(scen, seed=0):
    return BorrowerPopulation(scen.borrowers, scen.macro, np.random.default_rng(seed))


def test_segments_and_quintiles_split_the_population_evenly(scen):
    pop = _pop(scen)
    assert np.bincount(pop.risk_segment).tolist() == [100, 100, 100]
    assert np.bincount(pop.income_quintile).tolist() == [60] * 5
    for s in range(2):  # riskier segments hold the higher risk draws
        assert pop.risk[pop.risk_segment == s].max() < pop.risk[pop.risk_segment == s + 1].min()
    for q in range(4):
        assert (pop.base_income[pop.income_quintile == q].max()
                < pop.base_income[pop.income_quintile == q + 1].min())
    assert (pop.months_since_default == pop.NEVER).all() and not pop.is_in_default().any()


def test_job_loss_loading_has_mean_one(scen):
    pop = _pop(scen)
    g = scen.borrowers.risk_job_loss
    np.testing.assert_allclose(pop.job_loss_loading,
                               np.exp(g * pop.risk) / np.exp(g * g / 2))


def test_spend_by_hand(scen):
    pop = _pop(scen)
    pop.cash[:3] = [100.0, 30.0, 10.0]
    pop.need[:3] = [50.0, 50.0, 50.0]
    due = np.zeros(pop.n)
    due[:3] = [20.0, 20.0, 20.0]
    cash = pop.cash.copy()
    consumption = pop.spend(due)
    # needs met from what is left after this month's instalments, never below zero
    assert consumption[:3].tolist() == [50.0, 10.0, 0.0]
    assert pop.cash[:3].tolist() == [50.0, 20.0, 10.0]
    np.testing.assert_allclose(pop.cash, cash - consumption)


def test_credit_requests_use_the_room_under_the_debt_tolerance(scen):
    pop = _pop(scen)
    rng = np.random.default_rng(1)
    pop.spending_needs(1.0, rng)
    due, debt = rng.uniform(0, 500, pop.n), rng.uniform(0, 20_000, pop.n)
    got = pop.credit_requests(due, debt)
    room = np.array([pop.debt_tolerance[i] * 12 * pop.base_income[i] - debt[i]
                     for i in range(pop.n)])
    want = demand.credit_demand(pop.need, pop.discretionary, pop.cash, due, room,
                                convenience_credit=scen.borrowers.convenience_credit,
                                min_loan=scen.borrowers.min_loan)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert (got[0] > 0).any()


def test_income_is_received_into_cash(scen):
    pop = _pop(scen)
    rng = np.random.default_rng(2)
    cash, twin, x = pop.cash.copy(), copy.deepcopy(rng), pop.income_state.copy()
    pop.receive_income(0.1, rng)
    bp = scen.borrowers
    x = income.persistent_step(x, bp.income_persistence, bp.income_persistent_sd,
                               twin.standard_normal(pop.n))
    want = income.monthly_income(pop.base_income, pop.is_employed, twin.standard_normal(pop.n),
                                 bp.income_volatility, bp.benefit_share, 0.1, x,
                                 bp.income_persistent_sd)
    np.testing.assert_array_equal(pop.income, want)
    np.testing.assert_allclose(pop.cash, cash + want)


def test_in_default_means_within_the_last_twelve_months(scen):
    pop = _pop(scen)
    pop.months_since_default[:4] = [0, 11, 12, 30]
    assert pop.is_in_default()[:4].tolist() == [True, True, False, False]


def test_borrower_agent_reads_and_writes_its_row():
    model = MarketModel(tiny(**{"borrowers.n": 300}))
    model.run(3)
    b = model.borrower(5)
    assert isinstance(b, Borrower) and model.borrower(5) is b
    for name in ("base_income", "income", "cash", "risk", "risk_segment", "trust",
                 "is_employed", "tier", "months_since_default", "collection_debt"):
        assert getattr(b, name) == getattr(model.population, name)[5]
    b.cash = 77.0
    b.is_employed = False
    b.collection_debt = 12.5
    assert model.population.cash[5] == 77.0 and not model.population.is_employed[5]
    assert model.population.collection_debt[5] == 12.5
    # debt and lenders against a loop over the open loans
    L = model.loans
    for i in range(60):
        mine = np.flatnonzero((L.borrower_idx == i) & L.is_open())
        bi = model.borrower(i)
        assert bi.debt == pytest.approx(L.balance[mine].sum())
        assert bi.n_lenders == len(set(L.platform_idx[mine[L.balance[mine] > 0]].tolist()))
        assert len(bi.loans) == len(mine)
    assert sum(model.borrower(i).debt > 0 for i in range(60)) > 0
    model.close()
