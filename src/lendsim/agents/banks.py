"""Banks: capital, deposits, joint loans with platforms, funding lines.

References:
    docs/ODD.md, 2. Entities ("Bank") and 7. Submodels ("Banks"); CBIRC 2021 No. 24 (exposure to one platform <= 25 % of tier-1
    capital, joint loans <= 50 % of the bank's loans).
"""

from __future__ import annotations

import mesa
import numpy as np

from lendsim.agents.institutions import Institution
from lendsim.simulation import strategies
from lendsim.simulation.params import BankParams, RegulatorParams

#: Cash a bank holds at the start, share of its other loans: a liquidity buffer. A modelling
#: assumption, not a calibrated figure: a bank's cash only absorbs shortfalls before deposits
#: do (``settle_cash``), so its size moves no result beyond the balance sheet's composition.
INITIAL_CASH_SHARE = 0.05


class Bank(Institution, mesa.Agent):
    """A bank. Balance sheet (RMB): assets ``cash + joint_loans + other_loans +
    interbank_assets - allowance``; liabilities ``deposits + interbank_liabilities``;
    ``equity``. Capital ratio = equity / (joint + other loans).

    Its funding lines to platforms follow its line rule (``banks.line_rule``, a strategy of
    :mod:`lendsim.simulation.strategies`). Interbank claims are set up with the network
    (:func:`lendsim.simulation.setup.create_interbank`).
    """

    BALANCE_FIELDS = ("cash", "joint_loans", "other_loans", "interbank_assets", "allowance",
                      "deposits", "interbank_liabilities", "equity")
    LOANS = "joint_loans"

    def __init__(self, model, idx: int, other_loans: float, bp: BankParams):
        super().__init__(model)
        self.idx = idx
        self.other_loans = float(other_loans)
        self.joint_loans = 0.0
        self.allowance = 0.0
        self.equity = bp.capital_ratio * other_loans
        self.cash = INITIAL_CASH_SHARE * other_loans
        self.interbank_assets = 0.0  # claims on other banks
        self.interbank_liabilities = 0.0  # owed to other banks
        self.deposits = (self.cash + self.other_loans + self.interbank_assets
                         - self.interbank_liabilities - self.equity)
        self.is_failed = False
        self.failed_step: int | None = None
        self.line_rule = strategies.create("line_rule", bp.line_rule)
        self.equity_at_close: float | None = None  # equity when the last month was closed

    def capital_ratio(self) -> float:
        loans = self.joint_loans + self.other_loans
        return self.equity / loans if loans > 0 else np.inf

    def joint_room(self, reg: RegulatorParams) -> float:
        """New joint lending allowed by the limit on joint loans' share of all loans, RMB."""
        lim = reg.bank_joint_loan_limit
        if lim >= 1.0:
            return np.inf
        return max(lim / (1.0 - lim) * self.other_loans - self.joint_loans, 0.0)

    def joint_capacity(self, reg: RegulatorParams) -> float:
        """Joint loans the bank's equity can carry beside its other loans at the capital
        requirement, RMB: ``equity / requirement - other_loans`` (0 if none; unlimited
        without a requirement)."""
        if reg.bank_capital_requirement <= 0:
            return np.inf
        return max(self.equity / reg.bank_capital_requirement - self.other_loans, 0.0)

    @staticmethod
    def hurdle_rate(bp: BankParams, reg: RegulatorParams) -> float:
        """The annual rate a bank needs on its share of a joint loan, before credit losses:
        its deposit cost and operating cost, plus a charge for the capital the loan uses (the
        capital requirement times the bank's cost of equity).

        References:
            Risk-adjusted loan pricing with a capital charge: Freixas & Rochet (2008), ch. 3;
            docs/ODD.md, 7.7.
        """
        return (bp.deposit_rate + bp.operating_cost
                + reg.bank_capital_requirement * bp.cost_of_equity)

    def can_lend(self, reg: RegulatorParams) -> bool:
        return not self.is_failed and self.capital_ratio() >= reg.bank_capital_requirement

    def adapt_lines(self, lines: np.ndarray, outstanding: np.ndarray, delinquency: np.ndarray,
                    is_active: np.ndarray, reg: RegulatorParams, bp: BankParams,
                    common_funder: bool = True) -> np.ndarray:
        """This bank's new funding line to each platform, RMB, by its line rule (see
        :meth:`lendsim.simulation.strategies.LineRule.new_lines`)."""
        return self.line_rule.new_lines(self, lines, outstanding, delinquency, is_active, reg,
                                        bp, common_funder=common_funder)

    def pay_dividend(self, payout_ratio: float) -> None:
        """Pay out ``payout_ratio`` of the month's profit (the rise in equity since the last
        month was closed), if positive and the bank is live; then close the month."""
        profit = (self.equity - self.equity_at_close if self.equity_at_close is not None
                  else 0.0)
        if profit > 0 and not self.is_failed:
            div = payout_ratio * profit
            self.post(cash=-div, equity=-div)
        self.equity_at_close = self.equity

    def balance_gap(self) -> float:
        return (self.cash + self.joint_loans + self.other_loans + self.interbank_assets
                - self.allowance - self.deposits - self.interbank_liabilities - self.equity)

    def settle_cash(self) -> None:
        """Deposits (or wholesale funding) cover a cash shortfall."""
        if self.cash < 0:
            self.deposits -= self.cash
            self.cash = 0.0

    def fail(self, step: int) -> None:
        self.is_failed = True
        self.failed_step = step
