"""Spending needs and credit demand (pure array functions).

References:
    docs/ODD.md, 7.3 (spending need and credit demand): demand = spending need minus cash.
"""

from __future__ import annotations

import numpy as np


def spending_need(base_income: np.ndarray, risk: np.ndarray, cash: np.ndarray,
                  z: np.ndarray, shock_u: np.ndarray, shock_z: np.ndarray, *,
                  essential_share: float, discretionary_share: float, volatility: float,
                  risk_spending: float, demand_level: float, shock_prob: float,
                  shock_size: float, buffer_months: float, spend_down: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Spending need this month, RMB, and its discretionary part.

    Discretionary: ``discretionary x base x demand_level x exp(b risk) x LN(z)`` plus
    ``spend_down`` of the cash above ``buffer_months`` of base income (buffer-stock saving,
    Carroll 1997); essential: ``essential x base``; with probability ``shock_prob`` a large
    expense ``shock_size x base x LN(shock_z)`` is added (``shock_z`` holds one draw for each
    borrower with ``shock_u < shock_prob``, in order). ``demand_level`` folds seasonality and
    the consumption-upgrade trend.
    """
    ln = np.exp(volatility * z - 0.5 * volatility * volatility)
    disc = (base_income * discretionary_share * demand_level * np.exp(risk_spending * risk) * ln
            + spend_down * np.maximum(cash - buffer_months * base_income, 0.0))
    need = essential_share * base_income + disc
    big = np.flatnonzero(shock_u < shock_prob)  # shock_z: one draw per borrower hit
    need[big] += shock_size * base_income[big] * np.exp(0.5 * shock_z - 0.125)
    return need, disc


def credit_demand(need: np.ndarray, discretionary: np.ndarray, cash: np.ndarray,
                  due: np.ndarray, debt_room: np.ndarray, *, convenience_credit: float,
                  min_loan: float) -> tuple[np.ndarray, np.ndarray]:
    """Credit a borrower asks for, RMB, and whether it is only convenience credit.

    The need not covered by the cash left after this month's instalments, or, when cash
    suffices, the ``convenience_credit`` share of discretionary spending (embedded credit used
    as a means of payment); never more than the borrower's own ``debt_room`` (tolerated debt
    minus current debt); zero below ``min_loan``. Convenience credit (cash would have
    sufficed) is billed and repaid the next month, like embedded credit's interest period.
    """
    spendable = np.maximum(cash - due, 0.0)
    gap = need - spendable
    conv = convenience_credit * discretionary
    ask = np.minimum(np.maximum(gap, conv), np.maximum(debt_room, 0.0))
    return np.where(ask >= min_loan, ask, 0.0), gap < conv
