"""The live charts' data, read from the model's per-step records.

``model.records`` holds one dict per step for the model table and one per platform and per
bank per step (what ``model.tables()`` turns into DataFrames). Building DataFrames of every
column each step would cost more than drawing, so these functions read just the columns a
chart needs into numpy arrays; the tests check them against ``model.tables()``. Column names
are the results columns a researcher sees in ``model.parquet`` (README, "Outputs").

References:
    docs/ODD.md, 7.15 (outputs); issue 6, item 4 (live charts).
"""

from __future__ import annotations

import numpy as np

#: ``losses_*`` columns that split losses by who bears them, not by contagion channel.
FUNDER_LOSS_COLUMNS = ("losses_platforms", "losses_banks")

#: The chart series: name -> (model-table column, scale). Amounts in RMB millions.
CREDIT = {"outstanding": ("credit_outstanding", 1e-6), "originations": ("originations", 1e-6)}
APPROVAL = {"all": ("approval_rate", 1.0), "subprime": ("approval_rate_subprime", 1.0)}
DELINQUENCY = {"30+": ("delinquency_30", 1.0), "90+": ("delinquency_90", 1.0),
               "defaults": ("default_rate", 1.0)}


def steps(model) -> np.ndarray:
    """The steps recorded so far, float array (the x of every chart)."""
    return np.array([r["step"] for r in model.records["model"]], dtype=float)


def column(rows: list[dict], name: str, scale: float = 1.0) -> np.ndarray:
    """One column of record dicts as a float array (NaN where a row lacks it).

    Examples:
        >>> column([{"a": 1.0}, {"b": 2.0}], "a", 10.0).tolist()
        [10.0, nan]
    """
    return np.array([r.get(name, np.nan) for r in rows], dtype=float) * scale


def series(model, spec: dict[str, tuple[str, float]]) -> dict[str, np.ndarray]:
    """Named series of the model table, e.g. ``series(model, CREDIT)``."""
    rows = model.records["model"]
    return {label: column(rows, col, scale) for label, (col, scale) in spec.items()}


def loss_channels(model) -> dict[str, np.ndarray]:
    """Monthly losses by contagion channel, RMB thousands: every ``losses_<channel>`` column
    the model writes, named by channel (the funder split ``losses_platforms``/``losses_banks``
    is not a channel and is left out); empty when the model has no such columns."""
    rows = model.records["model"]
    if not rows:
        return {}
    names = [c for c in rows[-1] if c.startswith("losses_") and c not in FUNDER_LOSS_COLUMNS]
    return {c[len("losses_"):]: np.nan_to_num(column(rows, c, 1e-3)) for c in names}


def has_losses(channels: dict[str, np.ndarray]) -> bool:
    """Whether any channel has lost anything yet.

    Examples:
        >>> has_losses({}), has_losses({"social": np.zeros(3)}), has_losses({"x": np.ones(1)})
        (False, False, True)
    """
    return any(np.abs(v).sum() > 0 for v in channels.values())


def _wide(rows: list[dict], id_key: str, value_key: str, n_steps: int, first_step: int,
          fill: float) -> np.ndarray:
    """Per-agent records as an array (steps, agents) of ``value_key``."""
    n_ids = 1 + max((r[id_key] for r in rows), default=-1)
    out = np.full((n_steps, n_ids), fill)
    if rows:
        s = np.array([r["step"] for r in rows]) - first_step
        i = np.array([r[id_key] for r in rows])
        out[s, i] = np.array([r[value_key] for r in rows], dtype=float)
    return out


def platform_shares(model) -> tuple[np.ndarray, list[str]]:
    """Market share of every platform by step (share of loans managed by active platforms).

    Returns:
        (array (steps, platforms): a platform not yet entered has share 0, the platforms'
        types in id order).
    """
    rows = model.records["platforms"]
    x = steps(model)
    first = int(x[0]) if len(x) else 1
    kinds = [pl.kind for pl in model.platforms]
    return _wide(rows, "platform_id", "market_share", len(x), first, 0.0), kinds


def bank_capital(model) -> np.ndarray:
    """Capital ratio (equity / loans) of every bank by step, array (steps, banks); a failed
    bank keeps its (zero or negative) ratio, a non-finite one is NaN."""
    rows = model.records["banks"]
    x = steps(model)
    first = int(x[0]) if len(x) else 1
    out = _wide(rows, "bank_id", "capital_ratio", len(x), first, np.nan)
    out[~np.isfinite(out)] = np.nan
    return out


def headline(model) -> dict[str, float]:
    """The latest month's headline figures (empty before the first step)."""
    rows = model.records["model"]
    if not rows:
        return {}
    keys = ("step", "credit_outstanding", "approval_rate", "delinquency_30", "default_rate",
            "n_platforms_active", "bank_failures", "apr_cap", "unemployment_rate",
            "is_income_shock")
    return {k: float(rows[-1][k]) for k in keys if k in rows[-1]}
