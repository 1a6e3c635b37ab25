"""The dashboard's pictures: the market network and six live charts, drawn to PNG.

Matplotlib, not Altair: the figures are drawn on the server, so the dashboard works without
the browser fetching Vega from a CDN (a classroom may be offline). Matplotlib spends most of a
redraw on axes, ticks and text (about 30 ms per panel on a 2-core machine), so each picture
keeps one figure per model and redraws only what changed: the frame (axes, ticks, legends) is
drawn when its limits or legend change, which the "nice" limits below make rare, and saved as
a background; every step restores that background and draws just the data on it (matplotlib's
blitting; Hunter 2007, "Matplotlib animation and blitting" guide). Figures are made with
:class:`matplotlib.figure.Figure` directly, never ``pyplot``, so nothing global is touched and
browser sessions do not share state.

References:
    issue 6, items 3, 4 and 6 (network picture, live charts, under 200 ms a step).
"""

from __future__ import annotations

import contextlib
import io
import math
import threading

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator
from PIL import Image

from lendsim.viz import data
from lendsim.viz.network import (BorrowerStatus, bank_lending, borrower_status,
                                 funding_edges, lending_edges, node_area, platform_lending,
                                 social_edges, status_counts)

STATUS_COLOURS = {
    BorrowerStatus.NEVER_BORROWED: "#c7c7c7",
    BorrowerStatus.CURRENT: "#2ca02c",
    BorrowerStatus.DELINQUENT: "#ff9f1c",
    BorrowerStatus.DEFAULTED: "#d62728",
}
TYPE_COLOURS = {"embedded": "#1f77b4", "micro_lender": "#9467bd",
                "consumer_finance": "#17becf", "p2p": "#8c564b"}
BANK_COLOUR = "#203864"
FAILED_COLOUR = "#7f7f7f"
SERIES_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                  "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
_STATUS_RGBA = np.array([[int(STATUS_COLOURS[s][i:i + 2], 16) / 255 for i in (1, 3, 5)] + [1.0]
                         for s in BorrowerStatus])
DPI = 72


def nice_ceiling(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k at or above ``x`` (0 for x <= 0), so that an axis
    limit moves only now and then as a series grows.

    Examples:
        >>> [nice_ceiling(v) for v in (0.0, 0.031, 0.7, 1.0, 3.2, 1234.0)]
        [0.0, 0.05, 1.0, 1.0, 5.0, 2000.0]
    """
    if not np.isfinite(x) or x <= 0:
        return 0.0
    k = math.floor(math.log10(x))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        v = m * 10.0 ** k
        if v >= x * (1 - 1e-12):
            return float(round(v, 12))
    return float(10.0 ** (k + 1))  # pragma: no cover (the loop always returns)


def month_limit(step: int) -> int:
    """The x-axis end, in months: two years, doubled whenever the run outgrows it (so every
    chart's frame is redrawn for it only at months 25, 49, 97, ...).

    Examples:
        >>> month_limit(0), month_limit(24), month_limit(25), month_limit(97)
        (24, 24, 48, 192)
    """
    limit = 24
    while limit < step:
        limit *= 2
    return limit


def to_png(canvas: FigureCanvasAgg) -> bytes:
    """The canvas's current pixels as PNG bytes (fast zlib level: the image is mostly flat
    colour, so level 1 is nearly as small and several times faster than the default)."""
    w, h = canvas.get_width_height()
    img = Image.frombuffer("RGBA", (w, h), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buf = io.BytesIO()
    img.save(buf, format="png", compress_level=1)
    return buf.getvalue()


class _Blitter:
    """A figure whose frame is drawn only when its ``key`` changes. Data artists are made
    once, ``animated`` (so the frame leaves them out), updated in place and drawn over the
    saved frame on every render."""

    def __init__(self, figsize: tuple[float, float]):
        self.fig = Figure(figsize=figsize, dpi=DPI)
        self.canvas = FigureCanvasAgg(self.fig)
        self.key = None
        self.background = None
        self.dynamic: list = []
        self.n_full = 0  # full redraws so far (the tests and the benchmark read it)
        self.lock = threading.Lock()

    def add(self, artist):
        artist.set_animated(True)
        self.dynamic.append(artist)
        return artist

    def render(self, key) -> bytes:
        if key != self.key or self.background is None:
            self.canvas.draw()  # the frame: animated artists are skipped
            self.background = self.canvas.copy_from_bbox(self.fig.bbox)
            self.key = key
            self.n_full += 1
        else:
            self.canvas.restore_region(self.background)
        for a in self.dynamic:
            if a.get_visible():
                (a.axes or self.fig).draw_artist(a)
        return to_png(self.canvas)


# ============================================================================ network picture
class NetworkPicture:
    """The market as a network, for one model: banks (squares, centre) and platforms
    (circles, ring) sized by lending, borrowers (dots, outer band) coloured by status;
    lending, funding and social edges on request. See :mod:`lendsim.viz.network`."""

    def __init__(self, model, width_in: float = 7.0):
        self.b = b = _Blitter((width_in, width_in))
        self.ax = ax = b.fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_xlim(-1.05, 1.05)
        ax.set_ylim(-1.05, 1.05)
        ax.set_aspect("equal")
        ax.axis("off")
        lay = model.layout
        n, n_slots = model.n_borrowers, len(lay.platform_xy)
        empty = np.zeros((0, 2, 2))
        self.lending = b.add(ax.add_collection(LineCollection(empty, linewidths=0.4)))
        self.funding = b.add(ax.add_collection(LineCollection(empty, colors=BANK_COLOUR,
                                                              alpha=0.35)))
        dot = max(1.5, min(14.0, 10000.0 / max(n, 1)))  # smaller dots in bigger markets
        self.borrowers = b.add(ax.scatter(lay.borrower_xy[:, 0], lay.borrower_xy[:, 1], s=dot,
                                          c=np.zeros((n, 4)), linewidths=0))
        self.platforms = b.add(ax.scatter(lay.platform_xy[:, 0], lay.platform_xy[:, 1],
                                          s=np.zeros(n_slots), c=np.zeros((n_slots, 4)),
                                          edgecolors="white", linewidths=1.0))
        self.failed = b.add(ax.scatter([], [], s=50, marker="x", c="black"))
        self.banks = b.add(ax.scatter(lay.bank_xy[:, 0], lay.bank_xy[:, 1],
                                      s=np.zeros(len(lay.bank_xy)), marker="s",
                                      c=np.zeros((len(lay.bank_xy), 4)), edgecolors="white",
                                      linewidths=1.0))
        self._social = None
        self.counts: dict[str, int] = {}

    def render(self, model, *, show_lending: bool = False, show_funding: bool = True,
               show_social: bool = False) -> bytes:
        """PNG bytes of the picture now."""
        with self.b.lock:
            return self._render(model, show_lending, show_funding, show_social)

    def _render(self, model, show_lending, show_funding, show_social) -> bytes:
        lay = model.layout
        P = len(model.platforms)
        pxy = lay.platform_xy[:P]
        status = borrower_status(model, getattr(model, "has_borrowed", None))
        self._frame(model, show_social)
        self.lending.set_visible(show_lending and P > 0)
        if show_lending and P:
            bi, p = lending_edges(model)
            col = _STATUS_RGBA[status[bi]]
            col[:, 3] = 0.2
            self.lending.set_segments(np.stack([lay.borrower_xy[bi], pxy[p]], axis=1))
            self.lending.set_color(col)
        self.funding.set_visible(show_funding and P > 0)
        if show_funding and P:
            bk, p, line = funding_edges(model)
            self.funding.set_segments(np.stack([lay.bank_xy[bk], pxy[p]], axis=1))
            self.funding.set_linewidths(0.5 + 3.5 * line / line.max() if len(line) else 1.0)
        self.borrowers.set_facecolor(_STATUS_RGBA[status])
        n_slots = len(lay.platform_xy)
        active = np.array([pl.is_active for pl in model.platforms], dtype=bool)
        size = np.zeros(n_slots)
        size[:P] = node_area(platform_lending(model))
        colour = np.zeros((n_slots, 4))
        colour[:P] = [to_rgba(TYPE_COLOURS.get(pl.kind, "#444444") if pl.is_active
                              else FAILED_COLOUR) for pl in model.platforms]
        self.platforms.set_sizes(size)
        self.platforms.set_facecolor(colour)
        edge = np.ones((n_slots, 4))
        edge[size <= 0, 3] = 0.0  # empty slots (platforms yet to enter) stay invisible
        self.platforms.set_edgecolor(edge)
        self.failed.set_offsets(pxy[~active] if P else np.zeros((0, 2)))
        failed = np.array([bk.is_failed for bk in model.banks], dtype=bool)
        self.banks.set_sizes(node_area(bank_lending(model), 350.0, 40.0))
        self.banks.set_facecolor([to_rgba(FAILED_COLOUR if f else BANK_COLOUR)
                                  for f in failed])
        self.counts = status_counts(status)  # shown as text beside the picture
        return self.b.render(show_social)

    def _frame(self, model, show_social) -> None:
        """The static part: the social ties, which never change (the legend is HTML beside
        the picture, see :func:`legend_entries`)."""
        if show_social == self.b.key:
            return
        if self._social is not None:
            self._social.remove()
            self._social = None
        if show_social:
            u, v = social_edges(model.social)
            lay = model.layout
            self._social = self.ax.add_collection(LineCollection(
                np.stack([lay.borrower_xy[u], lay.borrower_xy[v]], axis=1), colors="#888888",
                linewidths=0.3, alpha=0.2, zorder=0))


def legend_entries(model) -> list[tuple[str, str, str]]:
    """What the network picture's colours and shapes mean: (label, colour, shape) with shape
    ``dot``, ``circle`` (platform) or ``square`` (bank)."""
    out = [(s.name.lower().replace("_", " "), STATUS_COLOURS[s], "dot") for s in BorrowerStatus]
    kinds = sorted({pl.kind for pl in model.platforms})
    out += [(k.replace("_", " "), TYPE_COLOURS.get(k, "#444444"), "circle") for k in kinds]
    out += [("bank", BANK_COLOUR, "square"), ("failed", FAILED_COLOUR, "circle")]
    return out


# ============================================================================ live charts
def _bands(x: np.ndarray, layers: list[np.ndarray]) -> list[np.ndarray]:
    """Polygons of stacked bands (one per layer), for a PolyCollection.

    Examples:
        >>> [p.tolist() for p in _bands(np.array([1.0, 2.0]), [np.array([1.0, 1.0])])]
        [[[1.0, 0.0], [2.0, 0.0], [2.0, 1.0], [1.0, 1.0]]]
    """
    out, bottom = [], np.zeros(len(x))
    for y in layers:
        top = bottom + y
        out.append(np.column_stack([np.r_[x, x[::-1]], np.r_[bottom, top[::-1]]]))
        bottom = top
    return out


class _Panel:
    """One live chart in its own small figure, so that when one chart's axis limits move
    only that chart's frame is redrawn. Subclasses make their artists in ``setup`` and
    update them in ``update``, which returns ``((ymin, ymax), legend)`` with legend entries
    ``(label, colour, kind)``; the y range only ever widens, so frames change rarely."""

    title = ""
    ylabel = ""
    percent = False
    default_span = 1.0  # y range before there is any data
    WIDTH_IN, HEIGHT_IN = 4.2, 2.5

    def __init__(self, model):
        self.b = _Blitter((self.WIDTH_IN, self.HEIGHT_IN))
        self.ax = ax = self.b.fig.add_axes((0.15, 0.17, 0.83, 0.72))
        # a title as plain text: ax.set_title re-measures the tick labels on every draw
        ax.text(0.0, 1.04, self.title, transform=ax.transAxes, fontsize=10, va="bottom")
        ax.yaxis.set_major_locator(MaxNLocator(4))
        ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
        ax.tick_params(labelsize=8)
        ax.set_ylabel(self.ylabel, fontsize=8)
        ax.set_xlabel("month", fontsize=8, labelpad=1)
        ax.grid(True, lw=0.3, alpha=0.5)
        self.ylim = (0.0, 0.0)  # the data's extent so far (nice-rounded)
        self._frame_artists: list = []
        self.setup(model)

    def setup(self, model) -> None:
        raise NotImplementedError

    def update(self, model, x):
        raise NotImplementedError

    def extra_frame(self, model) -> tuple:
        """Static extras of the frame (drawn in ``draw_extra``) that enter its key."""
        return ()

    def draw_extra(self, model) -> list:
        return []

    def render(self, model, x: np.ndarray) -> bytes:
        with self.b.lock:
            (lo, hi), legend = self.update(model, x)
            lo, hi = min(lo, self.ylim[0]), max(hi, self.ylim[1])  # widen only
            self.ylim = (lo, hi)
            top = hi if hi > lo else lo + self.default_span
            key = (month_limit(model.t), (lo, top), legend, self.extra_frame(model))
            if key != self.b.key:
                self._set_frame(model, key[0], (lo, top), legend)
            return self.b.render(key)

    def _set_frame(self, model, xmax, ylim, legend) -> None:
        for a in self._frame_artists:
            a.remove()
        self._frame_artists = self.draw_extra(model)
        self.ax.set_xlim(0, xmax)
        self.ax.set_ylim(*ylim)
        if self.percent:  # one decimal on narrow axes (delinquency of a few per cent)
            fmt = "{:.1f}%" if ylim[1] - ylim[0] < 0.1 else "{:.0f}%"
            self.ax.yaxis.set_major_formatter(lambda v, _pos: fmt.format(100 * v))
        if legend:
            handles = [Patch(color=c, label=lab) if kind == "patch" else
                       Line2D([], [], color=c, lw=1.5, ls="--" if kind == "dashed" else "-",
                              label=lab) for lab, c, kind in legend]
            self._frame_artists.append(self.ax.legend(
                handles=handles, fontsize=7, frameon=False, loc="upper left",
                ncol=2 if len(handles) > 3 else 1))


class _LinesPanel(_Panel):
    spec: dict = {}
    ymax: float | None = None  # fixed top (rates), else from the data

    def setup(self, model):
        self.lines = {k: self.b.add(self.ax.plot([], [], color=SERIES_COLOURS[j], lw=1.5)[0])
                      for j, k in enumerate(self.spec)}

    def update(self, model, x):
        top, legend = 0.0, []
        for j, (label, y) in enumerate(data.series(model, self.spec).items()):
            self.lines[label].set_data(x, y)
            if np.isfinite(y).any():
                top = max(top, float(np.nanmax(y)))
            legend.append((label, SERIES_COLOURS[j], "line"))
        ymax = self.ymax if self.ymax is not None else nice_ceiling(top * 1.05)
        return (0.0, ymax), tuple(legend)


class CreditPanel(_LinesPanel):
    title, ylabel, spec = "credit outstanding and originations", "RMB m", data.CREDIT


class ApprovalPanel(_LinesPanel):
    title, ylabel, percent, spec, ymax = "approval rate", "", True, data.APPROVAL, 1.0


class DelinquencyPanel(_LinesPanel):
    title, ylabel, percent, spec = "delinquency and defaults", "", True, data.DELINQUENCY
    default_span = 0.05


class SharesPanel(_Panel):
    title, ylabel, percent = "platform market shares (a band each)", "", True

    def setup(self, model):
        self.bands = self.b.add(self.ax.add_collection(
            PolyCollection([], edgecolors="white", linewidths=0.4)))

    def update(self, model, x):
        share, kinds = data.platform_shares(model)
        self.bands.set_verts(_bands(x, list(share.T)) if len(x) else [])
        self.bands.set_facecolor([TYPE_COLOURS.get(k, "#444444")
                                  for k in kinds[:share.shape[1]]])
        legend = tuple((k.replace("_", " "), TYPE_COLOURS.get(k, "#444444"), "patch")
                       for k in sorted(set(kinds)))
        return (0.0, 1.0), legend


class CapitalPanel(_Panel):
    title, ylabel, percent = "bank capital ratios (grey: each bank)", "equity / loans", True

    def setup(self, model):
        self.banks = self.b.add(self.ax.add_collection(
            LineCollection([], colors="#9aa7c7", linewidths=0.7)))
        self.lowest = self.b.add(self.ax.plot([], [], color=BANK_COLOUR, lw=1.6)[0])

    def extra_frame(self, model):
        return (model.regulator.policy.bank_capital_requirement,)

    def draw_extra(self, model):
        req = model.regulator.policy.bank_capital_requirement
        return [self.ax.axhline(req, color="#d62728", ls="--", lw=1.0)]

    def update(self, model, x):
        vals = data.bank_capital(model)
        req = model.regulator.policy.bank_capital_requirement
        lo, hi = 0.0, nice_ceiling(req * 1.5)
        finite = np.isfinite(vals)
        if finite.any():
            self.banks.set_segments([np.column_stack([x, v]) for v in vals.T])
            low = np.where(finite.any(axis=1),
                           np.min(np.where(finite, vals, np.inf), axis=1), np.nan)
            self.lowest.set_data(x, low)
            hi = max(hi, nice_ceiling(float(np.nanmax(vals)) * 1.05))
            lo = min(lo, -nice_ceiling(-float(np.nanmin(vals)) * 1.05))
        else:
            self.banks.set_segments([])
            self.lowest.set_data([], [])
        return (lo, hi), (("lowest", BANK_COLOUR, "line"), ("requirement", "#d62728", "dashed"))


class LossesPanel(_Panel):
    title, ylabel = "losses by contagion channel", "RMB k / month"

    def setup(self, model):
        self.bands = self.b.add(self.ax.add_collection(PolyCollection([], linewidths=0)))
        self.channels: list[str] = []  # channels that have lost something, in first-seen order

    def update(self, model, x):
        ch = {k: np.clip(v, 0.0, None) for k, v in data.loss_channels(model).items()}
        self.channels += [k for k, v in ch.items() if v.any() and k not in self.channels]
        shown = [k for k in self.channels if k in ch]  # a channel with no losses takes no band
        colours = [SERIES_COLOURS[j % len(SERIES_COLOURS)] for j in range(len(shown))]
        self.bands.set_verts(_bands(x, [ch[k] for k in shown]) if shown else [])
        self.bands.set_facecolor(colours)
        if not shown:
            return (0.0, 1.0), ()
        total = np.sum([ch[k] for k in shown], axis=0)
        legend = tuple((k.replace("_", " "), c, "patch") for k, c in zip(shown, colours))
        return (0.0, nice_ceiling(float(total.max()) * 1.05)), legend

    def extra_frame(self, model):
        return (not self.channels,)

    def draw_extra(self, model):
        if self.channels:
            return []
        return [self.ax.text(0.5, 0.5, "no losses yet", ha="center", va="center",
                             transform=self.ax.transAxes, fontsize=11, color="#666666")]


PANELS = (CreditPanel, ApprovalPanel, DelinquencyPanel, SharesPanel, CapitalPanel,
          LossesPanel)


class ChartsPicture:
    """The six live charts of one model: credit, approval, delinquency and defaults, platform
    market shares, bank capital ratios, losses by contagion channel ("no losses yet" until
    there are any); one PNG each."""

    def __init__(self, model):
        self.panels = [cls(model) for cls in PANELS]

    @property
    def n_full(self) -> int:
        """Frames redrawn so far, over all panels."""
        return sum(p.b.n_full for p in self.panels)

    def render(self, model) -> list[bytes]:
        """PNG bytes of every chart now, in :data:`PANELS` order."""
        x = data.steps(model)
        return [p.render(model, x) for p in self.panels]


# ============================================================================ per-model cache
def pictures(model) -> tuple[NetworkPicture, ChartsPicture]:
    """The network picture and the charts of ``model``, made on first use and kept on the
    model (one set per model, so a reset starts with fresh figures)."""
    cached = getattr(model, "_viz_pictures", None)
    if cached is None:
        cached = (NetworkPicture(model), ChartsPicture(model))
        model._viz_pictures = cached
    return cached


def network_png(model, **options) -> bytes:
    """PNG of the network picture of ``model`` now (options: ``show_lending``,
    ``show_funding``, ``show_social``)."""
    with getattr(model, "lock", None) or contextlib.nullcontext():  # not while it steps
        return pictures(model)[0].render(model, **options)


def charts_png(model) -> list[bytes]:
    """PNGs of the live charts of ``model`` now, in :data:`PANELS` order."""
    with getattr(model, "lock", None) or contextlib.nullcontext():  # not while it steps
        return pictures(model)[1].render(model)
