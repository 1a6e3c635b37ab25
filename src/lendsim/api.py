"""``lendsim.run``: one run of the model, returning its tables (and writing them if asked)."""

from __future__ import annotations

import datetime as _dt
import functools
import platform as _platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from lendsim.simulation.params import Scenario


@dataclass
class RunResult:
    """Tables of one run: ``model`` (one row per step), ``platforms``, ``banks``, ``events``
    (and ``borrowers`` snapshots when asked for); ``manifest`` (parameters, seed, versions);
    ``path`` of the run folder when written."""

    model: pd.DataFrame
    platforms: pd.DataFrame
    banks: pd.DataFrame
    events: pd.DataFrame
    manifest: dict
    path: Path | None = None
    extra: dict[str, pd.DataFrame] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {"model": self.model, "platforms": self.platforms, "banks": self.banks,
               "events": self.events}
        out.update(self.extra)
        return out


#: The ``lendsim ...`` command line being run (set by :func:`lendsim.cli.main`), for
#: manifests; None when lendsim is used from Python.
COMMAND_LINE: str | None = None


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the lendsim source when it runs from a git checkout (``+dirty`` when it
    has uncommitted changes), else None (an installed package)."""
    import subprocess

    src = Path(__file__).resolve().parent
    if not any((p / ".git").exists() for p in src.parents):
        return None
    try:
        head = subprocess.run(["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(src), "status", "--porcelain", "--", "."],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty else "")


def provenance() -> dict[str, str | None]:
    """What made a result: the command line and the source commit (None where unknown)."""
    return {"command": COMMAND_LINE, "git_commit": git_commit()}


def versions() -> dict[str, str]:
    import matplotlib
    import mesa
    import numpy
    import pyarrow
    import scipy

    import lendsim

    return {"lendsim": lendsim.__version__, "mesa": mesa.__version__,
            "numpy": numpy.__version__, "scipy": scipy.__version__,
            "pandas": pd.__version__, "pyarrow": pyarrow.__version__,
            "matplotlib": matplotlib.__version__, "python": _platform.python_version()}


def resolve_scenario(scenario: Scenario | str | Path | None,
                     overrides: dict[str, Any] | None, *,
                     allow_outside: bool = False) -> Scenario:
    """The validated scenario: a :class:`Scenario` with ``overrides``, or a file loaded with
    them (``allow_outside``: paths in the file may leave its folder); files the scenario
    reads are checked too."""
    from lendsim.simulation.scenario import check_files, load_scenario

    if isinstance(scenario, Scenario):
        scen = scenario.with_overrides(overrides or {})
        check_files(scen)
        return scen
    return load_scenario(scenario, overrides, allow_outside=allow_outside)


def run(scenario: Scenario | str | Path | None = None, *, steps: int | None = None,
        seed: int | None = None, overrides: dict[str, Any] | None = None,
        out: str | Path | None = None, charts: bool | None = None,
        progress: Callable | None = None, allow_outside: bool = False) -> RunResult:
    """Run one scenario and return its tables.

    Args:
        scenario: a :class:`Scenario`, a TOML path, or None for the default scenario.
        steps: months to simulate (default ``simulation.steps``).
        seed: root seed (default ``simulation.seed``).
        overrides: dotted keys, e.g. ``{"borrowers.n": 5000, "regulator.apr_cap": 0.24}``.
        out: run folder to write (Parquet tables, manifest.json, PNG charts); None writes
            nothing. The folder must not exist; it appears complete or not at all.
        charts: write PNG charts (default ``output.charts``).
        progress: called with the model after every step.
        allow_outside: paths in the scenario file may leave its folder.

    Raises:
        ScenarioError: for an invalid scenario or override, before anything runs.
        LendsimError: ``out`` cannot be written (checked before the run).
    """
    from lendsim.simulation.model import MarketModel

    scen = resolve_scenario(scenario, overrides, allow_outside=allow_outside)
    sets = {}
    if steps is not None:
        sets["simulation.steps"] = steps
    if seed is not None:
        sets["simulation.seed"] = seed
    if sets:
        scen = scen.with_overrides(sets)
    if out is not None and Path(out).exists():
        raise FileExistsError(f"output folder {out} already exists; choose another --out")
    if out is not None:
        from lendsim.results.folders import check_writable

        check_writable(Path(out))
    t0 = time.perf_counter()
    model = MarketModel(scen)
    setup = time.perf_counter() - t0
    try:
        model.run(progress=progress)
        tables = model.tables()
    finally:
        model.close()
    manifest = {
        "scenario": scen.name, "seed": scen.simulation.seed, "steps": scen.simulation.steps,
        "parameters": scen.to_json_dict(), "versions": versions(), **provenance(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "timings": {"setup_s": round(setup, 3), "run_s": round(model.timings["run_s"], 3)},
    }
    extra = {k: v for k, v in tables.items()
             if k not in ("model", "platforms", "banks", "events")}
    res = RunResult(tables["model"], tables["platforms"], tables["banks"], tables["events"],
                    manifest, extra=extra)
    if out is not None:
        from lendsim.results.store import write_run

        want_charts = scen.output.charts if charts is None else charts
        res.path = write_run(Path(out), res.tables(), manifest, charts=want_charts)
    return res
