"""Repayment: what is due, who pays, strategic non-payment, payments to debt collectors (pure
array functions).

The loan-by-loan passes (what is due, payments behind) are compiled kernels in
:mod:`lendsim.kernels` (``amount_due``, ``payments_behind``, ``bill_loans``, ``settle_loans``).

References:
    docs/ODD.md, 7.9 (ability and willingness to pay, partial payments) and 7.10 (payments
    behind).
    docs/calibration.md, 2.3: peer effect in default (Lien et al. 2023; Lu, Gu, Ye & Sheng 2012).
    Order of payment when short of cash: Cohen-Cole & Morse (2010); Andersson et al. (2013).
    Collections on charged-off debt: docs/ODD.md 7.11; Federal Trade Commission (2013).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from lendsim import kernels


def strategic_default_prob(risk: np.ndarray, debt_to_income: np.ndarray,
                           defaulted_contacts: np.ndarray, trust: np.ndarray, *, base: float,
                           risk_coef: float, dti_coef: float, peer_coef: float,
                           trust_coef: float) -> np.ndarray:
    """Monthly probability of not paying although able to (willingness), fraction.

    ``logistic(base + a risk + b DTI + c share_of_contacts_in_default + d (0.5 - trust))``.
    """
    return expit(base + risk_coef * risk + dti_coef * debt_to_income
                 + peer_coef * defaulted_contacts + trust_coef * (0.5 - trust))


def pay_amounts(borrower_idx: np.ndarray, due: np.ndarray, cash: np.ndarray,
                first: np.ndarray | None = None) -> np.ndarray:
    """What a short-of-cash borrower pays on each loan, RMB: loans marked ``first`` before the
    others, then the smallest due first, each in full while the borrower's cash lasts; the
    first loan the cash does not cover gets what is left (a partial payment), the rest
    nothing.

    Borrowers protect the credit they pay with: they keep paying a credit card, which gives
    them liquidity, before other debts (Cohen-Cole & Morse 2010, "Your house or your credit
    card, which would you choose?", FRB Boston QAU09-5; Andersson, Chomsisengphet, Glennon &
    Li 2013, "The changing pecking order of consumer defaults", JMCB 45(2-3)).

    Args:
        borrower_idx: borrower of each loan.
        due: amount due on each loan.
        cash: cash of every borrower (indexed by ``borrower_idx``).
        first: optional mask over loans paid before all the borrower's other loans.

    Examples:
        >>> pay_amounts(np.array([0, 0, 0]), np.array([50.0, 30.0, 40.0]),
        ...             np.array([100.0])).tolist()
        [30.0, 30.0, 40.0]
    """
    paid, _ = kernels.pay_in_priority(*_as_arrays(borrower_idx, due, cash, first))
    return paid


def pay_in_order(borrower_idx: np.ndarray, due: np.ndarray, cash: np.ndarray,
                 first: np.ndarray | None = None) -> np.ndarray:
    """Which loans :func:`pay_amounts` pays in full (mask over loans): in the order it pays
    them, while the cumulative total stays within the borrower's cash."""
    _, full = kernels.pay_in_priority(*_as_arrays(borrower_idx, due, cash, first))
    return full


def _as_arrays(borrower_idx, due, cash, first):
    """The arguments of :func:`lendsim.kernels.pay_in_priority`, as arrays of one type each
    (so that it compiles once)."""
    return (np.asarray(borrower_idx, dtype=np.intp), np.asarray(due, dtype=float),
            np.asarray(cash, dtype=float),
            None if first is None else np.asarray(first, dtype=bool))


def collection_payment(owed: np.ndarray, income: np.ndarray, cash: np.ndarray,
                       share: float) -> np.ndarray:
    """What each borrower pays this month on charged-off debt, RMB: ``share`` of the month's
    income, never more than it owes or than the cash it holds.

    Charged-off debt is still owed: lenders sell it to collectors or keep collecting it
    themselves (US debt buyers paid about 4 cents per dollar of face value: Federal Trade
    Commission 2013, *The Structure and Practices of the Debt Buying Industry*). So a default does not end the obligation, and a borrower who defaulted has less to spend
    and to repay new loans with afterwards (docs/ODD.md 7.11, *Collections*).

    Args:
        owed: charged-off debt still collectable, RMB.
        income: this month's income, RMB.
        cash: cash held after this month's income, RMB.
        share: the share of income a collector takes, 0..1.

    Examples:
        >>> collection_payment(np.array([500.0, 50.0, 0.0, 900.0]),
        ...                    np.array([1000.0, 1000.0, 1000.0, 1000.0]),
        ...                    np.array([800.0, 800.0, 800.0, 30.0]), 0.2).tolist()
        [200.0, 50.0, 0.0, 30.0]
    """
    return np.minimum(np.minimum(owed, share * income), np.maximum(cash, 0.0))
