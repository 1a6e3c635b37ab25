"""Phase 7, repayment (simulation/phases/repayment.py): payments and misses on a tiny
hand-built book, walking away from failed lenders, the first instalment's month."""

import numpy as np
from conftest import tiny

from lendsim import MarketModel
from lendsim.simulation.debt import DebtState
from lendsim.simulation.features import N_FEATURES
from lendsim.simulation.ledger import FundingPools, LoanBook, LoanStatus, MissCause
from lendsim.simulation.month import Month
from lendsim.simulation.phases import repayment

C, D, X = LoanStatus.CURRENT, LoanStatus.DELINQUENT, LoanStatus.DEFAULTED


def _hand_book():
    """Seven loans of six borrowers at two platforms, in two funding pools."""
    model = MarketModel(tiny(**{"borrowers.n": 50, "platforms.n": 2,
                                "platforms.default_after_missed": 3}))
    model.t = 5
    model.month = Month(model.n_borrowers, 2)
    model.pools = FundingPools(len(model.banks))
    model.pools.add(0, 0.5, np.full(len(model.banks), 0.5 / len(model.banks)))
    model.pools.add(1, 1.0, np.zeros(len(model.banks)))
    L = model.loans = LoanBook()
    #        borrower platform pool balance term status n_missed
    rows = [(0, 0, 0, 100.0, 6, C, 0),   # pays 20: current, 80 left
            (1, 0, 0, 90.0, 6, D, 1),    # pays 40: cured
            (2, 1, 1, 30.0, 1, C, 0),    # pays 30: repaid
            (3, 1, 1, 60.0, 6, D, 2),    # misses a third time: defaults
            (4, 0, 0, 70.0, 6, C, 0),    # misses: delinquent, line closed
            (3, 0, 0, 40.0, 6, D, 2),    # borrower 3's other loan: defaults too
            (5, 0, 0, 50.0, 6, D, 2)]    # defaults, but borrower 5 defaulted last month
    b, p, pool, bal, term, status, nm = (np.array(c) for c in zip(*rows))
    L.add(borrower_idx=b, platform_idx=p, pool_idx=pool, principal=bal, apr=np.full(7, 0.2),
          instalment=np.full(7, 20.0), term=term, step=1, is_refinance=False,
          features=np.arange(7 * N_FEATURES, dtype=float).reshape(7, N_FEATURES))
    L.status[:] = status
    L.n_missed[:] = nm
    model.default_keys = np.zeros(0, dtype=np.int64)
    pop = model.population
    pop.months_since_default[:] = pop.NEVER
    pop.months_since_default[5] = 1  # defaulted on another loan last month
    CL = model.credit_lines
    CL.grant(np.array([0, 4]), np.array([0, 0]), np.full(2, 0.2), np.full(2, 0.01),
             np.full(2, 500.0), np.zeros((2, N_FEATURES)), until=np.full(2, 9),
             debt_seen=np.zeros(2), lenders_seen=np.zeros(2, dtype=int))
    return model


def test_settle_loans_on_a_hand_built_book():
    model = _hand_book()
    L, m, pop = model.loans, model.month, model.population
    idx = np.arange(7)
    paid = np.array([True, True, True, False, False, False, False])
    due = np.array([20.0, 40.0, 30.0, 20.0, 20.0, 20.0, 20.0])
    cause = np.array([0, 0, 0, MissCause.SOCIAL, 0, MissCause.PLATFORM_FAILURE, 0], np.int8)
    repayment.settle_loans(model, idx, paid, due, cause)
    assert L.balance.tolist() == [80.0, 50.0, 0.0, 60.0, 70.0, 40.0, 50.0]
    assert L.status.tolist() == [C, C, LoanStatus.REPAID, X, D, X, X]
    assert L.n_missed.tolist() == [0, 0, 0, 3, 1, 3, 3]
    assert L.months_left.tolist() == [5, 5, 0, 5, 5, 5, 5]
    assert L.cause.tolist()[3:] == [MissCause.SOCIAL, 0, MissCause.PLATFORM_FAILURE, 0]
    # payments are the pools' flows
    assert model.pools.flows["paid"][:2].tolist() == [60.0, 30.0]
    assert model.pools.flows["interest"][:2].tolist() == [0.0, 0.0]  # charged in step
    # a miss closes the borrower's credit line
    assert model.credit_lines.platform[[0, 4]].tolist() == [0, -1]
    # matured loans train their lenders: repaid as good, defaulted as bad
    assert [(r.tolist(), y) for r, y in m.matured] == [([2], 0), ([3, 5, 6], 1)]
    # new defaults are borrowers: 3 once (for two loans), 5 again (a month after its last)
    assert m.new_defaults == 2
    assert pop.months_since_default[[3, 5]].tolist() == [0, 0]
    assert m.defaults_by_segment.sum() == 2 and m.defaults_by_quintile.sum() == 2
    assert m.defaults_by_segment.tolist() == np.bincount(pop.risk_segment[[3, 5]],
                                                         minlength=3).tolist()
    max_n = model.params.platforms.max_n
    assert model.default_keys.tolist() == [3 * max_n + 0, 3 * max_n + 1, 5 * max_n + 0]


def test_repayment_step_charges_a_months_interest_and_collects_what_is_due():
    model = _hand_book()
    model.debt = DebtState.from_book(model.loans, model.n_borrowers, 2)
    L, pop = model.loans, model.population
    pop.cash[:] = 1e6  # everyone can pay
    model.params = model.params.with_overrides({"borrowers.strategic_base": -30.0})
    bal0 = L.balance.copy()
    repayment.step(model)
    with_interest = bal0 * (1 + 0.2 / 12)
    arrears = 20.0 * (1 + np.array([0, 1, 0, 2, 0, 2, 2]))
    due = np.where(with_interest <= arrears, with_interest, arrears)
    due[2] = with_interest[2]  # its last month: the whole balance
    np.testing.assert_allclose(L.balance, with_interest - due, atol=1e-9)
    # paid in full: the one-month loan, and the loans whose arrears exceed their balance
    R = LoanStatus.REPAID
    assert L.status.tolist() == [C, C, R, C, C, R, R]
    assert L.n_missed.tolist() == [0] * 7
    np.testing.assert_allclose(model.pools.flows["interest"][:2],
                               [(with_interest - bal0)[[0, 1, 4, 5, 6]].sum(),
                                (with_interest - bal0)[[2, 3]].sum()])


def test_borrowers_walk_away_from_a_failed_lender_unless_resolved():
    for resolved in (False, True):
        model = MarketModel(tiny(**{"borrowers.failed_lender_nonpayment": 1.0}))
        model.run(3)
        pl = model.platforms[0]
        pl.fail(model.t)
        pl.is_resolved = resolved
        model.t += 1
        model.month = Month(model.n_borrowers, len(model.platforms))
        L = model.loans
        due = np.flatnonzero((L.status <= D) & (L.origination_step < model.t)
                             & (L.platform_idx == 0))
        assert len(due) > 10
        repayment.step(model)
        walked = (L.cause[due] == MissCause.PLATFORM_FAILURE) & (L.n_missed[due] > 0)
        assert walked.all() if not resolved else not walked.any()
        model.close()


def test_first_instalment_falls_due_the_month_after_origination():
    """A loan booked this month is neither charged interest nor asked to pay this month."""
    model = MarketModel(tiny())
    model.run(3)
    L = model.loans
    new = L.origination_step == model.t
    assert new.any()
    assert np.array_equal(L.balance[new], L.principal[new])
    assert (L.months_left[new] == L.term[new]).all() and (L.n_missed[new] == 0).all()
    model.close()
