"""Phase 2, income: months since default, income growth, employment transitions, income (with
the scars of job loss), payments to debt collectors.

References:
    docs/ODD.md, 3. Process overview, phase 2; 7. Submodels, "Income and employment".
"""

from __future__ import annotations

import numpy as np

from lendsim.simulation.allocator import in_place


def step(model) -> None:
    pop = model.population
    pop.months_since_default = in_place(pop.months_since_default,
                                        np.minimum(pop.months_since_default + 1, pop.NEVER))
    if model.t > model.first_t:  # incomes grow month by month, from the second on
        pop.base_income *= (1.0 + model.params.macro.income_growth) ** (1.0 / 12.0)
    mp = model.params.macro
    pop.update_employment(model.macro.unemployment_target, mp.job_finding_rate, model.rng)
    # the long-run rate of re-employment after a spell, u f, times the scar (7.2)
    drift = model.params.borrowers.job_loss_scar * mp.unemployment_rate * mp.job_finding_rate
    pop.receive_income(model.macro.income_loss, model.rng, drift)
    model.month.collections = pop.pay_collections()
