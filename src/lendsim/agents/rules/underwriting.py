"""Scoring, pricing, limits and capacity rationing (pure array functions).

References:
    docs/ODD.md, 7.7 (pricing and rationing): required APR = funding cost + expected
    loss + operating cost + margin; above the regulator's cap the applicant is declined.
    Bolen, Elliehausen & Miller (2023), Public Choice 197: caps ration the riskiest borrowers.
"""

from __future__ import annotations

import numpy as np

from lendsim import kernels


def annuity_payment(principal: np.ndarray, annual_rate: np.ndarray,
                    term_months: np.ndarray) -> np.ndarray:
    """Level monthly instalment that repays ``principal`` over ``term_months``, RMB.

    Examples:
        >>> float(annuity_payment(np.array([1200.0]), np.array([0.0]), np.array([12]))[0])
        100.0
        >>> round(float(annuity_payment(np.array([1000.0]), np.array([0.12]),
        ...                             np.array([12]))[0]), 4)
        88.8488
    """
    r = np.asarray(annual_rate, dtype=float) / 12.0
    t = np.asarray(term_months, dtype=float)
    if t.size and (t == 1.0).all():  # one month: principal plus a month's interest
        return principal * (1.0 + r)
    with np.errstate(divide="ignore", invalid="ignore"):
        # 1 - (1 + r)^-t, written with log1p/expm1: accurate for small r and much faster
        # than a float power
        pay = principal * r / -np.expm1(-t * np.log1p(r))
    return np.where(r > 0, pay, principal / t)


def expected_loss_rate(pd_life: np.ndarray, lgd: float, term_months: np.ndarray) -> np.ndarray:
    """Annualised expected loss, fraction of the average balance.

    An amortising loan is outstanding (term + 1) / 2 months on average, so a lifetime loss of
    ``pd x lgd`` of principal costs ``pd x lgd x 12 / ((term + 1) / 2)`` a year.
    """
    return pd_life * lgd * 24.0 / (np.asarray(term_months, dtype=float) + 1.0)


def retained_loss_rate(el: np.ndarray, cover_share: np.ndarray,
                       premium_rate: np.ndarray) -> np.ndarray:
    """The expected loss an insured lender keeps, with the premium it pays for the rest,
    annual rates on the balance: ``(1 - cover_share) x el + premium_rate``.

    A guarantor pays back ``cover_share`` of each covered loan's net loss for a premium on
    its balance, so the lender's own cost of the loan's credit risk is the uncovered loss
    plus the premium; it prices and approves on that (moral hazard: Holmstrom 1979, Bell J.
    Econ. 10, 74-91; Katsamakas & Sanchez-Cartas 2024 on insured P2P lending). A flat
    premium makes cover cheap for risky loans (``cover_share x el > premium_rate``) and dear
    for safe ones: the insured book tilts toward risk (adverse selection: Rothschild &
    Stiglitz 1976, Q. J. Econ. 90, 629-649).

    Examples:
        >>> round(float(retained_loss_rate(np.array([0.10]), np.array([0.8]),
        ...                                np.array([0.02]))[0]), 12)
        0.04
    """
    return (1.0 - cover_share) * el + premium_rate


def risk_markup(signal: np.ndarray, noise_sd: np.ndarray, risk_slope: float) -> np.ndarray:
    """How much of the lender's markup each applicant pays, relative to a borrower of median
    risk: ``1 / E[b | signal]`` over the median's ``1 / b``, with ``b`` the applicant's price
    sensitivity (:func:`lendsim.agents.rules.choice.price_sensitivity`: ``b0 x exp(-k z)``)
    and ``signal = z + noise_sd x e`` the risk the lender sees.

    A seller facing logit demand marks up ``1 / (b (1 - share))`` (Lerner's rule); one who can
    tell groups of buyers apart sets it group by group, higher where demand is less elastic
    (third-degree price discrimination: Tirole 1988, *The Theory of Industrial Organization*,
    ch. 3). The lender's group is its signal. With ``z`` standard normal,
    ``z | signal ~ N(signal / (1 + s^2), s^2 / (1 + s^2))`` and ``E[exp(-k z) | signal] =
    exp(-k signal / (1 + s^2) + k^2 s^2 / (2 (1 + s^2)))``; the markup over the median's is
    its inverse. A noisy lender shrinks the signal toward the median and marks up less apart.

    Examples:
        >>> risk_markup(np.array([0.0, 1.0, -1.0]), np.array([0.0, 0.0, 0.0]), 0.35).round(3)
        array([1.   , 1.419, 0.705])
        >>> risk_markup(np.array([1.0]), np.array([1.0]), 0.35).round(3)  # half the signal
        array([1.155])
    """
    if risk_slope == 0:
        return np.ones(len(signal))
    v = 1.0 / (1.0 + np.square(noise_sd))  # the weight of the signal in z's posterior mean
    return np.exp(risk_slope * signal * v - 0.5 * risk_slope ** 2 * (1.0 - v))


def origination_cost_rate(cost_per_loan: np.ndarray, amount: np.ndarray,
                          term_months: np.ndarray) -> np.ndarray:
    """A per-loan origination cost as an annual rate on the loan's average balance.

    A cost of ``cost_per_loan`` RMB paid once on a loan of ``amount`` RMB that amortises over
    ``term_months`` (outstanding ``(term + 1) / 2`` months on average) costs
    ``cost / amount x 24 / (term + 1)`` a year: small, short loans are dear to make. Much of a
    small-loan lender's cost is fixed per loan, which is why small loans carry high APRs and
    why a rate cap rations small loans first (Flannery & Samolyk 2005, FDIC CFR working paper
    2005-09, on payday lenders; Durkin, Elliehausen, Staten & Zywicki 2014, *Consumer Credit
    and the American Economy*, ch. 8).

    Examples:
        >>> float(origination_cost_rate(np.array([50.0]), np.array([1400.0]), np.array([6]))[0])
        0.12244897959183673
    """
    amount = np.maximum(np.asarray(amount, dtype=float), 1.0)
    return cost_per_loan / amount * 24.0 / (np.asarray(term_months, dtype=float) + 1.0)


def smallest_viable_loan(rate_without_origination: np.ndarray, cost_per_loan: np.ndarray,
                         term_months: np.ndarray, apr_cap: np.ndarray) -> np.ndarray:
    """The smallest loan, RMB, whose break-even APR is within the cap: with origination cost
    ``c`` a loan of ``A`` RMB breaks even at ``r + c / A x 24 / (term + 1)``
    (:func:`origination_cost_rate`), within ``cap`` from ``A = c x 24 / (term + 1) / (cap - r)``
    on; ``inf`` when even a very large loan does not (``r >= cap``). A lender with fixed costs
    per loan offers a borrower who asks for less this amount instead, or nothing: a cap raises
    the size of the loans still made (Bolen, Elliehausen & Miller 2023, Public Choice 197).

    Examples:
        50 RMB on a 6-month loan at a 36 % cap, 20 % of costs before origination: RMB 1,071.

        >>> round(float(smallest_viable_loan(np.array([0.2]), np.array([50.0]), np.array([6]),
        ...                                  np.array([0.36]))[0]), 2)
        1071.43
    """
    need = cost_per_loan * 24.0 / (np.asarray(term_months, dtype=float) + 1.0)
    room = np.asarray(apr_cap, dtype=float) - rate_without_origination
    with np.errstate(divide="ignore"):
        return np.where(room > 0, need / np.where(room > 0, room, 1.0), np.inf)


def required_apr(pd_life: np.ndarray, *, funding_cost: np.ndarray, operating_cost: np.ndarray,
                 margin: np.ndarray, lgd: float, term_months: np.ndarray) -> np.ndarray:
    """All-in annual rate a platform must charge (fees included), fraction."""
    return funding_cost + expected_loss_rate(pd_life, lgd, term_months) + operating_cost + margin


def underwrite(pd_life: np.ndarray, apr: np.ndarray, cutoff: np.ndarray,
               apr_cap: float) -> np.ndarray:
    """Approve when the estimated PD is within the cut-off and the price is within the cap."""
    return (pd_life <= cutoff) & (apr <= apr_cap)


def risk_limit_factor(pd_life: np.ndarray, term_months: np.ndarray, *, reference_pd: float,
                      elasticity: float) -> np.ndarray:
    """How much a lender scales its income-based limit for the applicant's risk: with the
    estimated PD over the term turned into an annual one, ``pd_a = 1 - (1 - pd_life)^(12 /
    term)``, the factor is ``(reference_pd / pd_a)^elasticity`` (1 at elasticity 0, the limit
    of docs/ODD.md 7.7 before this rule).

    Lenders give safer borrowers larger lines: an extra unit of limit costs a lender the
    defaults it adds, which rise with the borrower's risk (Agarwal, Chomsisengphet, Mahoney &
    Stroebel 2018, QJE 133(1): a higher limit quickly cuts the marginal profit on the lowest
    FICO scores). On US credit cards opened 2014-2024, the average limit at origination was
    about $700 below a score of 600 and $12,000 above 760 (Federal Reserve, FEDS Notes,
    2026-01-16, "More credit, more debt", figure 1).

    Examples:
        An applicant with a 3 % PD over a 6-month loan (5.9 % a year), against a reference
        of 3 % a year, at elasticity 0.5: about 0.71 of the income-based limit.

        >>> round(float(risk_limit_factor(np.array([0.03]), np.array([6]),
        ...                               reference_pd=0.03, elasticity=0.5)[0]), 3)
        0.712
    """
    pd = np.clip(np.asarray(pd_life, dtype=float), 1e-9, 1.0 - 1e-9)
    pd_a = -np.expm1(np.log1p(-pd) * (12.0 / np.asarray(term_months, dtype=float)))
    return (reference_pd / pd_a) ** elasticity


def credit_limit(request: np.ndarray, monthly_income: np.ndarray, own_debt: np.ndarray,
                 visible_debt: np.ndarray, *, limit_income_multiple: np.ndarray,
                 max_loan: float, max_debt_income: float,
                 lender_debt_income: np.ndarray | float = np.inf) -> np.ndarray:
    """Amount granted, RMB: the request within the platform's and the regulator's limits.

    Platform: its own exposure to the borrower stays within ``limit_income_multiple x monthly
    income``, and the debt it can see (its own, plus the bureau's when shared) within
    ``lender_debt_income x annual income``. Regulator: the debt the platform can see stays
    within ``max_loan`` and ``max_debt_income x annual income``. A lender that sees only its own
    exposure cannot limit what a borrower owes elsewhere: data sharing is what lets it.
    """
    ldi = np.asarray(lender_debt_income, dtype=float)
    lender_cap = np.where(np.isinf(ldi), np.inf,  # inf x 0 income would be NaN
                          np.where(np.isinf(ldi), 0.0, ldi) * 12.0 * monthly_income)
    own_room = np.minimum(limit_income_multiple * monthly_income - own_debt,
                          lender_cap - visible_debt)
    income_cap = (np.inf if np.isinf(max_debt_income)  # inf x 0 income would be NaN
                  else max_debt_income * 12.0 * monthly_income)
    reg_room = np.minimum(max_loan, income_cap) - visible_debt
    return np.clip(np.minimum(request, np.minimum(own_room, reg_room)), 0.0, None)


def allocate_capacity(platform_idx: np.ndarray, priority: np.ndarray, amount: np.ndarray,
                      capacity: np.ndarray) -> np.ndarray:
    """Which approved applications fit each platform's lending capacity this round.

    Within a platform, applications are served in ascending ``priority`` (estimated PD: the
    safest first); one is granted when the cumulative amount up to and including it is within
    the platform's capacity. Returns a boolean mask in the input order.
    """
    out = np.ones(len(amount), dtype=bool)
    if not len(amount):
        return out
    demand = np.bincount(platform_idx, weights=amount, minlength=len(capacity))
    binding = demand > capacity[: len(demand)] * (1 + 1e-12)
    if not binding.any():  # the usual case: everyone fits, no sorting needed
        return out
    # sorted by PD within each binding platform and summed in one compiled pass
    return kernels.capacity_fits(platform_idx, np.asarray(priority, dtype=float),
                                 np.asarray(amount, dtype=float), capacity, binding, 1e-12)
