"""Phase 7, repayment (simulation/phases/repayment.py): payments and misses on a tiny
hand-built book, walking away from failed lenders, the first instalment's month."""

import numpy as np
import pytest
from conftest import tiny
from hypothesis import given
from hypothesis import strategies as st

from lendsim import MarketModel, kernels
from lendsim.simulation.debt import DebtState
from lendsim.simulation.features import N_FEATURES
from lendsim.simulation.ledger import FundingPools, LoanBook, LoanStatus, MissCause
from lendsim.simulation.month import Month
from lendsim.simulation.phases import repayment
from lendsim.simulation.phases.repayment import add_sorted

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
          features=np.ones((7, N_FEATURES)))
    L.status[:] = status
    L.n_missed[:] = nm
    L.arrears[:] = 20.0 * nm  # whole instalments missed
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
    paid = np.array([True, True, True, False, False, False, False])
    # all seven billed; the first three paid in full; loan 5 lost to its lender's failure;
    # borrower 3's misses are its contacts' doing (loan 5 is its too: the failure comes first)
    state = np.full(7, kernels.BILLED, dtype=np.uint8)
    state[paid] |= kernels.PAYABLE | kernels.FULL
    state[5] |= kernels.LOST_TO_FAILURE
    social = np.zeros(model.n_borrowers, dtype=bool)
    social[3] = True
    repayment.settle_loans(model, state, np.zeros(0), social)
    assert L.balance.tolist() == [80.0, 50.0, 0.0, 60.0, 70.0, 40.0, 50.0]
    assert L.status.tolist() == [C, C, LoanStatus.REPAID, X, D, X, X]
    assert L.n_missed.tolist() == [0, 0, 0, 3, 1, 3, 3]
    # unpaid, a loan keeps what it owed as arrears: its instalment and its arrears (20 a
    # month missed), or its whole balance where that is less (loans 5 and 6)
    assert L.arrears.tolist() == [0.0, 0.0, 0.0, 60.0, 20.0, 40.0, 50.0]
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


@pytest.mark.parametrize("short, borrows", [(1e-14, False), (1e-6, True)])
def test_a_rounding_shortfall_is_paid_not_borrowed_for(monkeypatch, short, borrows):
    """Cash short of what is owed by a few ulp is enough (``PAID_TOLERANCE``, docs/ODD.md
    7.9): no borrowing to repay, every instalment paid, no cash residue left. A real
    shortfall (a millionth of what is owed) still borrows to repay. Dues by hand, as above;
    with the old rule (any shortfall > 0) the first case borrowed a whole minimum loan."""
    model = _hand_book()
    model.debt = DebtState.from_book(model.loans, model.n_borrowers, 2)
    L, pop = model.loans, model.population
    model.params = model.params.with_overrides({"borrowers.strategic_base": -30.0})
    pop.debt_tolerance[:] = 10.0  # room to borrow, so only the shortfall decides
    with_interest = L.balance * (1 + 0.2 / 12)
    due = np.minimum(with_interest, 20.0 * (1 + L.n_missed))
    due[2] = with_interest[2]  # its last month: the whole balance
    owed = np.bincount(L.borrower_idx, weights=due, minlength=model.n_borrowers)
    owing = np.flatnonzero(owed > 0)
    pop.cash[:] = owed * (1 - short)
    asked = []

    def apply(model, b, ask, n_choices, is_refinance, product="cash", **kw):
        asked.extend(b.tolist())
        return np.zeros(len(b))

    monkeypatch.setattr(repayment, "apply", apply)
    repayment.step(model)
    if borrows:
        assert sorted(asked) == owing.tolist()
        assert (L.n_missed > 0).any()
    else:
        assert asked == []
        assert L.n_missed.tolist() == [0] * 7
        assert (pop.cash[owing] == 0.0).all()


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
        failure = (L.cause[due] == MissCause.PLATFORM_FAILURE) & (L.n_missed[due] > 0)
        if resolved:
            assert not failure.any()
        else:  # every loan there is missed; most would have been paid (the failure's)
            assert (L.n_missed[due] > 0).all() and failure.mean() > 0.5
        model.close()


class _Walks:
    """The little of a model that :func:`repayment.walks_away` reads and writes."""

    def __init__(self, walked, seed=0, max_n=10):
        self.rng = np.random.default_rng(seed)
        self.walked_keys = np.array(walked, dtype=np.int64)
        self.params = tiny(**{"platforms.max_n": max_n})


def test_a_walk_away_lasts_and_covers_every_loan_at_the_lender():
    """Borrower 4 walked away from platform 3 last month (key 4 * 10 + 3): both its loans
    there go unpaid now whatever the draws, with no draw made for it; borrower 5, still
    paying, draws once for its two loans there and stops only when the draw is below the
    hazard; a borrower who stops joins the keys, so the next month it pays nothing either."""
    b, p = np.array([4, 5, 4, 5]), np.array([3, 3, 3, 3])
    for hazard, stops in ((0.0, False), (1.0, True)):
        m = _Walks([43])
        walk = repayment.walks_away(m, b, p, hazard)
        assert walk.tolist() == [True, stops, True, stops]
        assert m.walked_keys.tolist() == ([43, 53] if stops else [43])
        # one draw, for the pair (5, 3) only: the generator's next number is a fresh one's
        # second
        state = m.rng.bit_generator.state
        assert m.rng.random() == _after_draws(1)
        m.rng.bit_generator.state = state
        again = repayment.walks_away(m, b, p, 0.0)  # a month later, nobody new stops
        assert again.tolist() == [True, stops, True, stops]


def _after_draws(k, seed=0):
    """The uniform a fresh generator of ``seed`` gives after ``k`` draws."""
    rng = np.random.default_rng(seed)
    rng.random(k)
    return rng.random()


def test_walk_aways_against_a_loop_over_borrowers():
    """The vectorised rule against a per-pair loop: each (borrower, lender) pair not yet
    walked draws one uniform, in ascending order of its key, and walks when it is below
    the hazard; every loan of a walked pair is unpaid."""
    rng = np.random.default_rng(7)
    b, p = rng.integers(0, 40, 300), rng.integers(0, 10, 300)
    known = np.unique(rng.integers(0, 400, 30)).astype(np.int64)
    m = _Walks(known, seed=3)
    walk = repayment.walks_away(m, b, p, 0.3)
    draws = np.random.default_rng(3)
    walked = set(known.tolist())
    for key in sorted(set((b * 10 + p).tolist())):
        if key not in walked and draws.random() < 0.3:
            walked.add(key)
    assert walk.tolist() == [k in walked for k in (b * 10 + p).tolist()]
    assert m.walked_keys.tolist() == sorted(walked)


def test_a_walk_away_counts_as_the_failure_only_if_the_loan_would_have_been_paid():
    """Platform 1 fails and its borrowers walk away. Borrower 2 had the cash for its loan
    there (30 due, 100 held): the miss is the failure's. Borrower 3 owes 60 there and 40 at
    platform 0 and holds 70: paying both, smallest first, it would have paid the 40 and only
    30 of the 60, so its miss is its own (fundamental), and the 40 is paid either way."""
    model = _hand_book()
    model.debt = DebtState.from_book(model.loans, model.n_borrowers, 2)
    L, pop = model.loans, model.population
    model.params = model.params.with_overrides({"borrowers.strategic_base": -30.0,
                                                "borrowers.failed_lender_nonpayment": 1.0,
                                                "contagion.debt_spiral": False})
    model.platforms[1].fail(model.t)
    L.apr[:] = 0.0
    pop.pay_first_u[:] = 1.0
    pop.cash[:] = 0.0
    pop.cash[[2, 3]] = [100.0, 70.0]
    repayment.step(model)
    assert L.n_missed[2] == 1 and L.n_missed[3] == 3  # both walked away
    assert L.cause[2] == MissCause.PLATFORM_FAILURE
    assert L.cause[3] == MissCause.FUNDAMENTAL
    assert L.status[5] == LoanStatus.REPAID and pop.cash[2] == 100.0 and pop.cash[3] == 30.0


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


def test_partial_payment_by_hand():
    """A borrower short of cash pays its loans in order and the first it cannot cover in
    part: arrears accrue, and the loan is one more payment behind only if less than its
    instalment was paid."""
    model = _hand_book()
    model.debt = DebtState.from_book(model.loans, model.n_borrowers, 2)
    L, pop = model.loans, model.population
    model.params = model.params.with_overrides({"borrowers.strategic_base": -30.0,
                                                "contagion.debt_spiral": False})
    L.apr[:] = 0.0  # no interest: the amounts stay round
    pop.pay_first_u[:] = 1.0  # no lender paid first: smallest due first
    pop.cash[:] = 0.0
    pop.cash[[0, 1, 3, 4]] = [12.0, 25.0, 70.0, 1000.0]
    repayment.step(model)
    # loan 0: 20 due, borrower has 12: pays 12, 8 in arrears, one behind
    # loan 1: 20 + 20 in arrears due, pays 25 >= its instalment: keeps pace, still one behind
    # loan 2: its last month, 30 due, no cash: one behind, all 30 in arrears
    # borrower 3 has 70 for loan 5 (40 due: its whole balance) and loan 3 (60 due): pays loan
    # 5 off first (smallest due), then 30 on loan 3 (>= 20: still two behind, not three)
    # loan 4: paid; loan 6: 50 due (its balance), nothing paid: third miss, defaulted
    assert L.arrears.tolist() == [8.0, 15.0, 30.0, 30.0, 0.0, 0.0, 50.0]
    assert L.n_missed.tolist() == [1, 1, 1, 2, 0, 0, 3]
    assert L.status.tolist() == [D, D, D, D, C, LoanStatus.REPAID, X]
    np.testing.assert_allclose(L.balance, [88.0, 65.0, 30.0, 30.0, 50.0, 0.0, 50.0])
    assert pop.cash[[0, 1, 3, 4]].tolist() == [0.0, 0.0, 0.0, 980.0]
    assert model.pools.flows["paid"][:2].tolist() == [12.0 + 25.0 + 20.0 + 40.0, 30.0]


def test_roll_rates_against_a_loop_over_loans():
    """roll_rate_1_2 / roll_rate_2_3 of the model and platform tables equal a loop over the
    loans: last month's balance of loans k behind that are now k + 1 behind, over last
    month's balance of loans k behind."""
    model = MarketModel(tiny(**{"borrowers.n": 2000, "borrowers.strategic_base": -3.0}))
    model.run(8)
    seen = {}

    class Spy:
        @staticmethod
        def step(m):
            L = m.loans
            seen["before"] = (L.n_missed.copy(), L.balance.copy(), L.platform_idx.copy())
            repayment.step(m)
            seen["after"] = L.n_missed[: len(seen["before"][0])].copy()

    model.PHASES = tuple(Spy if ph is repayment else ph for ph in model.PHASES)
    rolled_total = np.zeros(2)
    for _ in range(4):
        model.step()
        nm, bal, plat = seen["before"]
        now = seen["after"]
        P = len(model.platforms)
        num, den = np.zeros((2, P)), np.zeros((2, P))
        for i in range(len(nm)):
            for k in (1, 2):
                if nm[i] == k:
                    den[k - 1, plat[i]] += bal[i]
                    num[k - 1, plat[i]] += bal[i] * (now[i] == k + 1)
        rolled_total += num.sum(axis=1)
        row = model.tables()["model"].iloc[-1]
        for k, col in ((0, "roll_rate_1_2"), (1, "roll_rate_2_3")):
            want = num[k].sum() / den[k].sum() if den[k].sum() > 0 else np.nan
            assert row[col] == pytest.approx(want, rel=1e-12, nan_ok=True)
        plat_rows = model.tables()["platforms"]
        last = plat_rows[plat_rows.step == model.t].set_index("platform_id")
        for p in range(P):
            for k, col in ((0, "roll_rate_1_2"), (1, "roll_rate_2_3")):
                want = num[k, p] / den[k, p] if den[k, p] > 0 else np.nan
                assert last.loc[p, col] == pytest.approx(want, rel=1e-12, nan_ok=True)
    assert (rolled_total > 0).all()  # both roll rates were exercised
    model.close()


def test_borrowing_to_repay_stays_within_the_debt_a_borrower_tolerates(monkeypatch):
    """Short of cash, a borrower asks for the shortfall (at least the minimum loan) but no
    more than its tolerated debt allows, and does not borrow at all past it (7.9)."""
    model = MarketModel(tiny(**{"borrowers.n": 400}))
    model.run(4)
    model.t += 1
    model.month = Month(model.n_borrowers, len(model.platforms))
    pop = model.population
    pop.cash[:] = 0.0  # everyone with an instalment due is short
    pop.debt_tolerance[::3] = 0.0  # and a third of them tolerate no debt at all
    asked = {}

    def apply(model, b, ask, n_choices, is_refinance, product="cash", **kw):
        asked.update(zip(b.tolist(), ask.tolist()))
        assert is_refinance and product == "cash"
        return np.zeros(len(b))

    monkeypatch.setattr(repayment, "apply", apply)
    debt = model.debt_now().total.copy()
    room = pop.debt_tolerance * 12 * pop.base_income - debt
    repayment.step(model)
    owing = set(model.loans.borrower_idx[:model.loans.n].tolist())
    assert asked
    for x in asked:
        assert model.params.borrowers.min_loan <= asked[x] <= room[x] + 1e-9
    past = [x for x in owing if room[x] < model.params.borrowers.min_loan]
    assert past and not set(past) & set(asked)  # past its tolerance: no borrowing to repay
    model.close()


@given(old=st.lists(st.integers(-5, 60), max_size=30), new=st.lists(st.integers(-5, 60),
                                                                   max_size=10))
def test_add_sorted_is_the_sorted_union(old, new):
    base = np.unique(np.array(old, dtype=np.int64))
    got = add_sorted(base, np.array(new, dtype=np.int64))
    want = np.union1d(base, np.array(new, dtype=np.int64))
    assert got.dtype == want.dtype and got.tolist() == want.tolist()
