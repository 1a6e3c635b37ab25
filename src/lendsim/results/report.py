"""``lendsim report DIR``: one self-contained HTML file (charts embedded as base64 PNG).

Sections: the experiment and its runs; per-arm summary (mean and 95 % t-interval across
replications of each outcome, an outcome being a run's mean over its last k steps); time
series with bands per arm; response curves over a grid's first factor (and a heatmap over
its first two); scatter of outcomes against sampled factors; Sobol S1/ST or Morris mu*/sigma
when the design is ``sobol`` or ``morris``; failed runs.

Charts are drawn on ``matplotlib.figure.Figure`` objects with an Agg canvas (no pyplot), as
in :mod:`lendsim.results.plots`.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from lendsim.extras import MissingExtraError
from lendsim.fmt import plural
from lendsim.results import analysis as an

__all__ = ["export_csv", "report_html", "run_report_html", "write_report"]

MAX_ARMS_SERIES = 10  # beyond this, one band across all runs instead of one per arm
MAX_ARMS_TABLE = 60


def _figure(width: float = 7.0, height: float = 3.6):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _img(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="chart" src="data:image/png;base64,{data}">'


def _short(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def _arm_label(arm: dict, factors: Sequence[str]) -> str:
    if not factors:
        return "all runs"
    return ", ".join(f"{_short(f)}={_fmt(arm[f])}" for f in factors)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _table_html(df: pd.DataFrame, max_rows: int = MAX_ARMS_TABLE) -> str:
    note = ""
    if len(df) > max_rows:
        note = f"<p>(first {max_rows} of {len(df)} rows)</p>"
        df = df.head(max_rows)
    table = df.to_html(index=False, float_format=lambda x: f"{x:.4g}", border=0, classes="t")
    return f"<div class='scroll'>{table}</div>{note}"  # wide tables scroll, never clipped


def label_colour(rgba) -> str:
    """Black or white, whichever reads better on a cell of colour ``rgba`` (its relative
    luminance, WCAG 2.1, against the middle grey): never white on viridis's yellow.

    Examples:
        >>> label_colour((0.993, 0.906, 0.144, 1.0)), label_colour((0.267, 0.005, 0.329, 1.0))
        ('black', 'white')
    """
    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(float(c)) for c in rgba[:3])
    return "black" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.179 else "white"


def _series_charts(res: an.ExperimentResults, metrics: Sequence[str]) -> list[str]:
    arms = res.experiment["arms"]
    per_arm = len(arms) <= MAX_ARMS_SERIES
    out = []
    for metric in metrics:
        if metric not in res.model.columns:
            continue
        fig = _figure()
        ax = fig.add_subplot()
        model = res.model if per_arm else res.model.assign(arm=-1)
        bands = an.series_bands(model, metric, by="arm")
        for arm, grp in bands.groupby("arm", sort=True):
            label = _arm_label(arms[arm], res.factors) if arm >= 0 else "all runs (mean)"
            line, = ax.plot(grp["step"], grp["mean"], label=label, lw=1.5)
            if grp["lo"].notna().any():
                ax.fill_between(grp["step"], grp["lo"], grp["hi"], alpha=0.2,
                                color=line.get_color(), lw=0)
        ax.set_xlabel("step (month)")
        ax.set_ylabel(metric)
        ax.set_title(f"{metric}: mean across replications, 95 % band")
        ax.legend(fontsize=7, loc="best")
        out.append(_img(fig))
    return out


def _response_charts(summary: pd.DataFrame, res: an.ExperimentResults,
                     outcomes: Sequence[str]) -> list[str]:
    """Grid: outcome against the first factor, one line per combination of the others;
    a heatmap over the first two factors (averaged over any further ones)."""
    factors = res.factors
    numeric = [f for f in factors if pd.api.types.is_numeric_dtype(summary[f])]
    if not numeric:
        return []
    x = numeric[0]
    others = [f for f in factors if f != x]
    out = []
    for o in outcomes:
        if o not in summary.columns:
            continue
        fig = _figure()
        ax = fig.add_subplot()
        groups = summary.groupby(others, sort=True) if others else [((), summary)]
        for key, grp in itertools.islice(groups, 8):
            key = key if isinstance(key, tuple) else (key,)
            grp = grp.sort_values(x)
            label = ", ".join(f"{_short(f)}={_fmt(v)}" for f, v in zip(others, key)) or o
            yerr = np.vstack([grp[o] - grp[f"{o}_lo"], grp[f"{o}_hi"] - grp[o]])
            ax.errorbar(grp[x], grp[o], yerr=np.nan_to_num(yerr), marker="o", capsize=3,
                        label=label)
        ax.set_xlabel(x)
        ax.set_ylabel(o)
        ax.set_title(f"{o} against {_short(x)} (mean, 95 % interval)")
        ax.legend(fontsize=7)
        out.append(_img(fig))
        if len(numeric) >= 2:
            y = numeric[1]
            pivot = summary.pivot_table(index=y, columns=x, values=o, aggfunc="mean")
            fig = _figure(6, 4)
            ax = fig.add_subplot()
            im = ax.imshow(pivot.to_numpy(dtype=float), origin="lower", aspect="auto",
                           cmap="viridis")
            ax.set_xticks(range(pivot.shape[1]), [_fmt(v) for v in pivot.columns])
            ax.set_yticks(range(pivot.shape[0]), [_fmt(v) for v in pivot.index])
            for (i, j), v in np.ndenumerate(pivot.to_numpy(dtype=float)):
                ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=8,
                        color=label_colour(im.cmap(im.norm(v))))
            ax.set_xlabel(x)
            ax.set_ylabel(y)
            ax.set_title(f"{o}" + (" (mean over other factors)" if len(factors) > 2 else ""))
            fig.colorbar(im, ax=ax)
            out.append(_img(fig))
    return out


def _scatter_charts(per_run: pd.DataFrame, res: an.ExperimentResults,
                    outcomes: Sequence[str]) -> list[str]:
    """Sampled designs: each outcome (per arm) against each factor."""
    factors = res.factors
    out = []
    arm_means = per_run.groupby("arm")[[o for o in outcomes if o in per_run] + factors].mean()
    for o in outcomes:
        if o not in arm_means.columns:
            continue
        fig = _figure(2.4 * len(factors), 2.6)
        for i, f in enumerate(factors):
            ax = fig.add_subplot(1, len(factors), i + 1)
            ax.scatter(arm_means[f], arm_means[o], s=10)
            ax.set_xlabel(_short(f))
            if i == 0:
                ax.set_ylabel(o)
        out.append(_img(fig))
    return out


def _sensitivity_section(res: an.ExperimentResults, per_run: pd.DataFrame,
                         outcomes: Sequence[str]) -> list[str]:
    kind = res.experiment.get("design", {}).get("kind")
    if kind not in ("sobol", "morris"):
        return []
    parts = [f"<h2>Sensitivity ({'Sobol S1 / ST' if kind == 'sobol' else 'Morris mu* / sigma'}"
             ")</h2>"]
    for o in outcomes:
        if o not in per_run.columns:
            continue
        try:
            si = an.sensitivity(res, o, per_run)
        except MissingExtraError as exc:  # the rest of the report needs no SALib
            parts.append(f"<p>{html.escape(str(exc))}</p>")
            break
        except ValueError as exc:
            parts.append(f"<p>{html.escape(o)}: {html.escape(str(exc))}</p>")
            continue
        fig = _figure(6, 3)
        ax = fig.add_subplot()
        pos = np.arange(len(si))
        if kind == "sobol":
            for s, dx in (("S1", -0.2), ("ST", 0.2)):  # intervals kept within [0, 1]
                est = si[s].clip(0, 1)
                err = np.vstack([est - si[f"{s}_lo"], si[f"{s}_hi"] - est]).clip(0)
                ax.bar(pos + dx, est, 0.4, yerr=err, capsize=3, label=s)
            ax.set_ylim(0, 1.05)
            ax.set_xticks(pos, [_short(f) for f in si["factor"]], rotation=20)
            ax.set_ylabel("index")
            ax.legend()
        else:
            ax.errorbar(si["mu_star"], si["sigma"], xerr=si["mu_star_conf"], fmt="o")
            for _, r in si.iterrows():
                ax.annotate(_short(r["factor"]), (r["mu_star"], r["sigma"]), fontsize=7)
            ax.set_xlabel("mu*")
            ax.set_ylabel("sigma")
        ax.set_title(o)
        warn = "".join(f"<p class='warn'>Warning: {html.escape(w)}.</p>"
                       for w in si.attrs.get("warnings", []))
        parts.append(f"<h3>{html.escape(o)}</h3>" + warn + _img(fig) + _table_html(si))
    return parts


_CSS = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:2em}
table.t{border-collapse:collapse;font-size:0.8em}table.t td,table.t th{padding:2px 8px;
border-bottom:1px solid #eee;text-align:right}img{max-width:100%;margin:0.5em 0}
pre{background:#f6f6f6;padding:0.5em;font-size:0.75em;overflow:auto}
div.scroll{overflow-x:auto;max-width:100%}p.warn{background:#fff4e5;border-left:4px solid #e69500;
padding:0.4em 0.8em}"""


def report_html(folder: str | Path, outcomes: Sequence[str] | None = None,
                outcome_steps: int | None = None) -> str:
    """The report of an experiment folder, as one HTML string."""
    res = an.load(folder)
    info = res.experiment
    outcomes = list(outcomes or res.outcomes)
    k = outcome_steps or int(info.get("outcome_steps", 12))
    per_run = an.run_outcomes(res, outcomes, k)
    summary = an.arm_summary(per_run, outcomes, res.factors)
    runs = res.runs
    counts = runs["status"].value_counts().to_dict()
    esc = html.escape
    parts = [f"<h1>lendsim experiment: {esc(info['name'])}</h1>",
             f"<p>{esc(info.get('description') or '')}</p>",
             f"<p>file {esc(str(info.get('file')))}; design <b>{esc(info['design']['kind'])}"
             f"</b>, {plural(len(info['arms']), 'arm')} x "
             f"{plural(info['replications'], 'replication')}, "
             f"{info['steps']} months, root seed {info['root_seed']}; runs: "
             + ", ".join(f"{v} {esc(k_)}" for k_, v in sorted(counts.items())) + "</p>",
             f"<p>Outcomes are each run's mean over its last {k} steps; intervals are 95 % "
             "Student-t intervals across replications, cut at what the quantity can take "
             "(0 to 1 for shares and rates, 0 and up for amounts) (common random numbers: "
             "replication r has the same seed in every arm).</p>"]
    missing = [o for o in outcomes if o not in per_run.columns]
    if missing:
        parts.append(f"<p>Not in the model table (skipped): {esc(', '.join(missing))}</p>")
    present = [o for o in outcomes if o in per_run.columns]
    if len(summary):
        note = an.few_replications(int(summary["n"].min()), summary.attrs.get("clipped", 0))
        parts += ["<h2>Summary per arm</h2>",
                  f"<p class='warn'>Warning: {esc(note)}.</p>" if note else "",
                  _table_html(summary)]
        parts += ["<h2>Time series</h2>", *_series_charts(res, present)]
        kind = info["design"]["kind"]
        if kind == "grid":
            parts += ["<h2>Response over the swept factors</h2>",
                      *_response_charts(summary, res, present)]
        elif kind in ("latin", "sobol", "morris"):
            parts += ["<h2>Outcomes against the sampled factors</h2>",
                      *_scatter_charts(per_run, res, present)]
        parts += _sensitivity_section(res, per_run, present)
    else:
        parts.append("<p>No finished runs yet.</p>")
    failed = runs[runs["status"] == "failed"]
    if len(failed):
        parts.append("<h2>Failed runs</h2>")
        for _, r in failed.iterrows():
            parts.append(f"<p>{esc(r['run_id'])} (seed {r['seed']})</p><pre>"
                         f"{esc(r['error'])}</pre>")
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
            f"{esc(info['name'])}</title><style>{_CSS}</style></head><body>"
            + "\n".join(parts) + "</body></html>\n")


def run_report_html(folder: str | Path) -> str:
    """The report of one run folder (``lendsim run``'s output): what was run, the summary
    table, the events and the run's charts, as one HTML string."""
    import tempfile

    from lendsim.results.store import load_run
    from lendsim.results.summary import summary_table

    run = load_run(folder)
    m = run.manifest
    esc = html.escape
    parts = [f"<h1>lendsim run: {esc(str(m.get('scenario', Path(folder).name)))}</h1>",
             f"<p>{plural(int(m.get('steps', len(run.model))), 'month')}, seed "
             f"{esc(str(m.get('seed')))}, lendsim {esc(str(m.get('versions', {}).get('lendsim')))}"
             + (f", commit {esc(str(m['git_commit']))}" if m.get("git_commit") else "")
             + (f"; <code>{esc(str(m['command']))}</code>" if m.get("command") else "")
             + "</p>", "<h2>Summary</h2>", f"<pre>{esc(summary_table(run.model))}</pre>"]
    if len(run.events):
        counts = run.events["kind"].value_counts().sort_index()
        parts += ["<h2>Events</h2>", _table_html(counts.rename("n").reset_index())]
    parts.append("<h2>Charts</h2>")
    from lendsim.results.plots import plot_run

    with tempfile.TemporaryDirectory() as tmp:
        for png in plot_run(run, tmp):
            data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
            parts.append(f'<img alt="{esc(Path(png).stem)}" src="data:image/png;base64,{data}">')
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
            f"{esc(str(m.get('scenario', 'run')))}</title><style>{_CSS}</style></head><body>"
            + "\n".join(parts) + "</body></html>\n")


def is_run_folder(folder: str | Path) -> bool:
    """A folder written by ``lendsim run`` (a manifest, no experiment)."""
    from lendsim.results.folders import EXPERIMENT_FILE, MANIFEST_FILE

    return (Path(folder) / MANIFEST_FILE).is_file() and not (
        Path(folder) / EXPERIMENT_FILE).is_file()


def export_csv(folder: str | Path, dest: str | Path) -> list[Path]:
    """Write a sweep's tables (runs, model, platforms, banks, events, cascades, borrowers;
    parameters joined on) or a run's tables as CSV files into ``dest``; returns them."""
    from lendsim.results.folders import write_atomic

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if is_run_folder(folder):
        from lendsim.results.store import load_run

        run = load_run(folder)
        tables = {"model": run.model, "platforms": run.platforms, "banks": run.banks,
                  "events": run.events, **run.extras}
    else:
        tables = an.load(folder).tables()
    written = []
    for name, df in tables.items():
        if len(df.columns):
            path = dest / f"{name}.csv"
            write_atomic(path, df.to_csv(index=False))
            written.append(path)
    return written


def write_report(folder: str | Path, out: str | Path | None = None,
                 outcomes: Sequence[str] | None = None,
                 outcome_steps: int | None = None) -> Path:
    """Write the report (default ``FOLDER/report.html``) atomically; returns its path."""
    import os

    from lendsim.errors import LendsimError

    if outcome_steps is not None and outcome_steps < 1:
        raise LendsimError(f"--outcome-steps {outcome_steps}: must be a whole number >= 1")
    text = (run_report_html(folder) if is_run_folder(folder)
            else report_html(folder, outcomes, outcome_steps))
    path = Path(out) if out else Path(folder) / "report.html"
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
