"""Load an experiment folder and summarise it: per-arm means with 95 % intervals, bands over
time, and Sobol / Morris sensitivity indices.

    import lendsim.results as lr
    res = lr.load("results/competition")      # runs, model, platforms, banks, events
    out = run_outcomes(res)                   # one row per run: factors + outcomes
    arm_summary(out, res.outcomes)            # mean and 95 % t-interval per arm

References:
    t-interval: Student (1908); across replications of a stochastic simulation, e.g. Law,
    Simulation Modeling and Analysis (5th ed.), ch. 9.
    Sobol' indices with bootstrap intervals: Saltelli (2002), Saltelli et al. (2010), via SALib.
    Morris mu*, sigma: Morris (1991), Campolongo, Cariboni & Saltelli (2007), via SALib.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lendsim.extras import require

__all__ = ["ExperimentResults", "arm_summary", "load", "mean_ci", "morris_indices",
           "run_outcomes", "series_bands", "sobol_indices"]

TABLES = ("model", "platforms", "banks", "events", "cascades", "borrowers")
_KEYS = ("run_id", "arm", "replication", "seed")


@dataclass
class ExperimentResults:
    """An experiment folder's tables; every table starts with run_id, arm, replication,
    seed and one column per factor (named by its dotted key), then the run's own columns."""

    path: Path
    experiment: dict[str, Any]
    runs: pd.DataFrame
    model: pd.DataFrame
    platforms: pd.DataFrame
    banks: pd.DataFrame
    events: pd.DataFrame
    cascades: pd.DataFrame = field(default_factory=pd.DataFrame)
    borrowers: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def factors(self) -> list[str]:
        return list(self.experiment.get("factors", []))

    @property
    def outcomes(self) -> list[str]:
        return list(self.experiment.get("outcomes", []))

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"runs": self.runs, **{t: getattr(self, t) for t in TABLES}}


def load(path: str | Path) -> ExperimentResults:
    """Load an experiment folder written by ``lendsim sweep``.

    Only finished runs contribute rows; the runs table lists every run with its status (so
    a sweep still in progress can be loaded). Rows are in run order, then in each run's own
    order, so the same sweep gives the same frames whatever executor ran it.

    Raises:
        LendsimError: ``path`` is not an experiment folder.
    """
    from lendsim.results.folders import RUNS_DIR, folder_status

    st = folder_status(path)
    info, runs = st["info"], st["runs"]
    keys = list(_KEYS) + list(info["factors"])
    frames: dict[str, list[pd.DataFrame]] = {t: [] for t in TABLES}
    for row in runs[runs["status"] == "done"].itertuples(index=False):
        run_dir = Path(path) / RUNS_DIR / row.run_id
        for t in TABLES:
            file = run_dir / f"{t}.parquet"
            if file.is_file():
                df = pd.read_parquet(file, engine="pyarrow")
                if len(df):
                    frames[t].append(df.assign(run_id=row.run_id))
    head = runs[keys]
    out = {}
    for t in TABLES:
        if frames[t]:
            df = pd.concat(frames[t], ignore_index=True)
            df = head.merge(df, on="run_id", how="right", validate="one_to_many")
        else:
            df = pd.DataFrame(columns=keys)
        out[t] = df.reset_index(drop=True)
    return ExperimentResults(Path(path), info, runs, **out)


def mean_ci(values: Sequence[float] | np.ndarray, level: float = 0.95
            ) -> tuple[float, float, float]:
    """Mean and two-sided Student-t confidence interval of the mean.

    Args:
        values: one value per replication (NaN ignored).
        level: confidence level, 0 < level < 1.

    Returns:
        (mean, low, high); the interval is NaN with fewer than 2 values.

    Examples:
        >>> # s = 1, t(0.975, 2) = 4.3027, half-width 4.3027 / sqrt(3) = 2.4841
        >>> m, lo, hi = mean_ci([1.0, 2.0, 3.0])
        >>> round(m, 4), round(lo, 4), round(hi, 4)
        (2.0, -0.4841, 4.4841)
    """
    from scipy import stats

    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return (math.nan, math.nan, math.nan)
    m = float(x.mean())
    if len(x) < 2:
        return (m, math.nan, math.nan)
    half = float(stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return (m, m - half, m + half)


def run_outcomes(res: ExperimentResults, outcomes: Sequence[str] | None = None,
                 last_steps: int | None = None) -> pd.DataFrame:
    """One row per finished run: keys, factors and each outcome, the mean of that model
    column over the run's last ``last_steps`` steps (1 = the final value).

    Outcomes missing from the model table are left out.
    """
    outcomes = list(outcomes or res.outcomes)
    k = last_steps or int(res.experiment.get("outcome_steps", 12))
    keys = list(_KEYS) + res.factors
    present = [o for o in outcomes if o in res.model.columns]
    if res.model.empty or not present:
        return pd.DataFrame(columns=keys + present)
    m = res.model.sort_values(["run_id", "step"], kind="stable")
    tail = m.groupby("run_id", sort=True).tail(k)
    agg = tail.groupby("run_id", sort=True)[present].mean().reset_index()
    head = res.runs[keys]
    return head.merge(agg, on="run_id", how="inner")


def arm_summary(per_run: pd.DataFrame, outcomes: Sequence[str], factors: Sequence[str] = (),
                level: float = 0.95) -> pd.DataFrame:
    """Per arm: factor values, the number of replications, and for each outcome its mean
    and t-interval across replications (``<outcome>``, ``<outcome>_lo``, ``<outcome>_hi``).
    """
    rows = []
    for arm, grp in per_run.groupby("arm", sort=True):
        row: dict[str, Any] = {"arm": int(arm)}
        row.update({f: grp[f].iloc[0] for f in factors})
        row["n"] = len(grp)
        for o in outcomes:
            if o in grp.columns:
                row[o], row[f"{o}_lo"], row[f"{o}_hi"] = mean_ci(grp[o], level)
        rows.append(row)
    return pd.DataFrame(rows)


def series_bands(model: pd.DataFrame, metric: str, by: str = "arm", level: float = 0.95
                 ) -> pd.DataFrame:
    """Mean of ``metric`` per (group, step) across replications with its t-interval:
    columns ``by``, step, mean, lo, hi, n."""
    rows = []
    for (g, step), grp in model.groupby([by, "step"], sort=True):
        m, lo, hi = mean_ci(grp[metric], level)
        rows.append({by: g, "step": step, "mean": m, "lo": lo, "hi": hi, "n": len(grp)})
    return pd.DataFrame(rows, columns=[by, "step", "mean", "lo", "hi", "n"])


def _arm_means(per_run: pd.DataFrame, outcome: str, n_arms: int) -> np.ndarray:
    """The outcome per arm (mean over replications), in design order; NaN-free or error."""
    y = per_run.groupby("arm")[outcome].mean().reindex(range(n_arms)).to_numpy(dtype=float)
    if not np.isfinite(y).all():
        missing = [i for i in range(n_arms) if not np.isfinite(y[i])]
        raise ValueError(f"outcome {outcome!r} is missing for arms {missing[:10]} (failed or "
                         "unfinished runs, or NaN values); sensitivity indices need every arm")
    return y


def sobol_indices(design: dict[str, Any], y: np.ndarray, *, level: float = 0.95,
                  n_resamples: int = 1000, seed: int | None = None) -> pd.DataFrame:
    """First-order (S1) and total (ST) Sobol' indices with bootstrap confidence intervals.

    Args:
        design: the experiment's ``design`` (kind ``sobol``: ``problem``, ``second_order``).
        y: the outcome per arm, in design order.
        level: confidence level of the intervals.
        n_resamples: bootstrap resamples.
        seed: bootstrap seed (default: the design's seed); never the global stream.

    Returns:
        One row per factor: factor, S1, S1_conf, ST, ST_conf (``_conf`` = half-width).
    """
    sobol = require("SALib.analyze.sobol", "sensitivity", "Sobol indices")
    si = sobol.analyze(design["problem"], np.asarray(y, dtype=float),
                       calc_second_order=bool(design.get("second_order", False)),
                       num_resamples=n_resamples, conf_level=level,
                       seed=seed or design.get("seed") or 1)
    return pd.DataFrame({"factor": design["problem"]["names"], "S1": si["S1"],
                         "S1_conf": si["S1_conf"], "ST": si["ST"], "ST_conf": si["ST_conf"]})


def morris_indices(design: dict[str, Any], y: np.ndarray, *, level: float = 0.95,
                   n_resamples: int = 1000, seed: int | None = None) -> pd.DataFrame:
    """Morris elementary-effect statistics: mu, mu* (mean |effect|) with its bootstrap
    interval half-width, and sigma, in outcome units per unit of the factor's range.

    Returns:
        One row per factor: factor, mu, mu_star, mu_star_conf, sigma.
    """
    morris = require("SALib.analyze.morris", "sensitivity", "Morris indices")
    x = np.asarray(design["matrix"], dtype=float)
    si = morris.analyze(design["problem"], x, np.asarray(y, dtype=float),
                        num_resamples=n_resamples, conf_level=level,
                        num_levels=int(design.get("levels", 4)),
                        seed=seed or design.get("seed") or 1)
    return pd.DataFrame({"factor": design["problem"]["names"], "mu": si["mu"],
                         "mu_star": si["mu_star"], "mu_star_conf": si["mu_star_conf"],
                         "sigma": si["sigma"]})


def sensitivity(res: ExperimentResults, outcome: str, per_run: pd.DataFrame | None = None
                ) -> pd.DataFrame | None:
    """Sobol or Morris indices of one outcome for a sampled design, else None."""
    design = res.experiment.get("design", {})
    if design.get("kind") not in ("sobol", "morris"):
        return None
    per_run = run_outcomes(res, [outcome]) if per_run is None else per_run
    y = _arm_means(per_run, outcome, len(res.experiment["arms"]))
    fn = sobol_indices if design["kind"] == "sobol" else morris_indices
    return fn(design, y)

