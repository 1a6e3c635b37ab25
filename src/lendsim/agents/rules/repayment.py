"""Repayment: what is due, who pays, strategic non-payment (pure array functions).

References:
    docs/ODD.md, 7.9 (ability and willingness to pay).
    docs/calibration.md, 2.3: peer effect in default (Lien et al. 2023; Lu, Gu, Ye & Sheng 2012).
    Order of payment when short of cash: Cohen-Cole & Morse (2010); Andersson et al. (2013).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from lendsim.agents.rules import cumsum_within_groups


def amount_due(balance: np.ndarray, instalment: np.ndarray, n_missed: np.ndarray,
               months_left: np.ndarray) -> np.ndarray:
    """This month's amount due on each performing loan, RMB.

    The instalment plus any missed ones (arrears are caught up in full), and the whole balance
    in the final month or once the balance is below that sum. ``balance`` already includes this
    month's interest.
    """
    due = instalment * (1.0 + n_missed)
    return np.where((months_left <= 1) | (balance <= due), balance, due)


def strategic_default_prob(risk: np.ndarray, debt_to_income: np.ndarray,
                           defaulted_contacts: np.ndarray, trust: np.ndarray, *, base: float,
                           risk_coef: float, dti_coef: float, peer_coef: float,
                           trust_coef: float) -> np.ndarray:
    """Monthly probability of not paying although able to (willingness), fraction.

    ``logistic(base + a risk + b DTI + c share_of_contacts_in_default + d (0.5 - trust))``.
    """
    return expit(base + risk_coef * risk + dti_coef * debt_to_income
                 + peer_coef * defaulted_contacts + trust_coef * (0.5 - trust))


def pay_in_order(borrower_idx: np.ndarray, due: np.ndarray, cash: np.ndarray,
                 first: np.ndarray | None = None) -> np.ndarray:
    """Which loans a short-of-cash borrower pays: loans marked ``first`` before the others,
    then the smallest due first, each in full, while the cumulative total stays within the
    borrower's cash. Returns a mask over loans.

    Borrowers protect the credit they pay with: they keep paying a credit card, which gives
    them liquidity, before other debts (Cohen-Cole & Morse 2010, "Your house or your credit
    card, which would you choose?", FRB Boston QAU09-5; Andersson, Chomsisengphet, Glennon &
    Li 2013, "The changing pecking order of consumer defaults", JMCB 45(2-3)).

    Args:
        borrower_idx: borrower of each loan.
        due: amount due on each loan.
        cash: cash of every borrower (indexed by ``borrower_idx``).
        first: optional mask over loans paid before all the borrower's other loans.
    """
    n = len(due)
    if n == 0:
        return np.zeros(0, dtype=bool)
    keys = (due, borrower_idx) if first is None else (due, ~np.asarray(first, bool), borrower_idx)
    order = np.lexsort(keys)
    b_sorted = borrower_idx[order]
    paid_sorted = cumsum_within_groups(b_sorted, due[order]) <= cash[b_sorted] * (1 + 1e-12)
    out = np.empty(n, dtype=bool)
    out[order] = paid_sorted
    return out
