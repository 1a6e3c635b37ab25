"""Phase 9, failures: guarantors whose equity is gone fail (their insured platforms lose
reputation); platforms whose equity is gone fail; banks whose equity is gone fail, and their
interbank creditors take losses that can fail them in turn.

References:
    docs/ODD.md, 3. Process overview, phase 9; 7. Submodels, "Contagion channels" (platform
    failure, reputation, interbank).
"""

from __future__ import annotations

import numpy as np

from lendsim.agents import guarantors
from lendsim.simulation.clearing import eisenberg_noe
from lendsim.simulation.contagion import interbank_cascade


def step(model) -> None:
    month = model.month
    guarantors.fail_guarantors(model)
    for pl in model.platforms:
        if pl.is_active and pl.equity <= 0:
            hit = month.run_cost[pl.idx] > 0 or month.lost_cover[pl.idx] > 0
            channel = ("guarantee" if hit and guarantors.lost_cover(model, pl) else
                       "reputation" if month.run_cost[pl.idx] > 0 else
                       "operational" if pl.idx in month.breached else "credit")
            fail_platform(model, pl, "platform_failure", channel,
                          f"{pl.kind}: equity exhausted")
            month.platform_failures += 1
    bank_failures(model)


def fail_platform(model, pl, kind: str, channel: str, detail: str) -> None:
    """Platform ``pl`` fails (or exits): news reaches the platforms of its type, the failure
    joins the month's cascade record and the event log."""
    pl.fail(model.t)
    reputation_shock(model, pl, model.params.contagion.reputation_hit)
    model.month.failures.append(("platform", pl.idx, channel, detail))
    model.log_event(kind, "platform", pl.idx, pl.loans_held, detail)


def reputation_shock(model, source, loss: float) -> None:
    """Bad news at ``source`` costs every other live platform of its type ``loss`` of its
    reputation (channel 6: runs spread between platforms through news; Cheng, Leite &
    Caldieraro 2022)."""
    if not model.params.contagion.reputation:
        return
    for pl in model.platforms:
        if pl is not source and pl.is_active and pl.kind == source.kind:
            pl.reputation *= 1.0 - loss


def bank_failures(model) -> None:
    """Banks whose equity is gone fail, and their interbank creditors take losses that can
    fail them in turn (channel 5). ``network.interbank.clearing``:

    - ``cascade``: a claim on a failed bank recovers ``network.interbank.recovery``; a bank
      fails when its losses exceed its equity (Furfine 2003; Gai & Kapadia 2010);
    - ``eisenberg_noe``: all banks clear at once at the greatest clearing vector, deposits
      senior to interbank debt (Eisenberg & Noe 2001); a claim on a defaulting bank
      recovers that bank's payment ratio.

    Claims on failed banks are settled at resolution: the recovered part in cash, the rest
    written off. With ``contagion.interbank`` off they are paid in full.
    """
    month, banks = model.month, model.banks
    was_failed = np.array([bk.is_failed for bk in banks])
    equity = np.array([bk.equity for bk in banks])
    first = ~was_failed & (equity <= 0)
    if not first.any():
        return
    ib = model.params.network.interbank
    on = model.params.contagion.interbank
    recovery = np.full(len(banks), ib.recovery if on else 1.0)
    failed = first.copy()
    E = model.interbank
    if on and E.any():
        if ib.clearing == "eisenberg_noe":
            ext = np.array([bk.cash + bk.joint_loans + bk.other_loans - bk.allowance
                            for bk in banks])
            dep = np.array([bk.deposits for bk in banks])
            res = eisenberg_noe(E.T, np.maximum(ext, 0.0),
                                external_liabilities=np.maximum(dep, 0.0),
                                seniority="external_senior")
            owed = E.sum(axis=0)  # each bank's interbank debt
            recovery = np.divide(res.interbank_payments, owed, out=np.ones_like(owed),
                                 where=owed > 0)
            failed |= np.asarray(res.defaulted, dtype=bool) & ~was_failed
        else:
            # among the banks still standing: banks that failed in an earlier month cannot
            # fail again, and claims on them were settled when they failed
            live = np.flatnonzero(~was_failed)
            res = interbank_cascade(E[np.ix_(live, live)], np.maximum(equity[live], 0.0),
                                    first[live], recovery=ib.recovery)
            failed[live] |= np.asarray(res.failed, dtype=bool)
    rec = np.where(failed, recovery, 0.0)  # per debtor
    claims = E[:, failed]  # creditors' claims on the failed banks
    owed_by = claims.sum(axis=0)
    held = claims.sum(axis=1)
    got = claims @ rec[failed]  # what each creditor recovers in cash
    for bk in banks:  # settle every claim on a failed bank
        bk.post(interbank_assets=-held[bk.idx], cash=got[bk.idx],
                equity=-(held[bk.idx] - got[bk.idx]))
    for j, debt in zip(np.flatnonzero(failed), owed_by):
        bk = banks[j]
        bk.post(interbank_liabilities=-debt, cash=-(rec[j] * debt),
                equity=(1.0 - rec[j]) * debt)
        bk.settle_cash()
    E[:, failed] = 0.0
    month.losses["interbank"] += float((held - got).sum())
    joint_loss = month.bank_joint_losses
    for j in np.flatnonzero(failed):
        bk = banks[j]
        bk.fail(model.t)
        month.bank_failures += 1
        if not first[j]:
            channel, detail = "interbank", "interbank contagion"
        elif j in month.shocked_banks:
            channel, detail = "shock", "equity exhausted (shock)"
        else:
            channel = "common_funder" if joint_loss[j] > 0 else "credit"
            detail = "equity exhausted"
        month.failures.append(("bank", bk.idx, channel, detail))
        model.log_event("bank_failure", "bank", bk.idx, bk.joint_loans + bk.other_loans, detail)
    if any(not bk.is_failed and bk.equity <= 0 for bk in banks):
        bank_failures(model)  # write-offs at the failed banks' recovery can fail more
