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


def sweep(experiment: str | Path, out: str | Path | None = None, *,
          sets: dict[str, Any] | list[str] | None = None, executor: str = "serial",
          workers: int | None = None, retry_failed: bool = False):
    """Run an experiment file (or a shipped example by name, e.g. ``"competition"``) into a
    folder and return its results; what ``lendsim sweep`` does. Running it again on the same
    folder resumes (finished runs are kept).

    Args:
        experiment: the experiment file, or an example's name (``lendsim examples``).
        out: the experiment folder (default ``results/<experiment name>``).
        sets: overrides, ``{"run.replications": 2, "borrowers.n": 800}`` or ``["k=v", ...]``.
        executor: ``serial``, ``processes`` or ``dask`` (the same tables whichever).
        workers: worker processes (default: all cores).
        retry_failed: rerun runs that failed before.

    Returns:
        :class:`lendsim.results.ExperimentResults` (its ``summary()`` gives the means and
        intervals per arm).

    Raises:
        LendsimError: a bad experiment, before anything runs; or runs that failed (their
            tracebacks: ``lendsim status OUT``).
    """
    from lendsim.errors import LendsimError
    from lendsim.experiments import load_experiment, run_experiment
    from lendsim.results import load

    exp = load_experiment(experiment, sets)
    folder = Path(out) if out is not None else Path("results") / exp.name
    summary = run_experiment(exp, folder, executor=executor, workers=workers,
                             retry_failed=retry_failed)
    if not summary.is_complete:
        raise LendsimError(summary.text().splitlines()[0] + f" (lendsim status {folder})")
    return load(folder)


@dataclass
class Comparison:
    """A policy against a base (:func:`compare`): paired differences, policy - base, with
    95 % intervals and p-values.

    Attributes:
        effects: the main outcomes.
        who: by risk segment (prime, near_prime, subprime) and income quintile (q1-q5).
        platforms: by platform type.
        banks: by bank size quartile.
        warnings: what to know before trusting the intervals (e.g. too few replications).
        path: the experiment folder (runs, ``compare_*.csv``, ``compare.html``).
    """

    effects: pd.DataFrame
    who: pd.DataFrame
    platforms: pd.DataFrame
    banks: pd.DataFrame
    warnings: list[str]
    path: Path


def compare(base: str | Path, policy: str | Path | None = None, *,
            sets: dict[str, Any] | None = None, replications: int | None = None,
            steps: int | None = None, root_seed: int | None = None,
            out: str | Path | None = None, last_steps: int = 12, executor: str = "serial",
            workers: int | None = None) -> Comparison:
    """A policy against a base on the same seeds; what ``lendsim compare`` does.

    Args:
        base: the base scenario file, or one experiment file (or example name, e.g.
            ``"episode_rate_cap_lpr"``) with exactly two arms, base first.
        policy: the policy scenario file (None: ``base`` holds both arms).
        sets: parameter overrides for both arms, e.g. ``{"borrowers.n": 800}``.
        replications, steps, root_seed: override the file's ``[run]`` values.
        out: the experiment folder (default ``results/<comparison name>``).
        last_steps: each outcome is a run's mean over its last ``last_steps`` months.
        executor, workers: as for :func:`sweep`.

    Returns:
        :class:`Comparison`; ``compare.html`` and ``compare_<table>.csv`` are in its folder.
    """
    from lendsim.errors import LendsimError
    from lendsim.experiments.compare import (comparison_experiment, comparison_warnings,
                                             write_comparison)
    from lendsim.experiments.runner import run_experiment

    exp = comparison_experiment(base, policy, sets=sets, replications=replications,
                                steps=steps, root_seed=root_seed)
    folder = Path(out) if out is not None else Path("results") / exp.name
    summary = run_experiment(exp, folder, executor=executor, workers=workers)
    if not summary.is_complete:
        raise LendsimError(summary.text().splitlines()[0] + f" (lendsim status {folder})")
    tables, _ = write_comparison(folder, last_steps)
    return Comparison(**tables, warnings=comparison_warnings(tables), path=folder)
