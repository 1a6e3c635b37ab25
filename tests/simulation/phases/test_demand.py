"""Phase 3, demand (simulation/phases/demand.py): instalments due against a loop over loans,
and who applies for what."""

import numpy as np
import pytest
from conftest import tiny

from lendsim import MarketModel
from lendsim.simulation.ledger import LoanStatus
from lendsim.simulation.month import Month
from lendsim.simulation.phases import demand


@pytest.fixture(scope="module")
def model():
    m = MarketModel(tiny(**{"borrowers.n": 300}))
    m.run(4)
    return m


def test_due_estimate_against_a_loop_over_loans(model):
    L = model.loans
    # every case: arrears, the final month, a balance below the instalment, closed loans
    L.n_missed[:L.n:5] = np.minimum(L.n_missed[:L.n:5] + 1, 2)
    L.arrears[:L.n:5] = L.instalment[:L.n:5] * 0.7  # after a partial payment
    L.months_left[1:L.n:7] = 1
    L.status[2:L.n:11] = LoanStatus.DEFAULTED
    want = np.zeros(model.n_borrowers)
    for i in range(L.n):
        if L.status[i] > LoanStatus.DELINQUENT:
            continue
        bal = L.balance[i] * (1 + L.apr[i] / 12)
        due = L.instalment[i] + L.arrears[i]
        want[L.borrower_idx[i]] += bal if (L.months_left[i] <= 1 or bal <= due) else due
    got = demand.due_estimate(model)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert (got > 0).sum() > 20


def test_step_lists_the_applicants_and_their_requests():
    model = MarketModel(tiny(**{"borrowers.n": 300}))
    model.run(2)
    model.month = Month(model.n_borrowers, len(model.platforms))
    model.debt = None  # the first month: no debt state yet, built from the book
    demand.step(model)
    m = model.month
    np.testing.assert_allclose(model.debt.total, model.borrower_debt())
    np.testing.assert_allclose(m.due_estimate, demand.due_estimate(model))
    request, in_cash, conv = model.population.credit_requests(m.due_estimate,
                                                              model.debt.total)
    assert m.applicants.tolist() == np.flatnonzero(request > 0).tolist()
    np.testing.assert_array_equal(m.request, request[m.applicants])
    np.testing.assert_array_equal(m.is_convenience, conv[m.applicants])
    assert len(m.applicants) > 0 and (m.request > 0).all()
    assert m.cash_applicants.tolist() == np.flatnonzero(in_cash > 0).tolist()
    np.testing.assert_array_equal(m.cash_request, in_cash[m.cash_applicants])
    assert len(m.cash_applicants) > 0 and (m.cash_request > 0).all()
    model.close()
