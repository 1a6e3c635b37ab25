"""Where borrowers apply: random-utility ranking of platforms (pure array functions).

References:
    McFadden (1974) conditional logit: Gumbel noise on utilities gives logit choice shares.
    DESIGN.md, behaviour sketch "Where to apply".
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


def application_order(utility: np.ndarray, gumbel: np.ndarray, is_open: np.ndarray,
                      noise_scale: float, n_choices: int) -> np.ndarray:
    """Platforms each borrower applies to, best first, shape (n, n_choices); -1 = none.

    Closed platforms (``is_open`` False) are never chosen.
    """
    u = utility + noise_scale * gumbel
    u[:, ~is_open] = -np.inf
    k = min(n_choices, u.shape[1])
    order = np.full((u.shape[0], k), -1, dtype=np.int64)
    rows = np.arange(u.shape[0])
    for j in range(k):  # k argmax passes beat a full argsort for the few choices needed
        best = np.argmax(u, axis=1)
        ok = np.isfinite(u[rows, best])
        order[ok, j] = best[ok]
        u[rows, best] = -np.inf
    return order


def next_choice(u: np.ndarray) -> np.ndarray:
    """Each row's best remaining platform (-1 when none is left), and mark it as tried.

    ``u`` holds noisy utilities (systematic + scaled Gumbel noise) with ``-inf`` for closed or
    already-tried platforms; it is updated in place. Calling it k times gives the same order as
    :func:`application_order`, but a caller can stop early or pass only the rows still looking.
    """
    rows = np.arange(u.shape[0])
    best = np.argmax(u, axis=1)
    ok = np.isfinite(u[rows, best])
    u[rows, best] = -np.inf
    return np.where(ok, best, -1)
