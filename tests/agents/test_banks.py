"""Bank (agents/banks.py): the line rule, dividends, limits and cash, by hand on small arrays."""

import dataclasses

import numpy as np
import pytest
from conftest import tiny

from lendsim import MarketModel
from lendsim.agents.banks import INITIAL_CASH_SHARE, Bank


@pytest.fixture(scope="module")
def model():
    return MarketModel(tiny(**{"banks.n": 2, "network.interbank.kind": "none"}))


@pytest.fixture
def bp(model):
    # the rule's parameters spelled out, so the hand computations below do not hang on defaults
    return dataclasses.replace(model.params.banks, line_growth=0.08, line_use_target=0.6,
                               line_cut=0.1, delinquency_tolerance=0.08, capital_buffer=0.02,
                               capital_ratio=0.12)


@pytest.fixture
def reg(model):
    return dataclasses.replace(model.regulator.policy, bank_capital_requirement=0.08,
                               bank_platform_exposure_limit=np.inf, bank_joint_loan_limit=1.0)


def _lines(bk, lines, out, delinquency, reg, bp, active=None, common_funder=True):
    lines = np.asarray(lines, float)
    active = np.ones(len(lines), bool) if active is None else np.asarray(active)
    return bk.adapt_lines(lines, np.asarray(out, float), np.asarray(delinquency, float),
                          active, reg, bp, common_funder=common_funder).tolist()


def test_a_new_bank_balances_and_holds_its_capital_ratio(model, bp):
    bk = Bank(model, 0, 1000.0, bp)
    assert bk.equity == pytest.approx(120.0) and bk.cash == pytest.approx(
        INITIAL_CASH_SHARE * 1000.0)
    assert bk.deposits == pytest.approx(50.0 + 1000.0 - 120.0)
    assert bk.balance_gap() == pytest.approx(0.0)
    assert bk.capital_ratio() == pytest.approx(0.12)


def test_lines_grow_only_above_the_use_target(model, bp, reg):
    bk = Bank(model, 0, 1000.0, bp)  # capital 12 %: no buffer cut
    # used 70 %, 60 % (not above), 30 %, and no line at all (counts as fully used: 0 stays 0)
    got = _lines(bk, [10, 10, 10, 0], [7, 6, 3, 0], [0, 0, 0, 0], reg, bp)
    assert got == pytest.approx([10.8, 10.0, 10.0, 0.0])


def test_lines_are_cut_for_delinquency_above_tolerance(model, bp, reg):
    bk = Bank(model, 0, 1000.0, bp)
    # delinquency at, 1.5x, 2x and ~4x the tolerance: cut 0, 5 %, 10 %, 10 % (capped)
    got = _lines(bk, [10, 10, 10, 10], [0, 0, 0, 0], [0.08, 0.12, 0.16, 0.3], reg, bp)
    assert got == pytest.approx([10.0, 9.5, 9.0, 9.0])
    # growth and cut together multiply
    assert _lines(bk, [10], [8], [0.12], reg, bp) == pytest.approx([10 * 1.08 * 0.95])


def test_a_bank_near_its_requirement_cuts_every_line_to_below_its_use(model, bp, reg):
    bk = Bank(model, 0, 1000.0, bp)
    bk.post(cash=-30.0, equity=-30.0)  # capital 9 % < 8 % + 2 % buffer
    assert bk.capital_ratio() == pytest.approx(0.09)
    on = _lines(bk, [10, 10], [8, 4], [0, 0], reg, bp)
    assert on == pytest.approx([8 * 0.9, 4 * 0.9])  # min(new line, use) x (1 - line_cut)
    off = _lines(bk, [10, 10], [8, 4], [0, 0], reg, bp, common_funder=False)
    assert off == pytest.approx([10.8, 10.0])  # the common-funder channel switched off
    bk.post(cash=31.0, equity=31.0)  # capital 10.1 %: above the buffer
    assert _lines(bk, [10, 10], [8, 4], [0, 0], reg, bp) == pytest.approx([10.8, 10.0])


def test_no_line_exceeds_the_exposure_limit(model, bp, reg):
    reg = dataclasses.replace(reg, bank_platform_exposure_limit=0.25)
    bk = Bank(model, 0, 1000.0, bp)  # equity 120: at most 30 to one platform
    assert _lines(bk, [40, 20], [0, 0], [0, 0], reg, bp) == pytest.approx([30.0, 20.0])
    bk.post(cash=-200.0, equity=-200.0)  # equity gone: no line at all
    assert _lines(bk, [40, 20], [0, 0], [0, 0], reg, bp) == [0.0, 0.0]


def test_failed_banks_and_failed_platforms_get_no_line(model, bp, reg):
    bk = Bank(model, 0, 1000.0, bp)
    assert _lines(bk, [10, 10, 10], [7, 7, 7], [0, 0, 0], reg, bp,
                  active=[True, False, True]) == pytest.approx([10.8, 0.0, 10.8])
    bk.fail(3)
    assert bk.is_failed and bk.failed_step == 3
    assert _lines(bk, [10, 10], [7, 7], [0, 0], reg, bp) == [0.0, 0.0]


def test_dividend_is_paid_on_profit_after_the_first_month(model, bp):
    bk = Bank(model, 0, 1000.0, bp)
    cash0 = bk.cash
    bk.post(cash=10.0, equity=10.0)
    bk.pay_dividend(0.5)  # first month: no month closed yet, nothing paid
    assert bk.equity == pytest.approx(130.0) and bk.cash == pytest.approx(cash0 + 10.0)
    assert bk.equity_at_close == pytest.approx(130.0)
    bk.post(cash=8.0, equity=8.0)  # profit 8: pays 4
    bk.pay_dividend(0.5)
    assert bk.equity == pytest.approx(134.0) and bk.cash == pytest.approx(cash0 + 14.0)
    assert bk.equity_at_close == pytest.approx(134.0)
    bk.post(cash=-6.0, equity=-6.0)  # a loss: nothing paid, the month still closes
    bk.pay_dividend(0.5)
    assert bk.equity == pytest.approx(128.0) and bk.equity_at_close == pytest.approx(128.0)
    bk.post(cash=5.0, equity=5.0)  # profit measured from the last close (128), not the peak
    bk.pay_dividend(0.5)
    assert bk.equity == pytest.approx(130.5)
    assert bk.balance_gap() == pytest.approx(0.0)


def test_a_failed_bank_pays_no_dividend(model, bp):
    bk = Bank(model, 0, 1000.0, bp)
    bk.pay_dividend(0.5)
    bk.post(cash=10.0, equity=10.0)
    bk.fail(2)
    bk.pay_dividend(0.5)
    assert bk.equity == pytest.approx(130.0)


def test_joint_room_and_can_lend(model, bp, reg):
    bk = Bank(model, 0, 1000.0, bp)
    assert bk.joint_room(reg) == np.inf  # limit 100 %: no limit
    half = dataclasses.replace(reg, bank_joint_loan_limit=0.5)
    bk.joint_loans = 300.0
    bk.deposits += 300.0
    assert bk.joint_room(half) == pytest.approx(1000.0 - 300.0)  # joint <= other loans
    bk.joint_loans = 1200.0
    assert bk.joint_room(half) == 0.0
    bk.joint_loans = 0.0
    assert bk.can_lend(reg)
    bk.post(cash=-50.0, equity=-50.0)  # 7 % < 8 %
    assert not bk.can_lend(reg)
    bk.post(cash=50.0, equity=50.0)
    bk.fail(1)
    assert not bk.can_lend(reg)


def test_deposits_cover_a_cash_shortfall(model, bp):
    bk = Bank(model, 0, 1000.0, bp)
    dep = bk.deposits
    bk.post(cash=-80.0, equity=-80.0)  # 30 more than its cash of 50
    bk.settle_cash()
    assert bk.cash == 0.0 and bk.deposits == pytest.approx(dep + 30.0)
    assert bk.balance_gap() == pytest.approx(0.0)
    bk.settle_cash()  # nothing short: nothing moves
    assert bk.deposits == pytest.approx(dep + 30.0)


def test_post_refuses_a_field_the_balance_sheet_does_not_have(model, bp):
    bk = Bank(model, 0, 1000.0, bp)
    with pytest.raises(AttributeError, match="loans_held"):
        bk.post(loans_held=1.0)
    bk.provision(12.0)
    assert bk.allowance == 12.0 and bk.equity == pytest.approx(108.0)
    bk.provision(5.0)  # a release goes back to equity
    assert bk.allowance == 5.0 and bk.equity == pytest.approx(115.0)
    assert bk.balance_gap() == pytest.approx(0.0)


def test_lines_together_stay_within_what_the_banks_capital_carries(model, bp, reg):
    """By hand: equity 120 carries 120 / 0.08 = 1,500 of loans, 1,000 of them other loans, so
    at most 500 of joint lines; lines that would grow past it are scaled down together."""
    bk = Bank(model, 0, 1000.0, bp)
    assert bk.joint_capacity(reg) == pytest.approx(120 / reg.bank_capital_requirement - 1000)
    room = bk.joint_capacity(reg)
    new = _lines(bk, [400, 200], [390, 190], [0, 0], reg, bp)  # both used: both would grow
    assert sum(new) == pytest.approx(room)
    assert new[0] / new[1] == pytest.approx(2.0)
    small = _lines(bk, [40, 20], [39, 19], [0, 0], reg, bp)  # far inside: growth only
    assert small == pytest.approx([40 * (1 + bp.line_growth), 20 * (1 + bp.line_growth)])
