"""Set-up: the banks and their interbank network, the platforms and their partner lines.

References:
    docs/ODD.md, 5. Initialisation.
"""

from __future__ import annotations

import numpy as np

from lendsim.agents import guarantors
from lendsim.agents.banks import Bank
from lendsim.agents.platforms import Platform
from lendsim.simulation import interbank
from lendsim.simulation.params import PLATFORM_TYPES

#: An entrant's first funding line, all partner banks together, as a share of an incumbent
#: platform's initial line per borrower: banks try a newcomer out with a small line and grow
#: it as it is used (``banks.line_growth``).
ENTRANT_LINE_SHARE = 0.02


def create_banks(model) -> list[Bank]:
    """Banks with Zipf-distributed sizes (``banks.size_exponent``): other loans per borrower
    in the market, split by rank."""
    bp = model.params.banks
    size = (np.arange(1, bp.n + 1, dtype=float)) ** (-bp.size_exponent)
    other = bp.assets_per_borrower * model.n_borrowers * size / size.sum()
    return [Bank(model, i, other[i], bp) for i in range(bp.n)]


def create_interbank(model) -> np.ndarray:
    """Interbank exposures ``E[i, j]`` = what bank i is owed by bank j, RMB, put on both
    banks' balance sheets (deposits adjust so each balance sheet adds up)."""
    E = interbank_exposures(model.params.network.interbank,
                            np.array([bk.other_loans for bk in model.banks]), model.rng)
    for bk in model.banks:
        bk.interbank_assets = float(E[bk.idx].sum())
        bk.interbank_liabilities = float(E[:, bk.idx].sum())
        bk.deposits += bk.interbank_assets - bk.interbank_liabilities
    return E


def interbank_exposures(ib, size: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Dense exposures (n_banks, n_banks), RMB, ``E[i, j]`` = what bank i is owed by bank j.

    Each bank lends ``exposure_share`` of its other loans, split evenly over the banks it lends
    to (Gai & Kapadia 2010). ``random``: directed Erdos-Renyi with ``mean_degree``;
    ``core_periphery``: the ``n_core`` largest banks lend to each other, and each core /
    periphery pair is linked each way with probability ``mean_degree / (2 n_core)`` (Craig &
    von Peter 2014); ``file``: the user's matrix, as given.
    """
    B = len(size)
    if ib.kind == "none" or B < 2:
        return np.zeros((B, B))
    if ib.kind == "file":
        return interbank.from_file(ib.file, B).toarray()
    assets = ib.exposure_share * size
    if ib.kind == "random":
        E = interbank.random_directed(B, mean_degree=min(ib.mean_degree, B - 1), sizes=assets,
                                      rng=rng)
    else:
        n_core = min(ib.n_core, B)
        p = min(1.0, ib.mean_degree / (2.0 * n_core))
        E = interbank.core_periphery(B, n_core, 1.0, p, p, 0.0, rng, sizes=assets)
    return E.toarray()


def initial_types(model) -> list[str]:
    """Platform types at start, by largest remainder of their weights (embedded first)."""
    pp = model.params.platforms
    w = np.array([pp.type_params(t).weight for t in PLATFORM_TYPES], dtype=float)
    quota = pp.n * w / w.sum()
    counts = np.floor(quota).astype(int)
    for i in np.argsort(-(quota - counts), kind="stable")[: pp.n - counts.sum()]:
        counts[i] += 1
    return [t for t, c in zip(PLATFORM_TYPES, counts) for _ in range(c)]


def add_platform(model, kind: str, initial: bool) -> Platform:
    """A new platform of type ``kind`` with its equity and its partner banks' lines.

    Each platform has ``banks.partners_per_platform x partner_multiple`` partner banks (its
    type's multiple: the embedded platform works with more banks). At start, the banks'
    initial lines (``banks.initial_line_per_borrower`` per borrower, in all) are shared out in
    proportion to each type's exp(convenience); an entrant starts with
    ``ENTRANT_LINE_SHARE`` of that per-borrower amount. No line exceeds the regulator's limit
    on a bank's exposure to one platform.
    """
    p = model.params
    tp = p.platforms.type_params(kind)
    idx = len(model.platforms)
    pl = Platform(model, idx, kind, tp, tp.equity_per_borrower * model.n_borrowers,
                  p.platforms)
    if initial:
        # the starting platforms are going concerns: their equity at the start is an initial
        # condition, not capital just paid in, and the burn-in lets them pay out what they do
        # not need. An entrant's capital is paid in and stays (Platform.manage_capital).
        pl.paid_in = 0.0
    model.platforms.append(pl)
    model.target_weight[idx] = np.exp(tp.convenience)
    B = p.banks.n
    k = min(B, p.banks.partners_per_platform * tp.partner_multiple)
    partners = model.rng.choice(B, size=k, replace=False)
    if initial:
        total_w = sum(np.exp(p.platforms.type_params(t).convenience)
                      for t in initial_types(model))
        line = p.banks.initial_line_per_borrower * model.n_borrowers * np.exp(
            tp.convenience) / total_w
    else:
        line = ENTRANT_LINE_SHARE * p.banks.initial_line_per_borrower * model.n_borrowers
    lim = model.regulator.policy.bank_platform_exposure_limit
    for b in partners:
        model.lines[b, idx] = min(line / k, lim * max(model.banks[b].equity, 0.0))
    guarantors.insure(model, pl)
    return pl
