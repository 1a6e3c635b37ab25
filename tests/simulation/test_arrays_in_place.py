"""Arrays that live a month are written in place, not allocated anew every month.

At 10^6 borrowers a new array beside the old one every month, for each of a borrower's
month-lived figures, made the C allocator's heap grow with the months (benchmarks/README.md,
"Month-lived arrays in place"). The values are what a fresh computation gives: the golden
pins did not move, and the debt state is compared here with one built afresh."""

import numpy as np

from lendsim import MarketModel
from lendsim.simulation.allocator import in_place
from lendsim.simulation.debt import DebtState
from conftest import tiny

POPULATION = ("income_state", "income", "need", "discretionary", "months_since_default",
              "months_since_charge_off")


def _where(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def test_month_lived_arrays_keep_their_place():
    m = MarketModel(tiny(**{"simulation.steps": 6}))
    m.step()
    m.step()
    pop = m.population
    before = {k: (getattr(pop, k), _where(getattr(pop, k))) for k in POPULATION}
    debt = (m.debt.total, _where(m.debt.total), m.debt.n_lenders, _where(m.debt.n_lenders))
    incomes = []
    for _ in range(4):
        m.step()
        incomes.append(pop.income.copy())
        for k, (arr, addr) in before.items():
            assert getattr(pop, k) is arr and _where(arr) == addr, k
        assert m.debt.total is debt[0] and _where(m.debt.total) == debt[1]
        assert m.debt.n_lenders is debt[2] and _where(m.debt.n_lenders) == debt[3]
        # the state kept in place equals one built afresh from the book
        fresh = DebtState.from_book(m.loans, m.n_borrowers, len(m.platforms))
        np.testing.assert_array_equal(m.debt.total, fresh.total)
        np.testing.assert_array_equal(m.debt.n_lenders, fresh.n_lenders)
        np.testing.assert_array_equal(m.debt.own, fresh.own)
    # written each month, not left as they were
    assert not np.array_equal(incomes[0], incomes[-1])
    m.close()


def test_in_place_writes_in_place_only_what_fits():
    old = np.zeros(4)
    assert in_place(old, np.arange(4.0)) is old and old.tolist() == [0.0, 1.0, 2.0, 3.0]
    other = np.arange(4)  # another type: the new array is kept
    assert in_place(old, other) is other
    longer = np.ones(5)
    assert in_place(old, longer) is longer
    frozen = np.zeros(4)
    frozen.flags.writeable = False
    new = np.ones(4)
    assert in_place(frozen, new) is new and frozen.sum() == 0


def test_population_rebinds_what_does_not_fit():
    m = MarketModel(tiny(**{"simulation.steps": 1}))
    pop = m.population
    income = pop.income
    pop.income = in_place(pop.income, np.full(income.shape, 5.0))
    assert pop.income is income and (income == 5.0).all()
    pop.income = in_place(pop.income, np.full(income.shape, 5, dtype=np.int64))
    assert pop.income is not income and pop.income.dtype == np.int64
    m.close()
