"""Collections on charged-off debt (docs/ODD.md 7.11, *Collections*): the borrower still owes
a charged-off balance, pays a share of income on it out of cash, and stops owing it once the
limitation period has run; checked against a loop over borrowers and the model table's
running sum."""

import numpy as np
import pytest
from conftest import tiny

from lendsim import MarketModel
from lendsim.simulation.month import Month
from lendsim.simulation.phases import accounting
from lendsim.simulation.ledger import LoanStatus


def _loop_collections(owed, months, income, cash, share, limit):
    """One month of collections, borrower by borrower: the clock, the limitation period,
    then ``share`` of income out of cash, never more than owed."""
    owed, months, cash = owed.copy(), months.copy(), cash.copy()
    paid = 0.0
    for i in range(len(owed)):
        months[i] = min(months[i] + 1, 10_000)
        if months[i] > limit:
            owed[i] = 0.0
        pay = min(owed[i], share * income[i], max(cash[i], 0.0)) if share > 0 else 0.0
        owed[i] -= pay
        cash[i] -= pay
        paid += pay
    return owed, months, cash, paid


@pytest.mark.parametrize("share", [0.0, 0.15, 1.0])
def test_pay_collections_against_a_loop(share):
    model = MarketModel(tiny(**{"borrowers.n": 200, "borrowers.collection_share": share,
                                "borrowers.collection_months": 4}))
    pop = model.population
    rng = np.random.default_rng(7)
    pop.collection_debt[:] = np.where(rng.random(pop.n) < 0.5, rng.uniform(0, 5000, pop.n), 0)
    pop.months_since_charge_off[:] = rng.integers(0, 7, pop.n)
    pop.months_since_charge_off[:5] = pop.NEVER
    pop.income[:] = rng.uniform(0, 8000, pop.n)
    pop.cash[:] = rng.uniform(-100, 3000, pop.n)  # some below zero: they pay nothing
    owed, months, cash, paid = _loop_collections(pop.collection_debt, pop.months_since_charge_off,
                                                 pop.income, pop.cash, share, 4)
    got = pop.pay_collections()
    np.testing.assert_allclose(pop.collection_debt, owed, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(pop.months_since_charge_off, months)
    np.testing.assert_allclose(pop.cash, cash, rtol=0, atol=1e-9)
    assert got == pytest.approx(paid, rel=1e-12)
    assert (paid > 0) == (share > 0)
    # past the limitation period (clock 5 or more after this month's tick) nothing is owed
    assert not pop.collection_debt[(months > 4)].any()


def test_a_charge_off_leaves_the_balance_owed_by_the_borrower():
    """Accounting's charge-off adds each charged-off loan's balance to its borrower's
    collection debt (two loans of one borrower add up) and restarts its clock."""
    model = MarketModel(tiny(**{"platforms.n": 3, "banks.n": 3,
                                "network.interbank.kind": "none"}))
    model.run(6)
    model.month = Month(model.n_borrowers, len(model.platforms))
    L, pop = model.loans, model.population
    rows = np.flatnonzero(L.is_open())[:6]
    assert len(rows) == 6
    L.borrower_idx[rows[:2]] = L.borrower_idx[rows[0]]  # one borrower, two loans
    L.status[rows] = LoanStatus.DEFAULTED
    L.n_missed[rows] = 12
    # every loan charged off this month, the six above and any already due
    due = np.flatnonzero((L.status == LoanStatus.DEFAULTED)
                         & (L.n_missed >= accounting.chargeoff_after(model)[L.platform_idx]))
    expected = pop.collection_debt.copy()
    for r in due:
        expected[L.borrower_idx[r]] += L.balance[r]
    accounting.charge_off(model)
    assert (L.status[due] == LoanStatus.CHARGED_OFF).all()
    np.testing.assert_allclose(pop.collection_debt, expected, rtol=1e-12)
    assert (pop.months_since_charge_off[L.borrower_idx[due]] == 0).all()


def test_the_model_table_adds_up_charge_offs_collections_and_the_debt_owed():
    """Month by month, with a limitation period longer than the run: debt owed to
    collectors = last month's + charge-offs - collections."""
    from lendsim import run

    res = run(tiny(**{"borrowers.n": 600, "borrowers.collection_share": 0.1,
                      "borrowers.collection_months": 600, "simulation.steps": 30,
                      "output.borrower_snapshot_every": 10}), seed=3)
    m = res.tables()["model"]
    # the borrower snapshots hold each borrower's part of the month's total
    snap = res.tables()["borrowers"].groupby("step")["collection_debt"].sum()
    np.testing.assert_allclose(snap.to_numpy(), m.set_index("step").loc[snap.index,
                               "collection_debt"].to_numpy(), rtol=1e-12)
    assert len(snap) == 3
    assert m["charge_offs"].sum() > 0 and m["collections"].sum() > 0
    owed = m["collection_debt"].to_numpy()
    np.testing.assert_allclose(owed[1:], owed[:-1] + m["charge_offs"].to_numpy()[1:]
                               - m["collections"].to_numpy()[1:], rtol=1e-9, atol=1e-6)
