"""Credit losses by contagion channel: attributed within the run against switched off.

Each credit channel's loss is measured two ways on common seeds:

- *attributed*: the channel's ``losses_<channel>`` column of the run with every channel on (a
  counterfactual on common random numbers within each month, docs/ODD.md 7.17);
- *removed*: total credit losses of that run minus those of the same seed with the channel
  switched off (``contagion.<channel> = false``) from month 1, the paired-run effect of the
  channel. Both runs share the burn-in: the channel goes off when the recorded months start,
  so the pair starts from one market and its difference is what the channel does in the
  months the in-run columns count, not a different history (ten years of a market without
  the channel give other lenders, brands and books).

The debt spiral has no in-run column: borrowing to repay changes what a borrower owes and
whether it defaults for months afterwards, so its attributed loss *is* the paired-run figure
(which can be negative: a loan taken to repay can save the loans it repays). Beside it the
table gives ``refinance_loan_losses``, the losses on loans taken to repay, to show how far that
label is from the cause.

Shares are of the total credit losses (charge-offs net of recoveries) of the run with every
channel on, one per seed; intervals are Student-t intervals of the mean over seeds. The paired
runs share their seed and their burn-in, not every random number of the recorded months: once
switching a channel off changes who borrows, later draws differ, so the removed share carries
the noise of two runs and needs several seeds.

    from lendsim.experiments import channel_attribution
    table = channel_attribution("contagion_platform_failure", seeds=range(1, 11))

References:
    docs/ODD.md, 7.17 (contagion channels and their attribution).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lendsim.errors import ScenarioError
from lendsim.simulation.channels import CREDIT_CHANNELS, IN_RUN_CREDIT_CHANNELS

#: columns of :func:`channel_attribution`'s table, in order
COLUMNS = ("channel", "method", "n", "total", "attributed", "removed", "attributed_share",
           "attributed_share_lo", "attributed_share_hi", "removed_share", "removed_share_lo",
           "removed_share_hi", "gap_share", "gap_share_lo", "gap_share_hi", "label_share")


def channel_attribution(scenario=None, *, seeds: Iterable[int] = (1, 2, 3),
                        channels: Sequence[str] | None = None, steps: int | None = None,
                        overrides: dict[str, Any] | None = None, level: float = 0.95,
                        progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Run the scenario with every channel on and with each channel off, on common seeds, and
    set each channel's attributed credit loss beside the loss switching it off removes.

    Args:
        scenario: a ``Scenario``, a scenario TOML path or example name, or None (default);
            an experiment file (or name) gives its first arm, with its steps.
        seeds: model seeds (``simulation.seed``); each runs ``1 + len(channels)`` times.
        channels: credit channels to measure (``social``, ``debt_spiral``,
            ``platform_failure``); each must be on in the scenario. Default: those on.
        steps: months per run (default ``simulation.steps``).
        overrides: dotted parameter keys applied to every run.
        level: confidence level of the intervals.
        progress: called with a short line after every run.

    Returns:
        One row per channel (:data:`COLUMNS`): ``method`` (``in-run`` or ``paired runs``),
        ``n`` seeds, mean ``total`` credit losses with every channel on, mean ``attributed``
        and ``removed`` losses (RMB over the run), and as shares of each seed's total the
        ``attributed_share``, the ``removed_share`` and their paired difference ``gap_share``
        (attributed - removed), each with its ``_lo``/``_hi`` interval; ``label_share``: the
        share of losses on refinancing loans (debt spiral only).

    Raises:
        ScenarioError: an unknown channel, a channel switched off in the scenario, or no seed;
            before anything runs.
    """
    from lendsim.api import resolve_scenario
    from lendsim.experiments.spec import is_experiment_file, load_experiment

    seeds = [int(s) for s in seeds]
    bad = [c for c in channels or () if c not in CREDIT_CHANNELS]
    if bad:
        raise ScenarioError(f"channels: {bad[0]!r} is not a credit channel; allowed: "
                            f"{', '.join(CREDIT_CHANNELS)}")
    if not seeds:
        raise ScenarioError("seeds: none given; give at least one (two for intervals)")
    if isinstance(scenario, (str, Path)) and is_experiment_file(scenario):
        scenario = load_experiment(scenario).arm_scenario(0)  # its first arm
    scen = resolve_scenario(scenario, overrides)
    if steps is not None:
        scen = scen.with_overrides({"simulation.steps": steps})
    scen = scen.with_overrides({"output.charts": False})
    if channels is None:
        channels = [c for c in CREDIT_CHANNELS if getattr(scen.contagion, c)]
        if not channels:
            raise ScenarioError("contagion: every credit channel is off in the scenario; "
                                "switch on at least one of " + ", ".join(CREDIT_CHANNELS))
    channels = list(channels)
    for c in channels:
        if not getattr(scen.contagion, c):
            raise ScenarioError(f"contagion.{c}: false in the scenario; the channel must be on "
                                "to measure what switching it off removes")
    name = scen.name

    def credit_losses(seed: int, off: str | None = None) -> pd.DataFrame:
        m = _model_table(scen, seed, off)
        if progress is not None:
            progress(f"{name}: seed={seed}" + ("" if off is None else f", {off} off"))
        return m

    rows = []
    for seed in seeds:
        on = credit_losses(seed)
        total = float((on["losses_platforms"] + on["losses_banks"]).sum())
        for c in channels:
            off = credit_losses(seed, c)
            removed = total - float((off["losses_platforms"] + off["losses_banks"]).sum())
            attributed = (float(on[f"losses_{c}"].sum()) if c in IN_RUN_CREDIT_CHANNELS
                          else removed)
            label = float(on["refinance_loan_losses"].sum()) if c == "debt_spiral" else np.nan
            rows.append({"seed": seed, "channel": c, "total": total, "attributed": attributed,
                         "removed": removed, "label": label})
    return summarise(pd.DataFrame(rows), level)


def _model_table(scen, seed: int, off: str | None = None) -> pd.DataFrame:
    """The model table of one run of ``scen`` with ``simulation.seed`` = ``seed``; with
    ``off``, ``contagion.<off>`` is switched off after the burn-in, so that both runs of a pair
    start month 1 from the same market and differ by what the channel does in the recorded
    months (the months whose losses the in-run columns count). Switched off from the start, it
    would also be off through the burn-in, and the two runs would start from different markets
    (other lenders, brands and books), a difference that is not the channel's loss."""
    from lendsim.simulation.model import MarketModel

    model = MarketModel(scen.with_overrides({"simulation.seed": seed}))
    try:
        model.burn_in()
        if off is not None:
            model.params = model.params.with_overrides({f"contagion.{off}": False})
        model.run()
        return model.tables()["model"]
    finally:
        model.close()


def summarise(per_seed: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """The attribution table from per-seed figures.

    Args:
        per_seed: one row per (seed, channel) with ``total``, ``attributed``, ``removed`` and
            ``label`` (RMB; ``label`` NaN where there is none).
        level: confidence level of the intervals.

    Returns:
        The table of :func:`channel_attribution`, channels in first-seen order.

    Examples:
        >>> # two seeds: shares 0.1 and 0.3 attributed, 0.2 and 0.2 removed
        >>> df = pd.DataFrame({"seed": [1, 2], "channel": ["social"] * 2,
        ...                    "total": [100.0, 50.0], "attributed": [10.0, 15.0],
        ...                    "removed": [20.0, 10.0], "label": [np.nan] * 2})
        >>> r = summarise(df).iloc[0]
        >>> [round(float(r[k]), 3) for k in ("attributed", "removed", "attributed_share",
        ...                                  "removed_share", "gap_share")]
        [12.5, 15.0, 0.2, 0.2, -0.0]
        >>> # gaps -0.1 and 0.1: sd 0.1414, t(0.975, 1) = 12.706, half-width 12.706 * 0.1
        >>> round(float(r["gap_share_lo"]), 3), round(float(r["gap_share_hi"]), 3)
        (-1.271, 1.271)
    """
    from lendsim.results.analysis import mean_interval

    out = []
    for c, g in per_seed.groupby("channel", sort=False):
        tot = g["total"].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = {k: np.where(tot > 0, g[k].to_numpy(float) / tot, np.nan)
                     for k in ("attributed", "removed", "label")}
        row: dict[str, Any] = {
            "channel": c, "method": "in-run" if c in IN_RUN_CREDIT_CHANNELS else "paired runs",
            "n": len(g), "total": float(tot.mean()), "attributed": float(g["attributed"].mean()),
            "removed": float(g["removed"].mean())}
        for key, x in (("attributed_share", share["attributed"]),
                       ("removed_share", share["removed"]),
                       ("gap_share", share["attributed"] - share["removed"])):
            r = mean_interval(x, level)
            row[key], row[key + "_lo"], row[key + "_hi"] = r["mean"], r["lo"], r["hi"]
        lab = share["label"][np.isfinite(share["label"])]
        row["label_share"] = float(lab.mean()) if len(lab) else np.nan
        out.append(row)
    return pd.DataFrame(out, columns=list(COLUMNS))


def format_table(table: pd.DataFrame) -> str:
    """The attribution table as Markdown: shares of credit losses in percent, with intervals.

    Examples:
        >>> df = pd.DataFrame([{"channel": "social", "method": "in-run", "n": 10,
        ...     "attributed_share": 0.05, "attributed_share_lo": 0.04,
        ...     "attributed_share_hi": 0.06, "removed_share": 0.06, "removed_share_lo": 0.01,
        ...     "removed_share_hi": 0.11, "gap_share": -0.01, "gap_share_lo": -0.06,
        ...     "gap_share_hi": 0.04, "label_share": np.nan}])
        >>> print(format_table(df).splitlines()[2])
        | social | in-run | 10 | 5.0 % [4.0, 6.0] | 6.0 % [1.0, 11.0] | -1.0 [-6.0, 4.0] |  |
    """
    def pct(r, key):
        return f"{100 * r[key]:.1f} % [{100 * r[key + '_lo']:.1f}, {100 * r[key + '_hi']:.1f}]"

    lines = ["| channel | attributed by | seeds | attributed share | removed by switching off "
             "| gap (points) | label share |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for _, r in table.iterrows():
        label = "" if not np.isfinite(r["label_share"]) else f"{100 * r['label_share']:.1f} %"
        gap = (f"{100 * r['gap_share']:.1f} [{100 * r['gap_share_lo']:.1f}, "
               f"{100 * r['gap_share_hi']:.1f}]")
        lines.append(f"| {r['channel']} | {r['method']} | {r['n']} | "
                     f"{pct(r, 'attributed_share')} | {pct(r, 'removed_share')} | {gap} | "
                     f"{label} |")
    return "\n".join(lines)
