"""Where borrowers apply: random-utility ranking of platforms (pure array functions).

References:
    McFadden (1974) conditional logit: Gumbel noise on utilities gives logit choice shares.
    docs/ODD.md, 7.5 (platform choice).
"""

from __future__ import annotations

import numpy as np


def platform_utility(apr: np.ndarray, reputation: np.ndarray, market_share: np.ndarray,
                     convenience: np.ndarray, trust: np.ndarray, has_account: np.ndarray, *,
                     price_sensitivity: float | np.ndarray, trust_weight: float,
                     brand_weight: float, loyalty: float) -> np.ndarray:
    """Systematic utility, shape (n_borrowers, n_platforms).

    ``-price_sensitivity x apr + trust_weight x trust x reputation
    + brand_weight x log(share) + convenience + loyalty x has_account``; apr is the platform's
    posted annual rate, ``has_account`` (n_borrowers, n_platforms) marks platforms the borrower
    already owes; ``price_sensitivity`` is one number for everyone or one per borrower
    (:func:`price_sensitivity`).
    """
    brand = brand_weight * np.log(np.maximum(market_share, 1e-4))
    if np.ndim(price_sensitivity) == 0:
        per_platform = -price_sensitivity * apr + brand + convenience
    else:  # one per borrower: the price term varies by row
        per_platform = ((brand + convenience)[None, :]
                        - np.asarray(price_sensitivity)[:, None] * apr[None, :])
    return (per_platform + trust_weight * trust[:, None] * reputation[None, :]
            + loyalty * has_account)


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

    ``u`` holds noisy utilities (systematic + scaled Gumbel noise) with ``-inf`` for closed or
    already-tried platforms; it is updated in place. Calling it k times gives each borrower's k
    best platforms in order (k argmax passes beat a full argsort for the few choices needed),
    and a caller can stop early or pass only the rows still looking.
    """
    rows = np.arange(u.shape[0])
    best = np.argmax(u, axis=1)
    ok = np.isfinite(u[rows, best])
    u[rows, best] = -np.inf
    return np.where(ok, best, -1)
