"""Phase 5, credit lines: convenience requests drawn on a borrower's credit line, without
shopping or scoring; lines due for review are underwritten again first.

References:
    docs/ODD.md, 3. Process overview, phase 5; 7. Submodels, "Credit lines"; the line's rules
    are in :mod:`lendsim.simulation.credit_lines`.
"""

from __future__ import annotations

import numpy as np

from lendsim.agents.rules import underwriting
from lendsim.simulation.phases.underwriting import (assess, book, grant_lines,
                                                    platform_arrays, price_cap, use_capacity)


def step(model) -> None:
    month = model.month
    month.granted = draw_lines(model, month.applicants, month.request, month.is_convenience)


def draw_lines(model, b: np.ndarray, amount: np.ndarray, conv: np.ndarray) -> np.ndarray:
    """Convenience requests drawn on the borrower's credit line. Returns the amount drawn by
    each applicant, RMB (0 = not drawn: the request goes through full underwriting)."""
    drawn = np.zeros(len(b))
    CL, month = model.credit_lines, model.month
    if model.params.platforms.line_review_months <= 0 or not len(b):
        return drawn
    cand = np.flatnonzero(conv & (CL.platform[b] >= 0))
    if not len(cand):
        return drawn
    debt = model.debt_now()
    P, reg, pop = len(model.platforms), model.regulator.policy, model.population
    g = platform_arrays(model)
    is_open = g.is_active & (month.capacity > 0)
    bb = b[cand]
    own = debt.own_at(bb, CL.platform[bb])
    due = bb[CL.due_for_review(bb, model.t, pop.is_employed[bb],
                               *debt.seen_by_lender(bb, own, model.is_covered),
                               pop.income[bb] / model.params.borrowers.income_median)]
    if len(due):
        review_lines(model, due, g)
    ok = CL.usable(bb, amount[cand], model.t, is_open, price_cap(model, g),
                   pop.is_employed[bb] if reg.require_income else None)
    k, own = cand[ok], own[ok]  # reviews keep a line's platform: exposures still hold
    bk, pk, amt = b[k], CL.platform[b[k]].astype(np.intp), amount[k]
    fits = underwriting.allocate_capacity(pk, CL.pd[bk], amt, month.capacity)
    k, bk, pk, amt, own = k[fits], bk[fits], pk[fits], amt[fits], own[fits]
    if not len(k):
        return drawn
    use_capacity(model, pk, amt)
    apr = CL.apr[bk].astype(float)
    book(model, bk, pk, amt, apr, np.ones(len(k), dtype=np.int64),
         np.take(CL.features, bk, axis=0), is_refinance=False)
    drawn[k] = amt
    debt.add(bk, pk, amt, own)
    seg, q = pop.risk_segment[bk], pop.income_quintile[bk]
    month.count_applications(seg, seg, amt, apr, False, P, pk, q, q,
                             el_rate=underwriting.expected_loss_rate(
                                 CL.pd[bk], g.loss_severity[pk], 1), term=1)
    month.granted_any[bk] = True
    month.applied[bk] = True
    return drawn


def review_lines(model, b: np.ndarray, g) -> None:
    """Lines of borrowers ``b`` due for review: the platform underwrites the borrower
    again, on today's data and prices; it renews the line (new APR, PD, limit) or closes
    it. The borrower does not shop around for this."""
    CL = model.credit_lines
    p = CL.platform[b].astype(np.intp)
    ok, pd_life, apr, limit, X, own, visible = assess(model, b, p, np.full(len(b), np.inf), g,
                                                      np.ones(len(b), dtype=np.int64),
                                                      asked=CL.limit[b].astype(float))
    CL.revoke(b[~ok])
    w = np.flatnonzero(ok)
    grant_lines(model, w, b, p, own, visible, pd_life, apr, X, g, limit=limit[w])
