"""Where borrowers apply, and when they stop: random-utility ranking of platforms against
an outside option, and sequential search with a cost per application (pure array functions).

References:
    McFadden (1974) conditional logit: Gumbel noise on utilities gives logit choice shares;
    with an outside good, a borrower may prefer doing without (Berry 1994, "Estimating
    discrete-choice models of product differentiation", RAND J. Econ. 25(2)).
    Stigler (1961), "The economics of information", JPE 69(3): search has a cost.
    Weitzman (1979), "Optimal search for the best alternative", Econometrica 47(3): the
    reservation-value rule of :func:`reservation_value` and :func:`next_application`.
    docs/ODD.md, 7.5 (platform choice).
"""

from __future__ import annotations

import numpy as np

from lendsim import kernels


def platform_utility(apr: np.ndarray, reputation: np.ndarray, brand_share: np.ndarray,
                     convenience: np.ndarray, trust: np.ndarray, has_account: np.ndarray, *,
                     price_sensitivity: float | np.ndarray, trust_weight: float,
                     brand_weight: float, loyalty: float, noise: np.ndarray | None = None,
                     noise_scale: float = 0.0, is_open: np.ndarray | None = None
                     ) -> np.ndarray:
    """Systematic utility, shape (n_borrowers, n_platforms), plus the random part when
    ``noise`` is given.

    ``-price_sensitivity x apr + trust_weight x trust x reputation
    + brand_weight x log(brand_share) + convenience + loyalty x has_account``; apr is the
    platform's posted annual rate, ``brand_share`` its share of voice (or of the market:
    :meth:`lendsim.simulation.model.MarketModel.brand_share`), ``has_account`` (n_borrowers,
    n_platforms) marks platforms the borrower already owes; ``price_sensitivity`` is one
    number for everyone or one per borrower (:func:`price_sensitivity`). ``noise`` (n, P)
    float32 draws are subtracted, scaled by ``noise_scale`` (a standard Gumbel draw is minus
    the log of an Exp(1) draw: pass the logs), and platforms not ``is_open`` get ``-inf``.
    The (n, P) arithmetic is one compiled pass (:func:`lendsim.kernels.noisy_utility`).
    """
    n, P = has_account.shape
    brand = brand_weight * np.log(np.maximum(brand_share, 1e-4))
    if np.ndim(price_sensitivity) == 0:  # the price term is the same for every row
        base, beta = -price_sensitivity * apr + brand + convenience, np.zeros(n)
    else:
        base, beta = brand + convenience, np.asarray(price_sensitivity, dtype=float)
    if noise is None:
        noise = np.zeros((n, P), dtype=np.float32)
    return kernels.noisy_utility(
        np.asarray(base, dtype=float), beta, np.asarray(apr, dtype=float), float(trust_weight),
        np.asarray(trust, dtype=float), np.asarray(reputation, dtype=float), float(loyalty),
        np.ascontiguousarray(has_account, dtype=np.bool_),
        np.ascontiguousarray(noise, dtype=np.float32), np.float32(noise_scale),
        np.ones(P, dtype=np.bool_) if is_open is None else np.asarray(is_open, dtype=np.bool_))


def price_sensitivity(base: float, risk: np.ndarray, risk_slope: float) -> float | np.ndarray:
    """Each borrower's utility per unit of APR: ``base x exp(-risk_slope x risk)`` (``risk``
    the latent risk in standard units), or ``base`` for everyone when ``risk_slope`` is 0.

    Riskier borrowers are more often credit-constrained, so they value access over price and
    take dearer offers: in randomised credit-card solicitations the borrowers who accepted
    the worse offers were the worse risks (Ausubel 1999, "Adverse selection in the credit card
    market", working paper, University of Maryland; Agarwal, Chomsisengphet & Liu 2010,
    J. Money Credit Bank. 42, 743-754). The exponential form and its slope are the model's
    assumption (docs/ODD.md, 7.5).

    Examples:
        >>> price_sensitivity(24.0, np.array([0.0, 2.0]), 0.35).round(2).tolist()
        [24.0, 11.92]
    """
    if risk_slope == 0:
        return base
    return base * np.exp(-risk_slope * risk)


def next_choice(u: np.ndarray) -> np.ndarray:
    """Each row's best remaining platform (-1 when none is left), and mark it as tried.

    ``u`` holds noisy utilities (systematic + scaled Gumbel noise; no NaN) with ``-inf`` for
    closed or already-tried platforms; it is updated in place. Calling it k times gives each
    borrower's k best platforms in order (k passes beat a full sort for the few choices
    needed), and a caller can stop early or pass only the rows still looking. Compiled:
    :func:`lendsim.kernels.next_choice`.
    """
    return kernels.next_choice(u)


def approval_belief(applied: np.ndarray, approved: np.ndarray) -> np.ndarray:
    """A borrower's belief that an application will be approved, from the applications and
    approvals of borrowers like it that it has heard of (Laplace's rule of succession,
    ``(approved + 1) / (applied + 2)``: 1/2 with no evidence, never 0 or 1).

    Online lenders' approval rates are discussed openly by borrowers (forums rank lenders by
    how easily they lend), so the counts are each platform's recent applications and
    approvals in the borrower's risk segment. Shapes broadcast; returns a fraction in (0, 1).
    """
    return (approved + 1.0) / (applied + 2.0)


def credit_years(term: np.ndarray) -> np.ndarray:
    """Years of the whole loan's worth of balance an annuity of ``term`` months keeps
    outstanding: ``(term + 1) / 24`` (the balance falls linearly, so total interest is about
    ``amount x APR x (term + 1) / 24``). One more point of APR costs the borrower
    ``amount x credit_years`` RMB; a credit line drawn every month for ``m`` months counts
    ``m / 12`` years."""
    return (np.asarray(term, dtype=float) + 1.0) / 24.0


def hassle_utility(amount: np.ndarray, years: np.ndarray, *, hassle: float | np.ndarray,
                   price_sensitivity: float | np.ndarray) -> np.ndarray:
    """The hassle of one application, in the utility units of :func:`platform_utility`.

    A fixed cost of ``hassle`` RMB (time and effort: Stigler 1961's cost of search) is worth
    ``hassle / (amount x years)`` of APR on a loan of ``amount`` RMB kept ``years`` years
    (:func:`credit_years`), hence ``price_sensitivity x hassle / (amount x years)`` utils: the
    same effort weighs more against a small loan, so spilling a small remainder to another
    lender is seldom worth it. ``amount`` (n,), ``years`` (n, P), ``hassle`` one number or one
    per platform (P,), ``price_sensitivity`` one number or one per borrower (n,); returns
    (n, P).
    """
    amount = np.maximum(np.asarray(amount, dtype=float), 1e-9)
    beta = np.asarray(price_sensitivity, dtype=float)
    return (beta[:, None] if beta.ndim else beta) * hassle / (amount[:, None] * years)


def outside_utility(reservation_apr: float, exp_draw: np.ndarray, *,
                    price_sensitivity: float | np.ndarray, choice_noise: float) -> np.ndarray:
    """Utility of doing without this month's credit (or of the informal alternative): the
    outside good of a logit with an outside option (McFadden 1974; Berry 1994, where it
    anchors the level of utility), one per borrower.

    ``-price_sensitivity x reservation_apr + choice_noise x G``, ``G = -log(exp_draw)`` a
    Gumbel(0, 1) draw as for the platforms: a borrower is indifferent between doing without
    and a loan at ``reservation_apr`` (annual) from a lender with no brand, trust,
    convenience or account terms. ``reservation_apr = inf`` gives ``-inf``: every offer beats
    doing without (the model before the outside option). ``price_sensitivity``: one number
    or one per borrower (n,). Returns (n,) utils.
    """
    if np.isinf(reservation_apr):
        return np.full(len(exp_draw), -np.inf if reservation_apr > 0 else np.inf)
    return (-price_sensitivity * reservation_apr
            - choice_noise * np.log(np.maximum(exp_draw, 1e-30)))


def reservation_value(u: np.ndarray, hassle_u: np.ndarray | float,
                      approval: np.ndarray | float) -> np.ndarray:
    """Weitzman's (1979) reservation value of applying to each platform.

    An application costs ``hassle_u`` utils and yields a loan worth ``u`` with probability
    ``approval`` (else nothing: the borrower keeps what it had). Its reservation value ``z``
    solves ``hassle_u = approval x (u - z)``, so ``z = u - hassle_u / approval``. Weitzman's
    rule (Pandora's boxes): apply in descending ``z`` while the best ``z`` left beats the
    outside option; an approved loan (worth ``u >= z``) ends the search. With no hassle
    ``z = u``: the order of :func:`next_choice`. ``-inf`` (tried or closed) stays ``-inf``.
    """
    return u - hassle_u / approval


def next_application(u: np.ndarray, key: np.ndarray, outside: np.ndarray | None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Each row's next application under Weitzman's rule, and mark it as tried in ``u``.

    ``key`` holds the reservation values (:func:`reservation_value`; ``u`` itself without
    hassle), ``outside`` the value of doing without (``None``: no outside option). Returns
    ``(choice, walked)``: the platform each row applies to (-1 when none is left or none is
    worth it) and whether the row stopped because doing without beats every platform left
    (``choice == -1`` too). With ``key is u`` and no outside option it is :func:`next_choice`.
    """
    rows = np.arange(u.shape[0])
    best = np.argmax(key, axis=1)
    z = key[rows, best]
    ok = np.isfinite(z)
    walked = np.zeros(len(rows), dtype=bool)
    if outside is not None:
        walked = ok & ~(z > outside)
        ok &= ~walked
    u[rows[ok], best[ok]] = -np.inf
    return np.where(ok, best, -1), walked
