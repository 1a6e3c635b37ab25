"""Phase 6, underwriting: applicants whose request no credit line covered apply to platforms
in order of preference; platforms score, price, check the cap and the regulator's rules, set
a limit and ration their capacity; approved loans are booked; borrowers spend.

The same functions serve borrowing to repay (*repayment*) and line reviews (*credit lines*).

References:
    docs/ODD.md, 3. Process overview, phase 6; 7. Submodels, "Platform choice",
    "Underwriting", "Pricing", "Booking and accounts".
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from lendsim import kernels
from lendsim.agents import guarantors
from lendsim.agents.banks import Bank
from lendsim.agents.platforms import PlatformArrays
from lendsim.agents.rules import choice, underwriting
from lendsim.simulation.features import (N_FEATURES, alt_features, borrower_features,
                                         late_accounts, month_log_incomes)

#: A platform refuses, through the bureau, a covered borrower who defaulted with anyone this
#: many months ago or less (the bureau's memory of a default).
BUREAU_DEFAULT_MEMORY_MONTHS = 24

#: Weight of last month's applications and approvals in borrowers' approval beliefs (7.5):
#: the counts halve each month, so beliefs follow what lenders did in the last month or two.
APPROVAL_MEMORY = 0.5


def step(model) -> None:
    month = model.month
    b, amount, conv = month.applicants, month.request, month.is_convenience
    granted = month.granted
    n_choices = model.params.borrowers.max_applications
    model.approval_counts *= APPROVAL_MEMORY  # beliefs about approval fade (7.5)
    rest = np.flatnonzero(granted == 0)
    granted[rest] = apply(model, b[rest], amount[rest], n_choices, is_refinance=False,
                          one_month=conv[rest], product="purchase")
    model.population.cash[b] += granted
    bc = month.cash_applicants
    model.population.cash[bc] += apply(model, bc, month.cash_request, n_choices,
                                       is_refinance=False, product="cash")
    month.consumption = float(model.population.spend(month.due_estimate).sum())


def platform_arrays(model) -> PlatformArrays:
    """What underwriting reads of every platform this month."""
    reg = model.regulator.policy
    return PlatformArrays.of(model.platforms, model.macro.benchmark_rate,
                             model.params.platforms, reg,
                             Bank.hurdle_rate(model.params.banks, reg),
                             guarantors.pricing_terms(model))


def apply(model, b_idx: np.ndarray, amount: np.ndarray, n_choices: int, is_refinance: bool,
          one_month: np.ndarray | None = None, product: str = "cash") -> np.ndarray:
    """Applicants ``b_idx`` ask for ``amount`` each of ``product`` credit (``"purchase"`` or
    ``"cash"``); they apply to the platforms that offer it, in order of preference, until
    served or out of choices. Returns the amount granted to each, RMB."""
    granted = np.zeros(len(b_idx))
    if not len(b_idx):
        return granted
    bp, month = model.params.borrowers, model.month
    pop, P = model.population, len(model.platforms)
    debt = model.debt_now()
    g = platform_arrays(model)
    is_open = (g.is_active & (month.capacity > 0)
               & (g.serves_purchase if product == "purchase" else g.serves_cash))
    has_account = debt.owes(b_idx)  # (applicants, platforms) bool
    # utility per unit of APR: one number, or one per applicant (7.5)
    beta = choice.price_sensitivity(bp.price_sensitivity, pop.risk[b_idx],
                                    bp.price_sensitivity_risk)
    cols = choice_columns(is_open)  # the search's columns; a choice k is platform cols[k]
    util = noisy_utilities(model, g, b_idx, has_account, beta, cols)
    seg = pop.risk_segment[b_idx]
    outside, hassle, belief, years = search_terms(model, seg, has_account, g, one_month,
                                                  product, is_refinance, beta)
    if hassle is not None:  # per platform, and per applicant and platform: the open ones'
        hassle, belief, years = (open_columns(x, cols) for x in (hassle, belief, years))
    cutoff = g.pd_cutoff[cols]
    stopped = np.zeros(len(b_idx), dtype=bool)  # stopped because doing without was better
    n_applied = np.zeros(len(b_idx), dtype=np.int32)
    remaining = amount.astype(float).copy()
    looking = np.arange(len(b_idx))
    # with no platform open no one applies: all stay rationed, as a search among
    # platforms that are all closed would leave them
    for _ in range(min(n_choices, P) if len(cols) else 0):
        # the next choice only for those still looking (most are served at the first);
        # ``util`` keeps only their rows, in the order of ``looking``
        still = np.flatnonzero(remaining[looking] >= bp.min_loan)
        if not len(still):
            break
        if len(still) < len(looking):  # rows kept in place: no second matrix
            looking, util = looking[still], kernels.keep_rows(util, still)
        if outside is None and hassle is None:
            choice_k = choice.next_choice(util)  # in place
        else:  # Weitzman's rule: reservation values against doing without (7.5)
            key = util if hassle is None else choice.reservation_value(
                util, choice.hassle_utility(remaining[looking], years[looking],
                                            hassle=hassle,
                                            price_sensitivity=beta if np.ndim(beta) == 0
                                            else beta[looking]),
                belief[looking])
            choice_k, walked = choice.next_application(
                util, key, None if outside is None else outside[looking])
            stopped[looking[walked]] = True
        has = np.flatnonzero(choice_k >= 0)
        if len(has) < len(looking):
            looking, util, choice_k = looking[has], kernels.keep_rows(util, has), choice_k[has]
        sel, p = looking, cols[choice_k]
        if not len(sel):
            break
        b = b_idx[sel]
        month.inquiries[b] += 1  # one application each this round (b holds no repeats)
        n_applied[sel] += 1
        term = g.term[p]
        if one_month is not None:  # convenience credit: one-month loans
            term = np.where(one_month[sel], 1, term)
        ok, pd_life, apr, limit, X, own, visible_debt = assess(model, b, p, remaining[sel], g,
                                                               term)
        okk = np.flatnonzero(ok)
        fits = underwriting.allocate_capacity(p[okk], pd_life[okk], limit[okk], month.capacity)
        win = okk[fits]
        amt, pw = limit[win], p[win]
        use_capacity(model, pw, amt)
        term = term[win]
        month.origination_cost_by_platform += np.bincount(
            pw, weights=g.cost_per_loan_of(pw, term), minlength=P)
        if one_month is not None:
            grant_lines(model, win[term == 1], b, p, own, visible_debt, pd_life, apr, X, g)
        book(model, b[win], pw, amt, apr[win], term, np.take(X, win, axis=0), is_refinance)
        count_outcomes(model, P, p, seg[sel] * 2 + has_account[sel, p], win)
        granted[sel[win]] += amt
        remaining[sel[win]] -= amt
        debt.add(b[win], pw, amt, own[win])
        month.count_applications(pop.risk_segment[b], pop.risk_segment[b[win]], amt, apr[win],
                                 is_refinance, P, pw, pop.income_quintile[b],
                                 pop.income_quintile[b[win]],
                                 el_rate=underwriting.expected_loss_rate(
                                     pd_life[win], g.loss_severity[pw], term), term=term)
        month.granted_any[b[win]] = True
        # turned down as too risky, a borrower next tries only lenders that take riskier
        # borrowers than the one that refused it (directed search, 7.5)
        risky = np.flatnonzero(pd_life > g.pd_cutoff[p])
        if len(risky):
            tamer = cutoff[None, :] <= g.pd_cutoff[p[risky]][:, None]
            util[risky] = np.where(tamer, -np.inf, util[risky])
    # a borrower who did without before applying anywhere neither applied nor was rationed
    applied = ~(stopped & (n_applied == 0))
    month.rationed[b_idx[(remaining >= bp.min_loan) & applied]] = True
    month.applied[b_idx[applied]] = True
    return granted


def choice_columns(is_open: np.ndarray) -> np.ndarray:
    """The platforms applicants search among: the open ones, ascending. A closed platform's
    utility would be ``-inf`` (never chosen, and the search ends when only such are left),
    so leaving its column out changes no choice and narrows the round's matrices."""
    return np.flatnonzero(is_open)


def open_columns(x, cols: np.ndarray):
    """The columns ``cols`` of a search term: one number as it is, one row repeated for
    every applicant (a broadcast view) still a view."""
    if np.ndim(x) == 0:
        return x
    if x.ndim == 2 and x.strides[0] == 0:
        return np.broadcast_to(x[0, cols], (x.shape[0], len(cols)))
    return x[..., cols]


#: applicants whose utilities :func:`noisy_utilities` computes at a time
CHOICE_ROWS = 1 << 16


def noisy_utilities(model, g: PlatformArrays, b: np.ndarray, has_account: np.ndarray,
                    beta, cols: np.ndarray) -> np.ndarray:
    """Applicants ``b``'s noisy utility of the platforms ``cols`` (the open ones, ascending),
    (len(b), len(cols)) float64 (:func:`lendsim.agents.rules.choice.platform_utility`; 7.5):
    Gumbel(0, 1) noise, minus the log of an Exp(1) draw. ``has_account``: which platforms
    each owes, (len(b), P); ``beta``: the utility of a unit of APR, one number or one per
    applicant.

    The noise is drawn for every platform, open or not, and the open ones' columns taken:
    the same numbers as a draw for all with the closed platforms' utilities ``-inf``, in a
    matrix as wide as the platforms that can be chosen (at 10^6 borrowers month 60's first
    round of purchase credit had 490,529 applicants; at 10^5 in month 48, 5 of 11
    platforms lent for purchases). ``CHOICE_ROWS`` applicants at a time: the generator
    gives the same numbers in blocks of rows as in one draw, and only a block's noise (4
    bytes an applicant and platform) is held beside the utilities."""
    bp, pop = model.params.borrowers, model.population
    brand, trust = model.brand_share(), pop.trust[b]
    util = np.empty((len(b), len(cols)))
    every = len(cols) == has_account.shape[1]  # all open: no column to leave out, no copy
    apr, rep, conv = g.posted_apr[cols], g.reputation[cols], g.convenience[cols]
    brand = brand[cols]
    for s in range(0, len(b), CHOICE_ROWS):
        r = slice(s, s + CHOICE_ROWS)
        noise = model.rng.standard_exponential(size=has_account[r].shape, dtype=np.float32)
        if not every:
            noise = noise[:, cols]
        np.log(np.maximum(noise, np.float32(1e-30), out=noise), out=noise)  # draws can be 0
        util[r] = choice.platform_utility(
            apr, rep, brand, conv, trust[r], has_account[r] if every else has_account[r][:, cols],
            price_sensitivity=beta if np.ndim(beta) == 0 else beta[r],
            trust_weight=bp.trust_weight, brand_weight=bp.brand_weight, loyalty=bp.loyalty,
            noise=noise, noise_scale=bp.choice_noise)
    return util


#: applicants scored at a time by :func:`scorecard_logit`: its float64 temporaries stay near
#: 12 MB, where a month's first round at 10^6 borrowers would need ~150 MB at once
SCORE_ROWS = 1 << 16


def scorecard_logit(X: np.ndarray, coef: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Each applicant's log-odds of default on its platform's logistic scorecard: row ``i``
    of ``X`` (features, float32) dotted with ``coef[p[i]]`` in float64, ``SCORE_ROWS`` rows at
    a time. Each row's sum is einsum's whatever the block, so the result does not depend on
    ``SCORE_ROWS`` (a test checks it against the whole at once)."""
    out = np.empty(len(p))
    for s in range(0, len(p), SCORE_ROWS):
        rows = slice(s, s + SCORE_ROWS)
        # float64 operands and ``take``: einsum with a float32 operand and a fancy row
        # gather are each about twice as slow, for the same numbers
        np.einsum("ij,ij->i", X[rows].astype(np.float64), np.take(coef, p[rows], axis=0),
                  out=out[rows])
    return out


def search_terms(model, seg: np.ndarray, has_account: np.ndarray, g: PlatformArrays,
                 one_month: np.ndarray | None, product: str, is_refinance: bool,
                 beta: float | np.ndarray):
    """What applicants' search weighs besides the platforms' utilities (7.5), for applicants
    of risk segments ``seg`` who owe the platforms marked in ``has_account`` (n, P): the value
    of doing without, (n,) utils, or ``None`` when every offer beats it; the hassle of one
    application to each platform, (P,) RMB (its type's share of
    ``borrowers.application_hassle``), or ``None`` when free everywhere; each applicant's
    belief that each platform approves it, (n, P); and the years of credit each application
    buys, (n, P), which turn the hassle into utils (``choice.hassle_utility``). ``beta``: the
    applicants' utility per unit of APR (one number or one each), which prices doing
    without."""
    bp = model.params.borrowers
    r0 = (bp.outside_apr_repay if is_refinance else
          bp.outside_apr_purchase if product == "purchase" else bp.outside_apr_cash)
    outside = None
    if np.isfinite(r0):
        outside = choice.outside_utility(
            r0, model.rng.standard_exponential(len(seg)),
            price_sensitivity=beta, choice_noise=bp.choice_noise)
    if bp.application_hassle <= 0:
        return outside, None, None, None
    n, P = has_account.shape
    # applicants like them: same risk segment, and owing the platform already or not
    cell = seg[:, None] * 2 + has_account
    plat = np.arange(P)[None, :]
    counts = model.approval_counts  # (applied | approved, platform, cell)
    belief = choice.approval_belief(counts[0][plat, cell], counts[1][plat, cell])
    years = np.broadcast_to(choice.credit_years(g.term), (n, P))
    if one_month is not None and one_month.any():
        # convenience credit opens a line drawn monthly until its review (7.19)
        line_years = max(model.params.platforms.line_review_months, 1) / 12.0
        years = np.where(one_month[:, None], line_years, years)
    return outside, bp.application_hassle * g.hassle_share, belief, years


def count_outcomes(model, P: int, p: np.ndarray, cell: np.ndarray, win: np.ndarray) -> None:
    """Add a round's applications (platforms ``p`` of ``P``; ``cell``: each applicant's risk
    segment x 2 + whether it owed the platform) and approvals (positions ``win``) to the
    counts behind borrowers' approval beliefs."""
    c, key = model.approval_counts, p * 6 + cell
    c[0, :P] += np.bincount(key, minlength=6 * P).reshape(P, 6)
    c[1, :P] += np.bincount(key[win], minlength=6 * P).reshape(P, 6)


def assess(model, b: np.ndarray, p: np.ndarray, request: np.ndarray, g: PlatformArrays,
           term: np.ndarray, asked: np.ndarray | None = None):
    """Platforms ``p`` underwrite borrowers ``b`` asking for ``request`` (RMB) over ``term``
    months: score, price (each platform's pricing strategy), check the cap and the
    regulator's rules, set the amount they would lend. ``asked`` is the amount the scorecard
    sees (``request_income``), by default ``request``; a credit line's review asks for as much
    as the lender allows (``request`` infinite) and is scored on the line's current limit.

    A lender approves when its floor price is within the cap and the estimated PD within its
    cut-off, and charges its asking price, capped.

    Returns ``(ok, pd_life, apr, limit, X, own, visible_debt)``, one entry per borrower:
    approved, estimated lifetime PD, the APR charged (all-in), amount granted if approved
    (RMB), features seen, the platform's own exposure and the debt it can see (RMB).

    Each applicant's assessment depends on its own row only, so applicants are assessed
    ``ASSESS_ROWS`` at a time, after one draw of the signal noise for all of them: the same
    numbers whatever the block, and a block's few dozen temporaries held at once instead
    of a whole round's (~250 bytes an applicant). A scoring model whose predictions
    are not ``row_exact`` (a neural network's matrix products) scores the round whole.
    """
    normal = model.rng.standard_normal(len(b))  # one draw: the same at any block size
    if len(b) <= ASSESS_ROWS or not all(m.row_exact for _, m, _ in g.scorers):
        return _assess_rows(model, b, p, request, g, term, asked, normal)
    out = None
    for s in range(0, len(b), ASSESS_ROWS):
        r = slice(s, s + ASSESS_ROWS)
        part = _assess_rows(model, b[r], p[r], request[r], g, term[r],
                            None if asked is None else asked[r], normal[r])
        if out is None:
            out = tuple(np.empty((len(b),) + x.shape[1:], dtype=x.dtype) for x in part)
        for whole, x in zip(out, part):
            whole[r] = x
    return out


#: applicants :func:`assess` takes at a time
ASSESS_ROWS = 1 << 16


def _assess_rows(model, b, p, request, g: PlatformArrays, term, asked, normal):
    """:func:`assess` on one block of applicants, ``normal`` their pre-drawn standard normal
    numbers (the noise on the risk signal)."""
    pop, pp, reg = model.population, model.params.platforms, model.regulator.policy
    debt = model.debt
    X, own, visible_debt, other_lenders = borrower_features(
        b, p, risk=pop.risk, income=pop.income, is_employed=pop.is_employed,
        is_covered=model.is_covered, arrears_covered=model.arrears_covered, debt=debt,
        noise_sd=g.noise_sd,
        income_median=model.params.borrowers.income_median,
        normal=normal, term=term,
        request=request if asked is None else asked, late=late_accounts(model),
        log_income=month_log_incomes(model))
    if len(model.features) > N_FEATURES:  # alternative data, where the type sees it
        X = np.hstack([X, alt_features(model, b, p, g.sees)])
    pd_life = scorecard_logit(X, g.coef, p)
    expit(pd_life, out=pd_life)
    for i, model_i, state in g.scorers:  # tree and network models: each on its applicants
        at = np.flatnonzero(p == i)
        if len(at):
            pd_life[at] = model_i.predict(state, np.take(X, at, axis=0))
    room = underwriting.credit_limit(
        np.full(len(b), np.inf), pop.income[b], own, visible_debt,
        limit_income_multiple=limit_multiple(pp, g, p, pd_life, term), max_loan=reg.max_loan,
        max_debt_income=reg.max_debt_income, lender_debt_income=g.max_debt_income[p])
    limit = np.minimum(request, room)
    # the markup by how price-sensitive the lender expects the applicant to be (7.7)
    markup = underwriting.risk_markup(X[:, 1].astype(float), g.noise_sd[p],
                                      model.params.borrowers.price_sensitivity_risk)
    floor, price = quote(pd_life, p, term, g, limit, markup)  # on the amount it would lend
    cap = price_cap(model, g)[p]
    limit, floor, price = size_up(pd_life, p, term, g, limit, room, floor, price, cap, markup)
    ok = underwriting.underwrite(pd_life, floor, g.pd_cutoff[p], cap)
    apr = np.minimum(price, cap)
    if reg.require_income:
        ok &= pop.is_employed[b]
    else:
        ok &= pop.is_employed[b] | ~g.requires_income[p]
    ok &= ~is_blacklisted(model, b, p)
    n_inq = model.params.platforms.max_inquiries
    if n_inq > 0:  # applications elsewhere last month, seen through the bureau
        ok &= ~(model.is_covered[b] & (model.inquiries[b] > n_inq))
    if reg.max_lenders > 0:  # a new lender counts itself too
        ok &= (own > 0) | (other_lenders < reg.max_lenders)
    ok &= limit >= model.params.borrowers.min_loan
    return ok, pd_life, apr, limit, X, own, visible_debt


def limit_multiple(pp, g: PlatformArrays, p: np.ndarray, pd_life: np.ndarray,
                   term) -> np.ndarray:
    """Each lender's limit on its own exposure, in months of the applicant's income: its
    type's ``limit_income_multiple``, scaled for the applicant's estimated risk when
    ``platforms.limit_risk_elasticity`` > 0 (:func:`lendsim.agents.rules.underwriting.
    risk_limit_factor`, docs/ODD.md 7.7)."""
    base = g.limit_income_multiple[p]
    if pp.limit_risk_elasticity == 0:
        return base
    return base * underwriting.risk_limit_factor(
        pd_life, term, reference_pd=pp.limit_reference_pd,
        elasticity=pp.limit_risk_elasticity)


def size_up(pd_life, p, term, g: PlatformArrays, limit, room, floor, price, cap, markup):
    """Loans too small to pay their origination cost under the cap are offered at the
    smallest amount that does, if the lender's room allows (the borrower takes it: it would
    otherwise go unserved); returns ``(limit, floor, price)``."""
    cost = g.cost_per_loan_of(p, term)
    short = np.flatnonzero((floor > cap) & (cost > 0))
    if not len(short):
        return limit, floor, price
    oc = underwriting.origination_cost_rate(cost[short], limit[short], term[short])
    amount = underwriting.smallest_viable_loan(floor[short] - oc, cost[short], term[short],
                                               cap[short]) * (1 + 1e-9)
    fit = short[amount <= room[short]]
    if len(fit):
        limit, floor, price = limit.copy(), floor.copy(), price.copy()
        limit[fit] = amount[amount <= room[short]]
        floor[fit], price[fit] = quote(pd_life[fit], p[fit], term[fit], g, limit[fit],
                                       markup[fit])
    return limit, floor, price


def quote(pd_life: np.ndarray, p: np.ndarray, term: np.ndarray, g: PlatformArrays,
          amount: np.ndarray, markup: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each applicant's floor and asking APR for a loan of ``amount`` RMB by the pricing
    strategy of its platform: each distinct strategy is called once, on the applicants at the
    platforms that use it, with its lender's loss severity as the loss given default.
    ``markup``: how price-sensitive the lender expects each applicant to be, as a multiple of
    its markup (:func:`lendsim.agents.rules.underwriting.risk_markup`; None: 1 for all),
    for the strategy to use or not."""
    lgd = g.loss_severity[p]
    groups = g.pricing_groups()
    if markup is None:
        markup = np.ones(len(pd_life))
    if len(groups) == 1:
        return groups[0][0].quote(pd_life, p, term, g, lgd, amount, markup)
    floor, price = np.empty(len(pd_life)), np.empty(len(pd_life))
    for strategy, uses in groups:
        sel = np.flatnonzero(uses[p])
        floor[sel], price[sel] = strategy.quote(pd_life[sel], p[sel], term[sel], g, lgd[sel],
                                                amount[sel], markup[sel])
    return floor, price


def price_cap(model, g: PlatformArrays) -> np.ndarray:
    """The APR cap each platform's price must meet: fees outside an interest-only cap let
    the all-in price exceed it; under a cap that binds private lending only
    (``regulator.apr_cap_scope = 'private'``) licensed lenders keep their own cap
    (``regulator.licensed_apr_cap``); a product with its own price ceiling
    (``platforms.<type>.max_apr``) never goes above it."""
    reg = model.regulator.policy
    fees = np.zeros(len(g.fee_rate)) if reg.apr_cap_all_in else g.fee_rate
    cap = model.apr_cap + fees
    if reg.apr_cap_scope == "private":
        cap = np.where(g.is_licensed, reg.licensed_apr_cap + fees, cap)
    return np.where(g.max_apr > 0, np.minimum(cap, g.max_apr), cap)  # product ceilings


def is_blacklisted(model, b: np.ndarray, p: np.ndarray) -> np.ndarray:
    """A platform refuses a borrower who defaulted with it, or (through the bureau, for
    covered borrowers while it reports defaults, ``regulator.share_defaults``) with anyone
    in the last ``BUREAU_DEFAULT_MEMORY_MONTHS`` months."""
    pop = model.population
    since = pop.months_since_default[b]
    refused = model.defaults_covered[b] & (since < BUREAU_DEFAULT_MEMORY_MONTHS)  # the bureau
    dk = model.default_keys  # sorted (np.union1d)
    # only borrowers who ever defaulted can be in ``dk`` (the count stays below NEVER for
    # 10,000 months, longer than any run)
    ever = np.flatnonzero(since < pop.NEVER)
    if not len(dk) or not len(ever):
        return refused
    keys = b[ever].astype(np.int64) * model.params.platforms.max_n + p[ever]  # as stored
    pos = np.minimum(np.searchsorted(dk, keys), len(dk) - 1)
    refused[ever] |= dk[pos] == keys  # with this platform
    return refused


def use_capacity(model, p: np.ndarray, amount: np.ndarray) -> None:
    """Loans of ``amount`` (RMB) made by platforms ``p`` use up their capacity."""
    cap = model.month.capacity
    cap -= np.bincount(p, weights=amount, minlength=len(cap))
    np.maximum(cap, 0.0, out=cap)


def grant_lines(model, w, b, p, own, visible_debt, pd_life, apr, X, g: PlatformArrays,
                limit=None) -> None:
    """Approved convenience requests (positions ``w`` in this round's arrays) open a
    credit line at the lender, with its limit as the platform and the regulator allow
    (``limit``, RMB, when already known)."""
    review = model.params.platforms.line_review_months
    if review <= 0 or not len(w):
        return
    reg, bw, pw = model.regulator.policy, b[w], p[w]
    if limit is None:
        limit = underwriting.credit_limit(
            np.full(len(w), np.inf), model.population.income[bw], own[w], visible_debt[w],
            limit_income_multiple=limit_multiple(model.params.platforms, g, pw, pd_life[w], 1),
            max_loan=reg.max_loan,
            max_debt_income=reg.max_debt_income, lender_debt_income=g.max_debt_income[pw])
    # each borrower's review falls in a month of its own (b mod review), so reviews are
    # spread evenly over the months instead of coming in waves
    until = model.t + review - (model.t + bw) % review
    lenders = model.debt.seen_by_lender(bw, own[w], model.is_covered)[1]
    model.credit_lines.grant(bw, pw, apr[w], pd_life[w], limit, np.take(X, w, axis=0),
                             until=until, debt_seen=visible_debt[w], lenders_seen=lenders)


def book(model, b, p, amount, apr, term, X, is_refinance: bool) -> None:
    """Book granted credit: each loan is a new row of the loan book, funded by this month's
    pool of its platform, repaid in equal instalments over its term (one month for a
    credit-line draw). A borrower who borrows again at a lender takes a new loan: earlier
    loans run to maturity, so the book of a borrower who stops borrowing runs off."""
    L, month = model.loans, model.month
    pool = month.pool_of[p]
    L.add(borrower_idx=b, platform_idx=p, pool_idx=pool, principal=amount, apr=apr,
          instalment=underwriting.annuity_payment(amount, apr, term), term=term,
          step=model.t, is_refinance=is_refinance, features=X)
    model.pools.record("originated", pool, amount)
