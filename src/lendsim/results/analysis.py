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
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lendsim.errors import DamagedRunWarning
from lendsim.extras import require

__all__ = ["ExperimentResults", "arm_summary", "income_statement", "load", "mean_ci",
           "morris_indices", "run_outcomes", "series_bands", "sobol_indices"]

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

    def summary(self, outcomes: Sequence[str] | None = None, last_steps: int | None = None,
                level: float = 0.95) -> pd.DataFrame:
        """Per arm: the factors, the number of replications and each outcome's mean and
        interval across replications (:func:`arm_summary` of :func:`run_outcomes`); outcomes
        default to the experiment's, each a run's mean over its last ``last_steps`` months."""
        outcomes = list(outcomes or self.outcomes)
        per_run = run_outcomes(self, outcomes, last_steps)
        return arm_summary(per_run, [o for o in outcomes if o in per_run], self.factors, level)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"runs": self.runs, **{t: getattr(self, t) for t in TABLES}}


def load(path: str | Path) -> ExperimentResults:
    """Load an experiment folder written by ``lendsim sweep``.

    Only finished runs contribute rows; the runs table lists every run with its status (so
    a sweep still in progress can be loaded). Runs whose files are missing or unreadable
    (status ``damaged``) are skipped with one :class:`DamagedRunWarning` naming them. Rows are in run order, then in each run's own
    order, so the same sweep gives the same frames whatever executor ran it.

    Raises:
        LendsimError: ``path`` is not an experiment folder.
    """
    from lendsim.results.folders import RUNS_DIR, folder_status

    st = folder_status(path)
    info, runs = st["info"], st["runs"]
    keys = list(_KEYS) + list(info["factors"])
    frames: dict[str, list[pd.DataFrame]] = {t: [] for t in TABLES}
    skipped = list(runs.loc[runs["status"] == "damaged", "run_id"])
    for row in runs[runs["status"] == "done"].itertuples(index=False):
        run_dir = Path(path) / RUNS_DIR / row.run_id
        got = {}
        try:
            for t in TABLES:
                file = run_dir / f"{t}.parquet"
                if file.is_file():
                    df = pd.read_parquet(file, engine="pyarrow")
                    if len(df):
                        got[t] = df.assign(run_id=row.run_id)
        except Exception:  # noqa: BLE001 - damaged since it was scanned: skip the whole run
            skipped.append(row.run_id)
            runs.loc[runs["run_id"] == row.run_id, "status"] = "damaged"
            continue
        for t, df in got.items():
            frames[t].append(df)
    if skipped:
        import warnings

        shown = ", ".join(skipped[:5]) + (" ..." if len(skipped) > 5 else "")
        warnings.warn(f"{path}: skipped {len(skipped)} damaged run(s) ({shown}): their files "
                      "are missing or unreadable; lendsim sweep reruns them", DamagedRunWarning,
                      stacklevel=2)
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


#: Outcomes that are shares of a population or of a market: every value lies in [0, 1].
_SHARES = re.compile(r"(approval_rate|delinquency_\d+|default_rate|hhi|multi_lender_share|"
                     r"overindebted_share|unemployment_rate|platform_own_share|market_share|"
                     r"data_sharing|excluded)(_[a-z0-9_]+)?")
#: Amounts, counts and prices: never negative.
_NONNEGATIVE = re.compile(r"(credit_outstanding|originations|avg_apr|charge_offs|n_[a-z_]+|"
                          r"[a-z_]+_failures|borrowers_[a-z_]+|lenders_per_borrower|"
                          r"refinance_originations|refinance_loan_losses|losses_[a-z_]+|"
                          r"consumption|applications|"
                          r"new_loans|defaults|debt|joint_loans|loans_managed|apr_cap|"
                          r"retail_withdrawals|platform_entries|benchmark_rate)(_[a-z0-9_]+)?")

#: Below this many replications, compare and report warn that their t-intervals are not to be
#: trusted (the t quantile alone is 12.7 at 2 replications, 4.3 at 3, 2.8 at 5; and so few
#: runs cannot show whether the run outcomes are near enough to normal for a t-interval).
MIN_REPLICATIONS = 5


def bounds(outcome: str) -> tuple[float, float]:
    """The range an outcome's values can take: (0, 1) for shares and rates, (0, inf) for
    amounts, counts and prices, else (-inf, inf).

    Examples:
        >>> bounds("approval_rate_subprime"), bounds("excluded_q1"), bounds("delinquency_30")
        ((0.0, 1.0), (0.0, 1.0), (0.0, 1.0))
        >>> bounds("credit_outstanding"), bounds("bank_capital_ratio_min")
        ((0.0, inf), (-inf, inf))
    """
    if _SHARES.fullmatch(outcome):
        return (0.0, 1.0)
    if _NONNEGATIVE.fullmatch(outcome):
        return (0.0, math.inf)
    return (-math.inf, math.inf)


def difference_bounds(outcome: str) -> tuple[float, float]:
    """The range of a difference of two values of ``outcome`` (e.g. policy - base).

    Examples:
        >>> difference_bounds("approval_rate"), difference_bounds("credit_outstanding")
        ((-1.0, 1.0), (-inf, inf))
    """
    lo, hi = bounds(outcome)
    return (lo - hi, hi - lo)


def mean_interval(values: Sequence[float] | np.ndarray, level: float = 0.95,
                  bounds: tuple[float, float] = (-math.inf, math.inf)) -> dict[str, Any]:
    """Mean, Student-t interval of the mean kept within ``bounds``, and a two-sided p-value
    for "the true mean is 0".

    A t-interval of a bounded quantity can cross its bounds when replications are few or the
    mean is near a bound; it is then cut at the bound and ``clipped`` is True: a sign that more
    replications are needed before the interval's width means much.

    Args:
        values: one value per replication (NaN ignored).
        level: confidence level, 0 < level < 1.
        bounds: the values the quantity can take, e.g. (-1, 1) for a difference of two shares.

    Returns:
        ``mean``, ``lo``, ``hi``, ``n``, ``clipped`` and ``p_value`` (one-sample t-test against
        0; NaN with fewer than 2 values or no variation).

    Examples:
        >>> # two replications of a difference of shares: t(0.975, 1) = 12.706, s = 0.4243,
        >>> # half-width 12.706 * 0.4243 / sqrt(2) = 3.812: [-4.112, 3.512] -> [-1, 1]
        >>> r = mean_interval([-0.6, 0.0], bounds=(-1.0, 1.0))
        >>> round(r["mean"], 3), r["lo"], r["hi"], r["clipped"], round(r["p_value"], 3)
        (-0.3, -1.0, 1.0, True, 0.5)
    """
    from scipy import stats

    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    out: dict[str, Any] = {"mean": math.nan, "lo": math.nan, "hi": math.nan, "n": n,
                           "clipped": False, "p_value": math.nan}
    if n == 0:
        return out
    m = float(x.mean())
    out["mean"] = m
    if n < 2:
        return out
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * sd / math.sqrt(n))
    lo, hi = m - half, m + half
    out["clipped"] = bool(lo < bounds[0] or hi > bounds[1])
    out["lo"], out["hi"] = max(lo, bounds[0]), min(hi, bounds[1])
    if sd > 0:
        out["p_value"] = float(2 * stats.t.sf(abs(m) / (sd / math.sqrt(n)), n - 1))
    return out


def few_replications(n: int, clipped: int = 0, what: str = "intervals") -> str | None:
    """A warning when ``n`` replications are too few for the t-intervals printed from them
    (or some intervals were cut at a bound), else None.

    Examples:
        >>> few_replications(2)[:40]
        'only 2 replications: the 95 % intervals '
        >>> few_replications(10) is None, few_replications(10, clipped=3)[:24]
        (True, '3 intervals reach beyond')
    """
    if n < MIN_REPLICATIONS:
        plural = "replication" if n == 1 else "replications"
        return (f"only {n} {plural}: the 95 % {what} rest on a t quantile that is large with "
                f"so few (12.7 at 2, 4.3 at 3) and on run outcomes being near normal, which "
                f"so few runs cannot show; use at least {MIN_REPLICATIONS}, and see "
                "docs/experiments.md for how many a question needs")
    if clipped:
        return (f"{clipped} {what} reach beyond what the quantity can take (shown cut at the "
                "bound): more replications are needed for their width to mean much")
    return None


def mean_ci(values: Sequence[float] | np.ndarray, level: float = 0.95,
            bounds: tuple[float, float] = (-math.inf, math.inf)
            ) -> tuple[float, float, float]:
    """Mean and two-sided Student-t confidence interval of the mean (cut at ``bounds``; see
    :func:`mean_interval` for the flag that says so).

    Args:
        values: one value per replication (NaN ignored).
        level: confidence level, 0 < level < 1.
        bounds: the values the quantity can take.

    Returns:
        (mean, low, high); the interval is NaN with fewer than 2 values.

    Examples:
        >>> # s = 1, t(0.975, 2) = 4.3027, half-width 4.3027 / sqrt(3) = 2.4841
        >>> m, lo, hi = mean_ci([1.0, 2.0, 3.0])
        >>> round(m, 4), round(lo, 4), round(hi, 4)
        (2.0, -0.4841, 4.4841)
    """
    r = mean_interval(values, level, bounds)
    return (r["mean"], r["lo"], r["hi"])


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
    and t-interval across replications (``<outcome>``, ``<outcome>_lo``, ``<outcome>_hi``),
    kept within the outcome's :func:`bounds`. ``attrs["clipped"]`` counts the intervals cut
    at a bound.
    """
    rows = []
    clipped = 0
    for arm, grp in per_run.groupby("arm", sort=True):
        row: dict[str, Any] = {"arm": int(arm)}
        row.update({f: grp[f].iloc[0] for f in factors})
        row["n"] = len(grp)
        for o in outcomes:
            if o in grp.columns:
                r = mean_interval(grp[o], level, bounds(o))
                row[o], row[f"{o}_lo"], row[f"{o}_hi"] = r["mean"], r["lo"], r["hi"]
                clipped += r["clipped"]
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs["clipped"] = clipped
    return out


def income_statement(platforms: pd.DataFrame, first: int = 1, last: int | None = None,
                     by: str | list[str] = "platform_type") -> pd.DataFrame:
    """Platforms' income statements over months ``first``-``last``, pooled by ``by`` (each
    platform type by default): what each line of income and expense is, as an annual rate on
    the live platforms' mean managed book, and what their profit earns on their equity.

    Columns: every line of the statement (``lendsim.agents.platforms.INCOME_LINES`` and
    ``EXPENSE_LINES``; expenses as positive rates), ``profit`` (income less expenses), all
    as ``12 x Σ line / Σ loans_managed`` over the rows (annual, fraction of the book);
    ``equity_to_book`` (``Σ opening equity / Σ loans_managed``); ``roe`` (``12 x Σ profit /
    Σ opening equity``, opening equity the month's start, ``equity - profit + dividends -
    equity_raised``, over the rows where it is positive); ``platform_months``. Rows: live
    platforms only (``is_active``).

    A segment's ``roe`` against its type's ``target_roe`` (the return its prices aim for and
    at which it raises capital) says whether the niche pays its cost of capital; the lines
    say why.

    Examples:
        >>> t = pd.DataFrame({"step": [1, 2], "platform_type": "x", "is_active": True,
        ...                   "loans_managed": 1200.0, "equity": [100.0, 101.0],
        ...                   "dividends": 0.0, "equity_raised": 0.0, "profit": [1.0, 1.0],
        ...                   "interest_income": 3.0, "operating_cost": 2.0})
        >>> s = income_statement(t)  # profit 12 x 2 / 2400; roe 12 x 2 / (99 + 100)
        >>> round(float(s.loc["x", "profit"]), 4), round(float(s.loc["x", "roe"]), 4)
        (0.01, 0.1206)
    """
    from lendsim.agents.platforms import EXPENSE_LINES, INCOME_LINES

    last = int(platforms["step"].max()) if last is None else last
    t = platforms[(platforms["step"] >= first) & (platforms["step"] <= last)
                  & platforms["is_active"].astype(bool)].copy()
    lines = [c for c in (*INCOME_LINES, *EXPENSE_LINES) if c in t.columns]
    t["opening_equity"] = t["equity"] - t["profit"] + t["dividends"] - t["equity_raised"]
    t["_pos_equity"] = t["opening_equity"].where(t["opening_equity"] > 0, 0.0)
    t["_pos_profit"] = t["profit"].where(t["opening_equity"] > 0, 0.0)
    g = t.groupby(by, sort=True)
    book = g["loans_managed"].sum()
    out = pd.DataFrame({c: 12.0 * g[c].sum() / book for c in lines})
    out["profit"] = 12.0 * g["profit"].sum() / book
    out["equity_to_book"] = g["opening_equity"].sum() / book
    out["roe"] = 12.0 * g["_pos_profit"].sum() / g["_pos_equity"].sum()
    out["platform_months"] = g.size()
    return out


def series_bands(model: pd.DataFrame, metric: str, by: str = "arm", level: float = 0.95
                 ) -> pd.DataFrame:
    """Mean of ``metric`` per (group, step) across replications with its t-interval, kept
    within the metric's :func:`bounds` (no negative delinquency): columns ``by``, step, mean,
    lo, hi, n, clipped."""
    rows = []
    b = bounds(metric)
    for (g, step), grp in model.groupby([by, "step"], sort=True):
        r = mean_interval(grp[metric], level, b)
        rows.append({by: g, "step": step, "mean": r["mean"], "lo": r["lo"], "hi": r["hi"],
                     "n": len(grp), "clipped": r["clipped"]})
    return pd.DataFrame(rows, columns=[by, "step", "mean", "lo", "hi", "n", "clipped"])


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
        One row per factor: factor, S1, S1_conf, ST, ST_conf (``_conf`` = half-width), and
        the intervals S1_lo, S1_hi, ST_lo, ST_hi kept within [0, 1] (where every index lies).
        ``attrs["warnings"]`` says when the sample is too small for the indices to mean much
        (fewer than :data:`MIN_SOBOL_N` base samples, an estimate outside [0, 1], or an
        interval wider than +-0.1).
    """
    sobol = require("SALib.analyze.sobol", "sensitivity", "Sobol indices")
    y = np.asarray(y, dtype=float)
    second = bool(design.get("second_order", False))
    si = sobol.analyze(design["problem"], y, calc_second_order=second,
                       num_resamples=n_resamples, conf_level=level,
                       seed=seed or design.get("seed") or 1)
    out = pd.DataFrame({"factor": design["problem"]["names"], "S1": si["S1"],
                        "S1_conf": si["S1_conf"], "ST": si["ST"], "ST_conf": si["ST_conf"]})
    for s in ("S1", "ST"):
        out[f"{s}_lo"] = (out[s] - out[f"{s}_conf"]).clip(0.0, 1.0)
        out[f"{s}_hi"] = (out[s] + out[f"{s}_conf"]).clip(0.0, 1.0)
    k = int(design["problem"]["num_vars"])
    n = int(design.get("n") or len(y) // ((2 * k + 2) if second else (k + 2)))
    out.attrs["warnings"] = sensitivity_warnings(out, n)
    return out


#: Base samples below which Sobol indices are flagged: Saltelli et al. (2010) use N of 500 to
#: several thousand; with N = 7 the shipped example's intervals are +-1 and more.
MIN_SOBOL_N = 256
#: Morris trajectories below which mu* is flagged (Campolongo, Cariboni & Saltelli 2007 use
#: r = 10 to 50).
MIN_MORRIS_R = 10


def sensitivity_warnings(si: pd.DataFrame, n: int) -> list[str]:
    """Why Sobol indices ``si`` (from :func:`sobol_indices`) from ``n`` base samples should not
    be read as they stand; empty when nothing is wrong.

    Examples:
        >>> si = pd.DataFrame({"S1": [0.3, -0.2], "ST": [1.4, 0.1],
        ...                    "S1_conf": [0.05, 0.05], "ST_conf": [0.05, 0.05]})
        >>> [w.split(":")[0] for w in sensitivity_warnings(si, 1024)]
        ['indices outside [0, 1]']
        >>> len(sensitivity_warnings(si.assign(S1=0.2, ST=0.3), 8))
        1
    """
    out = []
    if n < MIN_SOBOL_N:
        out.append(f"only {n} base samples (N): Sobol estimates this small vary by more than "
                   f"the indices themselves; use N >= {MIN_SOBOL_N} (sample.n)")
    est = pd.concat([si["S1"], si["ST"]])
    if ((est < -0.05) | (est > 1.05)).any():
        out.append("indices outside [0, 1]: every Sobol index lies in [0, 1], so these "
                   "estimates are noise at this sample size; increase sample.n")
    conf = pd.concat([si["S1_conf"], si["ST_conf"]])
    if (conf > 0.1).any():
        out.append(f"intervals up to +-{conf.max():.2g}: wider than the differences between "
                   "factors they would rank; increase sample.n")
    return out


def morris_indices(design: dict[str, Any], y: np.ndarray, *, level: float = 0.95,
                   n_resamples: int = 1000, seed: int | None = None) -> pd.DataFrame:
    """Morris elementary-effect statistics: mu, mu* (mean |effect|) with its bootstrap
    interval half-width, and sigma, in outcome units per unit of the factor's range.

    Returns:
        One row per factor: factor, mu, mu_star, mu_star_conf, sigma; ``attrs["warnings"]``
        says when there are fewer than :data:`MIN_MORRIS_R` trajectories.
    """
    morris = require("SALib.analyze.morris", "sensitivity", "Morris indices")
    x = np.asarray(design["matrix"], dtype=float)
    si = morris.analyze(design["problem"], x, np.asarray(y, dtype=float),
                        num_resamples=n_resamples, conf_level=level,
                        num_levels=int(design.get("levels", 4)),
                        seed=seed or design.get("seed") or 1)
    out = pd.DataFrame({"factor": design["problem"]["names"], "mu": si["mu"],
                        "mu_star": si["mu_star"], "mu_star_conf": si["mu_star_conf"],
                        "sigma": si["sigma"]})
    r = len(x) // (int(design["problem"]["num_vars"]) + 1)
    out.attrs["warnings"] = ([] if r >= MIN_MORRIS_R else [
        f"only {r} trajectories (r): mu* and sigma from so few elementary effects rank factors "
        f"unreliably; use r >= {MIN_MORRIS_R} (sample.n)"])
    return out


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

