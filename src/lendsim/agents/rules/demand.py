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
                  min_loan: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Credit a borrower asks for, RMB: for purchases, in cash, and whether the purchase
    credit is only convenience credit.

    Discretionary spending is purchases, which purchase credit (an embedded platform's, a
    consumer-finance company's) can pay for; essential spending and large expense shocks (rent,
    bills, medical costs) need cash. A borrower spends the cash left after this month's
    instalments on the needs only cash meets first, since purchase credit is the cheaper
    credit, so the shortfall ``need - cash`` is asked first as purchase credit, up to the
    month's purchases, and the rest as a cash loan (the order that keeps the dear cash loan
    smallest; an assumption of the model, docs/ODD.md 7.3). When cash suffices the borrower
    may still pay ``convenience_credit`` of its purchases with credit (embedded credit as a
    means of payment, billed and repaid the next month). Both asks stay within the borrower's
    ``debt_room`` (tolerated debt minus current debt), purchases first; an ask below
    ``min_loan`` is dropped.

    Examples:
        Need 1,000 (400 of it purchases), cash 300 after instalments: 400 of purchase credit
        and 300 in cash.

        >>> p, c, conv = credit_demand(np.array([1000.0]), np.array([400.0]),
        ...                            np.array([300.0]), np.zeros(1), np.array([1e9]),
        ...                            convenience_credit=0.3, min_loan=100)
        >>> float(p[0]), float(c[0]), bool(conv[0])
        (400.0, 300.0, False)
    """
    spendable = np.maximum(cash - due, 0.0)
    gap = need - spendable
    conv = convenience_credit * discretionary
    is_conv = gap < conv
    purchase = np.where(is_conv, conv, np.minimum(gap, discretionary))
    room = np.maximum(debt_room, 0.0)
    purchase = np.minimum(purchase, room)
    in_cash = np.minimum(np.maximum(gap - discretionary, 0.0), room - purchase)
    return (np.where(purchase >= min_loan, purchase, 0.0),
            np.where(in_cash >= min_loan, in_cash, 0.0), is_conv)
