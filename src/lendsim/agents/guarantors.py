"""Guarantee and insurance pools: third-party guarantors (credit insurers) and P2P-style risk
reserve funds that pay the funders of covered loans a share of their net charge-offs, up to
their capital.

One class serves both. A third-party guarantor insures several platforms; a risk reserve
fund (``guarantee.kind = 'reserve'``) is the same balance sheet held for one platform, for its
retail investors: in this model a P2P platform funds its loans itself (own share 1), from its
retail investors' money, so paying "the investors first" from the reserve is paying the
platform's own share of each loss. The premium stands for the share of interest a platform
puts into its reserve: a rate on the covered balance is the same money at a given price.

Who pays the premium: the insured platform, out of its income. Its pricing sees the cover
(:func:`pricing_terms`): while its guarantor is live and within its leverage limit, a lender
on break-even pricing counts ``(1 - cover_share) x EL + premium_rate`` for a loan's credit
risk instead of ``EL`` (the loss it keeps, and the premium), so it prices and approves as an
insured lender: risky loans (``cover_share x EL > premium_rate``) get cheaper, safe ones
dearer (moral hazard, Holmstrom 1979; adverse selection against a flat premium, Rothschild &
Stiglitz 1976).

Who relies on the cover: the insured platform's retail investors too. While its guarantor is
live they read bad news net of the cover they believe in (:func:`perceived_loss`), as deposit
insurance calms depositors; when it fails, every platform it insured loses that belief at
once, and their investors run together (the common exposure through which a pool can fuel a
cascade).

Cover attaches to a funding pool (one platform's loans of one month) when the pool is first
posted, if the platform's guarantor is live and within its leverage limit; a guarantor that
fails keeps its liabilities on the pools it covered and pays their claims from what cash it
has left (with ``contagion.guarantee`` off, a backstop pays the rest).

References:
    Katsamakas, E. & Sanchez-Cartas, J. M. (2024): insurance pools in P2P lending can fuel
    cascading defaults; screening rules do better. Diamond, D. W. & Dybvig, P. H. (1983),
    J. Polit. Econ. 91, 401-419 (insured depositors do not run). docs/calibration.md, 2.4 (depleted
    guarantee and risk-reserve funds set off the 2018-19 P2P runs) and section 3, fact 7.
    docs/ODD.md, 7.17.10.
"""

from __future__ import annotations

import mesa
import numpy as np

from lendsim.agents.institutions import Institution


class Guarantor(Institution, mesa.Agent):
    """A guarantor or a platform's risk reserve fund.

    Balance sheet (RMB): assets ``cash`` (its investments); liabilities ``reserve`` (for claims
    on covered loans already in default: ``cover_share x (1 - recovery_rate)`` of their
    balance) and ``debt`` (a backstop's funding, only with ``contagion.guarantee`` off);
    ``equity``. Premiums add to cash and equity, claims paid take from both. It fails when its
    equity is gone.

    Attributes:
        owner: the platform whose reserve fund it is (None for a third-party guarantor).
        insured: indices of the platforms it insures.
        premiums, claims_due, claims_paid: this month's flows, RMB.
        covered_balance: open balance of the loans it covers, as of the last accounting, RMB.
    """

    BALANCE_FIELDS = ("cash", "reserve", "debt", "equity")
    LOANS = ""

    def __init__(self, model, idx: int, capital: float, owner: int | None = None):
        super().__init__(model)
        self.idx = idx
        self.owner = owner
        self.insured: list[int] = []
        self.cash = float(capital)
        self.reserve = 0.0
        self.debt = 0.0
        self.equity = float(capital)
        self.initial_capital = float(capital)
        self.is_failed = False
        self.failed_step: int | None = None
        self.premiums = self.claims_due = self.claims_paid = self.dividends = 0.0
        self.covered_balance = 0.0

    def collect_premium(self, amount: float) -> None:
        """A premium received, RMB."""
        self.premiums += amount
        self.post(cash=amount, equity=amount)

    def pay_claims(self, due: float, backstop: bool) -> float:
        """Pay ``due`` RMB of claims from cash, or all of it when a backstop funds the rest;
        returns what was paid."""
        paid = due if backstop else min(due, max(self.cash, 0.0))
        self.claims_due += due
        self.claims_paid += paid
        self.post(cash=-paid, equity=-paid)
        return paid

    def set_reserve(self, target: float) -> None:
        """Set the claims reserve to ``target`` (RMB); the change is charged to equity."""
        delta = target - self.reserve
        self.post(reserve=delta, equity=-delta)

    def pay_dividend(self, target_leverage: float) -> None:
        """Pay out equity above ``covered_balance / target_leverage`` and above the initial
        capital (a guarantor does not hoard its premiums; its owners take them out)."""
        keep = max(self.covered_balance / target_leverage, self.initial_capital)
        div = min(self.equity - keep, self.cash)
        if div > 0 and not self.is_failed:
            self.dividends += div
            self.post(cash=-div, equity=-div)

    def balance_gap(self) -> float:
        """assets - liabilities - equity; zero up to rounding."""
        return self.cash - self.reserve - self.debt - self.equity

    def settle_cash(self) -> None:
        """A backstop covers a cash shortfall (only possible with contagion.guarantee off);
        surplus cash repays it."""
        if self.cash < 0:
            self.debt -= self.cash
            self.cash = 0.0
        elif self.debt > 0:
            r = min(self.cash, self.debt)
            self.post(cash=-r, debt=-r)

    def fail(self, step: int) -> None:
        self.is_failed = True
        self.failed_step = step


# ============================================================== the market's guarantors
def create(model) -> list[Guarantor]:
    """Third-party guarantors at start (``guarantee.n``, kind 'guarantor'), each with
    ``capital_per_borrower x borrowers`` of capital; reserve funds are made per platform by
    :func:`insure`. Also the maps platform -> guarantor and pool -> guarantor (-1: none)."""
    gp = model.params.guarantee
    model.insurer = np.full(model.params.platforms.max_n, -1, dtype=np.intp)
    model.cutoff_before = {}  # insured platforms' own cut-offs while moral hazard raises them
    model.pool_cover = np.zeros(0, dtype=np.intp)
    if gp.n == 0 or gp.kind == "reserve":
        return []
    cap = gp.capital_per_borrower * model.n_borrowers
    return [Guarantor(model, i, cap) for i in range(gp.n)]


def insure(model, pl) -> None:
    """Platform ``pl`` (at start or on entry) is insured if its type is: by guarantor
    k mod n (its k-th insured platform), or by a new reserve fund of its own."""
    gp = model.params.guarantee
    if gp.n == 0 or gp.insured_type not in ("all", pl.kind):
        return
    if gp.kind == "reserve":
        g = Guarantor(model, len(model.guarantors),
                      gp.capital_per_borrower * model.n_borrowers, owner=pl.idx)
        model.guarantors.append(g)
    else:
        k = int((model.insurer[: pl.idx] >= 0).sum())
        g = model.guarantors[k % gp.n]
    g.insured.append(pl.idx)
    model.insurer[pl.idx] = g.idx


def is_on(model) -> bool:
    return bool(model.guarantors)


def enforce_terms(model) -> None:
    """The cover's terms for the month's lending, at each live guarantor's insured platforms.

    Screening policy: it covers only loans with an estimated lifetime PD at or below
    ``screening_pd``, so they lend at a cut-off no higher (the condition of cover). Pool
    policy with ``moral_hazard`` m > 0: each screens on the loss it keeps and approves up to
    ``pd_cutoff / (1 - m x cover_share)`` (at most 1) this month; :func:`restore_cutoffs`
    puts its own cut-off back before it adapts it.
    """
    gp = model.params.guarantee
    model.cutoff_before = {}
    relief = 1.0 - gp.moral_hazard * gp.cover_share
    for g in model.guarantors:
        if g.is_failed:
            continue
        for i in g.insured:
            pl = model.platforms[i]
            if gp.policy == "screening":
                pl.pd_cutoff = min(pl.pd_cutoff, gp.screening_pd)
            elif relief < 1.0 and pl.is_active:
                model.cutoff_before[i] = pl.pd_cutoff
                pl.pd_cutoff = min(1.0, pl.pd_cutoff / max(relief, 1e-12))


def pricing_terms(model) -> tuple[np.ndarray, np.ndarray] | None:
    """Each platform's ``(cover_share, premium_rate)`` on the loans it makes now, as its
    pricing sees them (``PlatformArrays.retained_loss_rate``): the covered weight of a new
    pool (``cover_share``; for a reserve fund times the platform's own share) and the
    premium rate, where the platform's guarantor is live and within its leverage limit
    (:func:`attach_pools` will then cover the month's pool); 0 and 0 elsewhere. None
    without guarantors (the default market: its pricing is untouched)."""
    if not is_on(model):
        return None
    gp = model.params.guarantee
    P = len(model.platforms)
    cover, premium = np.zeros(P), np.zeros(P)
    reg = model.regulator.policy
    for g in model.guarantors:
        if g.is_failed or g.covered_balance > gp.max_leverage * max(g.equity, 0.0):
            continue
        for i in g.insured:
            share = model.platforms[i].own_share(reg) if gp.kind == "reserve" else 1.0
            cover[i] = gp.cover_share * share
            premium[i] = gp.premium_rate
    return cover, premium


def perceived_loss(lost, cover):
    """The reputation loss an insured platform's retail investors act on: ``lost x (1 -
    cover)``, where ``cover`` is the share of losses they believe a live guarantor pays (0
    once it has failed). Pure; scalars or arrays.

    Investors who believe their money guaranteed read bad news as the loss they keep, as
    deposit insurance calms depositors (Diamond & Dybvig 1983, J. Polit. Econ. 91, 401-419);
    so the cover they relied on goes at once when the guarantor fails, and every platform it
    insured meets its full run together (docs/calibration.md, 2.4: the 2018-19 P2P runs
    followed depleted guarantee funds).

    Examples:
        >>> perceived_loss(0.5, 0.8)
        0.09999999999999998
    """
    return lost * (1.0 - cover)


def investor_cover(model) -> np.ndarray | None:
    """Each platform's ``cover`` as its retail investors see it (:func:`perceived_loss`):
    ``cover_share`` (kind ``reserve``: times the platform's own share) while its guarantor
    is live, 0 elsewhere. None without guarantors (the default market: untouched).
    Investors see whether the guarantor stands, not its leverage."""
    if not is_on(model):
        return None
    gp, reg = model.params.guarantee, model.regulator.policy
    cover = np.zeros(len(model.platforms))
    for g in model.guarantors:
        if g.is_failed:
            continue
        for i in g.insured:
            share = model.platforms[i].own_share(reg) if gp.kind == "reserve" else 1.0
            cover[i] = gp.cover_share * share
    return cover


def restore_cutoffs(model) -> None:
    """The insured platforms' own cut-offs again, after the month's lending (moral hazard
    raises them for the lending only)."""
    for i, c in model.cutoff_before.items():
        model.platforms[i].pd_cutoff = c
    model.cutoff_before = {}


def attach_pools(model) -> None:
    """Pools opened since the last month get their platform's live guarantor's cover,
    unless its covered balance is already above ``max_leverage x`` its equity."""
    if not is_on(model):
        return
    restore_cutoffs(model)  # the month's lending is done
    old = len(model.pool_cover)
    new = model.insurer[model.pools.platform_idx[old:]]
    lev = model.params.guarantee.max_leverage
    for j, g_idx in enumerate(new):
        if g_idx >= 0:
            g = model.guarantors[g_idx]
            if g.is_failed or g.covered_balance > lev * max(g.equity, 0.0):
                new[j] = -1
    model.pool_cover = np.r_[model.pool_cover, new]


def covered_weight(model) -> np.ndarray:
    """The share of each pool's loss a guarantor covers: ``cover_share``, times the
    platform's share for a reserve fund (it covers the platform's own investors), 0 for
    pools without cover."""
    gp = model.params.guarantee
    w = np.where(model.pool_cover >= 0, gp.cover_share, 0.0)
    if gp.kind == "reserve":
        w = w * model.pools.platform_share
    return w


def pay_claims(model, net_loss: np.ndarray) -> None:
    """Claims on the month's charge-offs: each covered pool's funders are paid
    ``covered_weight x`` its net charge-off (charged off less recovered), each in proportion
    to its share of the pool (the platform only, for a reserve fund), as far as the
    guarantor's cash goes. What a failed guarantor cannot pay is the month's
    ``losses_guarantee`` (what it would have paid had it been solvent, less what it paid);
    with ``contagion.guarantee`` off a backstop pays it."""
    if not is_on(model):
        return
    month, pools = model.month, model.pools
    P = len(model.platforms)
    due = covered_weight(model) * net_loss
    backstop = not model.params.contagion.guarantee
    paid = np.zeros_like(due)
    for g in model.guarantors:
        mine = model.pool_cover == g.idx
        total = float(due[mine].sum())
        if total <= 0:
            continue
        got = g.pay_claims(total, backstop)
        paid[mine] = due[mine] * (got / total)
    if model.params.guarantee.kind == "reserve":
        to_plat = np.bincount(pools.platform_idx, weights=paid, minlength=P)
        to_bank = np.zeros(len(model.banks))
    else:
        to_plat, to_bank = pools.split(paid, P)
    for agents, amount in ((model.platforms, to_plat), (model.banks, to_bank)):
        for a in agents:
            if amount[a.idx]:
                a.post(cash=amount[a.idx], equity=amount[a.idx])
    for pl in model.platforms:
        pl.record("guarantee_claims", float(to_plat[pl.idx]))
    unpaid = due - paid
    month.losses["guarantee"] += float(unpaid.sum())
    month.lost_cover = np.bincount(pools.platform_idx, weights=unpaid, minlength=P)


def premiums_and_reserves(model, by_status: np.ndarray) -> None:
    """Each active insured platform pays ``premium_rate / 12`` on the performing balance of
    its pools a live guarantor covers; each guarantor reserves for the claims its covered
    defaulted loans will bring (``covered_weight x (1 - recovery_rate)`` of their balance).

    Args:
        by_status: open balances by pool and status, array (n_pools, 3).
    """
    if not is_on(model):
        return
    gp, pools = model.params.guarantee, model.pools
    w = covered_weight(model)
    perf = by_status[:, 0] + by_status[:, 1]
    open_bal = by_status.sum(axis=1)
    rec = model.params.platforms.recovery_rate
    active = model.platform_values("is_active", bool)
    for g in model.guarantors:
        mine = model.pool_cover == g.idx
        g.covered_balance = float((open_bal[mine] * (w[mine] > 0)).sum())
        g.set_reserve(float((w[mine] * (1.0 - rec) * by_status[mine, 2]).sum()))
        if g.is_failed:
            continue
        prem = gp.premium_rate / 12.0 * np.bincount(
            pools.platform_idx[mine], weights=perf[mine], minlength=len(model.platforms))
        for i in np.flatnonzero((prem > 0) & active[: len(prem)]):
            model.platforms[i].post(cash=-prem[i], equity=-prem[i])
            model.platforms[i].record("guarantee_premiums", float(prem[i]))
            g.collect_premium(float(prem[i]))
        g.pay_dividend(gp.target_leverage)


def fail_guarantors(model) -> None:
    """Guarantors whose equity is gone fail: event ``guarantor_failure``, a place in the
    month's cascade, and (``contagion.guarantee``) a reputation shock to every live platform
    they insured: its retail investors run (the reputation channel's withdrawals)."""
    cp, gp = model.params.contagion, model.params.guarantee
    for g in model.guarantors:
        if g.is_failed or g.equity > 0:
            continue
        g.fail(model.t)
        what = (f"reserve fund of platform {g.owner}" if g.owner is not None
                else f"guarantor of platforms {', '.join(map(str, g.insured))}")
        detail = f"{what}: equity exhausted"
        model.month.failures.append(("guarantor", g.idx, "credit", detail))
        model.month.guarantor_failures += 1
        model.log_event("guarantor_failure", "guarantor", g.idx, g.covered_balance, detail)
        if cp.guarantee:
            for i in g.insured:
                pl = model.platforms[i]
                if pl.is_active:
                    pl.reputation *= 1.0 - gp.reputation_hit


def lost_cover(model, pl) -> bool:
    """Whether platform ``pl``'s guarantor has failed with contagion.guarantee on (its
    failure's channel is then ``guarantee``)."""
    if not is_on(model) or not model.params.contagion.guarantee:
        return False
    g = model.insurer[pl.idx]
    return g >= 0 and model.guarantors[g].is_failed


def settle(model) -> None:
    for g in model.guarantors:
        g.settle_cash()


def month_row(model) -> dict[str, float]:
    """The model table's guarantee columns for this month."""
    gs = model.guarantors
    return {
        "guarantee_premiums": float(sum(g.premiums for g in gs)),
        "guarantee_claims_paid": float(sum(g.claims_paid for g in gs)),
        "guarantor_equity": float(sum(g.equity for g in gs if not g.is_failed)),
        "guarantor_failures": model.month.guarantor_failures,
    }


def start_month(model) -> None:
    """Reset the guarantors' monthly flows; the screening policy's terms bind (before the
    month's lending)."""
    for g in model.guarantors:
        g.premiums = g.claims_due = g.claims_paid = g.dividends = 0.0
    enforce_terms(model)


