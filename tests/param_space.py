"""Random scenarios drawn from the whole declared parameter space (issue 22 item 2).

Every parameter of :class:`lendsim.simulation.params.Scenario` with a declared range, choices or
a boolean type can be drawn; a scenario sets several at once, each within its declared range.
Open upper ends are drawn log-uniformly up to 1,000 times the default (or 1,000 where the
default is 0), with now and then the extreme the declaration still allows.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from lendsim.simulation.params import SECTIONS

#: Run size, kept small so that a scenario runs in about a second; drawn by the test itself
#: (the model's cost is linear in each).
SIZE_KEYS = {"borrowers.n": (50, 600), "simulation.steps": (1, 30),
             "simulation.burn_in": (0, 12)}
#: Not drawn: run control and output (the test sets them), files (need a file on disk).
SKIP = {"simulation.seed", "simulation.check_invariants", "simulation.agent_threshold",
        "output.charts", "output.borrower_snapshot_every", "network.social.edge_list",
        "network.interbank.file"}
#: Choices that need a file on disk.
SKIP_CHOICES = {"network.social.kind": {"edge_list"}, "network.interbank.kind": {"file"}}


def declared_space() -> dict[str, tuple]:
    """{key: (kind, default, metadata)} for every drawable parameter."""
    out = {}

    def walk(cls, prefix):
        for f in dataclasses.fields(cls):
            key = prefix + f.name
            if f.default is dataclasses.MISSING:
                walk(type(f.default_factory()), key + ".")
                continue
            if key in SKIP or key in SIZE_KEYS:
                continue
            out[key] = (type(f.default), f.default, dict(f.metadata))

    for sec, cls in SECTIONS.items():
        walk(cls, sec + ".")
    return out


def draw_value(rng: np.random.Generator, key: str, kind: type, default, m: dict):
    """One value of parameter ``key`` within its declared range."""
    if kind is bool:
        return bool(rng.random() < 0.5)
    if kind is str:
        choices = [c for c in (m.get("choices") or ()) if c not in SKIP_CHOICES.get(key, ())]
        return str(rng.choice(choices)) if choices else default
    if kind is tuple:
        # a list parameter: scale each entry of the default (lengths and sums stay valid)
        return [float(x) * float(rng.uniform(0.5, 1.5)) for x in default] \
            if key == "macro.seasonality" else list(default)
    lo = m.get("lo")
    hi = m.get("hi")
    lo = 0.0 if lo is None else float(lo)
    if hi is None:
        top = 1000.0 * (abs(default) if default and math.isfinite(default) else 1.0)
        if rng.random() < 0.05:
            hi_draw = 1e9 * max(1.0, top)  # the open end is declared valid: try far out
        else:
            hi_draw = top
        base = max(lo, 1e-3 if kind is float else 1)
        x = float(np.exp(rng.uniform(np.log(base), np.log(max(hi_draw, base * 1.0001)))))
        if rng.random() < 0.1:
            x = lo if not m.get("lo_open") else base
    else:
        hi = float(hi)
        r = rng.random()
        if r < 0.1:
            x = lo if not m.get("lo_open") else lo + (hi - lo) * 1e-6
        elif r < 0.2:
            x = hi
        elif hi - lo > 1000 and lo >= 0:
            x = float(np.exp(rng.uniform(np.log(max(lo, 1e-3)), np.log(hi))))
        else:
            x = float(rng.uniform(lo, hi))
    if kind is int:
        x = int(min(max(round(x), math.ceil(lo)), 10**12))
        if m.get("lo_open") and x <= lo:
            x = int(lo) + 1
        if hi is not None and x > hi:
            x = int(hi)
    return x


def draw_scenario(rng: np.random.Generator, space: dict, n_params: int) -> dict:
    """Overrides: the size keys plus ``n_params`` parameters drawn from the whole space."""
    keys = list(space)
    chosen = rng.choice(len(keys), size=n_params, replace=False)
    out = {key: int(rng.integers(lo, hi + 1)) for key, (lo, hi) in SIZE_KEYS.items()}
    for i in chosen:
        key = keys[int(i)]
        kind, default, m = space[key]
        out[key] = draw_value(rng, key, kind, default, m)
        # months and bank indices have ranges that depend on other parameters: mostly draw
        # them inside (the check refuses the rest, which the test counts)
        if key in MONTH_KEYS and rng.random() < 0.8:
            out[key] = int(rng.integers(0, out["simulation.steps"] + 1))
        if key == "shocks.bank_loss_bank" and rng.random() < 0.8:
            out[key] = int(rng.integers(0, 3))
    return out


MONTH_KEYS = ("macro.shock_start", "shocks.bank_loss_step", "shocks.platform_failure_step")
