"""Where borrowers apply: random-utility ranking of platforms (pure array functions).

References:
    McFadden (1974) conditional logit: Gumbel noise on utilities gives logit choice shares.
    docs/ODD.md, 7.5 (platform choice).
"""

from __future__ import annotations

import numpy as np


def platform_utility(apr: np.ndarray, reputation: np.ndarray, market_share: np.ndarray,
                     convenience: np.ndarray, trust: np.ndarray, has_account: np.ndarray, *,
                     price_sensitivity: float, trust_weight: float, brand_weight: float,
                     loyalty: float) -> np.ndarray:
    """Systematic utility, shape (n_borrowers, n_platforms).

    ``-price_sensitivity x apr + trust_weight x trust x reputation
    + brand_weight x log(share) + convenience + loyalty x has_account``; apr is the platform's
    posted annual rate, ``has_account`` (n_borrowers, n_platforms) marks platforms the borrower
    already owes.
    """
    per_platform = (-price_sensitivity * apr + brand_weight * np.log(np.maximum(market_share,
                                                                               1e-4))
                    + convenience)
    return (per_platform[None, :] + trust_weight * trust[:, None] * reputation[None, :]
            + loyalty * has_account)


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
