"""Phase 13, collect: cascades are tracked, and the month's rows are appended to the output
tables. Data collection reads the model; the only state it writes is its own records.

References:
    docs/ODD.md, 3. Process overview, phase 13; 7. Submodels, "Outputs".
"""

from __future__ import annotations

from lendsim.simulation.channels import Cascade
from lendsim.simulation.outputs import cascade_row, collect_step


def step(model) -> None:
    track_cascade(model)
    collect_step(model)


def track_cascade(model) -> None:
    """Failures in consecutive months make one cascade; a quiet month closes it and logs
    it (event ``cascade`` and the ``cascades`` table)."""
    fails = model.month.failures
    if fails:
        if model.cascade is None:
            kind, idx, channel, detail = fails[0]
            model.cascade = Cascade(model.t, f"{kind} {idx} ({detail})")
        for kind, idx, channel, _ in fails:
            model.cascade.add(model.t, kind, idx, channel)
    elif model.cascade is not None:
        model.records["events"].append(model.cascade.event())
        model.cascades.append(cascade_row(model.cascade, ongoing=False))
        model.cascade = None
