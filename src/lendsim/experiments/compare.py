"""A policy against a base on common random numbers, and who is affected (``lendsim compare``,
whose command line is lendsim.cli.compare).

Two files (``BASE.toml POLICY.toml``: scenario or single-arm experiment files) become one
two-arm experiment: the parameters where they differ are its factors, and when only the policy
file has a ``[[policy]]`` schedule or ``[[trigger]]`` rules, the base arm runs the policy file
with ``regulator.apply_schedule = false``. One experiment file with exactly two arms (e.g. a
sweep over ``regulator.apply_schedule = [false, true]``) works too: its first arm is the base.

Replication r of both arms shares one seed, so each replication gives a paired difference
(policy - base) of every outcome; the report shows its mean and 95 % t-interval across
replications, for the main outcomes, for every risk segment and income quintile (who is
affected), for platforms by type and for banks by size.

References:
    Common random numbers and paired t-intervals: Law (2015), Simulation Modeling and
    Analysis, 5th ed., sections 10.2 and 11.2.
"""

from __future__ import annotations

import html
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lendsim.errors import ScenarioError

MAIN_OUTCOMES = ("credit_outstanding", "originations", "approval_rate", "avg_apr",
                 "delinquency_30", "delinquency_90", "default_rate", "charge_offs",
                 "borrowers_rationed", "multi_lender_share", "lenders_per_borrower",
                 "overindebted_share", "hhi", "n_platforms_active", "platform_failures",
                 "bank_capital_ratio_min", "bank_failures", "platform_own_share",
                 "platform_equity", "platform_equity_raised", "platform_dividends")
GROUPS = ("prime", "near_prime", "subprime", "q1", "q2", "q3", "q4", "q5")
GROUP_METRICS = ("approval_rate", "new_loans", "originations", "avg_apr", "defaults",
                 "excluded", "debt")
BANK_SIZES = ("small", "mid_small", "mid_large", "large")  # quartiles of other loans
_IGNORED = ("simulation.seed", "simulation.steps", "output.")


def comparison_experiment(base_file: str | Path, policy_file: str | Path | None = None, *,
                          sets: dict[str, Any] | None = None, replications: int | None = None,
                          steps: int | None = None, root_seed: int | None = None,
                          allow_outside: bool = False):
    """The two-arm experiment behind ``lendsim compare`` (arm 0 = base, arm 1 = policy).

    Raises:
        ScenarioError: a file is bad, has several arms, or both files carry different policy
            schedules (compare those as one experiment with a factor instead).
    """
    from lendsim.experiments.spec import load_experiment

    run_sets = {f"run.{k}": v for k, v in (("replications", replications), ("steps", steps),
                                           ("root_seed", root_seed)) if v is not None}
    sets = dict(sets or {})
    if policy_file is None:
        exp = load_experiment(base_file, {**sets, **run_sets}, allow_outside=allow_outside)
        if exp.n_arms != 2:
            raise ScenarioError(f"{base_file}: {exp.n_arms} arms; lendsim compare FILE needs an "
                                "experiment with exactly 2 arms (base first), or give two files")
        return exp
    pol = load_experiment(policy_file, {**sets, **run_sets}, allow_outside=allow_outside)
    base = load_experiment(base_file, sets, allow_outside=allow_outside)
    for e, f in ((base, base_file), (pol, policy_file)):
        if e.n_arms != 1:
            raise ScenarioError(f"{f}: {e.n_arms} arms; lendsim compare BASE POLICY needs "
                                "files with one arm each")
    a, b = base.arm_scenario(0), pol.arm_scenario(0)
    fa, fb = a.flat(), b.flat()
    keys = sorted(k for k in fb if fa[k] != fb[k] and not k.startswith(_IGNORED))
    arm0 = {k: fa[k] for k in keys}
    arm1 = {k: fb[k] for k in keys}
    if (a.policy, a.triggers) != (b.policy, b.triggers):
        if a.policy or a.triggers:
            raise ScenarioError(f"{base_file} and {policy_file} carry different [[policy]] / "
                                "[[trigger]] lists; compare them as one experiment file with a "
                                "factor (e.g. regulator.apply_schedule = [false, true])")
        key = "regulator.apply_schedule"
        keys = sorted(set(keys) | {key})
        arm0[key], arm1[key] = False, fb[key]
    if not keys:
        raise ScenarioError(f"{base_file} and {policy_file} define the same scenario: nothing "
                            "to compare")
    name = f"compare_{a.name}_vs_{b.name}"
    exp = replace(pol, name=name, description=f"{b.name} against {a.name}", path=None,
                  text=f"# lendsim compare {base_file} {policy_file}\n", factors=tuple(keys),
                  arms=(arm0, arm1), design={"kind": "grid", "factors": list(keys)},
                  tables=tuple(sorted(set(pol.tables) | {"platforms", "banks"})))
    exp.arm_scenario(0)  # both arms validated before anything runs
    exp.arm_scenario(1)
    return exp


def _paired(per_run: pd.DataFrame, column: str,
            bounds: tuple[float, float] | None = None) -> dict[str, Any]:
    """Policy - base of ``column``, paired by replication: means, the difference with its
    95 % t-interval kept within what the difference can be (``bounds``, by default from the
    column's name: a difference of shares lies in [-1, 1]; ``clipped`` says the interval was
    cut there), its p-value (paired t-test) and the number of pairs."""
    from lendsim.results.analysis import difference_bounds, mean_interval

    p = per_run.pivot_table(index="replication", columns="arm", values=column, aggfunc="mean")
    if 0 not in p.columns or 1 not in p.columns:
        return {}
    r = mean_interval(p[1] - p[0], bounds=bounds or difference_bounds(column))
    base = float(p[0].mean())
    return {"base": base, "policy": float(p[1].mean()), "difference": r["mean"],
            "lo": r["lo"], "hi": r["hi"], "p_value": r["p_value"], "n": r["n"],
            "clipped": r["clipped"], "relative": r["mean"] / base if base else np.nan}


def comparison_warnings(tables: dict[str, pd.DataFrame]) -> list[str]:
    """What the reader of :func:`compare_results`' tables should know before trusting their
    intervals: too few replications, or intervals cut at a bound."""
    from lendsim.results.analysis import few_replications

    frames = [df for df in tables.values() if len(df) and "n" in df]
    if not frames:
        return []
    # the experiment's replications (a group absent from some runs has fewer pairs)
    n = int(max(df["n"].max() for df in frames))
    clipped = int(sum(df["clipped"].sum() for df in frames))
    note = few_replications(n, clipped)
    return [note] if note else []


def compare_results(res, last_steps: int = 12) -> dict[str, pd.DataFrame]:
    """Paired differences (arm 1 - arm 0) with 95 % intervals from a two-arm experiment
    folder loaded with :func:`lendsim.results.load`.

    Returns tables ``effects`` (main outcomes), ``who`` (per risk segment and income quintile),
    ``platforms`` (per platform type) and ``banks`` (per bank size quartile); outcomes are
    means over each run's last ``last_steps`` months (sums for failures).
    """
    from lendsim.results.analysis import run_outcomes

    m = res.model
    cols = [c for c in MAIN_OUTCOMES if c in m.columns]
    group_cols = [f"{x}_{g}" for g in GROUPS for x in GROUP_METRICS if f"{x}_{g}" in m.columns]
    per_run = run_outcomes(res, cols + group_cols, last_steps)
    total = m.groupby("run_id")[["platform_failures", "bank_failures"]].sum()
    per_run = per_run.drop(columns=["platform_failures", "bank_failures"], errors="ignore")
    per_run = per_run.merge(total, left_on="run_id", right_index=True)
    effects = pd.DataFrame([{"outcome": c, **_paired(per_run, c)} for c in cols])
    who = pd.DataFrame([{"group": g, "metric": x, **_paired(per_run, f"{x}_{g}")}
                        for g in GROUPS for x in GROUP_METRICS if f"{x}_{g}" in per_run])
    out = {"effects": effects, "who": who,
           "platforms": _platforms_by_type(res, last_steps),
           "banks": _banks_by_size(res, last_steps)}
    return out


def _tail(df: pd.DataFrame, last_steps: int) -> pd.DataFrame:
    last = df.groupby("run_id")["step"].transform("max")
    return df[df["step"] > last - last_steps]


def _platforms_by_type(res, last_steps: int) -> pd.DataFrame:
    p = res.platforms
    if p.empty:
        return pd.DataFrame()
    t = _tail(p, last_steps)
    agg = t.groupby(["run_id", "arm", "replication", "platform_type"]).agg(
        originations=("originations", "mean"), loans_managed=("loans_managed", "mean"),
        market_share=("market_share", "mean"), equity=("equity", "mean")).reset_index()
    end = p[p["step"] == p.groupby("run_id")["step"].transform("max")]
    failed = (end.assign(failed=~end["is_active"].astype(bool))
              .groupby(["run_id", "platform_type"])["failed"].sum().rename("failed"))
    agg = agg.merge(failed, on=["run_id", "platform_type"], how="left")
    rows = []
    for kind, grp in agg.groupby("platform_type"):
        for x in ("originations", "loans_managed", "market_share", "equity", "failed"):
            rows.append({"platform_type": kind, "metric": x,
                         **_paired(grp, x)})
    return pd.DataFrame(rows)


def _banks_by_size(res, last_steps: int) -> pd.DataFrame:
    b = res.banks
    if b.empty:
        return pd.DataFrame()
    first = b[b["step"] == b.groupby("run_id")["step"].transform("min")]
    size = first.groupby("bank_id")["other_loans"].mean().rank(method="first")
    cls = pd.qcut(size, 4, labels=BANK_SIZES) if len(size) >= 4 else size.map(lambda _: "all")
    t = _tail(b, last_steps).assign(size_class=lambda d: d["bank_id"].map(cls).astype(str))
    agg = t.groupby(["run_id", "arm", "replication", "size_class"]).agg(
        joint_loans=("joint_loans", "sum"), capital_ratio=("capital_ratio", "mean"),
        failed=("is_failed", "max")).reset_index()
    rows = []
    for c, grp in agg.groupby("size_class"):
        for x in ("joint_loans", "capital_ratio", "failed"):
            # failed: whether any bank of the class failed in the run (0 or 1)
            rows.append({"bank_size": c, "metric": x,
                         **_paired(grp, x, (-1.0, 1.0) if x == "failed" else None)})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ report
# Charts, tables and page style are those of ``lendsim report`` (lendsim.results.report).

def comparison_charts(res, tables: dict[str, pd.DataFrame]) -> dict[str, list[str]]:
    """``<img>`` tags: ``series`` (main outcomes over time with 95 % bands per arm) and
    ``who`` (the paired differences by group with their intervals)."""
    from lendsim.results.report import _figure, _img, _series_charts

    charts = {"series": [], "who": []}
    charts["series"] = _series_charts(res, [c for c in ("credit_outstanding", "approval_rate", "avg_apr",
                                              "delinquency_30", "default_rate",
                                              "multi_lender_share") if c in res.model.columns])
    who = tables["who"]
    metrics = [x for x in ("approval_rate", "excluded", "avg_apr", "defaults")
               if x in set(who.get("metric", []))]
    if metrics:
        fig = _figure(3.2 * len(metrics), 3.6)
        for i, x in enumerate(metrics):
            ax = fig.add_subplot(1, len(metrics), i + 1)
            w = who[who["metric"] == x].dropna(subset=["difference"])
            y = np.arange(len(w))
            err = np.vstack([w["difference"] - w["lo"], w["hi"] - w["difference"]])
            ax.errorbar(w["difference"], y, xerr=np.nan_to_num(err), fmt="o", capsize=3)
            ax.axvline(0, color="grey", lw=0.8)
            ax.set_yticks(y, w["group"])
            ax.set_title(f"{x.replace('_', ' ')}: policy - base", fontsize=9)
        charts["who"].append(_img(fig))
    return charts


def write_report(out: Path, exp_info: dict, tables: dict[str, pd.DataFrame],
                 charts: dict[str, list[str]]) -> Path:
    """A self-contained HTML report (images embedded), written atomically."""
    from lendsim.results.folders import write_atomic
    from lendsim.results.report import _CSS, _table_html

    esc = html.escape
    arms = pd.DataFrame(exp_info.get("arms", []))
    arms.insert(0, "arm", ["base", "policy"][:len(arms)])
    sections = [("Arms", arms), ("Main outcomes", tables["effects"]),
                ("Who is affected", tables["who"]), ("Platforms by type", tables["platforms"]),
                ("Banks by size (quartiles of other loans)", tables["banks"])]
    reps = exp_info.get("replications")
    warnings = "".join(f"<p class='warn'>Warning: {esc(w)}.</p>"
                       for w in comparison_warnings(tables))
    parts = [f"<h1>{esc(exp_info.get('name', 'comparison'))}</h1>",
             f"<p>{esc(exp_info.get('description', ''))}. {reps} "
             f"replication{'' if reps == 1 else 's'} on common random numbers "
             f"(seeds {exp_info.get('seeds')}), "
             f"{exp_info.get('steps')} months. Differences are policy - base, paired by "
             "replication, with 95 % t-intervals (cut at what the difference can be, e.g. "
             "[-1, 1] for shares: see <i>clipped</i>) and the paired t-test's p-value; means "
             "over the last months of each run.</p>" + warnings]
    for title, df in sections:
        parts.append(f"<h2>{esc(title)}</h2>")
        parts.append(_table_html(df) if len(df) else "<p>No rows.</p>")
        parts += {"Main outcomes": charts["series"],
                  "Who is affected": charts["who"]}.get(title, [])
    page = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
            f"{esc(exp_info.get('name', 'comparison'))}</title><style>{_CSS}</style></head>"
            "<body>" + "\n".join(parts) + "</body></html>\n")
    path = out / "compare.html"
    write_atomic(path, page)
    return path


def write_comparison(out: str | Path, last_steps: int = 12
                     ) -> tuple[dict[str, pd.DataFrame], Path]:
    """Load the two-arm experiment folder ``out``, compute :func:`compare_results` and write
    them: ``compare_<table>.csv`` for each table and ``compare.html`` (each written
    atomically).

    Returns:
        The tables and the path of the HTML report.
    """
    from lendsim.results.analysis import load

    out = Path(out)
    res = load(out)
    tables = compare_results(res, last_steps)
    for name, df in tables.items():
        tmp = out / f".{name}.csv.tmp"
        df.to_csv(tmp, index=False)
        tmp.replace(out / f"compare_{name}.csv")
    report = write_report(out, res.experiment, tables, comparison_charts(res, tables))
    return tables, report
