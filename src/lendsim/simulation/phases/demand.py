"""Phase 3, demand: spending needs, instalments due, and who asks for how much credit,
for purchases and in cash.

References:
    docs/ODD.md, 3. Process overview, phase 3; 7. Submodels, "Demand for credit".
"""

from __future__ import annotations

import numpy as np

from lendsim import kernels
from lendsim.simulation.debt import DebtState


def step(model) -> None:
    pop, month = model.population, model.month
    pop.spending_needs(model.macro.demand_level, model.rng)
    month.due_estimate = due_estimate(model)
    if model.debt is None:
        model.debt = DebtState.from_book(model.loans, model.n_borrowers, len(model.platforms))
    request, in_cash, is_conv = pop.credit_requests(month.due_estimate, model.debt.total)
    month.applicants = np.flatnonzero(request > 0)
    month.request = request[month.applicants]
    month.is_convenience = is_conv[month.applicants]
    month.cash_applicants = np.flatnonzero(in_cash > 0)
    month.cash_request = in_cash[month.cash_applicants]


def due_estimate(model) -> np.ndarray:
    """What each borrower expects to owe this month on its performing loans, RMB."""
    L = model.loans
    return kernels.expected_due(L.status, L.borrower_idx, L.balance, L.apr, L.instalment,
                                L.arrears, L.months_left, model.n_borrowers)
