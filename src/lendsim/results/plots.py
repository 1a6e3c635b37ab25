"""Standard PNG charts of one run.

Every chart is drawn on its own ``matplotlib.figure.Figure`` with an Agg canvas attached, never
through ``pyplot``: no global figure registry, no backend switch, so plotting is safe in threads
and worker processes and leaves the caller's matplotlib state alone.

Charts (each skipped, with no file, when the data it needs is absent or empty):

============== ===========================================================================
file           content
============== ===========================================================================
credit.png     credit outstanding (stock) and originations / charge-offs (monthly flows)
risk.png       30+ and 90+ day delinquency and the default rate
market.png     platform market shares (stacked; largest platforms named, rest "other")
               and the Herfindahl-Hirschman index
banks.png      each bank's capital ratio, the minimum across banks highlighted
borrowers.png  approval rate, multi-lender share, over-indebted share, unemployment rate
contagion.png  credit losses by contagion channel
validation.png the scoring models' held-out AUC at each refit, by platform (its drift over
               time), and predicted against realised default rates by band of predicted PD
               on the test windows, pooled over the run, by scoring model (calibration)
============== ===========================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

__all__ = ["CHART_FILES", "plot_run"]

#: Files ``plot_run`` can write, in the order it writes them.
CHART_FILES: tuple[str, ...] = (
    "credit.png",
    "risk.png",
    "market.png",
    "banks.png",
    "borrowers.png",
    "contagion.png",
    "validation.png",
)

STEP_LABEL = "step (month)"
MAX_NAMED_PLATFORMS = 8
MAX_NAMED_BANKS = 8
_MIN_COLOR = "tab:red"
# Default colour cycle without red, which marks the minimum capital ratio.
_BANK_COLORS = tuple(f"C{i}" for i in range(10) if i != 3)


# -- helpers ------------------------------------------------------------------------------------


def _table(tables: Any, name: str) -> pd.DataFrame:
    """Fetch table ``name`` from a mapping or an object with attributes (e.g. ``RunTables``)."""
    if isinstance(tables, Mapping):
        df = tables.get(name)
    else:
        df = getattr(tables, name, None)
    if df is None:
        return pd.DataFrame()
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"table {name!r} must be a pandas DataFrame, got {type(df).__name__}")
    return df


def _numeric(df: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(df[column], errors="coerce")


def _has_data(df: pd.DataFrame, column: str) -> bool:
    """True when ``column`` exists and holds at least one finite number."""
    if df.empty or column not in df.columns or "step" not in df.columns:
        return False
    return bool(np.isfinite(_numeric(df, column).to_numpy(dtype=float, na_value=np.nan)).any())


def _by_step(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values("step", kind="stable")


def _new_figure(nrows: int = 1, height: float = 4.5) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=(8.0, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)  # attach the Agg canvas explicitly; no pyplot, no global backend
    axes = fig.subplots(nrows, 1, sharex=True, squeeze=False)[:, 0]
    return fig, list(axes)


def _save(fig: Figure, path: Path, written: list[Path]) -> None:
    fig.savefig(path, format="png")
    written.append(path)


def _amount_scale(max_abs: float) -> tuple[float, str]:
    """Divisor and unit label so RMB amounts read as small numbers.

    Examples:
        >>> _amount_scale(2.5e9)
        (1000000.0, 'million RMB')
    """
    if not np.isfinite(max_abs) or max_abs < 1e4:
        return 1.0, "RMB"
    if max_abs < 1e7:
        return 1e3, "thousand RMB"
    if max_abs < 1e10:
        return 1e6, "million RMB"
    return 1e9, "billion RMB"


def _percent_axis(ax: Axes) -> None:
    # A formatter is bound to one axis: never share an instance between axes or threads.
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))


def _finish(ax: Axes, title: str, ylabel: str, *, legend: bool = True) -> None:
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize="small")


# -- individual charts ----------------------------------------------------------------------------


def _plot_credit(model: pd.DataFrame, path: Path, written: list[Path]) -> None:
    has_stock = _has_data(model, "credit_outstanding")
    flows = [c for c in ("originations", "charge_offs") if _has_data(model, c)]
    if not has_stock and not flows:
        return
    df = _by_step(model)
    fig, axes = _new_figure(int(has_stock) + int(bool(flows)), height=6.0)
    fig.suptitle("Credit volume")
    i = 0
    if has_stock:
        values = _numeric(df, "credit_outstanding")
        div, unit = _amount_scale(float(values.abs().max()))
        axes[i].plot(df["step"], values / div, color="C0", label="credit outstanding")
        _finish(axes[i], "Credit outstanding (end of month)", unit)
        i += 1
    if flows:
        div, unit = _amount_scale(max(float(_numeric(df, c).abs().max()) for c in flows))
        labels = {"originations": "originations", "charge_offs": "charge-offs"}
        for k, column in enumerate(flows, start=1):
            axes[i].plot(
                df["step"], _numeric(df, column) / div, color=f"C{k}", label=labels[column]
            )
        _finish(axes[i], "Monthly flows", f"{unit} per month")
    axes[-1].set_xlabel(STEP_LABEL)
    _save(fig, path, written)


def _plot_lines(
    model: pd.DataFrame,
    path: Path,
    written: list[Path],
    series: Mapping[str, str],
    title: str,
    ylabel: str,
) -> None:
    present = [c for c in series if _has_data(model, c)]
    if not present:
        return
    df = _by_step(model)
    fig, (ax,) = _new_figure()
    for column in present:
        ax.plot(df["step"], _numeric(df, column), label=series[column])
    _percent_axis(ax)
    _finish(ax, title, ylabel)
    ax.set_xlabel(STEP_LABEL)
    _save(fig, path, written)


def _platform_labels(platforms: pd.DataFrame) -> dict[Any, str]:
    if "platform_type" not in platforms.columns:
        return {pid: f"platform {pid}" for pid in platforms["platform_id"].unique()}
    last_type = _by_step(platforms).groupby("platform_id", sort=False)["platform_type"].last()
    return {pid: f"{pid} ({ptype})" for pid, ptype in last_type.items()}


def _plot_market(
    model: pd.DataFrame, platforms: pd.DataFrame, path: Path, written: list[Path]
) -> None:
    has_shares = "platform_id" in platforms.columns and _has_data(platforms, "market_share")
    has_hhi = _has_data(model, "hhi")
    if not has_shares and not has_hhi:
        return
    fig, axes = _new_figure(int(has_shares) + int(has_hhi), height=6.5)
    fig.suptitle("Market structure")
    i = 0
    shares = None
    if has_shares:
        shares = (
            platforms.assign(market_share=_numeric(platforms, "market_share"))
            .pivot_table(index="step", columns="platform_id", values="market_share", aggfunc="sum")
            .sort_index()
            .fillna(0.0)
        )
        # Name the platforms that were ever largest; lump the rest into "other".
        order = shares.max().sort_values(ascending=False, kind="stable").index
        named = list(order[:MAX_NAMED_PLATFORMS])
        if len(order) > MAX_NAMED_PLATFORMS:
            rest = shares[list(order[MAX_NAMED_PLATFORMS:])].sum(axis=1)
        else:
            rest = None
        labels = _platform_labels(platforms)
        ys = [shares[p].to_numpy() for p in named]
        names = [labels.get(p, str(p)) for p in named]
        if rest is not None:
            ys.append(rest.to_numpy())
            names.append(f"other ({len(order) - MAX_NAMED_PLATFORMS} platforms)")
        axes[i].stackplot(shares.index.to_numpy(), *ys, labels=names, alpha=0.85)
        _percent_axis(axes[i])
        _finish(axes[i], "Platform market shares", "market share (%)", legend=False)
        axes[i].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
        i += 1
    if has_hhi:
        df = _by_step(model)
        hhi = _numeric(df, "hhi")
        axes[i].plot(df["step"], hhi, color="black", label="HHI")
        scale = "0-1" if float(hhi.abs().max()) <= 1.0 else "0-10,000"
        _finish(axes[i], "Concentration (Herfindahl-Hirschman index)", f"HHI ({scale})")
    axes[-1].set_xlabel(STEP_LABEL)
    _save(fig, path, written)


def _plot_banks(model: pd.DataFrame, banks: pd.DataFrame, path: Path, written: list[Path]) -> None:
    has_banks = "bank_id" in banks.columns and _has_data(banks, "capital_ratio")
    has_min = _has_data(model, "bank_capital_ratio_min")
    if not has_banks and not has_min:
        return
    fig, (ax,) = _new_figure()
    if has_banks:
        df = _by_step(banks).assign(capital_ratio=_numeric(banks, "capital_ratio"))
        if "is_failed" in df.columns:
            failed = df["is_failed"].eq(True)  # NaN/None count as not failed
        else:
            failed = pd.Series(False, index=df.index)
        bank_ids = list(pd.unique(df["bank_id"]))
        name_each = len(bank_ids) <= MAX_NAMED_BANKS
        failure_label = "bank failure"
        for k, bank_id in enumerate(bank_ids):
            rows = df["bank_id"] == bank_id
            alive = rows & ~failed
            if name_each:
                label = f"bank {bank_id}"
            else:
                label = "individual banks" if k == 0 else None
            ax.plot(
                df.loc[alive, "step"],
                df.loc[alive, "capital_ratio"],
                linewidth=1.0,
                alpha=0.6 if name_each else 0.35,
                color=_BANK_COLORS[k % len(_BANK_COLORS)] if name_each else "tab:blue",
                label=label,
            )
            dead = rows & failed
            if dead.any():
                first = df.loc[dead].iloc[0]
                ax.plot(
                    [first["step"]],
                    [first["capital_ratio"]],
                    marker="x",
                    color="black",
                    linestyle="none",
                    label=failure_label,
                )
                failure_label = None  # one legend entry for all failures
        if not has_min:
            alive_df = df.loc[~failed]
            minimum = alive_df.groupby("step")["capital_ratio"].min()
            ax.plot(
                minimum.index,
                minimum.to_numpy(),
                color=_MIN_COLOR,
                linewidth=2.5,
                label="minimum across banks",
            )
    if has_min:
        mdf = _by_step(model)
        ax.plot(
            mdf["step"],
            _numeric(mdf, "bank_capital_ratio_min"),
            color=_MIN_COLOR,
            linewidth=2.5,
            label="minimum across banks",
        )
    _percent_axis(ax)
    _finish(ax, "Bank capital ratios", "capital ratio (%)")
    ax.set_xlabel(STEP_LABEL)
    _save(fig, path, written)


# -- public entry point ----------------------------------------------------------------------------


def plot_run(tables: Mapping[str, pd.DataFrame] | Any, out_dir: str | Path) -> list[Path]:
    """Draw the standard charts of one run as PNG files.

    Args:
        tables: The run's tables: a mapping with keys ``model``, ``platforms``, ``banks`` (missing
            keys count as empty), or an object with those attributes such as
            ``lendsim.results.store.RunTables``. Columns follow the results schema: ``step``, RMB
            amounts, fractions for rates (0.05 = 5%).
        out_dir: Directory for the PNG files; created if needed. Existing files of the same
            names are overwritten.

    Returns:
        Paths of the files written, in the order of ``CHART_FILES``. A chart whose data is absent
        or empty is skipped, so the list may be shorter (empty if all tables are empty).

    Raises:
        TypeError: If a table is not a pandas DataFrame.

    Examples:
        >>> import tempfile, pandas as pd
        >>> model = pd.DataFrame({"step": [0, 1, 2], "default_rate": [0.01, 0.02, 0.015]})
        >>> with tempfile.TemporaryDirectory() as d:
        ...     [p.name for p in plot_run({"model": model}, d)]
        ['risk.png']
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = _table(tables, "model")
    platforms = _table(tables, "platforms")
    banks = _table(tables, "banks")
    written: list[Path] = []
    _plot_credit(model, out / "credit.png", written)
    _plot_lines(
        model,
        out / "risk.png",
        written,
        {
            "delinquency_30": "30+ days delinquent",
            "delinquency_90": "90+ days delinquent",
            "default_rate": "default rate",
        },
        "Credit risk",
        "share of loans (%)",
    )
    _plot_market(model, platforms, out / "market.png", written)
    _plot_banks(model, banks, out / "banks.png", written)
    _plot_lines(
        model,
        out / "borrowers.png",
        written,
        {
            "approval_rate": "approval rate (of applications)",
            "multi_lender_share": "borrowers with 2+ lenders",
            "overindebted_share": "over-indebted borrowers",
            "unemployment_rate": "unemployment rate",
        },
        "Borrowers",
        "share (%)",
    )
    _plot_contagion(model, out / "contagion.png", written)
    _plot_validation(_table(tables, "validation"), out / "validation.png", written)
    return written


def _plot_contagion(model: pd.DataFrame, path: Path, written: list[Path]) -> None:
    """Losses by contagion channel (stacked), with the banks' share (common funder) as a line."""
    from lendsim.results.contagion_plots import loss_columns, plot_losses_by_channel

    if model.empty or "step" not in model.columns or not loss_columns(model):
        return
    fig, (ax,) = _new_figure()
    plot_losses_by_channel(model, ax)
    if _has_data(model, "losses_common_funder"):
        by_step = model.groupby("step")["losses_common_funder"].sum()
        ax.plot(by_step.index, by_step.to_numpy(), color="black", linestyle="--",
                label="of which borne by banks (common funder)")
        ax.legend(loc="upper left", fontsize="small")
    _save(fig, path, written)


def _plot_validation(validation: pd.DataFrame, path: Path, written: list[Path]) -> None:
    """Held-out AUC by platform over time, and calibration by band pooled by scoring model."""
    if not _has_data(validation, "auc_test"):
        return
    fig = Figure(figsize=(8.0, 7.0), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 1)  # not sharing x: the calibration panel's x axis is a PD
    ax_cal = axes[1]
    fits = _by_step(validation).drop_duplicates(["step", "platform_id"])
    labels = _platform_labels(fits)
    ids = list(pd.unique(fits["platform_id"]))
    for k, pid in enumerate(ids[:MAX_NAMED_PLATFORMS]):
        rows = fits[fits["platform_id"] == pid]
        axes[0].plot(rows["step"], _numeric(rows, "auc_test"), marker="o", markersize=3,
                     label=labels.get(pid, str(pid)))
    axes[0].set_xlabel(STEP_LABEL)
    _finish(axes[0], "Scoring models: held-out AUC at each refit", "AUC (test window)")
    pooled = (validation.assign(pred_n=_numeric(validation, "pd_predicted") * validation["n"])
              .groupby(["scoring", "band"], sort=True)[["n", "defaults", "pred_n"]].sum())
    top = 0.0
    for scoring, g in pooled.groupby(level="scoring"):
        pred, real = g["pred_n"] / g["n"], g["defaults"] / g["n"]
        ax_cal.plot(pred, real, marker="o", label=str(scoring))
        top = max(top, float(pred.max()), float(real.max()))
    ax_cal.plot([0, top], [0, top], color="grey", linestyle=":", label="calibrated")
    ax_cal.xaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    _percent_axis(ax_cal)
    ax_cal.set_xlabel("predicted default rate (band of predicted PD)")
    _finish(ax_cal, "Calibration on the test windows, pooled over the run", "realised default "
            "rate")
    _save(fig, path, written)
