"""Convenience credit lines: the vectorised rules against per-borrower loops, and the lines'
life in the model (drawn at their own price, reviewed, frozen, closed)."""

import numpy as np
import pytest
from conftest import tiny

from lendsim import MarketModel
from lendsim.simulation.credit_lines import INCOME_DROP, CreditLines
from lendsim.simulation.features import N_FEATURES
from lendsim.simulation.ledger import LoanStatus
from lendsim.simulation.policy import with_policy


def _random_lines(rng, n=400, P=4):
    CL = CreditLines(n)
    has = rng.random(n) < 0.8
    b = np.flatnonzero(has)
    CL.grant(b, rng.integers(0, P, len(b)), rng.uniform(0.05, 0.4, len(b)),
             rng.uniform(0, 0.2, len(b)), rng.uniform(100, 5000, len(b)),
             rng.normal(size=(len(b), N_FEATURES)), until=rng.integers(1, 10, len(b)),
             debt_seen=rng.uniform(0, 8000, len(b)), lenders_seen=rng.integers(0, 3, len(b)))
    return CL


def test_usable_matches_a_per_borrower_loop():
    rng = np.random.default_rng(1)
    P, step = 4, 5
    CL = _random_lines(rng, P=P)
    b = rng.permutation(len(CL.platform))[:300]
    amount = rng.uniform(0, 6000, len(b))
    is_open = np.array([True, False, True, True])
    cap = np.array([0.3, 0.3, 0.2, 0.5])
    employed = rng.random(len(b)) < 0.9
    for emp in (None, employed):
        got = CL.usable(b, amount, step, is_open, cap, emp)
        want = []
        for i, bi in enumerate(b):
            p = CL.platform[bi]
            ok = (p >= 0 and CL.until[bi] > step and amount[i] <= CL.limit[bi]
                  and is_open[p] and CL.apr[bi] <= cap[p])
            if emp is not None:
                ok = ok and emp[i]
            want.append(bool(ok))
        assert got.tolist() == want
        assert 0 < got.sum() < len(b)  # both outcomes occur


def test_due_for_review_matches_a_per_borrower_loop():
    rng = np.random.default_rng(2)
    CL = _random_lines(rng)
    b = np.flatnonzero(CL.platform >= 0)
    step = 5
    employed = rng.random(len(b)) < 0.9
    debt = rng.uniform(0, 12000, len(b))
    lenders = rng.integers(0, 4, len(b))
    income = np.exp(CL.features[b, 2] + rng.normal(0, 0.3, len(b)))
    got = CL.due_for_review(b, step, employed, debt, lenders, income)
    want = []
    for i, bi in enumerate(b):
        grant_income = np.exp(float(CL.features[bi, 2]))
        want.append(bool(CL.until[bi] <= step or not employed[i]
                         or income[i] < INCOME_DROP * grant_income
                         or debt[i] > float(CL.debt_seen[bi]) + float(CL.limit[bi])
                         or lenders[i] > CL.lenders_seen[bi]))
    assert got.tolist() == want
    assert 0 < got.sum() < len(b)


def test_hand_example_of_each_review_trigger():
    CL = CreditLines(6)
    CL.grant(np.arange(6), np.zeros(6, dtype=int), np.full(6, 0.2), np.full(6, 0.02),
             np.full(6, 1000.0), np.zeros((6, N_FEATURES)), until=np.array([9, 3, 9, 9, 9, 9]),
             debt_seen=np.full(6, 500.0), lenders_seen=np.ones(6, dtype=int))
    # feature 2 = log(income / median) = 0: income at grant = the median
    due = CL.due_for_review(
        np.arange(6), step=4,
        employed=np.array([True, True, False, True, True, True]),
        debt_visible=np.array([1400.0, 0, 0, 1600.0, 0, 0]),  # 1600 > 500 + 1000
        lenders_visible=np.array([1, 1, 1, 1, 2, 1]),
        income=np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.7]))  # 0.7 < 0.8 of the grant's
    assert due.tolist() == [False, True, True, True, True, True]
    CL.revoke(np.array([1, 3]))
    assert CL.platform.tolist() == [0, -1, 0, -1, 0, 0] and CL.n_open == 4
    CL.revoke()
    assert CL.n_open == 0


def _stepped(model, steps):
    for _ in range(steps):
        model.step()
    return model


def test_draws_are_booked_at_the_lines_price_at_the_lines_platform():
    model = _stepped(MarketModel(tiny(**{"borrowers.n": 600})), 3)
    CL = model.credit_lines
    before = {k: getattr(CL, k).copy() for k in ("platform", "apr", "until")}
    model.step()
    L, t = model.loans, model.t
    new = np.flatnonzero((L.origination_step == t) & (L.term == 1))
    b = L.borrower_idx[new]
    # lines neither reviewed nor replaced this month (a new grant has a new price)
    kept = ((before["platform"][b] >= 0) & (before["until"][b] > t)
            & (before["platform"][b] == CL.platform[b]) & (before["apr"][b] == CL.apr[b]))
    assert kept.sum() > 50
    np.testing.assert_array_equal(L.platform_idx[new[kept]], before["platform"][b[kept]])
    np.testing.assert_array_equal(L.apr[new[kept]].astype(np.float32), before["apr"][b[kept]])
    model.close()


def test_a_missed_payment_closes_the_line():
    model = MarketModel(tiny(**{"borrowers.n": 1000, "macro.unemployment_rate": 0.25,
                                "borrowers.strategic_base": -3.0}))
    seen = 0
    for _ in range(8):
        model.step()
        L = model.loans
        missed = L.borrower_idx[L.status == LoanStatus.DELINQUENT]  # missed this month
        seen += len(missed)
        assert (model.credit_lines.platform[missed] == -1).all()
    assert seen > 0
    model.close()


def test_reviews_are_spread_over_the_months():
    model = _stepped(MarketModel(tiny(**{"borrowers.n": 3000})), 1)
    CL = model.credit_lines
    until = CL.until[CL.platform >= 0]
    review = model.params.platforms.line_review_months
    assert until.min() > model.t and until.max() <= model.t + review
    counts = np.bincount(until - model.t - 1, minlength=review)
    assert counts.min() > 0.7 * counts.mean()  # no wave of reviews in one month
    model.close()


class _LineLog:
    """A phase that records how many lines are open, and how many of them are due for review,
    before the month's lending."""

    @staticmethod
    def step(model):
        CL = model.credit_lines
        held = CL.platform >= 0
        model.line_log.append((int(held.sum()), int((CL.until[held] <= model.t).sum())))


class _Probe(MarketModel):
    """The model with :class:`_LineLog` run just before the funding phase."""

    PHASES = (*MarketModel.PHASES[:3], _LineLog, *MarketModel.PHASES[3:])


@pytest.mark.parametrize("key, value, reviews_all", [
    ("regulator.max_loan", 20000.0, True), ("regulator.data_sharing", 0.9, True),
    ("regulator.joint_lending_min_share", 0.3, False)])
def test_a_rule_of_borrower_underwriting_puts_every_line_under_review(key, value, reviews_all):
    scen = with_policy(tiny(**{"borrowers.n": 600}), [{"key": key, "value": value, "step": 4}],
                       [], source="test")
    model = _Probe(scen)
    model.line_log = []
    _stepped(model, 4)
    held, due = model.line_log[3]  # month 4, the rule in force
    assert held > 0
    assert (due == held) == reviews_all
    model.close()


@pytest.mark.parametrize("review", [0, 6])
def test_without_lines_every_request_is_underwritten(review):
    model = _stepped(MarketModel(tiny(**{"platforms.line_review_months": review})), 6)
    assert (model.credit_lines.n_open > 0) == (review > 0)
    assert model.tables()["model"]["originations"].iloc[-1] > 0
    model.close()
