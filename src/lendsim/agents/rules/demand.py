"""Spending needs and credit demand (pure array functions).

References:
    DESIGN.md, behaviour sketch "Income and demand": demand = spending need minus cash.
"""

from __future__ import annotations

import numpy as np


def spending_need(base_income: np.ndarray, risk: np.ndarray, z: np.ndarray,
                  shock_u: np.ndarray, shock_z: np.ndarray, *, essential_share: float,
                  discretionary_share: float, volatility: float, risk_spending: float,
                  demand_level: float, shock_prob: float, shock_size: float) -> np.ndarray:
    """Spending need this month, RMB.

    ``essential x base + discretionary x base x demand_level x exp(b risk) x LN(z)``
    plus, with probability ``shock_prob``, a large expense ``shock_size x base x LN(shock_z)``.
    ``demand_level`` folds seasonality and the consumption-upgrade trend.
    """
    ln = np.exp(volatility * z - 0.5 * volatility * volatility)
    need = base_income * (essential_share
                          + discretionary_share * demand_level * np.exp(risk_spending * risk) * ln)
    big = shock_u < shock_prob
    return need + np.where(big, shock_size * base_income * np.exp(0.5 * shock_z - 0.125), 0.0)


def credit_demand(need: np.ndarray, cash: np.ndarray, due: np.ndarray,
                  min_loan: float) -> np.ndarray:
    """Credit a borrower asks for: the need not covered by cash left after this month's
    instalments (zero below ``min_loan``)."""
    spendable = np.maximum(cash - due, 0.0)
    gap = need - spendable
    return np.where(gap >= min_loan, gap, 0.0)
