"""Phase 10, platforms adapt: matured loans train the scoring models, the book drops closed
loans and sets how many of next month's loans keep their features, platforms score their
books for early warning (7.21), each platform's pricing strategy adapts its margin and
cut-off, models are refitted on schedule, reputations recover, unfunded platforms exit, and
new platforms may enter.

References:
    docs/ODD.md, 3. Process overview, phase 10; 7. Submodels, "Scoring", "Pricing", "Entry
    and exit".
"""

from __future__ import annotations

import numpy as np

from lendsim.agents.rules import marketing
from lendsim.simulation import early_warning, setup
from lendsim.simulation.ledger import LoanStatus
from lendsim.simulation.month import closing_book
from lendsim.simulation.phases.failures import fail_platform
from lendsim.simulation.strategies import MarketSignals
from lendsim.simulation.params import PLATFORM_TYPES

#: Compact the loan book when more than this share of its rows are closed loans. 0: every
#: month; closed rows left for a month stay through the next month's repayment, the month's
#: peak of memory (10^6 borrowers, 36 months: peak RSS 2167 MB with 0.25, 2034 MB with 0).
COMPACT_CLOSED_SHARE = 0.0


def step(model) -> None:
    month = model.month
    month.tally()
    train_on_matured(model)
    drop_closed_loans(model)
    pp = model.params.platforms
    L = model.loans
    # how many of next month's loans keep their features, from this month's lending
    L.keep_every = feature_sampling(L.n_booked - L.booked_before_month, pp.training_window,
                                    len(model.platforms))
    L.booked_before_month = L.n_booked
    P = len(model.platforms)
    # after compaction no phase changes a loan this month: the tallies serve to the end
    book = closing_book(model)
    is_open = book.is_open
    managed, d30, _, _, _, n_open = book.by_platform
    # behavioural early warning (7.21); may bring credit-line reviews forward
    early_warning.step(model, is_open, managed, n_open)
    active = model.platform_values("is_active", bool)
    share = np.where(active, managed, 0.0)
    share = share / share.sum() if share.sum() > 0 else share
    tw = np.where(active, model.target_weight[:P], 0.0)
    target = tw / tw.sum() if tw.sum() > 0 else tw
    # a rate measured on a handful of loans is noise: nobody reacts to it
    delinquency = np.divide(d30, managed, out=np.zeros(P),
                            where=(managed > 0) & (n_open >= pp.min_book))
    net_co = month.net_charge_offs_by_platform
    for pl in model.platforms:
        pl.last_delinquency_30 = float(delinquency[pl.idx])
        pl.record_losses(net_co[pl.idx], managed[pl.idx],
                         month.principal_charged_off_by_platform[pl.idx],
                         month.n_charged_off_by_platform[pl.idx])
    model.market_share = share
    bp, reg = model.params.borrowers, model.regulator.policy
    # the logit coefficient of APR in borrowers' choice (noise scale 0: choice is certain)
    price_sensitivity = (bp.price_sensitivity / bp.choice_noise if bp.choice_noise > 0
                         else np.inf)
    # marketing first: it is this month's expense, so the return on equity below is after it
    spend = plan_marketing(model, active)
    for pl in model.platforms:
        pl.spend_on_marketing(float(spend[pl.idx]), pp.goodwill_decay)  # 0: goodwill fades
    equity_now = model.platform_values("equity")
    prev = np.r_[model.prev_equity, equity_now[len(model.prev_equity):]]
    for pl in model.platforms:
        if not pl.is_active:
            continue
        pl.roe_history.append(12.0 * (equity_now[pl.idx] - prev[pl.idx])
                              / max(prev[pl.idx], 1e-9))
        pl.profit_history.append(equity_now[pl.idx] - prev[pl.idx] + pl.marketing)
        pl.adapt(MarketSignals(share[pl.idx], target[pl.idx], delinquency[pl.idx],
                               price_sensitivity, managed[pl.idx],
                               pl.own_share(reg) / pl.target_leverage(reg)), pp)
        # rationed: its own capacity set the month's lending and it was used up
        i = pl.idx
        rationed = bool(i < len(month.own_limited) and month.own_limited[i]
                        and month.capacity[i] < bp.min_loan)
        # a platform with less than a year of results has no earnings record to pay
        # dividends from or to judge a raise by: it goes by its business plan, its type's
        # target return (as plan_marketing does)
        established = len(pl.roe_history) == pl.roe_history.maxlen
        pl.manage_capital(rationed, float(np.mean(pl.roe_history)) if established
                          else pl.tp.target_roe, reg, pp, established=established)
        if (model.t + pl.idx) % pp.retrain_every == 0:
            pl.retrain(pp)
        pl.reputation += model.params.contagion.reputation_recovery * (1.0 - pl.reputation)
        if pl.months_unfunded >= pp.funding_exit_months:
            fail_platform(model, pl, "platform_exit", "common_funder",
                          f"{pl.kind}: no funding for {pl.months_unfunded} months")
            month.platform_exits += 1
    model.prev_equity = model.platform_values("equity")  # after raises and payouts
    orig, apr_w = month.orig_by_platform, month.apr_by_platform
    for i in np.flatnonzero(orig > 0):
        model.platforms[i].posted_apr = float(apr_w[i] / orig[i])  # the price borrowers see
    maybe_enter(model)


def plan_marketing(model, active: np.ndarray) -> np.ndarray:
    """This month's marketing of every platform, RMB: toward the goodwill whose marginal
    profit equals its user cost (:mod:`lendsim.agents.rules.marketing`). What its demand
    earns it is its monthly profit before marketing, the mean of the last 12 months (none
    while that is negative); a platform with less than a year of results plans on its type's
    target return on its equity, as its business plan does (a new lender markets to launch).
    The return it needs on money spent is its type's target return on equity. None for
    platforms not live, and none under ``platforms.brand_source = 'share'``."""
    pp, bp = model.params.platforms, model.params.borrowers
    P = len(model.platforms)
    if pp.brand_source != "marketing":
        return np.zeros(P)
    income = np.array([max(float(np.mean(pl.profit_history)), 0.0)
                       if len(pl.profit_history) == pl.profit_history.maxlen
                       else pl.tp.target_roe * max(pl.equity, 0.0) / 12.0
                       for pl in model.platforms])
    need = np.array([pl.tp.target_roe / 12.0 for pl in model.platforms])
    goodwill = model.platform_values("goodwill")
    target = marketing.goodwill_target(income, marketing.voice_share(goodwill, active),
                                       bp.brand_weight, bp.choice_noise, need,
                                       pp.goodwill_decay)
    return np.where(active, marketing.marketing_spend(target, goodwill, pp.goodwill_decay), 0.0)


def train_on_matured(model) -> None:
    """Hand this month's matured loans to their platforms' training windows.

    Only loans whose features the book kept can train (all of them unless the book samples,
    :func:`feature_sampling`); each stands for its sample weight of matured loans.
    Platforms keep only their last ``platforms.training_window`` matured loans, so when far
    more mature in one month a systematic sample of every k-th stands for all of them, with
    frequency weight k (the fitted default rate stays unbiased); a platform's share is
    thinned the same way to at most a window's worth. Each loan also weighs by its principal
    over the mean principal of the platform's loans kept this month: the fitted PD is then
    right per RMB lent, as the expected loss is priced; a fit by count weighs a small loan as
    much as a large one (exposure-weighted against count-weighted default rates: Basel
    Committee 2005, *Studies on the Validation of Internal Rating Systems*, WP 14).
    """
    month = model.month
    queue, month.matured = month.matured, []
    L, pp = model.loans, model.params.platforms
    if L.ns < L.n:  # the book kept the features of only a sample of its loans
        queue = [(r[L.is_sampled(r)], label) for r, label in queue]
    n = sum(len(rows) for rows, _ in queue)
    if not n:
        return
    stride = max(1, -(-n // (pp.training_window * len(model.platforms))))
    rows, y, offset = [], [], 0
    for r, label in queue:
        pick = np.arange((-offset) % stride, len(r), stride)  # every stride-th of the month
        offset += len(r)
        rows.append(r[pick])
        y.append(np.full(len(pick), label, dtype=np.int8))
    rows, y = np.concatenate(rows), np.concatenate(y)
    plat = L.platform_idx[rows]
    order = np.argsort(plat.astype(np.int16), kind="stable")  # radix sort: small ints
    cuts = np.r_[0, np.flatnonzero(np.diff(plat[order])) + 1, len(order)]
    for a, b in zip(cuts[:-1], cuts[1:]):
        # more than a window's worth: every k-th stands for k (not the last ones: the
        # defaulted rows come last, and keeping the tail would over-count defaults)
        k = -(-(b - a) // pp.training_window)
        idx = order[a:b:k]
        X, w = L.training_rows(rows[idx])
        # by the RMB at stake: the loss is priced per RMB (docs/ODD.md 7.10, *Weights by
        # amount*)
        amount = L.principal[rows[idx]]
        mean = amount.mean()
        weight = stride * k * w.astype(float) * (amount / mean if mean > 0 else 1.0)
        model.platforms[plat[idx[0]]].learn(X, y[idx], weight=weight)


#: The book keeps the features of enough of a month's new loans to fill this many training
#: windows of every platform (:func:`feature_sampling`): the thinning at maturity still
#: chooses among several times what the windows take.
FEATURE_SAMPLE_WINDOWS = 4


def feature_sampling(new_loans: int, training_window: int, n_platforms: int) -> int:
    """Every how many loans the book keeps the features of (``LoanBook.keep_every``), set
    each month from the month's number of new loans: 1 (every loan) until they are more
    than ``FEATURE_SAMPLE_WINDOWS`` times what all platforms' training windows hold, then
    the largest whole stride that still keeps that many.

    The features are kept only to train lenders when their loans mature, and a lender
    trains on its last ``training_window`` matured loans, sampled at maturity when more
    mature (:func:`train_on_matured`); at 10^6 borrowers the book books over a million loans a
    month, about 25 times what the windows take, so keeping every loan's features (23 bytes
    each, on a book of about 10^7 loans) would keep what no lender ever reads. Sampling at
    origination, every k-th loan standing for k, is as unbiased as sampling at maturity: it
    does not look at the outcome (Cochran 1977, *Sampling Techniques*, ch. 8, systematic
    sampling).

    Examples:
        >>> feature_sampling(30_000, 5_000, 10), feature_sampling(1_300_000, 5_000, 10)
        (1, 6)
    """
    return max(1, new_loans // (FEATURE_SAMPLE_WINDOWS * training_window * n_platforms))


def best_entry(kinds: list[str], records: list[tuple[str, list[float]]]) -> tuple[str, float]:
    """The type an entrant chooses among ``kinds`` and the return it expects there, from the
    live platforms' ``(type, ROE record)``: the highest mean over a type's platforms of their
    mean ROE record; a type with no live platform with a record is judged by the market's
    mean over all of them (0 if none has a record yet). Ties go to the first in ``kinds``.

    Examples:
        >>> best_entry(["micro_lender", "consumer_finance"],
        ...            [("micro_lender", [0.1, 0.3]), ("consumer_finance", [0.1]),
        ...             ("embedded", [0.4])])
        ('micro_lender', 0.2)
        >>> best_entry(["micro_lender", "consumer_finance"], [("embedded", [0.3])])
        ('micro_lender', 0.3)
    """
    means = {}
    for kind, record in records:
        if record:
            means.setdefault(kind, []).append(float(np.mean(record)))
    market = float(np.mean([m for v in means.values() for m in v])) if means else 0.0
    expected = [float(np.mean(means[k])) if k in means else market for k in kinds]
    best = int(np.argmax(expected))
    return kinds[best], expected[best]


def drop_closed_loans(model) -> None:
    """Compact the book once this month's closed loans have trained their lenders: every
    later pass this month (adaptation, supervision, data collection) then reads only open
    loans. By then about a third of the rows are closed, most of them last month's
    credit-line draws, repaid."""
    L = model.loans
    # counted: the mask's mean() would add 10^7 floats (a few ms at 10^6 borrowers)
    closed = np.count_nonzero(L.status > LoanStatus.DEFAULTED)
    if not L.n or closed / L.n <= COMPACT_CLOSED_SHARE:
        return
    L.compact()


def maybe_enter(model) -> None:
    """A new platform enters, at random, into the type whose live platforms earn the highest
    trailing ROE, while that is above ``entry_roe``, if it has the regulator's entry capital.

    An entrant weighs the return of the business it would do: the mean over the type's live
    platforms of their mean ROE record (the market's mean over all live platforms for a type
    that has none live). Entry follows each segment's own profits, so a segment that earns its
    cost of capital replaces the lenders it loses while one that does not, draws none
    (Bresnahan & Reiss 1991, J. Polit. Econ. 99, 977-1009: entry thresholds by market)."""
    pp, reg = model.params.platforms, model.regulator.policy
    active = [pl for pl in model.platforms if pl.is_active]
    if len(model.platforms) >= pp.max_n or not active:
        return
    kinds = [k for k in PLATFORM_TYPES if pp.type_params(k).may_enter
             and pp.type_params(k).weight > 0]
    kinds = kinds or list(PLATFORM_TYPES)
    kind, roe = best_entry(kinds, [(pl.kind, list(pl.roe_history)) for pl in active])
    if roe <= pp.entry_roe or model.rng.random() >= pp.entry_prob:
        return
    capital = pp.type_params(kind).equity_per_borrower
    if capital < reg.entry_capital:
        model.log_event("entry_blocked", "platform", -1, capital * model.n_borrowers,
                        f"{kind}: capital below the regulator's entry capital")
        return
    pl = setup.add_platform(model, kind, initial=False)
    model.month.platform_entries += 1
    model.log_event("platform_entry", "platform", pl.idx, pl.equity, kind)
