"""Brand as a stock of goodwill that marketing builds and time wears away (pure array
functions).

A lender's brand in borrowers' choice is its share of the market's goodwill (its share of
voice), not its market share. Goodwill is the depreciated sum of past marketing (Nerlove &
Arrow 1962); each month a lender spends toward the goodwill whose marginal return equals its
user cost. With logit demand and brand utility ``w ln(share of goodwill)`` the elasticity of
a lender's demand to its goodwill is ``(w / noise) (1 - share of goodwill)``; goodwill earns
that elasticity times the income its demand brings, and costs the return the lender needs on
the money plus the part that fades each month. The optimum is the dynamic form of the
Dorfman-Steiner rule (marketing over the income demand brings equals the elasticity of demand
to it):
returns diminish because the brand term is a logarithm and because a larger share of voice
gains less from more.

References:
    Nerlove & Arrow (1962), "Optimal advertising policy under dynamic conditions", Economica
    29, 129-142; Dorfman & Steiner (1954), "Optimal advertising and optimal quality", Amer.
    Econ. Rev. 44, 826-836; Clarke (1976), "Econometric measurement of the duration of
    advertising effect on sales", J. Marketing Res. 13, 345-357 (90 % of the effect within 3
    to 15 months); docs/ODD.md, 7.5 and 7.12.
"""

from __future__ import annotations

import numpy as np


def goodwill_target(income: np.ndarray, voice_share: np.ndarray, brand_weight: float,
                    choice_noise: float, required_return: np.ndarray,
                    decay: float) -> np.ndarray:
    """Goodwill at which a month's marginal income from goodwill equals its user cost, RMB:
    ``e x income / (required_return + decay)`` with ``e = (brand_weight /
    choice_noise) x (1 - voice_share)`` the elasticity of demand to goodwill.

    Args:
        income: what each lender's demand earns it a month over its costs, RMB (the
            model uses its profit before marketing: docs/ODD.md 7.12).
        voice_share: each lender's share of the market's goodwill.
        brand_weight, choice_noise: the brand weight and the noise scale of borrowers' choice
            (docs/ODD.md 7.5).
        required_return: the monthly return each lender needs on money it spends (its target
            return on equity / 12).
        decay: share of goodwill that fades each month.

    Examples:
        >>> goodwill_target(np.array([120.0]), np.array([0.5]), 0.5, 0.5, np.array([0.01]),
        ...                 0.19).tolist()  # 1 x 0.5 x 120 / 0.2
        [300.0]
    """
    if choice_noise <= 0:  # certain choice: no finite optimum; nothing is spent
        return np.zeros(len(income))
    e = brand_weight / choice_noise * (1.0 - voice_share)
    return np.maximum(e * income, 0.0) / (required_return + decay)


def marketing_spend(target: np.ndarray, goodwill: np.ndarray, decay: float) -> np.ndarray:
    """This month's marketing, RMB: what brings goodwill after this month's fading up to the
    target, never negative (marketing cannot be sold back).

    Examples:
        >>> marketing_spend(np.array([300.0, 100.0]), np.array([200.0, 400.0]), 0.2).tolist()
        [140.0, 0.0]
    """
    return np.maximum(target - (1.0 - decay) * goodwill, 0.0)


def voice_share(goodwill: np.ndarray, is_active: np.ndarray) -> np.ndarray:
    """Each lender's share of the goodwill of live lenders (0 for lenders not live); all 0
    while no live lender has any.

    Examples:
        >>> voice_share(np.array([30.0, 10.0, 60.0]), np.array([True, True, False])).tolist()
        [0.75, 0.25, 0.0]
    """
    g = np.where(is_active, goodwill, 0.0)
    total = g.sum()
    return g / total if total > 0 else np.zeros(len(goodwill))
