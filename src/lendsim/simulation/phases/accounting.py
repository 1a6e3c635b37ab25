"""Phase 8, accounting: charge-offs and recoveries, the month's flows posted to every funder
in proportion to its share of each pool, guarantors' claims, servicing fees, provisions,
guarantee premiums and claims reserves, operating and funding costs, banks' income and
dividends, retail withdrawals; cash shortfalls are funded.

Every posting goes through the agents' own ``post`` (and ``provision``), so each balance
sheet adds up after every phase (``MarketModel.check_invariants``).

References:
    docs/ODD.md, 3. Process overview, phase 8; 7. Submodels, "Accounting".
"""

from __future__ import annotations

import numpy as np

from lendsim import kernels
from lendsim.agents import guarantors
from lendsim.simulation.channels import credit_loss_channels, refinance_loan_losses
from lendsim.simulation.ledger import LoanStatus

#: Allowance on loans one or two payments behind (30+), fraction of balance; performing loans
#: carry ``regulator.provision_rate``. The PBoC's 2002 loan-loss provisioning guideline sets 25 %
#: (up to 30 %) for "substandard" loans.
PROVISION_DELINQUENT = 0.3
#: Allowance on defaulted loans awaiting charge-off, fraction of balance: between "doubtful"
#: (50 %, up to 60 %) and "loss" (100 %) in the same guideline.
PROVISION_DEFAULTED = 0.8


def step(model) -> None:
    month = model.month
    guarantors.attach_pools(model)
    charge_off(model)
    post_flows(model)
    by_status, managed = pool_balances(model)
    month.tally()  # the month's lending is done: its counters give each pool's exposure
    set_fee_rates(model)
    servicing_fees(model, by_status[:, 0] + by_status[:, 1])
    provisions(model, by_status)
    guarantors.premiums_and_reserves(model, by_status)
    model.pool_balances = by_status.sum(axis=1)  # valid until next month's funding
    costs_and_bank_income(model, managed)
    cover = guarantors.investor_cover(model)  # None without guarantors
    for pl in model.platforms:
        net, month.run_cost[pl.idx] = pl.retail_flows(
            model.params.contagion, 0.0 if cover is None else cover[pl.idx])
        month.retail_withdrawals += net
    month.losses["reputation"] += float(month.run_cost.sum())
    for agent in (*model.platforms, *model.banks, *model.guarantors):
        agent.settle_cash()


def chargeoff_after(model) -> np.ndarray:
    """Payments behind after which each platform charges off a defaulted loan: its type's
    ``chargeoff_after_missed``, or the platforms' common one where the type sets none (0)."""
    common = model.params.platforms.chargeoff_after_missed
    return np.array([pl.tp.chargeoff_after_missed or common for pl in model.platforms],
                    dtype=np.int64)


def charge_off(model) -> None:
    """Defaulted loans past their lender's ``chargeoff_after_missed`` are written off;
    recoveries are lower at a failed platform's book that no resolver took over."""
    L, pp, month = model.loans, model.params.platforms, model.month
    old = np.flatnonzero(L.status == LoanStatus.DEFAULTED)
    co = old[L.n_missed[old] >= chargeoff_after(model)[L.platform_idx[old]]]
    bal = L.balance[co].copy()
    live = (model.platform_values("is_active", bool)
            | model.platform_values("is_resolved", bool))[L.platform_idx[co]]
    resolver = pp.resolver_recovery if model.params.contagion.platform_failure else 1.0
    full_rec = bal * pp.recovery_rate
    rec = full_rec * np.where(live, 1.0, resolver)
    model.pools.record("charged_off", L.pool_idx[co], bal)
    model.pools.record("recovered", L.pool_idx[co], rec)
    # the lender's claim ends; the borrower still owes the balance to a collector (7.11)
    model.population.charged_off(L.borrower_idx[co].astype(np.intp), bal)
    L.balance[co] = 0.0
    L.status[co] = LoanStatus.CHARGED_OFF
    month.charge_offs = float(bal.sum())
    # each lender's back-test of its priced loss (Platform.loss_realised) reads its own
    P = len(model.platforms)
    month.net_charge_offs_by_platform = np.bincount(L.platform_idx[co], weights=bal - rec,
                                                    minlength=P)
    month.principal_charged_off_by_platform = np.bincount(
        L.platform_idx[co], weights=L.principal[co], minlength=P)
    month.n_charged_off_by_platform = np.bincount(L.platform_idx[co], minlength=P)
    month.add_credit_losses(credit_loss_channels(bal - full_rec, full_rec - rec, L.cause[co]))
    month.refinance_loan_losses = refinance_loan_losses(bal - full_rec, full_rec - rec,
                                                        L.is_refinance[co])


def post_flows(model) -> None:
    """Post the month's per-pool flows to each funder's balance sheet, in proportion."""
    month = model.month
    flows = model.pools.take_flows()
    P = len(model.platforms)
    per = {k: model.pools.split(v, P) for k, v in flows.items()}
    month.originations = float(flows["originated"].sum())
    for side, agents in ((0, model.platforms), (1, model.banks)):
        o, i, pd_, co, rc = (per[k][side] for k in ("originated", "interest", "paid",
                                                   "charged_off", "recovered"))
        for a in agents:
            j = a.idx
            a.post(**{a.LOANS: o[j] + i[j] - pd_[j] - co[j]}, cash=pd_[j] + rc[j] - o[j],
                   equity=i[j] - (co[j] - rc[j]))
            if side == 0:
                a.record("interest_income", i[j])
                a.record("credit_losses", co[j] - rc[j])
    month.losses_platforms = float((per["charged_off"][0] - per["recovered"][0]).sum())
    bank_loss = per["charged_off"][1] - per["recovered"][1]
    month.losses_banks = float(bank_loss.sum())
    # platform-originated credit losses passing to banks (channel 4, common funder)
    month.bank_joint_losses = bank_loss
    month.losses["common_funder"] += float(bank_loss.sum())
    # guarantors pay their share of covered pools' net charge-offs (channel 8, guarantee)
    guarantors.pay_claims(model, flows["charged_off"] - flows["recovered"])


def pool_balances(model) -> tuple[np.ndarray, np.ndarray]:
    """Open balances by funding pool and status, array (n_pools, 3) for CURRENT,
    DELINQUENT, DEFAULTED, and by platform (the book each manages), RMB, in one pass over
    the book."""
    L = model.loans
    return kernels.balances_by_pool_status(L.status, L.pool_idx, L.balance, model.pools.n,
                                           L.platform_idx, len(model.platforms))


#: the fee's gross-up for balances that pay no fee counts at most this share of the book behind
MAX_NONPERFORMING = 0.5


def set_fee_rates(model) -> None:
    """The servicing fee on this month's pools: the type's fee (``bank_fee``), or, when
    higher, what originating and servicing the loans costs the platform, its operating cost
    plus its origination costs as an annual rate on the pool's expected balance-months, over
    the share of its book that performs (fees are paid on performing balances). The
    price a borrower pays covers these costs (break-even pricing); a partner bank whose share
    of the loan earns that price pays the platform at least what the loan costs it to make and
    service (a bank lending alone would bear the same costs)."""
    month, pools = model.month, model.pools
    # a platform's month's loans are its month's pool: their expected balance-months, as
    # tallied (Month.exposure_by_platform; call Month.tally first)
    exposure = month.exposure_by_platform
    for pl in model.platforms:
        q = month.pool_of[pl.idx]
        if q < 0 or exposure[pl.idx] <= 0:
            continue
        cost = (pl.tp.operating_cost
                + 12.0 * month.origination_cost_by_platform[pl.idx] / exposure[pl.idx])
        # the fee is paid on performing balances only: grossed up by the share of its book
        # that is behind (last month's), it covers the costs in expectation
        performing = 1.0 - min(pl.last_delinquency_30, MAX_NONPERFORMING)
        pools.fee_rate[q] = max(pl.tp.bank_fee, cost / performing)


def servicing_fees(model, perf: np.ndarray) -> None:
    """Banks pay each platform a servicing fee on the performing balance they fund, at each
    pool's fee rate (:func:`set_fee_rates`)."""
    fees = model.pools.bank_by_platform(perf * model.pools.fee_rate / 12.0,
                                        len(model.platforms))  # P x B
    for pl in model.platforms:
        f = fees[pl.idx].sum()
        pl.post(cash=f, equity=f)
        pl.record("fee_income", f)
    for bk in model.banks:
        f = fees[:, bk.idx].sum()
        bk.post(cash=-f, equity=-f)


def provisions(model, by_status: np.ndarray) -> None:
    """Allowance for losses: a share of each open balance by status."""
    reg = model.regulator.policy
    rates = np.array([reg.provision_rate, PROVISION_DELINQUENT, PROVISION_DEFAULTED])
    target = by_status @ rates
    plat, bank = model.pools.split(target, len(model.platforms))
    for pl in model.platforms:
        pl.record("provision_charge", plat[pl.idx] - pl.allowance)
        pl.provision(plat[pl.idx])
    for bk in model.banks:
        bk.provision(bank[bk.idx])


def costs_and_bank_income(model, managed: np.ndarray) -> None:
    """Platforms pay operating, origination, fixed and funding costs (``managed``: the open
    book each manages, RMB); banks earn on their other loans, pay deposit and operating
    costs, and pay out dividends."""
    pp, bp = model.params.platforms, model.params.banks
    bench = model.macro.benchmark_rate
    for pl in model.platforms:
        lines = {"operating_cost": pl.tp.operating_cost / 12.0 * managed[pl.idx],
                 "origination_cost": model.month.origination_cost_by_platform[pl.idx],
                 "fixed_cost": pp.fixed_cost_share * pl.initial_equity if pl.is_active else 0.0,
                 "funding_cost": (bench + pl.tp.funding_spread) / 12.0 * pl.debt}
        cost = (lines["operating_cost"] + lines["origination_cost"] + lines["fixed_cost"]
                + lines["funding_cost"])  # summed in the order it always was: same bits
        pl.post(cash=-cost, equity=-cost)
        for line, amount in lines.items():
            pl.record(line, amount)
    for bk in model.banks:
        income = (bp.other_loan_yield - bp.other_loan_loss) / 12.0 * bk.other_loans
        cost = (bp.deposit_rate / 12.0 * bk.deposits
                + bp.operating_cost / 12.0 * (bk.other_loans + bk.joint_loans))
        bk.post(cash=income - cost, equity=income - cost)
        bk.pay_dividend(bp.payout_ratio)
