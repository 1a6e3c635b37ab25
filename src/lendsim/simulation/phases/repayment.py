"""Phase 7, repayment: interest accrues, instalments fall due; borrowers choose whether to
pay (strategic non-payment, walking away from failed lenders), borrow elsewhere to cover a
shortfall (the debt spiral) or pay in order of priority, the last loan they reach in part;
loans become current, delinquent, defaulted or repaid; the month's roll rates are counted.

References:
    docs/ODD.md, 3. Process overview, phase 7; 7. Submodels, "Repayment and default" and
    "Contagion channels" (social contagion, debt spiral, platform failure).
"""

from __future__ import annotations

import numpy as np

from lendsim import kernels
from lendsim.agents.rules import repayment
from lendsim.simulation.debt import cell_key
from lendsim.simulation.networks import neighbour_share
from lendsim.simulation.phases.underwriting import apply, platform_arrays

#: Relative rounding tolerance of "cash covers what is owed": a borrower whose cash falls short
#: of its instalments by less than this share of them is paid up, not short. Cash and dues are
#: sums in different orders, so a borrower who spent down to exactly its instalments differs
#: from them in the last bits, and which way depended on the CPU's arithmetic; without the
#: tolerance such a borrower borrowed a whole minimum loan to repay.
PAID_TOLERANCE = 1e-12
#: Cash below this after the month's payments is a rounding residue of paying in full, RMB.
CASH_RESIDUE = 1e-6


def step(model) -> None:
    bp = model.params.borrowers
    pop, L = model.population, model.loans
    # the loans 1 or 2 payments behind at the end of last month and their balances, for the
    # roll rates (only these: copies of the whole book would add 10 bytes a loan to the peak)
    behind = np.flatnonzero((L.n_missed == 1) | (L.n_missed == 2))
    before = (behind, L.n_missed[behind], L.balance[behind])
    # willingness first (no draw depends on the month's bills): strategic non-payment, and
    # walking away from failed lenders, unless a resolver took the book over
    strategic, social = strategic_nonpayment(model)
    state = np.zeros(L.n, dtype=np.uint8)  # a byte a loan of the book's rows (kernels.BILLED, ...)
    walked = np.zeros(0, dtype=np.intp)  # rows of the loans walked away from
    failed_plat = ~model.platform_values("is_active", bool) & ~model.platform_values(
        "is_resolved", bool)
    if failed_plat.any() and model.params.contagion.platform_failure:
        at_failed = kernels.billed_before(model.t, L.status, L.origination_step,
                                          L.platform_idx, failed_plat)
        walked = at_failed[walks_away(model, L.borrower_idx[at_failed],
                                      L.platform_idx[at_failed],
                                      bp.failed_lender_nonpayment)]
        state[walked] = kernels.WALKED
    # defaulted loans pay nothing; the first instalment falls due the month after
    # origination. What a billed loan owes is worked out again from its columns wherever
    # needed (kernels.due_on); ``owed``: what each borrower means to pay
    interest, owed = np.zeros(model.pools.n), np.zeros(model.n_borrowers)
    kernels.bill_loans(model.t, L.status, L.origination_step, L.n_missed, L.balance, L.apr,
                       L.instalment, L.arrears, L.months_left, L.pool_idx, interest,
                       L.borrower_idx, strategic, state, owed)
    model.pools.add_sums("interest", interest)
    # ability: a shortfall is met by borrowing elsewhere if anyone lends (debt spiral)
    short = owed - pop.cash
    refi = np.flatnonzero(short > PAID_TOLERANCE * owed)
    if len(refi) and model.params.contagion.debt_spiral:
        # a borrower borrows to repay only within the debt it tolerates (7.9); lenders see
        # debt as of the start of the month plus its new loans
        room = pop.debt_room(model.debt_now().total[refi], refi)
        ask = np.minimum(np.maximum(short[refi], bp.min_loan), room)
        keep = ask >= bp.min_loan
        refi, ask = refi[keep], ask[keep]
        got = apply(model, refi, ask, bp.max_applications_distressed, is_refinance=True,
                    product="cash")
        pop.cash[refi] += got
    # who pays in full, in one pass; the loans booked since billing are not in ``state``
    kernels.pay_in_full(state, L.borrower_idx, pop.cash, owed, 1 - PAID_TOLERANCE)
    part = kernels.billed_rows(state, on=kernels.PAYABLE, off=kernels.FULL)  # paid in part
    # short of cash: pay in order of priority, the last loan reached in part (7.9)
    prio = platform_arrays(model).repayment_priority if len(part) or len(walked) else None
    part_paid = np.zeros(len(part))
    if len(part):
        bb = L.borrower_idx[part].astype(np.intp)
        part_paid = repayment.pay_amounts(bb, due_on(L, part), pop.cash,
                                          first=pop.pay_first_u[bb] < prio[L.platform_idx[part]])
    # a walk-away is the failure's loss only if the borrower would have paid that loan had
    # the lender not failed (same cash, same draws): otherwise the miss is its own (7.17.3)
    if len(walked):
        walker = np.zeros(model.n_borrowers, dtype=bool)
        walker[L.borrower_idx[walked]] = True
        state[would_pay(model, state, walker & ~strategic, prio)] |= kernels.LOST_TO_FAILURE
        del walker
    pop.cash -= settle_loans(model, state, part_paid, social)
    # payments never exceed cash: what is below CASH_RESIDUE (negative included) is rounding
    pop.cash[pop.cash < CASH_RESIDUE] = 0.0
    record_rolls(model, *before)


def due_on(L, rows: np.ndarray) -> np.ndarray:
    """What the billed loans ``rows`` of the book ``L`` owe this month, RMB."""
    return kernels.due_on(rows, L.balance, L.instalment, L.arrears, L.months_left)


def walks_away(model, b: np.ndarray, p: np.ndarray, hazard: float) -> np.ndarray:
    """Which billed loans (borrowers ``b`` at failed, unresolved platforms ``p``) go unpaid
    this month because their borrower has walked away from the lender (7.17.3).

    Walking away is a decision about the lender, and it lasts: a borrower still paying a
    failed lender stops with probability ``hazard`` a month (one draw per borrower and
    lender, in the order of their keys) and, once stopped, pays none of its loans there
    while the lender stays unresolved (``model.walked_keys``). A lender that has failed
    cannot collect, so nothing brings a borrower who stopped back; in August 2018 China's
    internet-finance rectification office described borrowers of troubled P2P platforms who
    stopped repaying and waited for the platform to close, so as to escape the debt, and had
    their names, remaining arrears and the date their default began reported for the credit
    system (docs/calibration.md, fact 6).
    """
    # the keys of default_keys: borrower x platforms.max_n + platform
    pairs, at = np.unique(cell_key(b, p, model.params.platforms.max_n), return_inverse=True)
    stopped = np.isin(pairs, model.walked_keys, assume_unique=True)
    still = np.flatnonzero(~stopped)
    now = still[model.rng.random(len(still)) < hazard]
    if len(now):
        stopped[now] = True
        model.walked_keys = add_sorted(model.walked_keys, pairs[now])
    return stopped[at]


def would_pay(model, state: np.ndarray, borrowers: np.ndarray, prio: np.ndarray
              ) -> np.ndarray:
    """The walked-away-from loans (``state`` has ``WALKED``) that their borrowers would pay
    in full if they paid every billed loan they hold (``borrowers``: a mask over borrowers,
    those who walked away and do not default strategically) from the cash they hold now, in
    the order of :func:`repayment.pay_amounts` (the counterfactual of a walk-away, on common
    random numbers; ``prio``: each platform's repayment priority). Returns their rows."""
    L, pop = model.loans, model.population
    rows = kernels.billed_rows(state, L.borrower_idx, borrowers)
    if not len(rows):
        return rows
    b = L.borrower_idx[rows].astype(np.intp)
    paid = repayment.pay_in_order(b, due_on(L, rows), pop.cash,
                                  first=pop.pay_first_u[b] < prio[L.platform_idx[rows]])
    return rows[paid & ((state[rows] & kernels.WALKED) > 0)]


def record_rolls(model, rows: np.ndarray, behind_before: np.ndarray,
                 balance_before: np.ndarray) -> None:
    """The month's roll-rate counts by platform (7.10): the balance, at the end of last month,
    of loans then ``k`` = 1 or 2 payments behind, and of those among them now ``k + 1``
    behind. ``rows``: the loans then 1 or 2 behind (ascending), with their payments behind
    and balances (RMB) then."""
    L, P = model.loans, len(model.platforms)
    for k in (1, 2):
        sel = behind_before == k
        was = rows[sel]
        p, w = L.platform_idx[was], balance_before[sel]
        rolled = L.n_missed[was] == k + 1
        model.month.roll_base[k - 1] = np.bincount(p, weights=w, minlength=P)
        model.month.rolled[k - 1] = np.bincount(p[rolled], weights=w[rolled], minlength=P)


def strategic_nonpayment(model) -> tuple[np.ndarray, np.ndarray]:
    """Borrowers who choose not to pay this month, and those among them who would have
    paid but for their defaulted contacts (the social channel).

    The counterfactual uses the same uniform draw with the peer term removed (common random
    numbers), so a borrower counts as social only if the peer term alone tipped them.
    """
    bp, cp, pop = model.params.borrowers, model.params.contagion, model.population
    dti = model.debt.total / (12.0 * pop.base_income)  # debt as lenders last saw it
    peer = (neighbour_share(model.social, pop.is_in_default()) if cp.social
            else np.zeros(model.n_borrowers))
    kw = dict(base=bp.strategic_base, risk_coef=bp.strategic_risk, dti_coef=bp.strategic_dti,
              trust_coef=bp.strategic_trust)
    u = model.rng.random(model.n_borrowers)
    if cp.social and cp.social_mode == "threshold":  # Watts (2002) threshold rule
        alone = u < repayment.strategic_default_prob(
            pop.risk, dti, np.zeros(model.n_borrowers), pop.trust, peer_coef=0.0, **kw)
        strategic = alone | (peer >= cp.social_threshold)
        return strategic, strategic & ~alone
    strategic = u < repayment.strategic_default_prob(pop.risk, dti, peer, pop.trust,
                                                     peer_coef=bp.peer_effect, **kw)
    social = np.zeros(model.n_borrowers, dtype=bool)
    s = np.flatnonzero(strategic & (peer > 0))  # only these can owe it to their contacts
    if len(s) and bp.peer_effect > 0:
        social[s] = u[s] >= repayment.strategic_default_prob(
            pop.risk[s], dti[s], np.zeros(len(s)), pop.trust[s], peer_coef=0.0, **kw)
    return strategic, social


def settle_loans(model, state: np.ndarray, part_paid: np.ndarray, social: np.ndarray
                 ) -> np.ndarray:
    """Apply this month's payments and misses to the billed loans (``state``, one byte a row
    of the book: ``kernels.BILLED``, ...; ``part_paid``: what each loan reached in part by
    the payment order got, RMB; ``social``: borrowers whose non-payment was their contacts'
    doing): a loan paid in full is current, one paid less than its instalment is one more
    payment behind (7.10; ``kernels.settle_loans``). Returns what each borrower paid, RMB."""
    L, pp, month, pop = model.loans, model.params.platforms, model.month, model.population
    paid = np.zeros(model.pools.n)
    by_borrower = np.zeros(model.n_borrowers)
    mi, repaid, defaulted = kernels.settle_loans(
        state, part_paid, social, L.borrower_idx, pp.default_after_missed, L.n_missed,
        L.instalment, L.balance, L.arrears, L.miss_bits, L.status, L.months_left, L.cause,
        L.pool_idx, paid, by_borrower)
    model.pools.add_sums("paid", paid)
    model.credit_lines.revoke(L.borrower_idx[mi])  # a missed payment closes the line
    month.learn(repaid, 0)
    month.learn(defaulted, 1)
    db = L.borrower_idx[defaulted]
    newly = np.unique(db[pop.months_since_default[db] > 0])
    pop.months_since_default[db] = 0
    month.new_defaults = len(newly)
    month.defaults_by_segment = np.bincount(pop.risk_segment[newly], minlength=3)
    month.defaults_by_quintile = np.bincount(pop.income_quintile[newly], minlength=5)
    keys = db.astype(np.int64) * pp.max_n + L.platform_idx[defaulted]
    model.default_keys = add_sorted(model.default_keys, keys)
    return by_borrower


def add_sorted(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """``np.union1d(sorted_keys, keys)`` for a sorted, duplicate-free ``sorted_keys`` and a few
    ``keys``: the new keys are inserted instead of the whole set sorted again (a mature book's
    set of defaulted (borrower, platform) keys holds tens of thousands at 10^5 borrowers)."""
    new = np.unique(keys)
    pos = np.searchsorted(sorted_keys, new)
    absent = pos >= len(sorted_keys)
    absent[~absent] = sorted_keys[pos[~absent]] != new[~absent]
    return np.insert(sorted_keys, pos[absent], new[absent])
