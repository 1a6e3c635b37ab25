"""Phase 12, supervise: the month's debt state is closed, and the regulator computes its
supervision indicators (breaches of leverage and capital rules, the delinquency alert).

References:
    docs/ODD.md, 3. Process overview, phase 12; 7. Submodels, "Regulator".
"""

from __future__ import annotations

from lendsim.simulation.debt import DebtState
from lendsim.simulation.month import closing_book


def step(model) -> None:
    L = model.loans
    # debt as lenders will see it next month (and as data collection reports it)
    # last month's state is done with: its matrix is overwritten, not held twice
    model.debt = DebtState.from_book(L, model.n_borrowers, len(model.platforms),
                                     reuse=model.debt)
    # the bureau's record of the month's applications, which lenders read next month
    model.inquiries = model.month.inquiries
    total, _, d90 = closing_book(model).sums()
    model.regulator.supervise(model.platforms, model.banks, d90 / total if total > 0 else 0.0)
