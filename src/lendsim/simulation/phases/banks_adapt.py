"""Phase 11, banks adapt: each bank sets its funding line to every platform by its line rule.

References:
    docs/ODD.md, 3. Process overview, phase 11; 7. Submodels, "Banks".
"""

from __future__ import annotations


def step(model) -> None:
    reg, bp = model.regulator.policy, model.params.banks
    P = len(model.platforms)
    out = model.bank_outstanding()  # P x B
    active = model.platform_values("is_active", bool)
    # an entrant has no book yet: zero delinquency
    delinquency = model.platform_values("last_delinquency_30")
    for bk in model.banks:
        model.lines[bk.idx, :P] = bk.adapt_lines(
            model.lines[bk.idx, :P], out[:, bk.idx], delinquency, active, reg, bp,
            common_funder=model.params.contagion.common_funder)
