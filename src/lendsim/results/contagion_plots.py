"""Charts of contagion: cascade-size distribution and losses by contagion channel.

Like :mod:`lendsim.results.plots`, a chart is drawn on its own ``Figure`` with an Agg canvas
(never through ``pyplot``) unless the caller passes an ``Axes``. Each function returns the
``Axes`` it drew on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from lendsim.errors import LendsimError
from lendsim.simulation.channels import CHANNELS

__all__ = ["CHANNELS", "STACKED", "cascade_ccdf", "loss_columns", "plot_cascade_ccdf", "plot_losses_by_channel"]

#: What the losses chart stacks by default: credit losses split by cause (fundamental and the
#: borrower-layer channels attributed within the run; the debt spiral's loss comes from paired
#: runs) and the institution-layer losses that are not credit losses.
#: ``losses_common_funder`` is left out: it is the banks' share of the credit losses already
#: stacked, and would count them twice.
STACKED = ("fundamental", "social", "platform_failure", "interbank", "reputation",
           "operational")


def _new_axes(ax: Axes | None, figsize=(6.4, 4.0)) -> Axes:
    if ax is not None:
        return ax
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig.add_subplot()


def cascade_ccdf(sizes) -> tuple[np.ndarray, np.ndarray]:
    """Empirical complementary CDF of cascade sizes, ``P(S >= s)`` at each distinct size.

    Args:
        sizes: Cascade sizes (numbers of failed nodes, or shares); sizes <= 0 and NaN are
            dropped (they have no place on a log axis).

    Returns:
        ``(s, P(S >= s))``, ``s`` ascending; empty arrays if no size is positive.

    References:
        Clauset, A., Shalizi, C. R. & Newman, M. E. J. (2009). Power-law distributions in
        empirical data. SIAM Review 51(4), 661-703 (the CCDF as the way to plot heavy tails).

    Examples:
        >>> s, p = cascade_ccdf([1, 1, 2, 5])
        >>> s.tolist(), p.tolist()
        ([1.0, 2.0, 5.0], [1.0, 0.5, 0.25])
    """
    x = np.asarray(sizes, dtype=np.float64).ravel()
    x = np.sort(x[np.isfinite(x) & (x > 0)])
    if x.size == 0:
        return np.empty(0), np.empty(0)
    values, first = np.unique(x, return_index=True)
    return values, (x.size - first) / x.size


def plot_cascade_ccdf(sizes, ax: Axes | None = None, *, label: str | None = None) -> Axes:
    """Plot the complementary CDF of cascade sizes on log-log axes.

    Args:
        sizes: Cascade sizes (see :func:`cascade_ccdf`).
        ax: Axes to draw on; a new Agg figure if None.
        label: Legend label for the line.

    Returns:
        The Axes; its last line holds ``(s, P(S >= s))``.
    """
    ax = _new_axes(ax)
    s, p = cascade_ccdf(sizes)
    ax.plot(s, p, marker="o", markersize=3, linestyle="-", drawstyle="steps-post", label=label)
    if s.size:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel("cascade size s")
    ax.set_ylabel("P(size >= s)")
    ax.set_title(f"Cascade sizes (n = {int(np.sum(np.asarray(sizes, dtype=float) > 0))})")
    if label is not None:
        ax.legend()
    return ax


def loss_columns(model_df: pd.DataFrame, channels: Sequence[str] | None = None) -> list[str]:
    """The ``losses_<channel>`` columns present in ``model_df``, in channel order.

    Only contagion channels count (``channels``, default :data:`STACKED`): other
    ``losses_*`` columns, such as losses by funder type (``losses_platforms``,
    ``losses_banks``), split the same money another way and would double-count if stacked.
    """
    channels = STACKED if channels is None else tuple(channels)
    return [f"losses_{c}" for c in channels if f"losses_{c}" in model_df.columns]


def plot_losses_by_channel(model_df: pd.DataFrame, ax: Axes | None = None, *,
                           channels: Sequence[str] | None = None) -> Axes:
    """Stacked area of losses per contagion channel over ``step``.

    Args:
        model_df: The run's model table (one row per step; a ``step`` column and
            ``losses_<channel>`` columns; several runs' rows for one step are summed).
        ax: Axes to draw on; a new Agg figure if None.
        channels: Channels to stack (default :data:`STACKED`, those present).

    Returns:
        The Axes; ``ax.collections[k]`` is the band of the ``k``-th channel found, between
        the cumulative sums of the channels before it and including it.

    Raises:
        LendsimError: If there is no ``step`` column or no ``losses_<channel>`` column.
    """
    if "step" not in model_df.columns:
        raise LendsimError("model table has no 'step' column; allowed: a lendsim model table")
    cols = loss_columns(model_df, channels)
    if not cols:
        wanted = ", ".join(f"losses_{c}" for c in (STACKED if channels is None else channels))
        raise LendsimError(f"model table has none of the loss columns {wanted}")
    df = model_df[["step", *cols]].copy()
    df[cols] = df[cols].apply(pd.to_numeric, errors="coerce").fillna(0.0)
    by_step = df.groupby("step", sort=True)[cols].sum()
    # million RMB, as the run's other charts of credit and losses show them (never raw RMB)
    scale, unit = 1e6, "million RMB"
    ax = _new_axes(ax)
    ax.stackplot(by_step.index.to_numpy(), *(by_step[c].to_numpy() / scale for c in cols),
                 labels=[c.removeprefix("losses_").replace("_", " ") for c in cols])
    ax.set_xlabel("step (month)")
    ax.set_ylabel(f"losses ({unit})")
    ax.set_title("Losses by contagion channel")
    ax.legend(loc="upper left", fontsize="small")
    return ax
