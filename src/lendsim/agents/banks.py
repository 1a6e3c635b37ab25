"""Banks: capital, deposits, joint loans with platforms, funding lines.

References:
    DESIGN.md, "Agents: Bank" and behaviour sketch "Banks"; CALIBRATION.md: small-bank
    dependence on one platform; CBIRC 2021 No. 24 (exposure to one platform <= 25 % of tier-1
    capital, joint loans <= 50 % of the bank's loans).
"""

from __future__ import annotations

import mesa
import numpy as np

from lendsim.simulation.params import BankParams, RegulatorParams


class Bank(mesa.Agent):
    """A bank. Balance sheet (RMB): assets ``cash + joint_loans + other_loans +
    interbank_assets - allowance``; liabilities ``deposits + interbank_liabilities``;
    ``equity``. Capital ratio = equity / (joint + other loans)."""

    def __init__(self, model, idx: int, other_loans: float, bp: BankParams,
                 interbank_assets: float = 0.0, interbank_liabilities: float = 0.0):
        super().__init__(model)
        self.idx = idx
        self.other_loans = float(other_loans)
        self.joint_loans = 0.0
        self.allowance = 0.0
        self.equity = bp.capital_ratio * other_loans
        self.cash = 0.05 * other_loans
        self.interbank_assets = float(interbank_assets)  # claims on other banks
        self.interbank_liabilities = float(interbank_liabilities)  # owed to other banks
        self.deposits = (self.cash + self.other_loans + self.interbank_assets
                         - self.interbank_liabilities - self.equity)
        self.is_failed = False
        self.failed_step: int | None = None

    def capital_ratio(self) -> float:
        loans = self.joint_loans + self.other_loans
        return self.equity / loans if loans > 0 else np.inf

    def joint_room(self, reg: RegulatorParams) -> float:
        """New joint lending allowed by the limit on joint loans' share of all loans, RMB."""
        lim = reg.bank_joint_loan_limit
        if lim >= 1.0:
            return np.inf
        return max(lim / (1.0 - lim) * self.other_loans - self.joint_loans, 0.0)

    def can_lend(self, reg: RegulatorParams) -> bool:
        return not self.is_failed and self.capital_ratio() >= reg.bank_capital_requirement

    def adapt_lines(self, lines: np.ndarray, outstanding: np.ndarray, delinquency: np.ndarray,
                    is_active: np.ndarray, reg: RegulatorParams, bp: BankParams,
                    common_funder: bool = True) -> np.ndarray:
        """This bank's new funding line to each platform, RMB.

        A line grows by ``line_growth`` when more than ``line_use_target`` used; it is cut in proportion to
        the platform's 30+ delinquency above the bank's tolerance (by ``line_cut`` at twice the
        tolerance); all lines shrink when capital is within ``capital_buffer`` of the
        requirement; a line never exceeds ``bank_platform_exposure_limit x equity``; lines to
        failed platforms, and all lines of a failed bank, are closed.
        """
        if self.is_failed:
            return np.zeros_like(lines)
        used = np.divide(outstanding, lines, out=np.ones_like(lines), where=lines > 0)
        growth = np.where(used > bp.line_use_target, bp.line_growth, 0.0)
        excess = np.clip((delinquency - bp.delinquency_tolerance) / bp.delinquency_tolerance,
                         0.0, 1.0)
        new = lines * (1.0 + growth) * (1.0 - bp.line_cut * excess)
        if (common_funder
                and self.capital_ratio() < reg.bank_capital_requirement + bp.capital_buffer):
            new = np.minimum(new, outstanding) * (1.0 - bp.line_cut)
        new = np.minimum(new, reg.bank_platform_exposure_limit * max(self.equity, 0.0))
        return np.where(is_active, new, 0.0)

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
