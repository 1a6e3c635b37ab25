"""Phase 4, funding: each platform's lending capacity this month and its funding pool (the
split of new loans between itself and its partner banks), by its funding-split strategy.

References:
    docs/ODD.md, 3. Process overview, phase 4; 7. Submodels, "Funding".
"""

from __future__ import annotations

import numpy as np


def step(model) -> None:
    reg, month = model.regulator.policy, model.month
    P = len(model.platforms)
    out = model.bank_outstanding()  # P x B
    lines = model.lines[:, :P].T  # P x B
    can = np.array([bk.can_lend(reg) for bk in model.banks])
    head = np.where(can[None, :], np.maximum(lines - out, 0.0), 0.0)
    # a bank's room under its joint-loan limit is shared over its lines in proportion
    room = np.array([bk.joint_room(reg) for bk in model.banks])
    tot = head.sum(axis=0)
    scale = np.divide(room, tot, out=np.ones_like(tot), where=tot > room)
    head *= np.minimum(scale, 1.0)[None, :]
    for pl in model.platforms:
        if not pl.may_lend(model.t, reg):
            continue
        own_cap = pl.own_capacity(reg)
        s, bank_shares, cap = pl.funding_split.split(pl, head[pl.idx], reg)
        # its own capacity binds when it allows no more than the capacity the split gives
        month.own_limited[pl.idx] = s > 0 and own_cap <= s * cap * (1 + 1e-9) + 1e-6
        pl.months_unfunded = pl.months_unfunded + 1 if cap <= 0 else 0
        if cap > 0:
            month.pool_of[pl.idx] = model.pools.add(pl.idx, s, bank_shares, pl.tp.bank_fee)
            month.capacity[pl.idx] = cap
    model.pool_balances = None  # balances change from here to accounting
