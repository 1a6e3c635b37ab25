"""Tests for lendsim.agents.rules.repayment, and the per-loan rules of lendsim.kernels it
builds on (amount_due, payments_behind), against slow per-loan loops and hand examples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lendsim import kernels
from lendsim.agents.rules.repayment import pay_amounts, pay_in_order, strategic_default_prob
from lendsim.simulation.params import BorrowerParams

SIZES = [0, 1, 2, 11, 1000]


def default_coefs() -> dict:
    b = BorrowerParams()
    return dict(base=b.strategic_base, risk_coef=b.strategic_risk, dti_coef=b.strategic_dti,
                peer_coef=b.peer_effect, trust_coef=b.strategic_trust)


def amount_due(balance, instalment, arrears, months_left):
    """The compiled per-loan rule, loan by loan."""
    return np.array([kernels.amount_due(*a) for a in zip(balance.tolist(), instalment.tolist(),
                                                         arrears.tolist(), months_left.tolist())],
                    dtype=np.float64)


def payments_behind(n_missed, paid, due, instalment):
    """The compiled per-loan rule, loan by loan."""
    return np.array([kernels.payments_behind(*a) for a in zip(
        n_missed.tolist(), paid.tolist(), due.tolist(), instalment.tolist())],
        dtype=n_missed.dtype)


# ----------------------------------------------------------------- slow reference versions


def slow_amount_due(balance, instalment, arrears, months_left):
    out = np.empty(len(balance))
    for i in range(len(balance)):
        arrears_and_current = instalment[i] + arrears[i]
        if months_left[i] <= 1 or balance[i] <= arrears_and_current:
            out[i] = balance[i]  # final month, or the loan is paid off with this payment
        else:
            out[i] = arrears_and_current
    return out


def logistic(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def slow_strategic(risk, dti, peer, trust, *, base, risk_coef, dti_coef, peer_coef,
                   trust_coef):
    return np.array([logistic(base + risk_coef * risk[i] + dti_coef * dti[i]
                              + peer_coef * peer[i] + trust_coef * (0.5 - trust[i]))
                     for i in range(len(risk))])


def slow_pay_in_order(borrower_idx, due, cash, rtol=0.0, first=None):
    """Per borrower: loans marked ``first`` before the others, then by amount due, smallest
    first (ties in input order), each paid in full while the running total stays within the
    borrower's cash."""
    out = np.zeros(len(due), dtype=bool)
    first = np.zeros(len(due), dtype=bool) if first is None else first
    for b in set(borrower_idx.tolist()):
        loans = sorted((not first[i], due[i], i) for i in range(len(due))
                       if borrower_idx[i] == b)
        total = 0.0
        for _, d, i in loans:
            total += d
            out[i] = total <= cash[b] * (1 + rtol)
    return out


# ----------------------------------------------------------------- amount_due


@pytest.mark.parametrize("n", SIZES)
def test_amount_due_matches_loop(n):
    rng = np.random.default_rng(1000 + n)
    instalment = rng.uniform(10, 5000, n)
    arrears = instalment * rng.uniform(0, 4, n)  # partial payments: any amount
    months_left = rng.integers(0, 13, n)
    balance = instalment * rng.uniform(0.1, 12, n)
    if n > 2:
        balance[0] = instalment[0] + arrears[0]  # exactly the sum due: all of it
    np.testing.assert_array_equal(amount_due(balance, instalment, arrears, months_left),
                                  slow_amount_due(balance, instalment, arrears, months_left))


@given(balance=st.floats(0, 1e6), instalment=st.floats(0, 1e5), arrears=st.floats(0, 1e6),
       months_left=st.integers(-1, 60))
def test_amount_due_matches_loop_hypothesis(balance, instalment, arrears, months_left):
    args = (np.array([balance]), np.array([instalment]), np.array([arrears]),
            np.array([months_left]))
    got = amount_due(*args)
    np.testing.assert_array_equal(got, slow_amount_due(*args))
    assert got[0] <= balance  # never more than is owed


def test_amount_due_hand_cases():
    balance = np.array([1010.0, 1010.0, 150.0, 1010.0, 300.0])
    instalment = np.array([100.0, 100.0, 100.0, 100.0, 100.0])
    arrears = np.array([0.0, 200.0, 100.0, 0.0, 200.0])
    months_left = np.array([10, 8, 5, 1, 4])
    # 0: one instalment; 1: 200 in arrears + this month = 300; 2: 200 due > balance 150 -> 150;
    # 3: final month -> whole balance; 4: 300 due = balance -> 300
    np.testing.assert_array_equal(amount_due(balance, instalment, arrears, months_left),
                                  [100.0, 300.0, 150.0, 1010.0, 300.0])
    # a partial payment left 35 of arrears: 135 is due
    assert amount_due(np.array([1010.0]), np.array([100.0]), np.array([35.0]),
                      np.array([6])).tolist() == [135.0]


# ----------------------------------------------------------------- payments_behind


def slow_payments_behind(n_missed, paid, due, instalment):
    """Per loan: all that is due paid -> current; less than this month's instalment (or the
    amount due, if smaller) paid -> one more behind; else unchanged."""
    out = []
    for n, p, d, k in zip(n_missed.tolist(), paid.tolist(), due.tolist(), instalment.tolist()):
        if p >= d:
            out.append(0)
        elif p < min(k, d):
            out.append(n + 1)
        else:
            out.append(n)
    return np.array(out, dtype=np.int16)


def test_payments_behind_hand_cases():
    # instalment 100; arrears before: 0, 100, 100, 200, 50 (after a partial payment)
    n = np.array([0, 1, 1, 2, 1, 0], dtype=np.int16)
    due = np.array([100.0, 200.0, 200.0, 300.0, 150.0, 40.0])  # last: balance 40 < instalment
    paid = np.array([100.0, 150.0, 60.0, 0.0, 150.0, 30.0])
    # 0 paid in full; 1 paid the instalment and half the arrears: still 1 behind;
    # 2 paid 60 < 100: one more behind; 3 nothing: 3; 4 all of it: cured; 5 30 < 40: 1
    assert payments_behind(n, paid, due, np.full(6, 100.0)).tolist() == [0, 1, 2, 3, 0, 1]


@pytest.mark.parametrize("n", SIZES)
def test_payments_behind_matches_loop(n):
    rng = np.random.default_rng(7 + n)
    n_missed = rng.integers(0, 6, n).astype(np.int16)
    instalment = rng.uniform(10, 500, n)
    due = instalment * rng.uniform(0.3, 4, n)
    paid = due * rng.choice([0.0, 0.2, 0.5, 0.9, 1.0], n)
    np.testing.assert_array_equal(payments_behind(n_missed, paid, due, instalment),
                                  slow_payments_behind(n_missed, paid, due, instalment))


def test_all_or_nothing_payments_count_consecutive_misses():
    """With whole payments only, the count is the old rule: 0 when paid, +1 when missed."""
    rng = np.random.default_rng(3)
    n_missed = rng.integers(0, 5, 200).astype(np.int16)
    instalment = rng.uniform(10, 500, 200)
    due = instalment * (1 + n_missed)
    pays = rng.random(200) < 0.5
    got = payments_behind(n_missed, np.where(pays, due, 0.0), due, instalment)
    np.testing.assert_array_equal(got, np.where(pays, 0, n_missed + 1))


# ----------------------------------------------------------------- strategic_default_prob


@pytest.mark.parametrize("n", SIZES)
def test_strategic_default_prob_matches_loop(n):
    rng = np.random.default_rng(1100 + n)
    args = (rng.normal(0, 1, n), rng.uniform(0, 3, n), rng.uniform(0, 1, n), rng.beta(5, 2, n))
    for coefs in (default_coefs(), dict(base=0.0, risk_coef=-2.0, dti_coef=5.0, peer_coef=0.0,
                                        trust_coef=-3.0)):
        got = strategic_default_prob(*args, **coefs)
        np.testing.assert_allclose(got, slow_strategic(*args, **coefs), rtol=1e-12, atol=0)
        assert np.all((got >= 0) & (got <= 1))


@given(risk=st.floats(-5, 5), dti=st.floats(0, 10), peer=st.floats(0, 1),
       trust=st.floats(0, 1), base=st.floats(-30, 10))
def test_strategic_default_prob_matches_loop_hypothesis(risk, dti, peer, trust, base):
    coefs = dict(default_coefs(), base=base)
    args = [np.array([x]) for x in (risk, dti, peer, trust)]
    np.testing.assert_allclose(strategic_default_prob(*args, **coefs),
                               slow_strategic(*args, **coefs), rtol=1e-12)


def test_strategic_default_prob_hand_case():
    # base -2 + 0.8 x 1 + 1 x 0.5 + 1.5 x 0.2 + 1 x (0.5 - 0.9) = -0.8
    got = strategic_default_prob(np.array([1.0]), np.array([0.5]), np.array([0.2]),
                                 np.array([0.9]), base=-2.0, risk_coef=0.8, dti_coef=1.0,
                                 peer_coef=1.5, trust_coef=1.0)
    assert got[0] == pytest.approx(1 / (1 + math.exp(0.8)), rel=1e-13)


@pytest.mark.parametrize("which,increasing", [(0, True), (1, True), (2, True), (3, False)])
def test_strategic_default_prob_monotone_with_default_coefficients(which, increasing):
    """Increasing in risk, debt-to-income and the share of contacts in default; decreasing
    in trust (default coefficients)."""
    grid = np.linspace(0, 1, 101)
    base_point = [0.3, 0.6, 0.1, 0.7]
    args = [np.full(101, v) for v in base_point]
    args[which] = grid
    p = strategic_default_prob(*args, **default_coefs())
    steps = np.diff(p)
    assert np.all(steps > 0) if increasing else np.all(steps < 0)


@given(risk=st.floats(-5, 5), dti=st.floats(0, 10), peer=st.floats(0, 1),
       trust=st.floats(0, 1), delta=st.floats(1e-6, 5))
def test_strategic_default_prob_monotone_hypothesis(risk, dti, peer, trust, delta):
    coefs = default_coefs()

    def p(r=risk, d=dti, s=peer, t=trust):
        return strategic_default_prob(np.array([r]), np.array([d]), np.array([s]),
                                      np.array([t]), **coefs)[0]

    p0 = p()
    assert p(r=risk + delta) >= p0
    assert p(d=dti + delta) >= p0
    assert p(s=peer + delta) >= p0
    assert p(t=trust + delta) <= p0


# ----------------------------------------------------------------- pay_in_order


def test_pay_in_order_hand_example():
    borrower_idx = np.array([0, 1, 0, 2, 0, 1, 2])
    due = np.array([300.0, 50.0, 100.0, 80.0, 100.0, 60.0, 0.0])
    cash = np.array([200.0, 110.0, 0.0, 999.0])  # borrower 3 owes nothing
    # borrower 0: the two 100s (tie) add up to exactly the cash 200 -> paid; 300 -> missed
    # borrower 1: 50 + 60 = 110 = cash -> both paid
    # borrower 2: the zero due is paid even without cash; 80 -> missed
    np.testing.assert_array_equal(pay_in_order(borrower_idx, due, cash),
                                  [False, True, True, False, True, True, True])


def test_pay_in_order_pays_small_loans_first_not_input_order():
    got = pay_in_order(np.array([0, 0, 0]), np.array([500.0, 50.0, 300.0]), np.array([400.0]))
    np.testing.assert_array_equal(got, [False, True, True])


def test_pay_in_order_pays_the_protected_lender_first_then_small_loans():
    # borrower 0 protects its 500 (its super-app's credit): paid before the smaller dues;
    # borrower 1 protects nothing: smallest first as before
    borrower_idx = np.array([0, 0, 0, 1, 1])
    due = np.array([500.0, 50.0, 300.0, 500.0, 50.0])
    first = np.array([True, False, False, False, False])
    got = pay_in_order(borrower_idx, due, np.array([560.0, 400.0]), first=first)
    np.testing.assert_array_equal(got, [True, True, False, False, True])


@pytest.mark.parametrize("n", [1, 40, 3000])
def test_pay_in_order_with_protected_loans_matches_loop(n):
    rng = np.random.default_rng(1400 + n)
    borrower_idx = rng.integers(0, max(n // 3, 1), n)
    due = rng.integers(0, 30, n).astype(float) * 50
    cash = rng.integers(0, 2000, max(n // 3, 1)).astype(float)
    first = rng.random(n) < 0.3
    np.testing.assert_array_equal(pay_in_order(borrower_idx, due, cash, first=first),
                                  slow_pay_in_order(borrower_idx, due, cash, first=first))


def test_pay_in_order_exact_cash_survives_rounding():
    # 0.1 + 0.2 > 0.3 in floating point, but the borrower holds exactly what is due
    got = pay_in_order(np.array([0, 0]), np.array([0.1, 0.2]), np.array([0.3]))
    np.testing.assert_array_equal(got, [True, True])


def slow_pay_amounts(borrower_idx, due, cash, first=None):
    """Per borrower, in the order of ``slow_pay_in_order``: pay each loan in full while the
    cash lasts, then what is left on the next, nothing on the rest."""
    out = np.zeros(len(due))
    first = np.zeros(len(due), dtype=bool) if first is None else first
    for b in set(borrower_idx.tolist()):
        left = cash[b]
        for _, d, i in sorted((not first[i], due[i], i) for i in range(len(due))
                              if borrower_idx[i] == b):
            out[i] = min(d, max(left, 0.0))
            left -= d
    return out


def test_pay_amounts_hand_example():
    # borrower 0 has 100: pays 30 and 50 in full (smallest first), 20 of the 60;
    # borrower 1 has 10: pays 10 of its 40, the protected loan (first) before the smaller one
    b = np.array([0, 0, 0, 1, 1])
    due = np.array([50.0, 60.0, 30.0, 40.0, 5.0])
    first = np.array([False, False, False, True, False])
    got = pay_amounts(b, due, np.array([100.0, 10.0]), first=first)
    assert got.tolist() == [50.0, 20.0, 30.0, 10.0, 0.0]


@pytest.mark.parametrize("n", SIZES)
def test_pay_amounts_matches_loop(n):
    rng = np.random.default_rng(50 + n)
    borrower_idx = rng.integers(0, 7, n)
    due = rng.uniform(1, 100, n)
    cash = rng.uniform(0, 250, 7)
    first = rng.random(n) < 0.3
    got = pay_amounts(borrower_idx, due, cash, first=first)
    np.testing.assert_allclose(got, slow_pay_amounts(borrower_idx, due, cash, first), atol=1e-9)
    # never more than the cash, and in full exactly where pay_in_order says so
    assert (np.bincount(borrower_idx, weights=got, minlength=7) <= cash + 1e-9).all()
    np.testing.assert_array_equal(got >= due, pay_in_order(borrower_idx, due, cash, first=first))



def numpy_pay_amounts(borrower_idx, due, cash, first=None):
    """The rule as numpy expressions (its code before the compiled kernel): ``lexsort`` for
    the order, a running total within each borrower as ``cumsum`` less the total where the
    borrower's loans begin. The kernel must give these numbers to the last bit."""
    keys = (due, borrower_idx) if first is None else (due, ~first, borrower_idx)
    order = np.lexsort(keys)
    b, d = borrower_idx[order], due[order]
    cum = np.cumsum(d)
    starts = np.r_[0, np.flatnonzero(np.diff(b)) + 1]
    cum = cum - np.repeat(np.r_[0.0, cum[starts[1:] - 1]], np.diff(np.r_[starts, len(d)]))
    full = cum <= cash[b] * (1 + 1e-12)
    paid = np.where(full, d, np.clip(cash[b] - (cum - d), 0.0, d))
    out, out_full = np.empty(len(due)), np.empty(len(due), dtype=bool)
    out[order], out_full[order] = paid, full
    return out, out_full


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 300), n_b=st.integers(1, 40),
       with_first=st.booleans())
def test_pay_in_priority_is_the_numpy_rule_to_the_last_bit(seed, n, n_b, with_first):
    rng = np.random.default_rng(seed)
    b = rng.integers(0, n_b, n).astype(np.intp)
    # ties in what is due (a few round amounts) test the order's stability
    due = np.where(rng.random(n) < 0.3, rng.choice([10.0, 20.0], n), rng.uniform(0.1, 300, n))
    cash = rng.uniform(0, 600, n_b)
    first = (rng.random(n) < 0.3) if with_first else None
    want_paid, want_full = numpy_pay_amounts(b, due, cash, first)
    np.testing.assert_array_equal(pay_amounts(b, due, cash, first=first), want_paid)
    np.testing.assert_array_equal(pay_in_order(b, due, cash, first=first), want_full)

def test_pay_in_order_empty():
    got = pay_in_order(np.zeros(0, int), np.zeros(0), np.array([5.0]))
    assert got.shape == (0,) and got.dtype == bool


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("n_borrowers", [1, 4, 300])
def test_pay_in_order_matches_loop(n, n_borrowers):
    """Integer amounts (exact in floating point; many ties); a third of the borrowers hold
    exactly the sum of their smallest dues."""
    rng = np.random.default_rng(1200 + n + 3 * n_borrowers)
    for _ in range(5):
        borrower_idx = rng.integers(0, n_borrowers, n)
        due = rng.integers(0, 30, n).astype(float) * 50
        cash = rng.integers(0, 2000, n_borrowers).astype(float)
        for b in range(n_borrowers):
            mine = np.sort(due[borrower_idx == b])
            if len(mine) and rng.random() < 0.35:
                cash[b] = mine[: rng.integers(1, len(mine) + 1)].sum()
        np.testing.assert_array_equal(pay_in_order(borrower_idx, due, cash),
                                      slow_pay_in_order(borrower_idx, due, cash))


@pytest.mark.parametrize("n", [1, 40, 3000])
def test_pay_in_order_matches_loop_float_amounts(n):
    rng = np.random.default_rng(1300 + n)
    borrower_idx = rng.integers(0, max(n // 3, 1), n)
    due = rng.uniform(10, 5000, n)
    cash = rng.uniform(0, 8000, max(n // 3, 1))
    np.testing.assert_array_equal(pay_in_order(borrower_idx, due, cash),
                                  slow_pay_in_order(borrower_idx, due, cash, rtol=1e-12))


@given(data=st.data(), n=st.integers(0, 25), n_borrowers=st.integers(1, 5))
def test_pay_in_order_hypothesis(data, n, n_borrowers):
    borrower_idx = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, n_borrowers - 1)))
    due = data.draw(hnp.arrays(float, n, elements=st.integers(0, 500).map(float)))
    cash = data.draw(hnp.arrays(float, n_borrowers, elements=st.integers(0, 1500).map(float)))
    paid = pay_in_order(borrower_idx, due, cash)
    np.testing.assert_array_equal(paid, slow_pay_in_order(borrower_idx, due, cash))
    # accounting: nobody pays more than their cash; the smallest loan left unpaid would not
    # have fitted in what is left
    spent = np.bincount(borrower_idx[paid], weights=due[paid], minlength=n_borrowers)
    assert np.all(spent <= cash)
    for b in range(n_borrowers):
        unpaid = due[(borrower_idx == b) & ~paid]
        if len(unpaid):
            assert spent[b] + unpaid.min() > cash[b]


# ----------------------------------------------------------------- persistence and roll rates


def _roll_rate_1_2(persistence: float, seed: int, n: int = 5000, months: int = 48) -> float:
    """Borrowers with the model's income (persistent AR(1) component with the default
    stationary sd, plus the transitory shock), fixed spending of 0.7 of base income and one
    open-ended loan with instalment 0.3, paying what they can each month (pay_amounts,
    payments_behind): the share of loans one behind that are two behind the next month."""
    from lendsim.agents.rules import income
    rng = np.random.default_rng(seed)
    sd, sigma, inst = 0.3, 0.15, 0.3
    x = sd * rng.standard_normal(n)
    cash, arrears = np.zeros(n), np.zeros(n)
    behind = np.zeros(n, dtype=np.int16)
    b, base, employed = np.arange(n), np.ones(n), np.ones(n, dtype=bool)
    rolled = was_one = 0
    for t in range(months):
        x = income.persistent_step(x, persistence, sd, rng.standard_normal(n))
        cash += income.monthly_income(base, employed, rng.standard_normal(n), sigma, 0.3, 0.0,
                                      x, sd)
        cash -= np.minimum(cash, 0.7)
        due = inst + arrears
        paid = pay_amounts(b, due, cash)
        cash -= paid
        new = payments_behind(behind, paid, due, np.full(n, inst))
        arrears = np.where(new == 0, 0.0, due - paid)
        if t >= 12:  # after a year: cash buffers have settled
            rolled += int((new[behind == 1] == 2).sum())
            was_one += int((behind == 1).sum())
        behind = new
    return rolled / was_one


def test_persistent_income_raises_the_roll_rate_from_one_to_two_behind():
    """Paired (same draws): with income falls that last (monthly autocorrelation 0.984) a
    loan one payment behind is more often two behind the next month than with independent
    monthly income of the same spread (autocorrelation 0). Measured on 2026-12-01: about
    0.75 against 0.56 (n = 20,000)."""
    for seed in (1, 2):
        persistent, independent = _roll_rate_1_2(0.984, seed), _roll_rate_1_2(0.0, seed)
        assert persistent > independent + 0.1
